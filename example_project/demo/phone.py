"""The demo's simulated handset: the texts "received" by each number, so that a visitor can
read the code the demo sent without owning the number.

A ``pre_send`` receiver connected after django_sms's own (the demo app comes after
``django_sms`` in ``INSTALLED_APPS``) sees the text exactly as the provider receives it, code
included, and keeps the last few per number in this process's memory. This stands in for the
visitor's phone; a real site has no such thing (the code exists only in the SMS).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

KEPT_PER_NUMBER = 5


@dataclass(frozen=True)
class ReceivedText:
    text: str
    received_at: datetime


_inbox: dict[str, deque[ReceivedText]] = defaultdict(lambda: deque(maxlen=KEPT_PER_NUMBER))
_lock = threading.Lock()


def receive(sender: Any, message: Any, sms: Any, **kwargs: Any) -> None:
    with _lock:
        _inbox[sms.to].appendleft(ReceivedText(sms.text, timezone.now()))


def texts_of(number: str) -> list[ReceivedText]:
    """The texts received by ``number`` (E.164), newest first."""
    with _lock:
        return list(_inbox.get(number, ()))


def clear() -> None:
    with _lock:
        _inbox.clear()
