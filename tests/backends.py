"""Test-only SMS backends that fail on purpose, record their calls, or answer polls.

They keep state at class level (shared by every per-thread instance of the process) and,
with ``OPTIONS["state_dir"]``, in files, so a test can see what a worker *process* sent.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from django_sms.backends.base import LocalBackend, SendResult, StatusUpdate
from django_sms.exceptions import (
    AmbiguousProviderError,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)

if TYPE_CHECKING:
    from django_sms.message import SMS
    from django_sms.models import AbstractMessage

ERRORS: dict[str, type[ProviderError]] = {
    "transient": TransientProviderError,
    "ambiguous": AmbiguousProviderError,
    "permanent": PermanentProviderError,
}


class RecordingBackend(LocalBackend):
    """Succeeds, and records which thread and instance sent what, and every close()."""

    provider_name = "recording"
    known_options = ("status", "state_dir", "fail_times", "error", "retry_after", "delay")

    lock = threading.Lock()
    calls: ClassVar[list[tuple[str, str, str, int]]] = []  # (alias, reference, thread, id)
    closed: ClassVar[list[tuple[str, int]]] = []  # (thread, instance id)

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.calls.clear()
            cls.closed.clear()

    def deliver_locally(self, sms: SMS) -> None:
        delay = float(self.options.get("delay", 0))
        if delay:
            time.sleep(delay)
        with self.lock:
            self.calls.append(
                (self.alias, sms.reference, threading.current_thread().name, id(self))
            )

    def close(self) -> None:
        with self.lock:
            self.closed.append((threading.current_thread().name, id(self)))


class FlakyBackend(RecordingBackend):
    """Fails the first ``fail_times`` calls for each message, then succeeds.

    OPTIONS: ``fail_times`` (default 1; a message whose metadata has ``fail_times`` uses that),
    ``error`` ("transient", "ambiguous" or "permanent"), ``retry_after`` (seconds), ``status``
    on success, ``state_dir`` to count calls in files (one line per call) across processes.
    """

    provider_name = "flaky"
    counts: ClassVar[Counter[str]] = Counter()

    @classmethod
    def reset(cls) -> None:
        super().reset()
        with cls.lock:
            cls.counts.clear()

    def send_one(self, sms: SMS) -> SendResult:
        fail_times = int(sms.metadata.get("fail_times", self.options.get("fail_times", 1)))
        calls = self.count_call(sms)
        if calls <= fail_times:
            kind = sms.metadata.get("error", self.options.get("error", "transient"))
            self.log(sms, f"failed-{kind}")
            raise ERRORS[kind](
                f"injected {kind} failure {calls}/{fail_times}",
                code="E-INJECTED",
                retry_after=self.options.get("retry_after"),
            )
        result = super().send_one(sms)
        self.log(sms, "sent")
        return result

    def count_call(self, sms: SMS) -> int:
        state_dir = self.options.get("state_dir")
        if state_dir:
            path = Path(state_dir) / f"{sms.reference}.calls"
            with open(path, "a+", encoding="utf-8") as stream:
                stream.seek(0)
                return len(stream.read().splitlines()) + 1
        with self.lock:
            self.counts[sms.reference] += 1
            return self.counts[sms.reference]

    def log(self, sms: SMS, outcome: str) -> None:
        state_dir = self.options.get("state_dir")
        if state_dir:
            path = Path(state_dir) / f"{sms.reference}.calls"
            with open(path, "a", encoding="utf-8") as stream:
                stream.write(f"{self.alias} {outcome}\n")


class SlowBackend(RecordingBackend):
    """Sleeps ``OPTIONS["delay"]`` seconds per message, writing a file when a send starts."""

    provider_name = "slow"

    def send_one(self, sms: SMS) -> SendResult:
        state_dir = self.options.get("state_dir")
        if state_dir:
            (Path(state_dir) / f"{sms.reference}.started").touch()
        return super().send_one(sms)


class PollingBackend(RecordingBackend):
    """Accepts every message; ``fetch_status()`` answers from ``PollingBackend.answers``.

    ``answers`` maps a provider message id to a ``StatusUpdate``, an exception to raise, or
    None (the provider does not know the message).
    """

    provider_name = "pollable"
    supports_status_polling = True
    answers: ClassVar[dict[str, Any]] = {}
    polled: ClassVar[list[str]] = []

    @classmethod
    def reset(cls) -> None:
        super().reset()
        cls.answers.clear()
        cls.polled.clear()

    def send_one(self, sms: SMS) -> SendResult:
        super().send_one(sms)
        return SendResult(status="accepted", provider_message_id=f"poll-{sms.reference}")

    def fetch_status(self, message: AbstractMessage) -> StatusUpdate | None:
        key = message.provider_message_id or str(message.reference)
        self.polled.append(key)
        answer = self.answers.get(key)
        if isinstance(answer, BaseException):
            raise answer
        return answer
