"""``manage.py smsverifications [--purge-days N]``: housekeeping of phone verifications."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from django_sms.models import Verification, VerificationStatus


class Command(BaseCommand):
    help = (
        "Mark pending verification codes past their expiry as expired (erasing their sealed "
        "copy), and with --purge-days delete verifications older than that."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--purge-days", type=int, default=None, metavar="N",
            help="Also delete verifications created more than N days ago (default: keep all).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        expired = Verification.objects.filter(
            status=VerificationStatus.PENDING, expires_at__lte=now
        ).update(status=VerificationStatus.EXPIRED, sealed_code="", updated_at=now)
        self.stdout.write(f"{expired} expired code{'s' if expired != 1 else ''} swept.")
        days = options["purge_days"]
        if days is not None:
            deleted, _ = Verification.objects.filter(
                created_at__lt=now - timedelta(days=days)
            ).delete()
            self.stdout.write(f"{deleted} verification{'s' if deleted != 1 else ''} deleted.")
