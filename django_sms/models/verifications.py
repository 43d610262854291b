"""Phone verifications (one-time codes), country blocks of the pumping guard, limit locks.

The code itself is never stored: ``code_mac`` is its HMAC (keyed by ``SECRET_KEY``, bound to
the verification's id, number and purpose) and ``sealed_code`` a one-time-pad ciphertext, also
keyed by ``SECRET_KEY``, that lets the worker which delivers the SMS (possibly another
process, in ``ASYNC`` mode) put the code into the provider request. The ciphertext is erased
as soon as the verification leaves ``pending``. See docs/verification.rst.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from django_sms.models.swappable import message_model_label


class VerificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    EXPIRED = "expired", _("Expired")
    MAX_ATTEMPTS_REACHED = "max_attempts_reached", _("Max attempts reached")
    CANCELED = "canceled", _("Canceled")


class BlockReason(models.TextChoices):
    """Why a start sent nothing while answering as if it had (no enumeration)."""

    NONE = "", _("Not blocked")
    OPTED_OUT = "opted_out", _("Number opted out")
    COUNTRY_BLOCKED = "country_blocked", _("Country blocked by the conversion guard")


class Verification(models.Model):
    """One code sent (or, when ``block_reason`` is set, pretended sent) to one number."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(_("number"), max_length=20, help_text=_("E.164"))
    country = models.CharField(_("country"), max_length=2, blank=True)
    prefix = models.CharField(
        _("number prefix"), max_length=20, help_text=_("The number minus its last digits.")
    )
    purpose = models.SlugField(_("purpose"), max_length=50, default="default")
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=VerificationStatus.choices,
        default=VerificationStatus.PENDING,
    )
    code_length = models.PositiveSmallIntegerField(_("code length"))
    code_mac = models.CharField(max_length=64, editable=False)
    sealed_code = models.CharField(max_length=10, blank=True, editable=False)
    failed_checks = models.PositiveSmallIntegerField(_("wrong checks of this code"), default=0)
    failures_before = models.PositiveSmallIntegerField(
        _("wrong checks of earlier codes"),
        default=0,
        help_text=_("Carried over from the previous codes of this number and purpose."),
    )
    failures_since = models.DateTimeField(_("failure series started"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    block_reason = models.CharField(
        _("blocked"), max_length=20, choices=BlockReason.choices, blank=True, default=""
    )
    message = models.ForeignKey(
        message_model_label(),
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    expires_at = models.DateTimeField(_("expires"))
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("phone verification")
        verbose_name_plural = _("phone verifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["phone", "purpose", "created_at"], name="django_sms_verif_number"),
            models.Index(fields=["country", "created_at"], name="django_sms_verif_country"),
            models.Index(fields=["prefix", "created_at"], name="django_sms_verif_prefix"),
            models.Index(fields=["ip", "created_at"], name="django_sms_verif_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.purpose}): {self.status}"

    @property
    def failures(self) -> int:
        """Wrong checks counted against this number and purpose, this code included."""
        return self.failures_before + self.failed_checks


class CountryBlock(models.Model):
    """A destination country refused by the conversion guard until an operator lifts it."""

    country = models.CharField(_("country"), max_length=2)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("blocked at"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("blocked verification country")
        verbose_name_plural = _("blocked verification countries")
        ordering = ["-created_at"]
        constraints = [
            # At most one active block per country, even when two starts trip the guard at once.
            models.UniqueConstraint(
                fields=["country"],
                condition=models.Q(lifted_at__isnull=True),
                name="django_sms_one_active_country_block",
            )
        ]

    def __str__(self) -> str:
        state = _("lifted") if self.lifted_at else _("active")
        return f"{self.country} ({state})"


class VerificationLock(models.Model):
    """One row per limited key (number, IP, country, prefix): starts lock the rows of their
    keys (``select_for_update``, in key order) so that counting and inserting is exact when
    requests race; the rows hold no data."""

    key = models.CharField(max_length=80, unique=True)

    class Meta:
        verbose_name = _("verification lock")

    def __str__(self) -> str:
        return self.key
