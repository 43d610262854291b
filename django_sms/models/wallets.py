"""Prepaid wallets and their ledger. The balance only ever changes through ledger entries,
written by ``django_sms.wallets`` under a row lock."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_sms.models.swappable import WALLET_SETTING, message_model_label, wallet_model_label


class Currency(models.TextChoices):
    EUR = "EUR", "EUR"
    USD = "USD", "USD"
    GBP = "GBP", "GBP"


class AbstractWallet(models.Model):
    """A prepaid balance in one currency, owned by any model instance (user, team, tenant)."""

    owner_type = models.ForeignKey(
        ContentType, verbose_name=_("owner type"), on_delete=models.CASCADE, related_name="+"
    )
    owner_id = models.CharField(_("owner id"), max_length=64)
    owner = GenericForeignKey("owner_type", "owner_id")
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    balance = models.DecimalField(
        _("balance"), max_digits=14, decimal_places=4, default=Decimal("0"), editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    first_deposit_at = models.DateTimeField(_("first deposit at"), null=True, blank=True)
    activates_at = models.DateTimeField(_("activates at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        abstract = True
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_type", "owner_id", "currency"],
                name="%(app_label)s_%(class)s_one_per_owner_currency",
            ),
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="%(app_label)s_%(class)s_not_overdrawn"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_type.model} {self.owner_id}: {self.balance} {self.currency}"

    @property
    def is_active(self) -> bool:
        if self.verified_at is not None:
            return True
        return self.activates_at is not None and self.activates_at <= timezone.now()


class Wallet(AbstractWallet):
    class Meta(AbstractWallet.Meta):
        swappable = WALLET_SETTING


class LedgerEntry(models.Model):
    """One change of a wallet's balance. Entries sum to the balance; nothing edits them."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit")
        HOLD = "hold", _("Hold")
        CAPTURE = "capture", _("Capture")
        RELEASE = "release", _("Release")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")

    wallet = models.ForeignKey(
        wallet_model_label(),
        verbose_name=_("wallet"),
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=4)
    balance_after = models.DecimalField(_("balance after"), max_digits=14, decimal_places=4)
    message = models.ForeignKey(
        message_model_label(),
        verbose_name=_("message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
