"""Writes messages to files in a directory, like Django's file-based email backend:
one file per backend instance (so per thread and process), one message after another."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core import checks

from django_sms.backends.console import SmsBackend as ConsoleBackend
from django_sms.exceptions import ConfigurationError

if TYPE_CHECKING:
    from django_sms.message import SMS


class SmsBackend(ConsoleBackend):
    provider_name = "filebased"
    known_options = ("status", "file_path")

    def __init__(self, alias: str = "default", **options: Any) -> None:
        path = options.pop("file_path", None) or getattr(settings, "SMS_FILE_PATH", None)
        self.file_path = Path(path) if path else None
        self._fname: Path | None = None
        super().__init__(alias, **options)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        if self.file_path is None:
            errors.append(
                checks.Error(
                    f"SMS backend {self.alias!r} (filebased) needs OPTIONS['file_path'] "
                    "or the SMS_FILE_PATH setting.",
                    id="django_sms.E010",
                )
            )
        return errors

    def open(self) -> bool:
        if self.file_path is None:
            raise ConfigurationError(
                f"SMS backend {self.alias!r} needs OPTIONS['file_path'] or SMS_FILE_PATH."
            )
        if self.file_path.exists() and not self.file_path.is_dir():
            raise ConfigurationError(f"SMS file path {self.file_path} is not a directory.")
        self.file_path.mkdir(parents=True, exist_ok=True)
        if self._fname is None:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self._fname = self.file_path / f"{stamp}-{os.getpid()}-{id(self)}.log"
        return False

    def deliver_locally(self, sms: SMS) -> None:
        self.open()
        assert self._fname is not None
        with self._lock, open(self._fname, "a", encoding="utf-8") as stream:
            self._write(stream, sms)

    def _write(self, stream: IO[str], sms: SMS) -> None:
        stream.write(self.format(sms))
