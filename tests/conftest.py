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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every database test as a transactional test, as the app runs in production.

    A send, a webhook or a sweep made outside any transaction delivers and announces at once;
    inside one (a caller's ``atomic()``, ``ATOMIC_REQUESTS``, or the transaction Django's
    ``TestCase`` wraps each test in) it waits for the commit (``transaction.on_commit``).
    The app asks Django's public API whether a transaction is open, so a ``TestCase``-style
    test would see every send deferred. Tests of behaviour inside a transaction open one
    themselves. A test that asks for ``transaction=False`` explicitly keeps it.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or "transaction" in marker.kwargs or marker.args:
            continue
        transactional = pytest.mark.django_db(**{**marker.kwargs, "transaction": True})
        item.add_marker(transactional, append=False)  # the closest marker wins


TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class Statements:
    """The SQL statements run on the default database, transaction control left out."""

    def __init__(self, captured: Any) -> None:
        self.captured = captured

    @property
    def sql(self) -> list[str]:
        return [
            q["sql"]
            for q in self.captured.captured_queries
            if q["sql"].split(None, 1)[0].upper() not in TRANSACTION_CONTROL
        ]

    def __len__(self) -> int:
        return len(self.sql)


@pytest.fixture
def sql_statements() -> Any:
    """``with sql_statements() as statements:`` — ``len(statements)`` and ``statements.sql``
    count what ran, without BEGIN / COMMIT / SAVEPOINT (whose use differs between Django
    versions and with the caller's transactions)."""
    from contextlib import contextmanager

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    @contextmanager
    def capture() -> Iterator[Statements]:
        with CaptureQueriesContext(connection) as captured:
            yield Statements(captured)

    return capture
