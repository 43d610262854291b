"""The per-message rows: what one ``send_sms()`` costs, against the code a developer writes
without the app, through the provider of the run (``--provider``).

At 0 ms of provider latency, five loops alternate in rounds after a warm-up, each sending
its own messages to the same sandbox process:

* ``send_sms()``, synchronous, stored with its events (the app);
* the hand-written peer (:mod:`benchmarks.peer_send`): phonenumbers, the ORM, ``requests``,
  the answer and one event — the row with the target;
* the bare loop: the same request by hand, nothing stored (a reference);
* the floor (:mod:`benchmarks.floor`): the bare request between the two writes any stored
  send needs, by hand with psycopg (a reference);
* the app's backend alone (``send_messages()``, nothing stored): the HTTP layer's share.

The time each of the first two spends running SQL is measured on the way. Then
``send_sms()`` against the bare loop once more, with a sandbox 50 ms away.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import requests
from django.conf import settings
from django.db import connection

from benchmarks import floor
from benchmarks.common import (
    LATENCY_MS,
    SEND_VS_PEER,
    SEND_WITH_LATENCY_VS_BARE,
    Context,
    Numbers,
    SqlTimer,
    check_statuses,
    sending_to,
)
from benchmarks.peer_send import hand_written_send
from benchmarks.processes import BenchmarkError
from benchmarks.providers import Post
from benchmarks.report import Row
from django_sms import SMS, send_sms
from django_sms.backends.handler import sms_backends
from django_sms.models import AbstractMessage, get_message_model
from django_sms.status import Status

Loop = Callable[[int], float]


def bare_loop(post: Post, numbers: Numbers) -> Loop:
    """The bare baseline: ``count`` hand-written requests, nothing stored."""

    def loop(count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            text, to = numbers.next()
            post(text, to, str(uuid.uuid4()))
        return time.perf_counter() - began

    return loop


def timed_sends(send: Callable[[str, str], AbstractMessage], numbers: Numbers,
                sql: SqlTimer, sent: list[AbstractMessage]) -> Loop:
    """``count`` calls of ``send(text, to)``, their SQL timed, their messages kept."""

    def loop(count: int) -> float:
        began = time.perf_counter()
        with connection.execute_wrapper(sql):
            for _ in range(count):
                text, to = numbers.next()
                sent.append(send(text, to))
        return time.perf_counter() - began

    return loop


def per_message_cost(ctx: Context) -> list[Row]:
    url = ctx.sandbox(0)
    provider = ctx.provider
    numbers = Numbers()
    per_round = max(1, ctx.sizes.send // ctx.sizes.rounds)
    app_sql, peer_sql = SqlTimer(), SqlTimer()
    sent: list[AbstractMessage] = []
    peer_sent: list[AbstractMessage] = []
    with sending_to(url, provider):
        backend = sms_backends["default"]

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
                    raise BenchmarkError(f"the {provider.name} backend alone: {result.error}")
            return time.perf_counter() - began

        session = requests.Session()
        post = provider.connect(session, url)
        loops: dict[str, Loop] = {
            "app": timed_sends(lambda text, to: send_sms(text, to=to), numbers, app_sql, sent),
            "peer": timed_sends(lambda text, to: hand_written_send(post, provider.name, text, to),
                                numbers, peer_sql, peer_sent),
            "bare": bare_loop(post, numbers),
        }
        least = floor.StoredSendFloor(post, numbers, provider.name)
        loops["floor"] = least.loop
        loops["backend"] = backend_loop
        for loop in loops.values():
            loop(20)  # warm-up: connections, JWT, caches
        app_sql.reset()
        peer_sql.reset()
        seconds = dict.fromkeys(loops, 0.0)
        for _ in range(ctx.sizes.rounds):
            for name, loop in loops.items():
                seconds[name] += loop(per_round)
        session.close()
        least.close()
    check_statuses(sent, {Status.ACCEPTED}, "send_sms()")
    check_statuses(peer_sent, {Status.ACCEPTED}, "the hand-written peer")
    floor_rows = get_message_model()._default_manager.filter(reference__in=least.references)
    if floor_rows.filter(status=Status.ACCEPTED).count() != len(least.references):
        raise BenchmarkError("the floor loop: not every message it stored ended accepted")

    total = per_round * ctx.sizes.rounds
    ms = {name: value / total * 1000 for name, value in seconds.items()}
    app_sql_ms, peer_sql_ms = app_sql.seconds / total * 1000, peer_sql.seconds / total * 1000
    each = f"{total:,} messages each, 0 ms provider latency"
    through = provider.title
    ratio = ms["app"] / ms["peer"]
    return [
        Row(
            f"Per-message cost, {through}: `send_sms()` (sync, stored with its events) vs the "
            "hand-written peer (phonenumbers, `Message.objects.create()`, "
            f"`requests.Session.post()`, the answer and one event saved with the ORM), {each}",
            f"{ms['app']:.2f} ms/msg ({ms['app'] - ms['peer']:+.2f} ms); of which SQL "
            f"{app_sql_ms:.2f} ms",
            f"{ms['peer']:.2f} ms/msg; of which SQL {peer_sql_ms:.2f} ms",
            f"{ratio:.2f}x",
            f"≤ {SEND_VS_PEER:g}x",
            ratio <= SEND_VS_PEER,
            topic="send",
        ),
        reference_row(f"Per-message cost, {through}: `send_sms()` vs a bare "
                      f"`requests.Session` loop (the same requests, nothing stored), {each}",
                      ms["app"], ms["bare"]),
        reference_row(f"Per-message cost, {through}: the hand-written peer vs the same bare "
                      f"loop, {each}", ms["peer"], ms["bare"]),
        reference_row(
            f"Floor of a stored send, {through}: the bare loop's request between the two writes "
            "any stored send needs (the message INSERTed before it; 3 events and its status "
            "after it, in one statement), by hand with psycopg on the same tables, "
            f"{each}", ms["floor"], ms["bare"]),
        reference_row(
            f"Per-message cost, {through}: the app's backend alone (`send_messages()`, nothing "
            f"stored) vs the same bare loop, {each}", ms["backend"], ms["bare"], extra=False),
    ]


def reference_row(what: str, ours_ms: float, bare_ms: float, *, extra: bool = True) -> Row:
    """A row with no target: ``ours_ms`` against the bare loop's ``bare_ms``."""
    ours = f"{ours_ms:.2f} ms/msg" + (f" ({ours_ms - bare_ms:+.2f} ms)" if extra else "")
    return Row(what, ours, f"{bare_ms:.2f} ms/msg", f"{ours_ms / bare_ms:.2f}x", "", None)


