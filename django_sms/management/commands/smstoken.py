"""``manage.py smstoken create|list|revoke``: API tokens for the REST API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_sms.exceptions import InvalidToken
from django_sms.management.commands._owners import owner_argument
from django_sms.models import AbstractAPIToken, get_token_model
from django_sms.owners import owner_filter, owner_label
from django_sms.tokens import create_token, find_token, revoke


class Command(BaseCommand):
    help = (
        "Create, list and revoke API tokens. Owners are written app_label.model:pk (auth.user:1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{create,list,revoke}",
            help="What to do; `smstoken <action> --help` shows its options.",
        )

        create = actions.add_parser("create", help="Create a token and print its secret (once).")
        create.add_argument("owner", help="The owner, as app_label.model:pk.")
        create.add_argument("--name", default="", help="What the token is for.")
        expiry = create.add_mutually_exclusive_group()
        expiry.add_argument(
            "--expires-in", type=int, metavar="DAYS", help="Expire after DAYS days."
        )
        expiry.add_argument(
            "--expires-at", metavar="DATETIME", help="Expire at this ISO 8601 time."
        )
        create.add_argument(
            "--secret-only", action="store_true", help="Print the secret alone (for scripts)."
        )

        listing = actions.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("owner", nargs="?", help="Only this owner's tokens.")
        listing.add_argument(
            "--active", action="store_true", help="Hide revoked and expired tokens."
        )

        rev = actions.add_parser("revoke", help="Revoke a token now.")
        rev.add_argument("token", help="The token's prefix (smsk_3f9a1c2b) or its full secret.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "handle_" + options["action"])(**options)

    def handle_create(
        self,
        *,
        owner: str,
        name: str,
        expires_in: int | None,
        expires_at: str | None,
        secret_only: bool,
        **options: Any,
    ) -> None:
        instance = owner_argument(owner)
        when = expiry(expires_in, expires_at)
        token, secret = create_token(instance, name=name, expires_at=when)
        if secret_only:
            self.stdout.write(secret)
            return
        self.stdout.write(self.style.SUCCESS(f"Created API token {token.prefix} for {owner}."))
        if when is not None:
            self.stdout.write(f"It expires at {when:%Y-%m-%d %H:%M %Z}.")
        self.stdout.write("Its secret is shown only now; store it safely:")
        self.stdout.write(secret)

    def handle_list(self, *, owner: str | None, active: bool, **options: Any) -> None:
        tokens = (
            get_token_model()._default_manager.select_related("owner_type").order_by("created_at")
        )
        if owner:
            tokens = tokens.filter(**owner_filter(owner_argument(owner)))
        rows = [row for row in (describe(t) for t in tokens) if not active or row[-1] == "active"]
        if not rows:
            self.stdout.write("No tokens.")
            return
        header = ("PREFIX", "OWNER", "NAME", "CREATED", "EXPIRES", "LAST USED", "STATE")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )

    def handle_revoke(self, *, token: str, **options: Any) -> None:
        try:
            instance = find_token(token)
        except InvalidToken as exc:
            raise CommandError(str(exc)) from None
        already = instance.revoked_at is not None
        revoke(instance)
        if already:
            when = f"{instance.revoked_at:%Y-%m-%d %H:%M %Z}"
            self.stdout.write(f"Token {instance.prefix} was already revoked at {when}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Revoked token {instance.prefix}."))


def expiry(days: int | None, at: str | None) -> datetime | None:
    if days is not None:
        if days < 1:
            raise CommandError(f"--expires-in must be at least 1 day, not {days}.")
        return timezone.now() + timedelta(days=days)
    if at is None:
        return None
    try:
        when = parse_datetime(at)
    except ValueError:
        when = None
    if when is None:
        raise CommandError(
            f"--expires-at {at!r} is not an ISO 8601 date-time (2030-01-31T12:00:00Z)."
        )
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when <= timezone.now():
        raise CommandError(f"--expires-at {at!r} is in the past.")
    return when


def describe(token: AbstractAPIToken) -> tuple[str, ...]:
    def day(value: datetime | None) -> str:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else "-"

    if token.revoked_at is not None:
        state = "revoked"
    elif token.expires_at is not None and token.expires_at <= timezone.now():
        state = "expired"
    else:
        state = "active"
    return (
        token.prefix,
        owner_label(token.owner_type, token.owner_id),
        token.name or "-",
        day(token.created_at),
        day(token.expires_at),
        day(token.last_used_at),
        state,
    )
