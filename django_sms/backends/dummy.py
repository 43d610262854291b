"""Does nothing with the messages, like Django's dummy email backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_sms.backends.base import LocalBackend

if TYPE_CHECKING:
    from django_sms.message import SMS


class SmsBackend(LocalBackend):
    provider_name = "dummy"

    def deliver_locally(self, sms: SMS) -> None:
        pass
