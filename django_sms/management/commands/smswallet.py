"""``manage.py smswallet deposit|show|verify``: prepaid wallets."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_sms.exceptions import WalletError
from django_sms.management.commands._owners import owner_argument
from django_sms.models import AbstractWallet, LedgerEntry
from django_sms.wallets import (
    deposit,
    format_amount,
    get_or_create_wallet,
    ledger_balance,
    normalize_currency,
    to_amount,
    verify,
    wallets_of,
)


class Command(BaseCommand):
    help = "Top up, inspect and verify prepaid wallets. Owners are written app_label.model:pk."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{deposit,show,verify}",
            help="What to do; `smswallet <action> --help` shows its options.",
        )

        dep = actions.add_parser("deposit", help="Add money (creates the wallet if needed).")
        dep.add_argument("owner", help="The owner, as app_label.model:pk.")
        dep.add_argument("amount", help="Amount, e.g. 25 or 12.50.")
        dep.add_argument("currency", help="EUR, USD or GBP.")
        dep.add_argument("--reason", default="", help="Why (a payment reference...).")

        show = actions.add_parser("show", help="Balance, state and the last ledger entries.")
        show.add_argument("owner", help="The owner, as app_label.model:pk.")
        show.add_argument("--currency", help="Only this wallet.")
        show.add_argument(
            "--entries", type=int, default=10, help="Ledger entries shown (default 10)."
        )

        ver = actions.add_parser("verify", help="Make a wallet usable now, without the delay.")
        ver.add_argument("owner", help="The owner, as app_label.model:pk.")
        ver.add_argument("--currency", help="Needed when the owner has several wallets.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "handle_" + options["action"])(**options)
        except WalletError as exc:
            raise CommandError(str(exc)) from None

    def handle_deposit(
        self, *, owner: str, amount: str, currency: str, reason: str, **options: Any
    ) -> None:
        value = to_amount(amount)  # before the wallet is created: a typo creates nothing
        wallet = get_or_create_wallet(owner_argument(owner), currency)
        entry = deposit(
            wallet, value, currency=currency, reason=reason or "manage.py smswallet deposit"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Deposited {format_amount(entry.amount)} {wallet.currency}; balance "
                f"{format_amount(wallet.balance)} {wallet.currency}."
            )
        )
        self.stdout.write(state(wallet))

    def handle_show(
        self, *, owner: str, currency: str | None, entries: int, **options: Any
    ) -> None:
        wallets = self.wallets(owner, currency)
        for wallet in wallets:
            total = ledger_balance(wallet)
            self.stdout.write(
                f"Wallet {wallet.pk} ({owner}, {wallet.currency}): balance "
                f"{format_amount(wallet.balance)} {wallet.currency}"
            )
            self.stdout.write(f"  {state(wallet)}")
            if total != wallet.balance:
                problem = f"The ledger sums to {format_amount(total)}, not the balance."
                self.stdout.write(self.style.ERROR("  " + problem))
            newest = LedgerEntry.objects.filter(wallet_id=wallet.pk).order_by("-created_at", "-pk")
            recent = list(newest[: max(entries, 0)])
            for entry in reversed(recent):
                self.stdout.write(
                    f"  {timezone.localtime(entry.created_at):%Y-%m-%d %H:%M:%S}  "
                    f"{entry.kind:<10} {format_amount(entry.amount):>12}  "
                    f"-> {format_amount(entry.balance_after):>12}  {entry.reason}"
                )

    def handle_verify(self, *, owner: str, currency: str | None, **options: Any) -> None:
        wallets = self.wallets(owner, currency)
        if len(wallets) > 1:
            currencies = ", ".join(w.currency for w in wallets)
            raise CommandError(f"{owner} has wallets in {currencies}: choose one with --currency.")
        wallet = verify(wallets[0], by="manage.py smswallet verify")
        self.stdout.write(
            self.style.SUCCESS(f"Wallet {wallet.pk} ({wallet.currency}) is verified.")
        )

    def wallets(self, owner: str, currency: str | None) -> list[AbstractWallet]:
        wallets = list(wallets_of(owner_argument(owner)))
        if currency:
            code = normalize_currency(currency)
            wallets = [w for w in wallets if w.currency == code]
        if not wallets:
            where = f" in {currency.upper()}" if currency else ""
            raise CommandError(f"{owner} has no wallet{where}; `smswallet deposit` creates one.")
        return wallets


def state(wallet: AbstractWallet) -> str:
    if wallet.verified_at is not None:
        return f"Active: verified at {timezone.localtime(wallet.verified_at):%Y-%m-%d %H:%M %Z}."
    if wallet.activates_at is None:
        return "Inactive: no deposit yet."
    when = f"{timezone.localtime(wallet.activates_at):%Y-%m-%d %H:%M %Z}"
    return (
        f"Active since {when}."
        if wallet.is_active
        else f"Inactive until {when} (or `smswallet verify`)."
    )
