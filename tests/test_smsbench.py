"""The benchmark (``python -m benchmarks``, docs/benchmarks.rst) keeps working: smoke runs of
its measurements as the README's setup runs them, on PostgreSQL; its hand-written baselines
do the work they claim, against the provider sandbox; and the wheel holds none of it. Its
figures are not checked (no timings in tests); what it reports and cleans up is."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from benchmarks.__main__ import parser
from benchmarks.peer_send import InvalidNumber, hand_written_send
from benchmarks.peer_webhook import VonageStatusView
from benchmarks.processes import BenchmarkError
from benchmarks.profile import component, shorten
from benchmarks.providers import CREDENTIALS, PROVIDERS
from benchmarks.report import Row, replace_admin_section, table, write_report
from benchmarks.runner import PARTS, database_url, output_path, parse_only
from django_sms.models import Message, StatusEvent
from django_sms.status import Status
from django_sms.testing.sandbox.providers.vonage import sign_hs256

ROOT = Path(__file__).resolve().parent.parent

# The hand-written peers write to the app's default Message model, as a project without the
# app would write to its own: the benchmark's settings never swap it.
default_message_model = pytest.mark.skipif(
    Message._meta.swapped is not None,
    reason="the hand-written peers use the default Message model (swapped in these settings)",
)

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql" or not os.environ.get("DATABASE_URL"),
    reason="the benchmark creates its own PostgreSQL database: needs DATABASE_URL on PostgreSQL",
)


def run_benchmark(tmp_path: Path, *args: str) -> tuple[str, Path, str]:
    """Run ``python -m benchmarks --quick ARGS`` from the repository root; its output, the
    report it wrote and the name of the database it used (and must have dropped)."""
    name = f"sms_bench_smoke_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    report = tmp_path / "benchmarks.md"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", *args,
         "--database-url", os.environ["DATABASE_URL"], "--db-name", name,
         "--output", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    server = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(server) as admin:
        left = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall()
    assert left == [], f"the benchmark left its database {name} behind"
    return output, report, name


def verdicts(output: str, what: str) -> list[str]:
    """``"<target> | <verdict>"`` of each table row that starts with ``what``."""
    found = []
    for line in output.splitlines():
        if line.startswith(f"| {what}"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            found.append(f"{cells[-2]} | {cells[-1]}")
    return found


@pytest.mark.slow
@needs_postgres
def test_a_quick_run_prints_the_table_writes_the_report_and_drops_its_database(tmp_path):
    output, report, _ = run_benchmark(tmp_path, "--only", "queries,send,bulk", "--profile")

    assert ("| Measurement | django-transactional-sms | Baseline | Ratio | Target | Verdict |"
            in output)
    # The targets, each with its verdict.
    [peer] = verdicts(output, "Per-message cost, Vonage: `send_sms()` (sync, stored with its "
                              "events) vs the hand-written peer")
    assert re.fullmatch(r"≤ 1\.25x \| (met|\*\*not met\*\*)", peer)
    [latency] = [cells for cells in verdicts(output, "Per-message cost, Vonage: `send_sms()`")
                 if cells.startswith("≤ 1.1x")]
    assert re.fullmatch(r"≤ 1\.1x \| (met|\*\*not met\*\*)", latency)
    assert re.search(r"\| SQL queries per synchronous send through Vonage, no wallet \| \d+ "
                     r"queries[^|]* \|  \|  \| ≤ 4 \| (met|\*\*not met\*\*) \|", output)
    assert re.search(r"paid from a wallet \| \d+ queries[^|]* \|  \|  \| ≤ 7 \| "
                     r"(met|\*\*not met\*\*) \|", output)
    # The reference rows, with no target.
    for reference in ("Per-message cost, Vonage: `send_sms()` vs a bare `requests.Session` loop",
                      "Per-message cost, Vonage: the hand-written peer vs the same bare loop",
                      "Floor of a stored send, Vonage:",
                      "Per-message cost, Vonage: the app's backend alone"):
        assert verdicts(output, reference) == [" | "], reference
    assert re.search(r"\| Bulk: 100 messages, 50 ms provider latency: `send_mass_sms\(\)` .* \| "
                     r"≥ 15x \| (met|\*\*not met\*\*) \|", output)
    assert "Webhook ingestion" not in output and "Worker throughput" not in output  # --only
    # --profile: where the time of a send goes, the app beside its peer.
    assert "### A send (Vonage, 0 ms provider latency)" in output
    assert re.search(r"\| psycopg \(driver, waiting for PostgreSQL\) \| \d+\.\d\d \| "
                     r"\d+\.\d\d \|", output)
    assert "`django_sms." in output
    assert "The SQL of one send, the hand-written peer (3 statements" in output

    document = report.read_text()
    assert document.startswith("# Benchmarks")
    assert "-m benchmarks --quick --only queries,send,bulk --profile" in document
    for fact in ("**CPU**", "**Memory**", "**OS**", "**Commit measured**: `", "Python ",
                 "Django ", "PostgreSQL "):
        assert fact in document
    assert "| SQL queries per synchronous send through Vonage, no wallet |" in document
    assert "## Where the time goes" in document


@pytest.mark.slow
@needs_postgres
@pytest.mark.parametrize("provider", ["mailjet", "ovh", "twilio"])
def test_the_per_message_rows_run_through_each_provider(tmp_path, provider):
    output, _, _ = run_benchmark(tmp_path, "--only", "send", "--provider", provider)

    title = PROVIDERS[provider].title
    [peer] = verdicts(output, f"Per-message cost, {title}: `send_sms()` (sync, stored with its "
                              "events) vs the hand-written peer")
    assert peer.startswith("≤ 1.25x | ")
    assert verdicts(output, f"Floor of a stored send, {title}:") == [" | "]
    assert "Vonage" not in output.split("| Measurement |", 1)[1]


@pytest.mark.slow
@needs_postgres
def test_a_quick_webhook_run_compares_with_the_peer_and_the_bare_view(tmp_path):
    output, _, _ = run_benchmark(tmp_path, "--only", "webhooks", "--profile")

    peer_rows = verdicts(output, "Webhook ingestion: signed Vonage status callbacks via gunicorn")
    assert len(peer_rows) == 2  # Django's default OPTIONS, then prepared statements
    for cells in peer_rows:
        assert re.fullmatch(r"≥ 0\.85x \| (met|\*\*not met\*\*)", cells)
    assert verdicts(output, "Webhook ingestion, the same run: our endpoint vs a bare view") == [
        " | ", " | "]
    # Every answered report was stored once (the benchmark fails otherwise) and said so.
    for name in ("ours", "peer", "bare"):
        assert re.search(rf"  {name}: [\d,]+ answered, [\d,]+ messages delivered", output)
    assert "### A Vonage delivery report" in output


def test_only_takes_known_measurements_in_table_order():
    assert parse_only("") == list(PARTS)
    assert parse_only("queries, send") == ["send", "queries"]
    with pytest.raises(BenchmarkError, match="--only takes a comma-separated list of send, bulk"):
        parse_only("send,speed")


def test_the_provider_is_one_of_the_table():
    assert set(PROVIDERS) == {"vonage", "mailjet", "ovh", "twilio"}
    assert parser().parse_args(["--provider", "ovh"]).provider == "ovh"
    assert parser().parse_args([]).provider == "vonage"
    with pytest.raises(SystemExit):
        parser().parse_args(["--provider", "carrier-pigeon"])


def test_only_a_full_run_with_the_default_provider_rewrites_the_docs():
    full = {"only": "", "quick": False, "provider": "vonage", "output": ""}
    assert output_path(full, PARTS) == ROOT / "docs" / "benchmarks.md"
    assert output_path({**full, "quick": True}, PARTS) is None
    assert output_path({**full, "provider": "ovh"}, PARTS) is None
    assert output_path(full, ["send"]) is None
    assert output_path({**full, "output": "x.md"}, ["send"]) == Path("x.md").resolve()


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
    assert lines[0] == ("| Measurement | django-transactional-sms | Baseline | Ratio | Target | "
                        "Verdict |")
    assert lines[2] == "| a \\| b | 1 ms | 2 ms | 0.5x | <= 1x | met |"
    assert lines[3].endswith("| <= 2 | **not met** |")
    assert lines[4].endswith("|  |  |")


def test_each_benchmark_rewrites_only_its_own_part_of_the_report(tmp_path):
    path = tmp_path / "benchmarks.md"
    replace_admin_section(path, "## The admin\n\nfigures 1\n")
    write_report(path, "# Benchmarks\n\nthe benchmark's table\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nthe benchmark's table\n")
    assert "figures 1" in text

    replace_admin_section(path, "## The admin\n\nfigures 2\n")
    write_report(path, "# Benchmarks\n\na newer table\n")
    text = path.read_text()
    assert "a newer table" in text and "the benchmark's table" not in text
    assert "figures 2" in text and "figures 1" not in text
    assert text.count("<!-- admin-changelist: start -->") == 1


def test_the_profile_sorts_time_into_components():
    assert component("/x/site-packages/psycopg/cursor.py", "execute") == (
        "psycopg (driver, waiting for PostgreSQL)")
    assert component("~", "<method 'execute' of 'psycopg_binary._psycopg' objects>") == (
        "psycopg (driver, waiting for PostgreSQL)")
    assert component("/x/django/db/models/query.py", "create") == (
        "Django ORM (queries, model instances)")
    assert component("/x/django/dispatch/dispatcher.py", "send") == (
        "Django, other (request cycle, signals, settings)")
    assert component("/x/urllib3/connectionpool.py", "urlopen") == (
        "HTTP client (requests, urllib3, http.client, sockets)")
    assert component("~", "<method 'recv_into' of '_socket.socket' objects>") == (
        "HTTP client (requests, urllib3, http.client, sockets)")
    assert component("/repo/django_sms/backends/vonage.py", "build_payload") == (
        "django_sms.backends.vonage")
    assert component("/repo/benchmarks/peer_send.py", "hand_written_send") == (
        "benchmarks (the peer's own code)")
    assert component("/usr/lib/python3.12/uuid.py", "uuid4") == (
        "other (standard library, builtins)")


def test_the_profile_shows_a_statement_without_its_column_lists():
    sql = ('SELECT "m"."id", "m"."to", "m"."text", "m"."status", EXISTS(SELECT 1 AS "a" FROM '
           '"e" U0 WHERE U0."key" = \'k\' LIMIT 1) AS "_seen" FROM "m" WHERE "m"."ref" = \'r\'')
    assert shorten(sql) == ('SELECT …, EXISTS(SELECT 1 AS "a" FROM "e" U0 WHERE U0."key" = \'k\' '
                            'LIMIT 1) AS "_seen" FROM "m" WHERE "m"."ref" = \'r\'')
    assert shorten('INSERT INTO "m" ("a", "b", "c", "d") VALUES (1, 2, 3, 4)') == (
        'INSERT INTO "m" (…) VALUES (1, 2, 3, 4)')
    assert shorten("SELECT `x`\n  FROM y", width=12) == "SELECT x ..."


# -- the hand-written peers do the work they claim ---------------------------------------------


@default_message_model
@pytest.mark.django_db
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_hand_written_send_stores_the_message_its_answer_and_one_event(sms_sandbox,
                                                                           provider):
    with requests.Session() as session:
        post = PROVIDERS[provider].connect(session, sms_sandbox.url)
        message = hand_written_send(post, provider, "Your code is 123456", "+33612345678")

    message.refresh_from_db()
    assert (message.to, message.country, message.status, message.provider) == (
        "+33612345678", "FR", Status.ACCEPTED, provider)
    [accepted] = sms_sandbox.messages.all()  # the provider took it, with our text
    assert accepted.text == "Your code is 123456"
    assert message.provider_message_id == accepted.id
    [event] = StatusEvent.objects.filter(message=message)
    assert (event.status, event.source, event.provider_message_id) == (
        Status.ACCEPTED, "send", accepted.id)


@default_message_model
@pytest.mark.django_db
def test_the_hand_written_send_refuses_an_invalid_number_before_storing_anything(sms_sandbox):
    with requests.Session() as session:
        post = PROVIDERS["vonage"].connect(session, sms_sandbox.url)
        with pytest.raises(InvalidNumber, match="not a valid phone number"):
            hand_written_send(post, "vonage", "hello", "+3312")
    assert not Message.objects.exists()
    assert sms_sandbox.messages.all() == []


def accepted_message() -> Message:
    return Message.objects.create(to="+33612345678", text="hi", encoding="GSM-7",
                                  backend_alias="default", provider="vonage",
                                  status=Status.ACCEPTED, provider_message_id=str(uuid.uuid4()))


def signed(body: bytes, *, secret: str = CREDENTIALS.vonage_signature_secret,
           iat: float | None = None, payload_hash: str | None = None) -> str:
    claims = {"iat": int(time.time() if iat is None else iat), "jti": str(uuid.uuid4()),
              "iss": "Vonage",
              "payload_hash": payload_hash or hashlib.sha256(body).hexdigest()}
    return f"Bearer {sign_hs256(claims, secret)}"


def post_report(body: bytes, authorization: str):
    request = APIRequestFactory().post("/peer/status/", data=body,
                                       content_type="application/json",
                                       HTTP_AUTHORIZATION=authorization)
    return VonageStatusView.as_view()(request)


@default_message_model
@pytest.mark.django_db
def test_the_hand_written_webhook_verifies_the_report_then_stores_the_event_and_status():
    message = accepted_message()
    body = json.dumps({"message_uuid": message.provider_message_id,
                       "status": "delivered"}).encode()

    response = post_report(body, signed(body))

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.delivered_at is not None
    [event] = StatusEvent.objects.filter(message=message)
    assert (event.status, event.source, event.provider_status) == (
        Status.DELIVERED, "webhook", "delivered")


@default_message_model
@pytest.mark.django_db
@pytest.mark.parametrize("forgery", ["secret", "payload_hash", "iat", "none"])
def test_the_hand_written_webhook_refuses_a_report_it_cannot_verify(forgery):
    message = accepted_message()
    body = json.dumps({"message_uuid": message.provider_message_id,
                       "status": "delivered"}).encode()
    authorization = {
        "secret": signed(body, secret="not-the-secret"),
        "payload_hash": signed(body, payload_hash=hashlib.sha256(b"other").hexdigest()),
        "iat": signed(body, iat=time.time() - 7200),
        "none": "",
    }[forgery]

    response = post_report(body, authorization)

    assert response.status_code == 401
    message.refresh_from_db()
    assert message.status == Status.ACCEPTED
    assert not StatusEvent.objects.exists()


@default_message_model
@pytest.mark.django_db
@override_settings(ROOT_URLCONF="benchmarks.urls")
def test_the_benchmark_project_serves_the_app_and_both_baselines(client):
    message = accepted_message()
    body = json.dumps({"message_uuid": message.provider_message_id,
                       "status": "delivered"}).encode()
    response = client.post("/peer/status/", data=body, content_type="application/json",
                           HTTP_AUTHORIZATION=signed(body))
    assert response.status_code == 200
    response = client.post("/bare/status/", data=body, content_type="application/json")
    assert response.status_code == 200


# -- the wheel holds the app only ----------------------------------------------------------------


def test_the_wheel_holds_the_app_and_no_benchmark(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--disable-pip-version-check", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [wheel] = tmp_path.glob("django_transactional_sms-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requirements = [line.split(":", 1)[1].strip().lower()
                        for line in archive.read(metadata).decode().splitlines()
                        if line.startswith("Requires-Dist:")]

    assert "django_sms/__init__.py" in names  # the app is there...
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"django_sms"}
    # ...and nothing of the benchmark: no module, no command, no dependency.
    assert [n for n in names if "bench" in n] == []
    assert requirements  # the metadata was read
    assert [r for r in requirements if r.startswith(("gunicorn", "wrk"))] == []
