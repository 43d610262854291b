"""Messages received from handsets, and the opt-out list they maintain."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundMessage(models.Model):
    backend_alias = models.CharField(_("backend alias"), max_length=64)
    provider = models.CharField(_("provider"), max_length=32)
    provider_message_id = models.CharField(_("provider message id"), max_length=100)
    from_number = models.CharField(_("from"), max_length=20)
    to_number = models.CharField(_("to"), max_length=20, blank=True)
    text = models.TextField(_("text"), blank=True)
    keyword = models.CharField(_("keyword"), max_length=32, blank=True)
    occurred_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    raw = models.JSONField(_("raw payload"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"], name="django_sms_inbound_once"
            )
        ]
        indexes = [models.Index(fields=["from_number"], name="django_sms_inbound_from")]

    def __str__(self) -> str:
        return f"SMS from {self.from_number}"


class OptOut(models.Model):
    """A number that asked not to receive messages; ``sender`` "" means from any sender."""

    class Source(models.TextChoices):
        KEYWORD = "keyword", _("Keyword reply")
        PROVIDER = "provider", _("Provider report")
        ADMIN = "admin", _("Operator")
        API = "api", _("API")

    phone_number = models.CharField(_("phone number"), max_length=20)
    sender = models.CharField(
        _("sender"), max_length=20, blank=True, help_text=_("Empty: opted out of every sender.")
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["phone_number", "sender"], name="django_sms_optout_once"
            )
        ]

    def __str__(self) -> str:
        return self.phone_number + (f" ({self.sender})" if self.sender else "")
