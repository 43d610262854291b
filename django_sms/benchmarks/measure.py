"""The measurements of ``smsbench``. Each function returns rows for the table
(:class:`~django_sms.benchmarks.report.Row`) and raises :class:`BenchmarkError` when what it
measured did not work (a benchmark of failed sends would flatter the app).

Everything runs against the benchmark's PostgreSQL database and provider sandboxes in
processes of their own (:mod:`django_sms.benchmarks.processes`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from django_sms import SMS, send_mass_sms, send_sms
from django_sms.backends.handler import sms_backends
from django_sms.benchmarks import floor, webhook_load
from django_sms.benchmarks.processes import BenchmarkError, ProcessGroup
from django_sms.benchmarks.report import Row
from django_sms.benchmarks.settings import vonage_backend
from django_sms.models import AbstractMessage, StatusEvent, get_message_model
from django_sms.status import Status
from django_sms.wallets import deposit, get_or_create_wallet, verify

#: The bulk benchmark's thread pool (``DJANGO_SMS["BULK_CONCURRENCY"]``).
BULK_CONCURRENCY = 32
#: Provider latency of the bulk benchmark, milliseconds.
BULK_LATENCY_MS = 50
#: gunicorn sync workers of the webhook benchmark, and wrk's threads and connections.
WEB_WORKERS = 3
LOAD_THREADS = 2
LOAD_CONNECTIONS = 16
#: Request budget of the webhook benchmark: unique reports generated per second of load.
REPORTS_PER_SECOND = 3000


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does (``--quick`` for smoke tests, full for the docs)."""

    send: int  # messages per loop in the per-message benchmark
    send_with_latency: int  # the same at 50 ms of provider latency
    rounds: int  # the two loops alternate in this many rounds
    bulk: int  # messages of the bulk benchmark (both ways)
    webhook_seconds: float  # load per endpoint
    workers: int  # messages per worker configuration

    def describe(self) -> str:
        return (
            f"Sizes: {self.send:,} messages per loop for the per-message cost "
            f"({self.send_with_latency:,} at {BULK_LATENCY_MS} ms of latency), {self.bulk:,} "
            f"messages each way for bulk, {self.workers:,} messages per worker configuration, "
            f"{self.webhook_seconds:g} s of load per webhook endpoint (after a 1 s warm-up)."
        )

    @classmethod
    def for_run(cls, quick: bool) -> Sizes:
        if quick:
            return cls(send=100, send_with_latency=20, rounds=2, bulk=100, webhook_seconds=2,
                       workers=100)
        return cls(send=2000, send_with_latency=200, rounds=5, bulk=5000,
                   webhook_seconds=10, workers=2000)


@dataclass
class Context:
    """What the measurements share: the helper processes and the run's sizes."""

    group: ProcessGroup
    sizes: Sizes
    log: Callable[[str], None]
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
def sending_to(url: str, **sms_options: Any) -> Iterator[None]:
    """Send through Vonage at ``url`` with extra DJANGO_SMS options, in this block."""
    options = {**settings.DJANGO_SMS, **sms_options}
    with override_settings(SMS_BACKENDS={"default": vonage_backend(url)}, DJANGO_SMS=options):
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


# -- 1. per-message cost -----------------------------------------------------------------------


