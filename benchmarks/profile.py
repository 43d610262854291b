"""Where the time goes: cProfile summaries of a send and of a webhook, the app beside its
hand-written peer, for the report (added when a target is not met, or with ``--profile``).

Each profile runs the same work as the table's rows, in the measuring process: sends to a
sandbox answering at once (through the run's provider), and signed Vonage reports posted
through Django's test client (the whole request cycle and middleware, without gunicorn).
The own time of every profiled function is added up by component (the PostgreSQL driver,
the ORM, the HTTP client, each module of the app...), per send or per report. cProfile's
overhead is spread over every Python call, so the totals are above the table's figures;
the shares are what to read.
"""

from __future__ import annotations

import cProfile
import pstats
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks import webhook_load
from benchmarks.common import Context, Numbers, sending_to
from benchmarks.peer_send import hand_written_send
from benchmarks.processes import BenchmarkError
from benchmarks.providers import CREDENTIALS
from benchmarks.webhooks import ENDPOINTS
from django_sms import send_sms

#: Components, first match wins: (name, substrings of a file path or of a C function's name).
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("psycopg (driver, waiting for PostgreSQL)", ("/psycopg", "psycopg")),
    ("Django ORM (queries, model instances)", ("/django/db/",)),
    ("Django REST framework", ("/rest_framework/",)),
    ("Django, other (request cycle, signals, settings)", ("/django/",)),
    ("HTTP client (requests, urllib3, http.client, sockets)",
     ("/requests/", "/urllib3/", "/http/client.py", "/socket.py", "/selectors.py", "socket",
      "/email/", "/ssl.py")),
    ("phonenumbers", ("/phonenumbers/",)),
    ("JWT and hashing (PyJWT, cryptography, hmac, hashlib)",
     ("/jwt/", "/cryptography/", "/hmac.py", "hashlib", "_hashlib", "openssl")),
    ("json", ("/json/", "_json")),
)
APP = "/django_sms/"
PEER = "/benchmarks/"
OTHER = "other (standard library, builtins)"
#: Calls before the timed ones: connections, caches, the JWT.
WARM_UP = 20


def component(filename: str, function: str) -> str:
    """The component a profiled function belongs to (see :data:`COMPONENTS`)."""
    if APP in filename:
        module = filename.split(APP, 1)[1].removesuffix(".py").replace("/", ".")
        return f"django_sms.{module}"
    if PEER in filename:
        return "benchmarks (the peer's own code)"
    where = filename if filename != "~" else function
    for name, markers in COMPONENTS:
        if any(marker in where for marker in markers):
            return name
    return OTHER


@dataclass
class Profile:
    """A profile of ``calls`` calls of one function."""

    calls: int
    stats: pstats.Stats
    #: Seconds per call measured without the profiler, just before.
    unprofiled: float
    #: The SQL of one more call, as Django logged it (transaction control included).
    statements: list[str] = field(default_factory=list)

    def by_component(self) -> dict[str, float]:
        """Own time per call, in milliseconds, per component."""
        totals: dict[str, float] = defaultdict(float)
        for (filename, _line, function), row in self.stats.stats.items():  # type: ignore[attr-defined]
            totals[component(filename, function)] += row[2]
        return {name: seconds / self.calls * 1000 for name, seconds in totals.items()}

    def app_functions(self, count: int) -> list[tuple[str, float, float]]:
        """The app's functions with the most cumulative time: (name, calls per call,
        cumulative milliseconds per call)."""
        rows = []
        for (filename, line, function), row in self.stats.stats.items():  # type: ignore[attr-defined]
            if APP in filename:
                module = filename.split(APP, 1)[1].removesuffix(".py").replace("/", ".")
                rows.append((f"`django_sms.{module}.{function}` (line {line})",
                             row[1] / self.calls, row[3] / self.calls * 1000))
        rows.sort(key=lambda item: item[2], reverse=True)
        return rows[:count]


def profiled(call: Callable[[], object], count: int) -> Profile:
    """Time ``count`` calls, profile ``count`` more, and capture the SQL of one more."""
    began = time.perf_counter()
    for _ in range(count):
        call()
    unprofiled = (time.perf_counter() - began) / count
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        call()
    profiler.disable()
    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [query["sql"] for query in captured.captured_queries]
    return Profile(count, pstats.Stats(profiler), unprofiled, statements)


def send_profiles(ctx: Context) -> tuple[Profile, Profile]:
    """``send_sms()`` and the hand-written peer, ``sizes.profiled`` sends each."""
    url = ctx.sandbox(0)
    numbers = Numbers()
    count = ctx.sizes.profiled
    with sending_to(url, ctx.provider):
        session = requests.Session()
        post = ctx.provider.connect(session, url)

        def app() -> object:
            text, to = numbers.next()
            return send_sms(text, to=to)

        def peer() -> object:
            text, to = numbers.next()
            return hand_written_send(post, ctx.provider.name, text, to)

        for _ in range(WARM_UP):
            app()
            peer()
        result = profiled(app, count), profiled(peer, count)
        session.close()
    return result


