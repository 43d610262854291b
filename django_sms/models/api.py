"""What the REST API keeps besides messages: per-owner daily counters, and exports."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
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


class SMSExport(models.Model):
    """An export of an owner's messages over a period, as CSV (``POST v4/sms/export``).

    ``status`` uses Mailjet's export codes. The CSV is kept in the row (no file storage to
    configure) until the export expires, 7 days after it completed.
    """

    class Status(models.IntegerChoices):
        PENDING = 1, _("pending")
        IN_PROGRESS = 2, _("in progress")
        COMPLETED = 3, _("completed")
        ERROR = 4, _("error")

    owner_type = models.ForeignKey(
        ContentType, verbose_name=_("owner type"), on_delete=models.CASCADE, related_name="+"
    )
    owner_id = models.CharField(_("owner id"), max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    from_ts = models.DateTimeField(_("from"))
    to_ts = models.DateTimeField(_("to"))
    status = models.PositiveSmallIntegerField(
        _("status"), choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    rows = models.PositiveIntegerField(_("messages"), default=0)
    csv = models.TextField(_("CSV"), blank=True, editable=False)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("SMS export")
        verbose_name_plural = _("SMS exports")
        indexes = [models.Index(fields=["owner_type", "owner_id"], name="django_sms_export_owner")]

    def __str__(self) -> str:
        return f"SMS export {self.pk} ({self.get_status_display()})"
