"""The sandbox's record of accepted messages and what is going to happen to them.

Statuses here use one neutral vocabulary for every provider; each provider handler translates
them into its own wire values (Mailjet ``Status.Code``, Vonage ``status``, OVH ``dlr``/``ptt``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Neutral statuses, in lifecycle order.
ACCEPTED, SENT = "accepted", "sent"
FINAL_STATUSES = ("delivered", "undelivered", "expired", "rejected", "failed")
_ORDER = {ACCEPTED: 0, SENT: 1, **dict.fromkeys(FINAL_STATUSES, 2)}


@dataclass(frozen=True)
class Outcome:
    """What happens to a message after the sandbox accepted it.

    ``status`` is the final neutral status; ``provider_code`` an optional provider-specific
    detail the handler reports (Mailjet status code ``11``, Vonage error ``1240``, OVH ptt
    ``23``...). The message becomes ``sent`` after ``sent_after`` seconds (skipped when
    ``via_sent`` is False; by default only messages that reach a carrier go through ``sent``)
    and reaches ``status`` after ``final_after`` seconds. For providers with delivery reports,
    ``duplicates`` sends the final report that many extra times and ``out_of_order`` delivers
    the reports in reverse order (the final one first).
    """

    status: str = "delivered"
    provider_code: int | str | None = None
    sent_after: float = 0.5
    final_after: float = 1.5
    via_sent: bool | None = None
    duplicates: int = 0
    out_of_order: bool = False

    def __post_init__(self) -> None:
        if self.status not in FINAL_STATUSES:
            raise ValueError(
                f"Outcome status must be one of {FINAL_STATUSES}, not {self.status!r}."
            )

    @property
    def stages(self) -> list[tuple[str, float]]:
        """``[(status, seconds after acceptance), ...]`` in lifecycle order."""
        via_sent = self.via_sent
        if via_sent is None:
            via_sent = self.status in ("delivered", "undelivered", "expired")
        stages = [(SENT, self.sent_after)] if via_sent else []
        return [*stages, (self.status, max(self.final_after, self.sent_after if via_sent else 0))]


@dataclass
class SandboxMessage:
    """One message a provider handler accepted."""

    id: str
    provider: str
    to: str
    sender: str
    text: str
    outcome: Outcome
    #: Our own reference as the provider echoes it (Vonage client_ref, OVH tag); "" if none.
    reference: str = ""
    segments: int = 1
    encoding: str = "GSM-7"
    status: str = ACCEPTED
    cost: Decimal | None = None
    currency: str = ""
    #: Where this message's delivery reports go (per-message URL from the payload), if any.
    callback_url: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    #: ``[(unix time, status), ...]``
    history: list[tuple[float, str]] = field(default_factory=list)
    #: Provider-specific fields the handler wants to keep (request payload, job ids, ...).
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append((self.created_at, self.status))

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class MessageStore:
    """Thread-safe, ordered store of :class:`SandboxMessage`, per sandbox."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: dict[str, SandboxMessage] = {}

    def add(self, message: SandboxMessage) -> SandboxMessage:
        with self._lock:
            if message.id in self._messages:
                raise ValueError(f"Duplicate sandbox message id {message.id!r}")
            self._messages[message.id] = message
            self._changed.notify_all()
        return message

    def get(self, message_id: str) -> SandboxMessage | None:
        with self._lock:
            return self._messages.get(message_id)

    def __getitem__(self, message_id: str) -> SandboxMessage:
        message = self.get(message_id)
        if message is None:
            raise KeyError(message_id)
        return message

    def all(self) -> list[SandboxMessage]:
        with self._lock:
            return list(self._messages.values())

    def filter(self, *, provider: str | None = None, to: str | None = None,
               reference: str | None = None) -> list[SandboxMessage]:
        return [
            m for m in self.all()
            if (provider is None or m.provider == provider)
            and (to is None or m.to == to)
            and (reference is None or m.reference == reference)
        ]

    def last(self) -> SandboxMessage:
        messages = self.all()
        if not messages:
            raise LookupError("The sandbox has accepted no message.")
        return messages[-1]

    def __iter__(self) -> Iterator[SandboxMessage]:
        return iter(self.all())

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def advance(self, message_id: str, status: str) -> bool:
        """Move a message forward to ``status``; never backwards (False if ignored)."""
        with self._lock:
            message = self._messages.get(message_id)
            if message is None or _ORDER[status] <= _ORDER[message.status]:
                return False
            message.status = status
            message.updated_at = time.time()
            message.history.append((message.updated_at, status))
            self._changed.notify_all()
            return True

    def wait_for(self, message_id: str, status: str, timeout: float = 10.0) -> bool:
        """Block until the message has ``status`` (or a later one); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                message = self._messages.get(message_id)
                if message is not None and _ORDER[message.status] >= _ORDER[status]:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
