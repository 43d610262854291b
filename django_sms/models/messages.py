"""Outgoing messages and their append-only status history."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_sms.models.swappable import (
    MESSAGE_SETTING,
    message_model_label,
    token_model_label,
    wallet_model_label,
)
from django_sms.status import FINAL_STATUSES, Status


class EventSource(models.TextChoices):
    SEND = "send", _("Send")
    WEBHOOK = "webhook", _("Webhook")
    POLL = "poll", _("Poll")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")


class ChargeStatus(models.TextChoices):
    NONE = "", _("Not charged")
    HELD = "held", _("Held")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")
    REFUNDED = "refunded", _("Refunded")


class AbstractMessage(models.Model):
    """One outgoing SMS to one recipient. The row is the source of truth: a task queue only
    ever carries its primary key.

    Subclass this (and set ``DJANGO_SMS_MESSAGE_MODEL``) to add fields of your own.
    """

    reference = models.UUIDField(
        _("reference"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Our public id, sent to providers as client_ref / tag."),
    )
    to = models.CharField(_("recipient"), max_length=20, help_text=_("E.164"))
    country = models.CharField(_("destination country"), max_length=2, blank=True)
    sender = models.CharField(_("sender"), max_length=20, blank=True)
    text = models.TextField(_("text"))
    encoding = models.CharField(_("encoding"), max_length=5)
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)

    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    backend_alias = models.CharField(_("backend alias"), max_length=64)
    provider = models.CharField(_("provider"), max_length=32, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    provider_status = models.CharField(_("provider status"), max_length=64, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.TextField(_("error message"), blank=True)

    cost = models.DecimalField(
        _("provider cost"), max_digits=12, decimal_places=5, null=True, blank=True
    )
    cost_currency = models.CharField(_("provider cost currency"), max_length=3, blank=True)
    price = models.DecimalField(
        _("price charged"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    price_currency = models.CharField(_("price currency"), max_length=3, blank=True)
    charge_status = models.CharField(
        _("charge status"), max_length=10, choices=ChargeStatus.choices, blank=True, default=""
    )
    wallet = models.ForeignKey(
        wallet_model_label(),
        verbose_name=_("wallet"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    token = models.ForeignKey(
        token_model_label(),
        verbose_name=_("API token"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("accepted by provider at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    idempotency_key = models.CharField(
        _("idempotency key"), max_length=255, null=True, blank=True, unique=True
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    # The active message model rather than "self": when the default Message is swapped out,
    # its field then matches the shipped migration (which names the active model too), so a
    # project's makemigrations finds nothing to change in django_sms.
    resent_from = models.ForeignKey(
        message_model_label(),
        verbose_name=_("resent from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resends",
    )

    class Meta:
        abstract = True
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["-created_at"], name="%(app_label)s_%(class)s_created"),
            models.Index(fields=["status", "-created_at"], name="%(app_label)s_%(class)s_status"),
            models.Index(fields=["provider_message_id"], name="%(app_label)s_%(class)s_provid"),
            models.Index(fields=["to", "-created_at"], name="%(app_label)s_%(class)s_to"),
            models.Index(fields=["status", "next_attempt_at"], name="%(app_label)s_%(class)s_due"),
            # The admin's country and alias filters: their choices (an index skip scan) and
            # their rows, newest first, at any table size (migration 0003_admin_indexes).
            models.Index(fields=["country", "-created_at"], name="%(app_label)s_%(class)s_country"),
            models.Index(
                fields=["backend_alias", "-created_at"], name="%(app_label)s_%(class)s_alias"
            ),
        ]
        permissions = [("resend_message", _("Can resend messages"))]

    def __str__(self) -> str:
        return f"SMS to {self.to} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Message(AbstractMessage):
    class Meta(AbstractMessage.Meta):
        swappable = MESSAGE_SETTING


class StatusEvent(models.Model):
    """One status report about a message, append-only.

    Every status change is an event, and so is every report that did not change the status
    (a late ``sent`` after ``delivered``: ``applied`` is False). ``dedupe_key`` makes a
    provider's retried callback a no-op. An event whose message is not known yet (a callback
    that beat the send response) has ``message=None`` and is matched later through
    ``provider_message_id`` / ``message_ref``.
    """

    message = models.ForeignKey(
        message_model_label(),
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    applied = models.BooleanField(
        _("changed the status"), default=True, help_text=_("False if the report was stale.")
    )
    source = models.CharField(_("source"), max_length=8, choices=EventSource.choices)
    backend_alias = models.CharField(_("backend alias"), max_length=64, blank=True)
    provider = models.CharField(_("provider"), max_length=32, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    message_ref = models.CharField(_("message reference"), max_length=64, blank=True)
    provider_status = models.CharField(_("provider status"), max_length=64, blank=True)
    provider_status_text = models.TextField(_("provider status text"), blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("reported time"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    # Unique through Meta.constraints rather than unique=True: on PostgreSQL, unique=True on
    # a CharField adds a second (LIKE) index that every recorded report would pay for.
    dedupe_key = models.CharField(_("dedupe key"), max_length=255, null=True, blank=True)
    raw = models.JSONField(_("raw payload"), null=True, blank=True)

    class Meta:
        verbose_name = _("status event")
        verbose_name_plural = _("status events")
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="django_sms_event_dedupe_key"),
        ]
        indexes = [
            models.Index(
                fields=["provider_message_id"],
                condition=models.Q(message__isnull=True),
                name="django_sms_event_unmatched",
            ),
            models.Index(
                fields=["message_ref"],
                condition=models.Q(message__isnull=True),
                name="django_sms_event_unmatched_ref",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} ({self.source})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source": self.source,
            "provider_status": self.provider_status,
            "provider_status_text": self.provider_status_text,
            "occurred_at": self.occurred_at,
            "received_at": self.received_at,
        }
