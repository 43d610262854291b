"""The rows that do not compare with a hand-written peer: bulk sending (against a loop of
``send_sms()``), worker throughput (1 against 4 workers) and the SQL of one send.
The per-message rows are in :mod:`benchmarks.per_message`, the webhook rows in
:mod:`benchmarks.webhooks`.

Everything runs against the benchmark's PostgreSQL database and provider sandboxes in
processes of their own (:mod:`benchmarks.processes`). Bulk, workers and SQL always send
through Vonage.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from benchmarks.common import (
    BULK_VS_LOOP,
    LATENCY_MS,
    QUERIES_NO_WALLET,
    QUERIES_WALLET,
    Context,
    Numbers,
    check_statuses,
    sending_to,
)
from benchmarks.processes import BenchmarkError
from benchmarks.report import Row
from django_sms import SMS, send_mass_sms, send_sms
from django_sms.models import AbstractMessage, get_message_model
from django_sms.status import Status
from django_sms.wallets import deposit, get_or_create_wallet, verify

#: The bulk benchmark's thread pool (``DJANGO_SMS["BULK_CONCURRENCY"]``).
BULK_CONCURRENCY = 32


# -- bulk ---------------------------------------------------------------------------------------


def bulk(ctx: Context) -> list[Row]:
    """``send_mass_sms()`` vs a loop of ``send_sms()``, against 50 ms of provider latency."""
    url = ctx.sandbox(LATENCY_MS)
    numbers = Numbers()
    n = ctx.sizes.bulk
    with sending_to(url, BULK_CONCURRENCY=BULK_CONCURRENCY):
        batch = [SMS(*numbers.next()) for _ in range(n)]
        began = time.perf_counter()
        mass = send_mass_sms(batch)
        mass_time = time.perf_counter() - began
        ctx.log(f"  send_mass_sms(): {n} messages in {mass_time:.1f} s")
        loop: list[AbstractMessage] = []
        began = time.perf_counter()
        for _ in range(ctx.sizes.bulk_loop):
            text, to = numbers.next()
            loop.append(send_sms(text, to=to))
        loop_time = time.perf_counter() - began
    check_statuses(mass, {Status.ACCEPTED}, "send_mass_sms()")
    check_statuses(loop, {Status.ACCEPTED}, "the send_sms() loop")
    mass_rate, loop_rate = n / mass_time, ctx.sizes.bulk_loop / loop_time
    ratio = mass_rate / loop_rate
    return [
        Row(
            f"Bulk: {n:,} messages, {LATENCY_MS} ms provider latency: `send_mass_sms()` "
            f"(BULK_CONCURRENCY={BULK_CONCURRENCY}) vs a loop of `send_sms()` "
            f"({ctx.sizes.bulk_loop:,} messages, one at a time)",
            f"{mass_rate:,.0f} msg/s",
            f"{loop_rate:,.1f} msg/s",
            f"{ratio:.1f}x",
            f"≥ {BULK_VS_LOOP:g}x",
            ratio >= BULK_VS_LOOP,
        )
    ]


# -- worker throughput ------------------------------------------------------------------------


def workers(ctx: Context) -> list[Row]:
    """Messages per second delivered by 1 and 4 ``db_worker`` processes."""
    url = ctx.sandbox(0)
    ctx.group.env["SMS_BENCH_SANDBOX_URL"] = url
    n = ctx.sizes.workers
    rows = []
    for how in ("deliver", "deliver_batch"):
        rates = {}
        for count in (1, 4):
            rates[count] = worker_rate(ctx, url, how, count, n)
            ctx.log(f"  {how}, {count} worker(s): {rates[count]:,.0f} msg/s")
        kind = ("one `deliver` task per message (`send_sms()`)" if how == "deliver"
                else "`deliver_batch` tasks of 100 (`send_mass_sms()`)")
        rows.append(
            Row(
                f"Worker throughput, django-tasks-db on PostgreSQL, {n:,} messages, {kind}: "
                "1 vs 4 `db_worker` processes",
                f"1 worker: {rates[1]:,.0f} msg/s",
                f"4 workers: {rates[4]:,.0f} msg/s",
                f"{rates[4] / rates[1]:.1f}x",
                "",
                None,
            )
        )
    return rows


def worker_rate(ctx: Context, url: str, how: str, count: int, n: int) -> float:
    """Start ``count`` workers, enqueue ``n`` messages at once, time until all are accepted."""
    helpers = [ctx.group.db_worker(i) for i in range(count)]
    numbers = Numbers()
    try:
        with sending_to(url, ASYNC=True):
            with transaction.atomic():
                if how == "deliver":
                    messages = [send_sms(*numbers.next()) for _ in range(n)]
                else:
                    messages = send_mass_sms([SMS(*numbers.next()) for _ in range(n)])
                began = time.time()
            # The tasks were enqueued when the transaction committed.
            model = get_message_model()
            pks = [m.pk for m in messages]
            deadline = time.monotonic() + 600
            while model._default_manager.filter(pk__in=pks, status=Status.ACCEPTED).count() < n:
                for helper in helpers:
                    if helper.process.poll() is not None:
                        raise BenchmarkError(f"{helper.name} died:\n{helper.output()}")
                if time.monotonic() > deadline:
                    raise BenchmarkError(f"{how} with {count} workers: not done in 10 minutes")
                time.sleep(0.1)
            last = max(
                stamp.timestamp()
                for stamp in model._default_manager.filter(pk__in=pks).values_list(
                    "sent_at", flat=True
                )
                if stamp is not None
            )
    finally:
        for helper in helpers:
            ctx.group.stop(helper)
    return n / (last - began)


# -- SQL per send -----------------------------------------------------------------------------

#: Transaction control, which Django (6.0+) logs with the queries; not a query of its own.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def control_statements(captured: CaptureQueriesContext) -> list[str]:
    """The first word of each transaction-control statement of a capture (BEGIN, COMMIT...)."""
    return [
        query["sql"].strip().split()[0].upper()
        for query in captured.captured_queries
        if query["sql"].strip().upper().startswith(TRANSACTION_CONTROL)
    ]


def queries(ctx: Context) -> list[Row]:
    """Queries of one synchronous send through Vonage, without and with a wallet."""
    url = ctx.sandbox(0)
    numbers = Numbers()
    owner = get_user_model()._default_manager.create(username=f"smsbench-{uuid.uuid4().hex[:12]}")
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "100")
    verify(wallet)
    with sending_to(url):
        send_sms(*numbers.next())  # warm-up: content types, JWT
        send_mass_sms([SMS(*numbers.next())], wallet=wallet)
        with CaptureQueriesContext(connection) as plain:
            message = send_sms(*numbers.next())
        with CaptureQueriesContext(connection) as paid:
            [paid_message] = send_mass_sms([SMS(*numbers.next())], wallet=wallet)
    check_statuses([message, paid_message], {Status.ACCEPTED}, "the measured sends")
    rows = []
    for what, captured, target in (("no wallet", plain, QUERIES_NO_WALLET),
                                    ("paid from a wallet", paid, QUERIES_WALLET)):
        control = control_statements(captured)
        count = len(captured.captured_queries) - len(control)
        extra = f" (+ {in_words(control)})" if control else ""
        rows.append(
            Row(f"SQL queries per synchronous send through Vonage, {what}",
                f"{count} queries{extra}", "", "", f"≤ {target}", count <= target)
        )
    return rows


def in_words(names: list[str]) -> str:
    """Transaction-control statements in words: "BEGIN and COMMIT", "BEGIN and COMMIT of 2
    transactions", or the list of them."""
    counts = Counter(names)
    if set(counts) == {"BEGIN", "COMMIT"} and counts["BEGIN"] == counts["COMMIT"]:
        n = counts["BEGIN"]
        return "BEGIN and COMMIT" + (f" of {n} transactions" if n > 1 else "")
    return ", ".join(names)
