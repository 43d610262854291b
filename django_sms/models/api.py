"""What the REST API keeps besides messages: its per-owner daily counters."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class APIDailyUsage(models.Model):
    """SMS parts an owner's tokens sent through the API on one day (``API_DAILY_LIMIT``).

    One row per owner and day; the API checks and counts in one conditional UPDATE of it,
    so concurrent requests can never pass the limit together.
    """

    owner_type = models.ForeignKey(
        ContentType, verbose_name=_("owner type"), on_delete=models.CASCADE, related_name="+"
    )
    owner_id = models.CharField(_("owner id"), max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    day = models.DateField(_("day"), help_text=_("In the site's time zone."))
    parts = models.PositiveIntegerField(_("SMS parts"), default=0)

    class Meta:
        verbose_name = _("API daily usage")
        verbose_name_plural = _("API daily usage")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner_id", "day"], name="django_sms_api_usage_owner_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner_type_id}:{self.owner_id} {self.day}: {self.parts}"
