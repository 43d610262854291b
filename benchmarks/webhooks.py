"""The webhook rows: signed Vonage delivery reports through gunicorn, to three endpoints
served by the same gunicorn (the same workers, settings and database):

``ours``
    the app's status webhook, ``/sms/webhooks/default/status/``;
``peer``
    the hand-written peer (:mod:`benchmarks.peer_webhook`), a DRF view that verifies the
    same signature and writes the same rows — the row with the target;
``bare``
    one UPDATE and no check (:mod:`benchmarks.bare_webhook`), a reference.

Each endpoint gets reports about messages of its own, generated and signed before the
load starts (:mod:`benchmarks.webhook_load`). The whole comparison runs twice: with Django's
default database OPTIONS, then with PostgreSQL prepared statements for every endpoint.
"""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from benchmarks import webhook_load
from benchmarks.common import WEBHOOK_VS_PEER, Context
from benchmarks.processes import BenchmarkError
from benchmarks.report import Row
from django_sms.models import StatusEvent, get_message_model
from django_sms.status import Status

#: gunicorn sync workers, and wrk's threads and connections.
WEB_WORKERS = 3
LOAD_THREADS = 2
LOAD_CONNECTIONS = 16
ENDPOINTS = {
    "ours": "/sms/webhooks/default/status/",
    "peer": "/peer/status/",
    "bare": "/bare/status/",
}
#: The order of the two timed rounds: drift on a shared machine hits every endpoint alike.
ROUNDS = (("ours", "peer", "bare"), ("bare", "peer", "ours"))


def webhooks(ctx: Context, workdir: Path) -> list[Row]:
    """Both configurations, two rows each (against the peer, against the bare view)."""
    return [
        *configuration(ctx, workdir / "default", prepared=False),
        *configuration(ctx, workdir / "prepared", prepared=True),
    ]


def configuration(ctx: Context, workdir: Path, *, prepared: bool) -> list[Row]:
    """One configuration. ``prepared``: the database OPTIONS ``server_side_binding`` and
    ``prepare_threshold`` (docs/webhooks.rst, "Throughput"), for every endpoint alike."""
    config = "prepared" if prepared else "default"
    seconds = ctx.sizes.webhook_seconds
    budget = ctx.sizes.reports_per_second
    per_run = int(budget * seconds / len(ROUNDS))
    use_wrk = webhook_load.wrk_available()
    files = LOAD_THREADS if use_wrk else 2
    ctx.log(f"  generating {len(ENDPOINTS) * (len(ROUNDS) * per_run + budget):,} "
            "signed reports")
    plans: dict[str, list[Path]] = {}
    for name in ENDPOINTS:
        plans[name] = []
        for run in range(len(ROUNDS) + 1):  # the first is the warm-up
            messages = webhook_load.create_messages(
                per_run if run else budget, label=f"{config}/{name}"
            )
            plans[name].append(
                webhook_load.write_requests(workdir / f"{name}-{run}", messages, files)
            )
    connection.close()  # the server's workers need the connections, not this process

    helper, base = ctx.group.gunicorn(WEB_WORKERS, prepared=prepared)

    def load(name: str, run: int, duration: float) -> webhook_load.LoadResult:
        url = base + ENDPOINTS[name]
        if use_wrk:
            return webhook_load.wrk_load(url, plans[name][run], seconds=duration,
                                         threads=LOAD_THREADS, connections=LOAD_CONNECTIONS)
        return webhook_load.python_load(url, plans[name][run], seconds=duration,
                                        processes=files)

    empty = webhook_load.LoadResult(0, 0, 0)
    warm = dict.fromkeys(ENDPOINTS, empty)
    results = dict.fromkeys(ENDPOINTS, empty)
    try:
        for name in ENDPOINTS:
            warm[name] = load(name, 0, 1)
        for run, order in enumerate(ROUNDS, start=1):
            for name in order:
                results[name] = results[name] + load(name, run, seconds / len(ROUNDS))
    finally:
        ctx.group.stop(helper)
    in_flight = LOAD_CONNECTIONS * (len(ROUNDS) + 1)
    for name in ENDPOINTS:
        everything = results[name] + warm[name]
        if everything.errors or everything.wrapped:
            raise BenchmarkError(
                f"webhook load on {name}: {everything.errors} errors, ran out of unique "
                f"reports {everything.wrapped} times"
            )
        check_effects(ctx, name, everything, label=f"{config}/{name}", in_flight=in_flight)
        if not results[name].requests:
            raise BenchmarkError(f"webhook load on {name}: no request answered in the timed "
                                 "runs (is the machine overloaded?)")

    ours, peer, bare = results["ours"], results["peer"], results["bare"]
    generator = (f"wrk {LOAD_THREADS} threads, {LOAD_CONNECTIONS} connections" if use_wrk
                 else f"Python, {files} processes (wrk not installed)")
    options = ("prepared statements (OPTIONS server_side_binding, prepare_threshold=5)"
               if prepared else "Django's default connection OPTIONS")
    setup = (f"via gunicorn ({WEB_WORKERS} sync workers, PostgreSQL, CONN_MAX_AGE=600, "
             f"{options}), {generator}, {seconds:g} s each")
    ratio = ours.rate / peer.rate
    return [
        Row(
            f"Webhook ingestion: signed Vonage status callbacks {setup}: our endpoint vs the "
            "hand-written peer (a DRF view: the JWT checked with PyJWT, the message found, "
            "the event created and the status updated with the ORM)",
            rate(ours), rate(peer), f"{ratio:.2f}x", f"≥ {WEBHOOK_VS_PEER:g}x",
            ratio >= WEBHOOK_VS_PEER, topic="webhook",
        ),
        Row(
            "Webhook ingestion, the same run: our endpoint vs a bare view doing one UPDATE "
            "(no signature check, no event)",
            rate(ours), rate(bare), f"{ours.rate / bare.rate:.2f}x", "", None,
        ),
    ]


def rate(result: webhook_load.LoadResult) -> str:
    return f"{result.rate:,.0f} req/s (p99 {result.p99_ms or 0:.0f} ms)"


def check_effects(ctx: Context, name: str, answered: webhook_load.LoadResult, *, label: str,
                  in_flight: int) -> None:
    """Every answered report changed its message once: the message delivered, and (but for
    the bare view) one event stored. Requests still in flight when a load run stopped may
    have been processed without being counted."""
    prefix = webhook_load.message_prefix(label)
    delivered = get_message_model()._default_manager.filter(
        status=Status.DELIVERED, text__startswith=prefix
    ).count()
    events = StatusEvent.objects.filter(
        source="webhook", status=Status.DELIVERED, message__text__startswith=prefix
    ).count()
    ctx.log(f"  {name}: {answered.requests:,} answered, {delivered:,} messages delivered, "
            f"{events:,} events stored")
    expected_events = 0 if name == "bare" else answered.requests
    if not answered.requests <= delivered <= answered.requests + in_flight:
        raise BenchmarkError(
            f"{name}: {answered.requests} reports answered but {delivered} messages delivered"
        )
    if not expected_events <= events <= expected_events + (in_flight if expected_events else 0):
        raise BenchmarkError(
            f"{name}: {answered.requests} reports answered but {events} events stored"
        )
