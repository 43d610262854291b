"""A development backend that supports status polling, for the admin's "refresh status"."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django_sms.backends.base import StatusUpdate
from django_sms.backends.locmem import SmsBackend as LocmemBackend

if TYPE_CHECKING:
    from django_sms.models import AbstractMessage


class SmsBackend(LocmemBackend):
    """Sends like locmem (reporting ``OPTIONS["status"]``, default "sent"); ``fetch_status``
    answers from :attr:`reports` (provider message id -> StatusUpdate, or an exception)."""

    provider_name = "polling"
    supports_status_polling = True
    reports: ClassVar[dict[str, StatusUpdate | Exception]] = {}

    def __init__(self, alias: str = "default", **options: object) -> None:
        options.setdefault("status", "sent")
        super().__init__(alias, **options)

    def fetch_status(self, message: AbstractMessage) -> StatusUpdate | None:
        report = self.reports.get(message.provider_message_id)
        if isinstance(report, Exception):
            raise report
        return report
