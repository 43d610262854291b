from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_sms.signals import status_changed


class SignalRecorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, sender: Any, **kwargs: Any) -> None:
        self.calls.append(kwargs)

    @property
    def transitions(self) -> list[tuple[str, str]]:
        return [(c["old"], c["new"]) for c in self.calls]


@pytest.fixture
def status_signals() -> Iterator[SignalRecorder]:
    """Records every status_changed signal sent during the test."""
    recorder = SignalRecorder()
    status_changed.connect(recorder, weak=False)
    yield recorder
    status_changed.disconnect(recorder)
