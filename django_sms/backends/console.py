"""Writes messages to a stream (stdout by default), like Django's console email backend."""

from __future__ import annotations

import sys
import threading
from typing import IO, TYPE_CHECKING, Any

from django_sms.backends.base import LocalBackend

if TYPE_CHECKING:
    from django_sms.message import SMS


class SmsBackend(LocalBackend):
    provider_name = "console"
    known_options = ("status", "stream")

    def __init__(self, alias: str = "default", **options: Any) -> None:
        self.stream: IO[str] = options.pop("stream", None) or sys.stdout
        self._lock = threading.RLock()
        super().__init__(alias, **options)

    def deliver_locally(self, sms: SMS) -> None:
        with self._lock:
            self.stream.write(self.format(sms))
            self.stream.flush()

    def format(self, sms: SMS) -> str:
        rule = "-" * 79
        return (
            f"From: {sms.sender or '(provider default)'}\n"
            f"To: {sms.to}\n"
            f"Reference: {sms.reference}\n"
            f"Encoding: {sms.encoding}, {sms.segments} segment(s)\n\n"
            f"{sms.text}\n{rule}\n"
        )
