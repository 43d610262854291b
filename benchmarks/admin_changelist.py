"""Benchmark: the message changelist of the admin at a million rows, on PostgreSQL.

Creates a dedicated database, fills it with messages in one ``INSERT ... SELECT
generate_series`` per step, and renders the changelist (plain, filtered, searched, drilled
down by date) and a detail page with Django's test client, in process. For each page it
reports the server time (median and slowest of the timed runs) and the number of SQL
queries, at each table size: the query count must not change with the size.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres)::

    python benchmarks/admin_changelist.py                   # 100,000 then 1,000,000 rows
    python benchmarks/admin_changelist.py --sizes 1000000 --runs 20 --keep

The database (``sms_bench_admin`` by default) is dropped at the end unless ``--keep``.
A run that reaches 1,000,000 rows writes its table into its own section of
``docs/benchmarks.md`` (``--output`` to write elsewhere, ``--output ""`` not at all); the rest
of that file belongs to ``python -m benchmarks``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = "postgres://postgres@127.0.0.1:5432"
#: The table size the docs report (DESIGN: "usable at a million rows"), and the target there.
DOCUMENTED_SIZE = 1_000_000
TARGET_MS = 300

#: Share of the messages per status, per country and per alias (in 1/1000).
STATUS_SQL = """CASE
    WHEN i % 1000 < 880 THEN 'delivered'
    WHEN i % 1000 < 930 THEN 'sent'
    WHEN i % 1000 < 960 THEN 'failed'
    WHEN i % 1000 < 980 THEN 'undelivered'
    WHEN i % 1000 < 990 THEN 'expired'
    WHEN i % 1000 < 995 THEN 'rejected'
    ELSE 'accepted' END"""
COUNTRY_SQL = """CASE
    WHEN i % 997 < 800 THEN 'FR'
    WHEN i % 997 < 900 THEN 'GB'
    WHEN i % 997 < 950 THEN 'DE'
    WHEN i % 997 < 990 THEN 'ES'
    ELSE 'BE' END"""
ALIAS_SQL = "CASE WHEN i % 211 = 0 THEN 'backup' ELSE 'default' END"
PROVIDER_SQL = "CASE WHEN i % 211 = 0 THEN 'dummy' ELSE 'locmem' END"

#: Seconds between two generated messages: 1,000,000 messages span a year.
SPACING_SECONDS = 31.5


def create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def insert_messages(table: str, start: int, stop: int) -> float:
    """Rows ``start`` to ``stop - 1``: newest first (row 0 is now), one statement."""
    from django.db import connection

    sql = f"""
        INSERT INTO {table} (
            reference, "to", country, sender, text, encoding, segments, status,
            backend_alias, provider, provider_message_id, provider_status, error_code,
            error_message, cost, cost_currency, price, price_currency, charge_status,
            attempts, created_at, updated_at, sent_at, delivered_at, metadata)
        SELECT
            gen_random_uuid(),
            '+33' || (600000000 + (i * 7919) % 100000000)::text,
            {COUNTRY_SQL},
            'Shop',
            'Your code is ' || lpad((i % 1000000)::text, 6, '0'),
            CASE WHEN i % 10 = 0 THEN 'UCS-2' ELSE 'GSM-7' END,
            1 + (i % 7 = 0)::int,
            {STATUS_SQL},
            {ALIAS_SQL},
            {PROVIDER_SQL},
            'prov-' || i,
            '', '', '', 0.035, 'EUR', NULL, '', '',
            1,
            now() - make_interval(secs => i * {SPACING_SECONDS}),
            now() - make_interval(secs => i * {SPACING_SECONDS}),
            now() - make_interval(secs => i * {SPACING_SECONDS} - 1),
            NULL,
            '{{}}'::jsonb
        FROM generate_series({start}::bigint, {stop - 1}::bigint) AS i
    """  # noqa: S608 - the script's own constants, no outside input
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - began


def scenarios(rare_number: str, year: int) -> list[tuple[str, str, dict[str, str]]]:
    base = "/admin/django_sms/message/"
    return [
        ("changelist", base, {}),
        ("page 50", base, {"p": "50"}),
        ("status=failed", base, {"status": "failed"}),
        ("country=BE (1 %)", base, {"country": "BE"}),
        ("alias=backup (0.5 %)", base, {"backend_alias": "backup"}),
        ("encoding=UCS-2", base, {"encoding": "UCS-2"}),
        ("date: one year", base, {"created_at__year": str(year)}),
        ("date: past 7 days", base, {"created_at__gte": "__7d__"}),
        ("status + country", base, {"status": "failed", "country": "GB"}),
        ("search full number", base, {"q": rare_number}),
        ("search prefix +33612", base, {"q": "+33612"}),
        ("search provider id", base, {"q": "prov-4242"}),
    ]


def measure(
    client: Any, url: str, params: dict[str, str], runs: int, verbose: bool = False
) -> tuple[list[float], int, float]:
    """Timings (ms) of ``runs`` renders, the queries of one render and their total time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm caches (PostgreSQL buffers, templates)
        assert client.get(url, params).status_code == 200
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(url, params)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    if verbose:
        for query in queries.captured_queries:
            print(f"      {float(query['time']) * 1000:6.1f} ms  {query['sql'][:160]}")
    return timings, len(queries.captured_queries), sql_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="table sizes to measure at")
    parser.add_argument("--runs", type=int, default=10, help="timed renders per page")
    parser.add_argument("--database", default="sms_bench_admin")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--verbose", action="store_true", help="print every query and its time")
    parser.add_argument(
        "--output",
        default=None,
        help="where the report section goes (default: docs/benchmarks.md when the run "
        "reaches 1,000,000 rows; '' for nowhere)",
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    create_database(args.database)
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.utils import timezone

    from django_sms import send_sms
    from django_sms.models import get_message_model

    try:
        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
        client = Client()
        client.force_login(user)
        table = get_message_model()._meta.db_table
        detail = send_sms("Ça coûte 5 €, merci !", to="+33612345678")

        results: dict[int, list[tuple[str, list[float], int, float]]] = {}
        inserted = 0
        backends = {
            "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
            "backup": {"BACKEND": "django_sms.backends.dummy.SmsBackend"},
        }
        with override_settings(SMS_BACKENDS=backends):
            for size in sizes:
                seconds = insert_messages(table, inserted, size)
                inserted = size
                print(f"\n{size:,} messages (inserted in {seconds:.1f} s)")
                week_ago = str(timezone.now() - timedelta(days=7))
                pages = scenarios("+33600007919", timezone.now().year)
                pages.append(
                    ("message detail", f"/admin/django_sms/message/{detail.pk}/change/", {})
                )
                results[size] = []
                for name, url, params in pages:
                    params = {k: (week_ago if v == "__7d__" else v) for k, v in params.items()}
                    timings, queries, sql_ms = measure(client, url, params, args.runs, args.verbose)
                    results[size].append((name, timings, queries, sql_ms))
                    print(
                        f"  {name:<24} median {statistics.median(timings):7.1f} ms"
                        f"  max {max(timings):7.1f} ms  {queries:3d} queries"
                        f" ({sql_ms:6.1f} ms in SQL)"
                    )
        changed: list[str] = []
        if len(sizes) > 1:
            first, last = results[sizes[0]], results[sizes[-1]]
            changed = [a[0] for a, b in zip(first, last, strict=True) if a[2] != b[2]]
            print(
                "\nquery counts constant across sizes:", "yes" if not changed else f"NO: {changed}"
            )
        output = args.output
        if output is None and sizes[-1] >= DOCUMENTED_SIZE:
            output = str(ROOT / "docs" / "benchmarks.md")
        if output:
            from benchmarks.report import replace_admin_section

            replace_admin_section(Path(output), report(results, sizes, args.runs, changed))
            print(f"\nWritten to {output}")
    finally:
        if not args.keep:
            drop_database(args.database)


def report(
    results: dict[int, list[tuple[str, list[float], int, float]]],
    sizes: list[int],
    runs: int,
    changed: list[str],
) -> str:
    """The Markdown section of docs/benchmarks.md: one row per page, one column per size."""
    from django.db import connection
    from django.utils import timezone

    largest = sizes[-1]
    header = ["Page"] + [f"{size:,} rows: median (slowest), queries" for size in sizes]
    header.append(f"Target at {largest:,} rows")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, (name, *_rest) in enumerate(results[largest]):
        cells = [name]
        for size in sizes:
            _name, timings, queries, _sql_ms = results[size][index]
            cells.append(
                f"{statistics.median(timings):.0f} ms ({max(timings):.0f} ms), {queries} queries"
            )
        median = statistics.median(results[largest][index][1])
        cells.append(f"< {TARGET_MS} ms: {'met' if median < TARGET_MS else '**missed**'}")
        lines.append("| " + " | ".join(cells) + " |")
    constant = "yes" if not changed else f"no ({', '.join(changed)})"
    version = connection.pg_version  # type: ignore[attr-defined]  # PostgreSQL backend only
    return f"""## The admin's message list at {largest:,} rows

Measured with `python benchmarks/admin_changelist.py` (see `docs/benchmarks-admin.rst`) on
{timezone.now():%Y-%m-%d %H:%M} UTC, PostgreSQL {version // 10000}.{version % 100}: server time of
the page rendered in process by Django's test client, {runs} timed renders per page after two
warm-up renders.

{chr(10).join(lines)}

Query counts constant across table sizes: {constant}.
"""


if __name__ == "__main__":
    main()