def webhook_profiles(ctx: Context) -> tuple[Profile, Profile]:
    """The app's status webhook and the hand-written peer view, ``sizes.profiled`` reports
    each (twice: timed, then profiled), plus a warm-up."""
    count = ctx.sizes.profiled
    client = Client(HTTP_HOST="127.0.0.1")
    profiles = []
    for name in ("ours", "peer"):
        # The warm-up, the timed calls, the profiled calls and the one whose SQL is captured.
        post = report_poster(client, name, WARM_UP + 2 * count + 1)
        for _ in range(WARM_UP):
            post()
        profiles.append(profiled(post, count))
    return profiles[0], profiles[1]


def report_poster(client: Client, name: str, count: int) -> Callable[[], object]:
    """Posts the next of ``count`` signed reports (about messages of its own) to ``name``."""
    messages = webhook_load.create_messages(count, label=f"profile/{name}")
    reports = iter([
        webhook_load.signed_report(message, CREDENTIALS.vonage_signature_secret,
                                   CREDENTIALS.vonage_application_id)
        for message in messages
    ])

    def post() -> object:
        auth, body = next(reports)
        response = client.post(ENDPOINTS[name], data=body, content_type="application/json",
                               HTTP_AUTHORIZATION=auth)
        if response.status_code >= 300:
            raise BenchmarkError(f"profile of the {name} webhook: HTTP "
                                 f"{response.status_code} {response.content[:200]!r}")
        return response

    return post


def section(title: str, intro: str, ours: Profile, peer: Profile, unit: str) -> str:
    """The markdown of one profile: time per component, the app's costliest functions."""
    mine, theirs = ours.by_component(), peer.by_component()
    names = sorted(set(mine) | set(theirs), key=lambda n: (-mine.get(n, 0), n))
    lines = [
        f"### {title}",
        "",
        intro,
        "",
        f"Measured without the profiler just before: {ours.unprofiled * 1000:.2f} ms per "
        f"{unit} for the app, {peer.unprofiled * 1000:.2f} ms for the hand-written peer "
        f"({ours.unprofiled / peer.unprofiled:.2f}x).",
        "",
        f"| Component (own time of its functions) | the app, ms per {unit} | "
        f"hand-written peer, ms per {unit} |",
        "|---|---|---|",
    ]
    for name in names:
        a, b = mine.get(name, 0.0), theirs.get(name, 0.0)
        if max(a, b) < 0.005:
            continue
        lines.append(f"| {name} | {a:.2f} | {b:.2f} |")
    lines.append(f"| **total, profiled** | **{sum(mine.values()):.2f}** | "
                 f"**{sum(theirs.values()):.2f}** |")
    lines += [
        "",
        f"The app's functions with the most time per {unit}, callees included:",
        "",
        f"| Function | calls per {unit} | cumulative ms per {unit} |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {calls:g} | {ms:.2f} |" for name, calls, ms in ours.app_functions(15)]
    for who, profile in (("the app", ours), ("the hand-written peer", peer)):
        lines += ["", f"The SQL of one {unit}, {who} ({len(profile.statements)} statements, "
                      "transaction control included):", ""]
        lines += [f"1. `{shorten(sql)}`" for sql in profile.statements]
    return "\n".join(lines)


#: A run of selected or inserted columns: ``"table"."column", `` or ``"column", ``.
COLUMN = r'(?:"\w+"\.)?"\w+"(?: AS "\w+")?'
COLUMNS = re.compile(rf"(?:{COLUMN}, ){{3,}}(?:{COLUMN})?")


def shorten(sql: str, width: int = 500) -> str:
    """A statement on one line, its column lists elided (its conditions are what tell where
    the time goes), without backticks (it goes in Markdown code)."""
    text = COLUMNS.sub(lambda found: "…, " if found[0].endswith(", ") else "…",
                       " ".join(sql.replace("`", "").split()))
    return text if len(text) <= width else text[: width - 3] + "..."


def where_the_time_goes(ctx: Context, topics: list[str]) -> str:
    """The report's section for ``topics`` (``send``, ``webhook``)."""
    parts = [
        "## Where the time goes",
        "",
        "cProfile in the measuring process, the app beside its hand-written peer, "
        f"{ctx.sizes.profiled:,} calls each after a warm-up. Own time of the profiled "
        "functions added up by component; cProfile's overhead falls on every Python call, so "
        "the totals are above the unprofiled times (and the Python-heavy side pays more of "
        "it): read the shares.",
    ]
    if "send" in topics:
        ctx.log("  profiling a send")
        ours, peer = send_profiles(ctx)
        parts += ["", section(
            f"A send ({ctx.provider.title}, 0 ms provider latency)",
            "`send_sms()` (sync) against the hand-written peer, to the same sandbox process.",
            ours, peer, "send")]
    if "webhook" in topics:
        ctx.log("  profiling a webhook")
        ours, peer = webhook_profiles(ctx)
        parts += ["", section(
            "A Vonage delivery report",
            "Signed reports posted through Django's test client (the whole request cycle, "
            "without gunicorn): the app's status webhook against the hand-written peer view.",
            ours, peer, "report")]
    return "\n".join(parts)