def per_message_cost(ctx: Context) -> list[Row]:
    """``send_sms()`` (sync, Vonage, stored with its events) vs a bare requests loop.

    A third loop calls the Vonage backend alone (``send_messages()``, nothing stored), and
    the time ``send_sms()`` spends in SQL is measured on the way: together they say where
    the difference goes (the HTTP layer, the database, the rest of the pipeline). A fourth
    loop is the floor (:mod:`django_sms.benchmarks.floor`): the bare request between the
    two writes any stored send needs, by hand — the best ratio any implementation could have.
    """
    url = ctx.sandbox(0)
    numbers = Numbers()
    n = ctx.sizes.send
    per_round = max(1, n // ctx.sizes.rounds)
    sql = SqlTimer()
    with sending_to(url):
        backend = sms_backends["default"]
        token = backend.application_jwt()
        sent: list[AbstractMessage] = []

        def app_loop(count: int) -> float:
            began = time.perf_counter()
            with connection.execute_wrapper(sql):
                for _ in range(count):
                    text, to = numbers.next()
                    sent.append(send_sms(text, to=to))
            return time.perf_counter() - began

        def backend_loop(count: int) -> float:
            # The values are built before the clock starts (number parsing, text analysis):
            # this loop times the HTTP layer, against the bare loop's requests.
            values = []
            for _ in range(count):
                text, to = numbers.next()
                sms = SMS(text, to=to, sender=settings.DJANGO_SMS["DEFAULT_SENDER"])
                sms.reference = str(uuid.uuid4())
                values.append(sms)
            began = time.perf_counter()
            for sms in values:
                [result] = backend.send_messages([sms])
                if result.error is not None:
                    raise BenchmarkError(f"the Vonage backend alone: {result.error}")
            return time.perf_counter() - began

        session = requests.Session()
        bare_loop = bare_sender(session, f"{url}/v1/messages", token, numbers)
        floor_loop = floor.StoredSendFloor(bare_post(session, f"{url}/v1/messages", token),
                                           numbers)
        app_loop(20)  # warm-up: connections, JWT, caches
        backend_loop(20)
        bare_loop(20)
        floor_loop.loop(20)
        sql.reset()
        app_time = backend_time = bare_time = floor_time = 0.0
        for _ in range(ctx.sizes.rounds):
            app_time += app_loop(per_round)
            backend_time += backend_loop(per_round)
            bare_time += bare_loop(per_round)
            floor_time += floor_loop.loop(per_round)
        session.close()
        floor_loop.close()
    check_statuses(sent, {Status.ACCEPTED}, "send_sms()")
    floor_rows = get_message_model()._default_manager.filter(reference__in=floor_loop.references)
    if floor_rows.filter(status=Status.ACCEPTED).count() != len(floor_loop.references):
        raise BenchmarkError("the floor loop: not every message it stored ended accepted")
    total = per_round * ctx.sizes.rounds
    app, backend_alone, bare = app_time / total, backend_time / total, bare_time / total
    least = floor_time / total
    row = cost_row(app, bare, total, 0)
    row.ours += f"; of which SQL {sql.seconds / total * 1000:.2f} ms"
    return [
        row,
        Row(
            "Floor of a stored send: the bare loop's request between the two writes any stored "
            "send needs (the message INSERTed before it; 3 events and its status after it, in "
            "one statement), by hand with psycopg on the same tables, "
            f"{total:,} messages each, 0 ms provider latency",
            f"{least * 1000:.2f} ms/msg (+{(least - bare) * 1000:.2f} ms)",
            f"{bare * 1000:.2f} ms/msg",
            f"{least / bare:.2f}x",
            "",
            None,
        ),
        Row(
            "Per-message cost, the Vonage backend alone (`send_messages()`, nothing stored) vs "
            f"the same bare loop, {total:,} messages each, 0 ms provider latency",
            f"{backend_alone * 1000:.2f} ms/msg",
            f"{bare * 1000:.2f} ms/msg",
            f"{backend_alone / bare:.2f}x",
            "",
            None,
        ),
    ]


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


def cost_row(app: float, bare: float, count: int, latency_ms: float) -> Row:
    """A per-message cost row from the seconds per message of each loop."""
    app_ms, bare_ms = app * 1000, bare * 1000
    ratio = app_ms / bare_ms
    return Row(
        "Per-message cost: `send_sms()` (sync, Vonage, stored with its events) vs a bare "
        f"`requests.Session` loop, {count:,} messages each, {latency_ms:g} ms provider latency",
        f"{app_ms:.2f} ms/msg (+{app_ms - bare_ms:.2f} ms)",
        f"{bare_ms:.2f} ms/msg",
        f"{ratio:.2f}x",
        "≤ 1.3x",
        ratio <= 1.3,
    )


def per_message_cost_with_latency(ctx: Context) -> list[Row]:
    """The same comparison against a provider 50 ms away (fewer messages: it is slow)."""
    url = ctx.sandbox(BULK_LATENCY_MS)
    numbers = Numbers()
    n = ctx.sizes.send_with_latency
    with sending_to(url):
        token = sms_backends["default"].application_jwt()
        session = requests.Session()
        bare_loop = bare_sender(session, f"{url}/v1/messages", token, numbers)
        sent: list[AbstractMessage] = []
        app_time = bare_time = 0.0
        for _ in range(2):
            began = time.perf_counter()
            for _ in range(n // 2):
                text, to = numbers.next()
                sent.append(send_sms(text, to=to))
            app_time += time.perf_counter() - began
            bare_time += bare_loop(n // 2)
        session.close()
    check_statuses(sent, {Status.ACCEPTED}, "send_sms()")
    total = n // 2 * 2
    return [cost_row(app_time / total, bare_time / total, total, BULK_LATENCY_MS)]


def bare_post(session: requests.Session, url: str, token: str) -> floor.Post:
    """The baseline's request: the same POST (body and Authorization) written by hand; it
    returns the provider's message id."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }

    def post(text: str, to: str, reference: str) -> str:
        payload = {
            "message_type": "text",
            "channel": "sms",
            "to": to.removeprefix("+"),
            "from": "BenchShop",
            "text": text,
            "client_ref": reference,
            "sms": {"encoding_type": "text"},
        }
        response = session.post(url, data=json.dumps(payload, separators=(",", ":")),
                                 headers=headers, timeout=(5, 30))
        provider_id = response.json().get("message_uuid") if response.status_code == 202 else None
        if not provider_id:
            raise BenchmarkError(f"bare loop: HTTP {response.status_code} {response.text}")
        return str(provider_id)

    return post


def bare_sender(session: requests.Session, url: str, token: str,
                numbers: Numbers) -> Callable[[int], float]:
    """The baseline: a loop of :func:`bare_post`."""
    post = bare_post(session, url, token)

    def loop(count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            text, to = numbers.next()
            post(text, to, str(uuid.uuid4()))
        return time.perf_counter() - began

    return loop


# -- 2. bulk ---------------------------------------------------------------------------------------


def bulk(ctx: Context) -> list[Row]:
    """``send_mass_sms()`` vs a loop of ``send_sms()``, against 50 ms of provider latency."""
    url = ctx.sandbox(BULK_LATENCY_MS)
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
        for _ in range(n):
            text, to = numbers.next()
            loop.append(send_sms(text, to=to))
        loop_time = time.perf_counter() - began
    check_statuses(mass, {Status.ACCEPTED}, "send_mass_sms()")
    check_statuses(loop, {Status.ACCEPTED}, "the send_sms() loop")
    mass_rate, loop_rate = n / mass_time, n / loop_time
    ratio = mass_rate / loop_rate
    return [
        Row(
            f"Bulk: {n:,} messages, {BULK_LATENCY_MS} ms provider latency: `send_mass_sms()` "
            f"(BULK_CONCURRENCY={BULK_CONCURRENCY}) vs a loop of `send_sms()`",
            f"{mass_rate:,.0f} msg/s",
            f"{loop_rate:,.1f} msg/s",
            f"{ratio:.1f}x",
            "≥ 10x",
            ratio >= 10,
        )
    ]


# -- 3. webhook ingestion --------------------------------------------------------------------------


def webhooks(ctx: Context, workdir: Path) -> list[Row]:
    """Signed Vonage status callbacks through gunicorn: our endpoint vs the bare view, with
    Django's default PostgreSQL connection options, then with prepared statements."""
    return [
        webhook_row(ctx, workdir / "default", prepared=False),
        webhook_row(ctx, workdir / "prepared", prepared=True),
    ]


def webhook_row(ctx: Context, workdir: Path, *, prepared: bool) -> Row:
    """One configuration of the webhook benchmark. ``prepared``: the database OPTIONS
    ``server_side_binding`` and ``prepare_threshold`` (docs/webhooks.rst, "Throughput"), for the
    endpoint and the bare view alike."""
    label = "prepared" if prepared else "default"
    seconds = ctx.sizes.webhook_seconds
    rounds = 2  # ours, bare, bare, ours: drift on a shared machine hits both alike
    per_run = int(REPORTS_PER_SECOND * seconds / rounds)
    use_wrk = webhook_load.wrk_available()
    files = LOAD_THREADS if use_wrk else 2
    ctx.log(f"  generating {2 * (rounds * per_run + REPORTS_PER_SECOND):,} signed reports")
    plans: dict[str, list[Path]] = {}
    for name in ("ours", "bare"):
        plans[name] = []
        for run in range(rounds + 1):  # the first is the warm-up
            messages = webhook_load.create_messages(
                per_run if run else REPORTS_PER_SECOND, label=label
            )
            plans[name].append(
                webhook_load.write_requests(workdir / f"{name}-{run}", messages, files)
            )
    connection.close()  # the server's workers need the connections, not this process

    helper, base = ctx.group.gunicorn(WEB_WORKERS, prepared=prepared)
    urls = {"ours": f"{base}/sms/webhooks/default/status/", "bare": f"{base}/bare/status/"}

    def load(name: str, run: int, duration: float) -> webhook_load.LoadResult:
        if use_wrk:
            return webhook_load.wrk_load(urls[name], plans[name][run], seconds=duration,
                                         threads=LOAD_THREADS, connections=LOAD_CONNECTIONS)
        return webhook_load.python_load(urls[name], plans[name][run], seconds=duration,
                                        processes=files)

    empty = webhook_load.LoadResult(0, 0, 0)
    warm = dict.fromkeys(("ours", "bare"), empty)
    results = dict.fromkeys(("ours", "bare"), empty)
    try:
        for name in ("ours", "bare"):
            warm[name] = load(name, 0, 1)
        for run, order in enumerate((("ours", "bare"), ("bare", "ours")), start=1):
            for name in order:
                results[name] = results[name] + load(name, run, seconds / rounds)
    finally:
        ctx.group.stop(helper)
    for name, result in results.items():
        everything = result + warm[name]
        if everything.errors or everything.wrapped:
            raise BenchmarkError(
                f"webhook load on {name}: {everything.errors} errors, ran out of unique "
                f"reports {everything.wrapped} times"
            )
    check_webhook_effects(ctx, results["ours"] + warm["ours"], results["bare"] + warm["bare"],
                          in_flight=LOAD_CONNECTIONS * (rounds + 1), label=label)
    ours, bare = results["ours"], results["bare"]
    ratio = ours.rate / bare.rate
    generator = (f"wrk {LOAD_THREADS} threads, {LOAD_CONNECTIONS} connections" if use_wrk
                 else f"Python, {files} processes (wrk not installed)")
    options = ("prepared statements (OPTIONS server_side_binding, prepare_threshold=5)"
               if prepared else "Django's default connection OPTIONS")
    return Row(
        "Webhook ingestion: signed Vonage status callbacks via gunicorn "
        f"({WEB_WORKERS} sync workers, PostgreSQL, CONN_MAX_AGE=600, {options}), "
        f"{generator}, {seconds:g} s each: our endpoint vs a bare view doing the one UPDATE",
        f"{ours.rate:,.0f} req/s (p99 {ours.p99_ms or 0:.0f} ms)",
        f"{bare.rate:,.0f} req/s (p99 {bare.p99_ms or 0:.0f} ms)",
        f"{ratio:.2f}x",
        "≥ 0.7x",
        ratio >= 0.7,
    )


def check_webhook_effects(ctx: Context, ours: webhook_load.LoadResult,
                          bare: webhook_load.LoadResult, *, in_flight: int, label: str) -> None:
    """Every answered report changed its message once: one event stored and the message
    delivered (our endpoint), the message delivered (the bare view). Requests still in
    flight when a load run stopped may have been processed without being counted."""
    model = get_message_model()
    prefix = webhook_load.message_prefix(label)
    events = StatusEvent.objects.filter(
        source="webhook", applied=True, message__text__startswith=prefix
    ).count()
    delivered = model._default_manager.filter(
        status=Status.DELIVERED, text__startswith=prefix
    ).count()
    ctx.log(f"  our endpoint: {ours.requests:,} answered, {events:,} events stored; bare view: "
            f"{bare.requests:,} answered; {delivered:,} messages delivered in all")
    if not ours.requests <= events <= ours.requests + in_flight:
        raise BenchmarkError(f"{ours.requests} reports answered but {events} events stored")
    expected = ours.requests + bare.requests
    if not expected <= delivered <= expected + 2 * in_flight:
        raise BenchmarkError(f"{expected} reports answered but {delivered} messages delivered")


# -- 4. worker throughput ------------------------------------------------------------------------


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


# -- 5. SQL per send -----------------------------------------------------------------------------

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
    for what, captured, target in (("no wallet", plain, 4), ("paid from a wallet", paid, 7)):
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