def per_message_cost_with_latency(ctx: Context) -> list[Row]:
    """``send_sms()`` against the bare loop, with a provider 50 ms away."""
    url = ctx.sandbox(LATENCY_MS)
    provider = ctx.provider
    numbers = Numbers()
    half = max(1, ctx.sizes.send_with_latency // 2)
    sent: list[AbstractMessage] = []
    with sending_to(url, provider):
        session = requests.Session()
        bare = bare_loop(provider.connect(session, url), numbers)
        app = timed_sends(lambda text, to: send_sms(text, to=to), numbers, SqlTimer(), sent)
        app(2)  # warm-up
        bare(2)
        sent.clear()
        app_time = bare_time = 0.0
        for _ in range(2):
            app_time += app(half)
            bare_time += bare(half)
        session.close()
    check_statuses(sent, {Status.ACCEPTED}, "send_sms()")
    total = half * 2
    app_ms, bare_ms = app_time / total * 1000, bare_time / total * 1000
    ratio = app_ms / bare_ms
    through = provider.title
    return [
        Row(
            f"Per-message cost, {through}: `send_sms()` (sync, stored with its events) vs a "
            f"bare `requests.Session` loop, {total:,} messages each, {LATENCY_MS} ms provider "
            "latency",
            f"{app_ms:.2f} ms/msg ({app_ms - bare_ms:+.2f} ms)",
            f"{bare_ms:.2f} ms/msg",
            f"{ratio:.2f}x",
            f"≤ {SEND_WITH_LATENCY_VS_BARE:g}x",
            ratio <= SEND_WITH_LATENCY_VS_BARE,
            topic="send",
        )
    ]
