"""API tokens: random secrets with a visible prefix; only a hash is stored."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_sms.models.swappable import TOKEN_SETTING


class AbstractAPIToken(models.Model):
    owner_type = models.ForeignKey(
        ContentType, verbose_name=_("owner type"), on_delete=models.CASCADE, related_name="+"
    )
    owner_id = models.CharField(_("owner id"), max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(
        _("prefix"),
        max_length=32,
        unique=True,
        editable=False,
        help_text=_("The visible start of the token, used to find it."),
    )
    digest = models.CharField(_("digest"), max_length=128, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        abstract = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [
            models.Index(fields=["owner_type", "owner_id"], name="%(app_label)s_%(class)s_owner")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})" if self.name else f"{self.prefix}…"

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class APIToken(AbstractAPIToken):
    class Meta(AbstractAPIToken.Meta):
        swappable = TOKEN_SETTING
