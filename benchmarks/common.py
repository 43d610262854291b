"""What the measurements share: the targets, the sizes of a run, its helper processes, the
provider settings of a block, unique numbers, and the check that what was measured worked.

Every measurement returns rows for the table (:class:`~benchmarks.report.Row`) and raises
:class:`~benchmarks.processes.BenchmarkError` when what it measured did not work (a
benchmark of failed sends would flatter the app).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.test.utils import override_settings

from benchmarks.processes import BenchmarkError, ProcessGroup
from benchmarks.providers import PROVIDERS, Provider
from django_sms.backends.handler import sms_backends
from django_sms.models import AbstractMessage, get_message_model

# -- the targets (docs/benchmarks.rst), on PostgreSQL, in one run -------------------------------

#: ``send_sms()`` per message, 0 ms provider latency: at most this times the hand-written peer.
SEND_VS_PEER = 1.25
#: ``send_sms()`` per message, 50 ms provider latency: at most this times the bare loop.
SEND_WITH_LATENCY_VS_BARE = 1.10
#: Webhook ingestion through gunicorn: at least this times the hand-written peer view.
WEBHOOK_VS_PEER = 0.85
#: Bulk, 5,000 messages at 50 ms: ``send_mass_sms()`` at least this times a ``send_sms()`` loop.
BULK_VS_LOOP = 15
#: SQL statements per synchronous send (transaction control not counted).
QUERIES_NO_WALLET = 4
QUERIES_WALLET = 7

#: Provider latency of the bulk benchmark and of the second per-message row, milliseconds.
LATENCY_MS = 50


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does (``--quick`` for smoke tests, full for the docs)."""

    send: int  # messages per loop in the per-message benchmark
    send_with_latency: int  # the same at 50 ms of provider latency
    rounds: int  # the loops alternate in this many rounds
    bulk: int  # messages of the bulk benchmark's send_mass_sms() call
    bulk_loop: int  # messages of its send_sms() loop (one at a time: its rate is steady)
    webhook_seconds: float  # load per endpoint
    workers: int  # messages per worker configuration
    profiled: int  # sends (and reports) per profile
    reports_per_second: int  # the webhook benchmark's budget of unique signed reports
    verification_pairs: int  # timed start + check pairs per side (phone verification)

    def describe(self) -> str:
        return (
            f"Sizes: {self.send:,} messages per loop for the per-message cost "
            f"({self.send_with_latency:,} at {LATENCY_MS} ms of latency), {self.bulk:,} "
            f"messages in one `send_mass_sms()` call against a loop of {self.bulk_loop:,} "
            f"`send_sms()` for bulk, {self.workers:,} messages per worker configuration, "
            f"{self.webhook_seconds:g} s of load per webhook endpoint (after a 1 s warm-up)."
        )

    @classmethod
    def for_run(cls, quick: bool) -> Sizes:
        if quick:
            return cls(send=60, send_with_latency=10, rounds=2, bulk=100, bulk_loop=20,
                       webhook_seconds=4,
                       workers=100, profiled=30, reports_per_second=1500,
                       verification_pairs=12)
        return cls(send=2000, send_with_latency=200, rounds=5, bulk=5000, bulk_loop=1000,
                   webhook_seconds=10, workers=2000, profiled=500, reports_per_second=3000,
                   verification_pairs=300)


@dataclass
class Context:
    """What the measurements share: the helper processes, the run's sizes, the provider of
    the per-message rows."""

    group: ProcessGroup
    sizes: Sizes
    log: Callable[[str], None]
    provider: Provider = PROVIDERS["vonage"]
    _sandboxes: dict[float, str] | None = None

    def sandbox(self, latency_ms: float = 0.0) -> str:
        """The URL of a sandbox process with ``latency_ms`` (started on first use)."""
        if self._sandboxes is None:
            self._sandboxes = {}
        if latency_ms not in self._sandboxes:
            self._sandboxes[latency_ms] = self.group.sandbox(
                f"sandbox-{latency_ms:g}ms", latency_ms
            )
        return self._sandboxes[latency_ms]


@contextmanager
def sending_to(url: str, provider: Provider = PROVIDERS["vonage"],
               **sms_options: Any) -> Iterator[None]:
    """Send through ``provider``'s sandbox at ``url`` with extra DJANGO_SMS options."""
    options = {**settings.DJANGO_SMS, **sms_options}
    with override_settings(SMS_BACKENDS={"default": provider.backend(url)}, DJANGO_SMS=options):
        try:
            yield
        finally:
            sms_backends.close_all()


class Numbers:
    """Distinct French mobile numbers and texts, so every message of a run is unique."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> tuple[str, str]:
        self.count += 1
        return f"Your code is {self.count % 1_000_000:06d}", f"+3361{self.count % 10**7:07d}"


def check_statuses(messages: list[AbstractMessage], expected: set[str], what: str) -> None:
    """Fail when a message of the measured run did not end as expected."""
    model = get_message_model()
    statuses = Counter(
        model._default_manager.filter(pk__in=[m.pk for m in messages]).values_list(
            "status", flat=True
        )
    )
    wrong = {status: n for status, n in statuses.items() if status not in expected}
    if wrong or sum(statuses.values()) != len(messages):
        raise BenchmarkError(f"{what}: messages ended {dict(statuses)}, expected {expected}")


class SqlTimer:
    """A ``connection.execute_wrapper``: the seconds spent running SQL (the driver and the
    server, not Django building the queries)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def reset(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
                 context: dict[str, Any]) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began
