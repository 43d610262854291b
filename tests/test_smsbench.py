"""``manage.py smsbench`` keeps working: a smoke run of its fast measurements, as the README's
setup runs it (the example project's settings), on PostgreSQL. Its figures are not checked
(no timings in tests); what it reports and cleans up is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from django_sms.benchmarks.processes import BenchmarkError
from django_sms.benchmarks.report import Row, table
from django_sms.benchmarks.runner import PARTS, database_url, parse_only

ROOT = Path(__file__).resolve().parent.parent

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql" or not os.environ.get("DATABASE_URL"),
    reason="smsbench creates its own PostgreSQL database: needs DATABASE_URL on PostgreSQL",
)


@pytest.mark.slow
@needs_postgres
def test_a_quick_run_prints_the_table_writes_the_report_and_drops_its_database(tmp_path):
    import psycopg

    name = f"sms_bench_smoke_{os.getpid()}"
    report = tmp_path / "benchmarks.md"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "example_project.settings"}
    completed = subprocess.run(
        [sys.executable, "manage.py", "smsbench", "--quick", "--only", "queries,send",
         "--database-url", os.environ["DATABASE_URL"], "--db-name", name,
         "--output", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output

    assert "| Measurement | django-transactional-sms | Baseline | Ratio | Target |" in output
    assert output.count("| Per-message cost: `send_sms()`") == 2  # 0 and 50 ms of latency
    # On PostgreSQL the answer and its events are one statement, in autocommit.
    assert "| SQL queries per synchronous send through Vonage, no wallet | 3 queries |" in output
    assert "paid from a wallet | 6 queries (+ BEGIN and COMMIT) |" in output
    assert "| Per-message cost, the Vonage backend alone" in output
    assert "| Floor of a stored send:" in output
    assert "Bulk:" not in output  # --only

    document = report.read_text()
    assert document.startswith("# Benchmarks")
    assert "manage.py smsbench --quick --only queries,send" in document
    for fact in ("**CPU**", "**Memory**", "**OS**", "Python ", "Django ", "PostgreSQL "):
        assert fact in document
    assert "| SQL queries per synchronous send through Vonage, no wallet |" in document

    server = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(server) as admin:
        left = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall()
    assert left == []


def test_only_takes_known_measurements_in_table_order():
    assert parse_only("") == list(PARTS)
    assert parse_only("queries, send") == ["send", "queries"]
    with pytest.raises(BenchmarkError, match="--only takes a comma-separated list of send, bulk"):
        parse_only("send,speed")


def test_the_database_url_must_be_postgresql():
    assert database_url("postgres://u@h:5432/postgres", "sms_bench") == (
        "postgres://u@h:5432/sms_bench"
    )
    with pytest.raises(BenchmarkError, match="must be a PostgreSQL URL"):
        database_url("sqlite:///db.sqlite3", "sms_bench")


def test_the_table_is_markdown_with_a_verdict_per_target():
    rows = [
        Row("a | b", "1 ms", "2 ms", "0.5x", "<= 1x", True),
        Row("c", "3", "", "", "<= 2", False),
        Row("d", "4", "5", "", "", None),
    ]
    lines = table(rows).splitlines()
    assert lines[0].startswith("| Measurement |")
    assert lines[2] == "| a \\| b | 1 ms | 2 ms | 0.5x | <= 1x | met |"
    assert lines[3].endswith("| <= 2 | **missed** |")
    assert lines[4].endswith("|  |  |")


def test_each_benchmark_rewrites_only_its_own_part_of_the_report(tmp_path):
    from django_sms.benchmarks.report import replace_admin_section, write_report

    path = tmp_path / "benchmarks.md"
    replace_admin_section(path, "## The admin\n\nfigures 1\n")
    write_report(path, "# Benchmarks\n\nthe smsbench table\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nthe smsbench table\n")
    assert "figures 1" in text

    replace_admin_section(path, "## The admin\n\nfigures 2\n")
    write_report(path, "# Benchmarks\n\na newer smsbench table\n")
    text = path.read_text()
    assert "a newer smsbench table" in text and "the smsbench table" not in text
    assert "figures 2" in text and "figures 1" not in text
    assert text.count("<!-- admin-changelist: start -->") == 1
