"""The sweeper (manage.py smssync, sweeper.sync): due retries, stuck rows, polling, claiming."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

import django_sms
from django_sms import send_sms
from django_sms.backends.base import StatusUpdate
from django_sms.events import record_status_update
from django_sms.exceptions import PermanentProviderError, TransientProviderError
from django_sms.models import OptOut, StatusEvent, get_message_model
from django_sms.sweeper import Sweeper, sweep, sync
from tests.backends import FlakyBackend, PollingBackend
from tests.task_backends import DUMMY, IMMEDIATE, default_task_backend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reset_backends() -> None:
    FlakyBackend.reset()
    PollingBackend.reset()


@pytest.fixture
def sms_settings(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "flaky": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 1}},
        "pollable": {"BACKEND": "tests.backends.PollingBackend"},
    }
    settings.DJANGO_SMS = {"DEFAULT_SENDER": "TestShop", "RETRY_BACKOFF": 60}

    def update(**options: object) -> None:
        settings.DJANGO_SMS = {**settings.DJANGO_SMS, **options}

    return update


def make_due(message, seconds: int = 1) -> None:
    get_message_model().objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=seconds)
    )


def age(message, **fields: timedelta) -> None:
    """Move timestamps of ``message`` into the past."""
    now = timezone.now()
    get_message_model().objects.filter(pk=message.pk).update(
        **{name: now - delta for name, delta in fields.items()}
    )


# -- 1. due retries ------------------------------------------------------------------------------


def test_due_retries_are_delivered_in_sync_mode(sms_settings, status_signals):
    message = send_sms("hello", to="+33612345678", using="flaky")
    assert message.status == "queued"

    assert sweep().redelivered == 0  # not due yet: the backoff stands
    make_due(message)
    report = sweep()
    assert report.redelivered == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == ("delivered", 2, None)
    assert [(e.status, e.attempt) for e in message.events.all()] == [
        ("queued", None),
        ("sending", 1),
        ("queued", 1),
        ("sending", 2),
        ("delivered", 2),
    ]
    assert status_signals.transitions[-2:] == [("queued", "sending"), ("sending", "delivered")]


def test_a_queued_row_that_never_got_delivered_is_picked_up_after_the_lease(sms_settings):
    # E.g. the process died between the commit and its on-commit delivery.
    model = get_message_model()
    row = model.objects.create(
        to="+33612345678", text="hi", encoding="GSM-7", backend_alias="default", provider="locmem"
    )
    assert sweep().redelivered == 0
    age(row, created_at=timedelta(seconds=301))
    assert sweep().redelivered == 1
    row.refresh_from_db()
    assert row.status == "delivered"
    assert [s.reference for s in django_sms.outbox] == [str(row.reference)]


def test_async_due_retries_are_enqueued_once(sms_settings, settings):
    settings.TASKS = {"default": {"BACKEND": DUMMY}}
    sms_settings(ASYNC=True)
    message = send_sms("hello", to="+33612345678", using="flaky")
    from django_sms.tasks import deliver

    deliver.call(message.pk)  # fails once: a deferred retry task is scheduled
    assert len(default_task_backend().results) == 2
    make_due(message)
    # The backend defers tasks, so the sweeper leaves the retry to that task ...
    assert sweep().enqueued == 0
    # ... unless it is overdue by SENDING_LEASE (the task was lost).
    make_due(message, seconds=301)
    assert sweep().enqueued == 1
    assert default_task_backend().results[-1].args == [message.pk]
    assert sweep().enqueued == 0  # enqueued already: not again before the lease runs out
    message.refresh_from_db()
    assert message.status == "queued"


def test_async_with_immediate_backend_sweeper_delivers_through_the_task(sms_settings, settings):
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}
    sms_settings(ASYNC=True)
    message = send_sms("hello", to="+33612345678", using="flaky")
    message.refresh_from_db()
    assert message.status == "queued"
    make_due(message)
    assert sweep().enqueued == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 2)


# -- 2. stuck rows ---------------------------------------------------------------------------


def stuck(alias: str = "default", seconds: int = 301, **fields):
    model = get_message_model()
    now = timezone.now()
    return model.objects.create(
        to="+33612345678",
        text="hi",
        encoding="GSM-7",
        backend_alias=alias,
        provider=alias,
        status="sending",
        attempts=1,
        claimed_at=now - timedelta(seconds=seconds),
        **fields,
    )


def test_rows_stuck_in_sending_become_unknown_and_are_not_resent(
    sms_settings, status_signals, django_capture_on_commit_callbacks
):
    old = stuck(seconds=301)
    recent = stuck(seconds=10)
    with django_capture_on_commit_callbacks(execute=True):  # signals go after the commit
        report = sweep()
    assert report.rescued == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, old.claimed_at) == ("unknown", None)
    assert recent.status == "sending"
    event = old.events.get()
    assert (event.status, event.source, event.attempt) == ("unknown", "system", 1)
    assert "SENDING_LEASE" in event.provider_status_text
    assert status_signals.transitions == [("sending", "unknown")]
    assert django_sms.outbox == []
    assert sweep().rescued == 0


def test_sending_lease_setting_is_honoured(sms_settings):
    row = stuck(seconds=30)
    sms_settings(SENDING_LEASE=20)
    assert sweep().rescued == 1
    row.refresh_from_db()
    assert row.status == "unknown"


def test_a_rescued_row_is_looked_up_when_the_backend_can(sms_settings):
    row = stuck("pollable", provider_message_id="poll-42")
    PollingBackend.answers["poll-42"] = StatusUpdate(status="delivered", provider_status="DELIVRD")
    report = sweep()
    assert (report.rescued, report.polled, report.poll_changes) == (1, 1, 1)
    row.refresh_from_db()
    assert row.status == "delivered"
    assert [(e.status, e.source) for e in row.events.all()] == [
        ("unknown", "system"),
        ("delivered", "poll"),
    ]


def test_a_late_result_of_a_rescued_row_still_wins(sms_settings):
    from django_sms.backends.base import SendResult
    from django_sms.delivery import prepare_answer, store_answer

    row = stuck()
    sweep()
    row.refresh_from_db()
    stale = get_message_model().objects.get(pk=row.pk)
    stale.status = "sending"  # what the slow worker still believes
    answer = prepare_answer(
        stale,
        SendResult(status="accepted", provider_message_id="late-1"),
        alias="default",
        provider="locmem",
        attempt=1,
    )
    store_answer(answer)
    row.refresh_from_db()
    assert (row.status, row.provider_message_id) == ("accepted", "late-1")


# -- 3. polling ----------------------------------------------------------------------------------


def accepted(n: int = 1, **age_by):
    messages = [send_sms("hello", to=f"+3361234567{i}", using="pollable") for i in range(n)]
    for message in messages:
        age(message, **({"updated_at": timedelta(seconds=61)} | age_by))
    return messages


def test_pending_messages_are_polled_and_moved_forward(
    sms_settings, status_signals, django_capture_on_commit_callbacks
):
    [message] = accepted()
    key = message.provider_message_id
    PollingBackend.answers[key] = StatusUpdate(
        status="delivered",
        provider_message_id=key,
        provider_status="DELIVRD",
        provider_status_text="Delivered to handset",
        cost=Decimal("0.045"),
        cost_currency="EUR",
        dedupe_key=f"test:{key}:delivered",
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep()
    assert (report.polled, report.poll_changes, report.poll_errors) == (1, 1, 0)
    message.refresh_from_db()
    assert (message.status, message.provider_status, str(message.cost)) == (
        "delivered",
        "DELIVRD",
        "0.04500",
    )
    event = message.events.last()
    assert (event.source, event.status, event.provider_status_text) == (
        "poll",
        "delivered",
        "Delivered to handset",
    )
    assert status_signals.transitions[-1] == ("accepted", "delivered")
    # Final now: never polled again.
    age(message, updated_at=timedelta(seconds=61))
    assert sweep().polled == 0


def test_the_same_polled_state_is_stored_once(sms_settings):
    [message] = accepted()
    PollingBackend.answers[message.provider_message_id] = StatusUpdate(status="sent")
    sweep()
    age(message, updated_at=timedelta(seconds=61))
    assert sweep().polled == 1
    assert [e.status for e in message.events.all()].count("sent") == 1
    message.refresh_from_db()
    assert message.status == "sent"


def test_polling_never_regresses_a_status(sms_settings):
    [message] = accepted()
    get_message_model().objects.filter(pk=message.pk).update(status="sent")
    PollingBackend.answers[message.provider_message_id] = StatusUpdate(status="accepted")
    report = sweep()
    assert (report.polled, report.poll_changes) == (1, 0)
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.events.last().applied is False


def test_which_messages_are_polled(sms_settings, settings):
    fresh = send_sms("hello", to="+33612345670", using="pollable")  # younger than POLL_MIN_AGE
    [due] = accepted()
    [too_old] = accepted(created_at=timedelta(days=8))
    not_pollable = send_sms("hello", to="+33612345671")  # locmem: delivered, no polling
    age(not_pollable, updated_at=timedelta(seconds=61))
    sweep()
    assert PollingBackend.polled == [due.provider_message_id]
    assert fresh.provider_message_id not in PollingBackend.polled
    assert too_old.provider_message_id not in PollingBackend.polled


def test_polling_goes_through_every_batch(sms_settings):
    messages = accepted(5)
    sms_settings(POLL_BATCH_SIZE=2)
    assert sweep().polled == 5
    assert sorted(PollingBackend.polled) == sorted(m.provider_message_id for m in messages)


def test_retry_after_stops_polling_the_alias(sms_settings):
    messages = accepted(4)
    first = min(messages, key=lambda m: m.pk)
    PollingBackend.answers[first.provider_message_id] = TransientProviderError(
        "slow down", status_code=429, retry_after=30
    )
    sweeper = Sweeper(batch_size=2)
    report = sweeper.run()
    assert PollingBackend.polled == [first.provider_message_id]
    assert report.paused == {"pollable": 30.0}
    assert report.poll_errors == 1
    # Still paused on the next run of a --loop.
    for message in messages:
        age(message, updated_at=timedelta(seconds=61))
    assert sweeper.run().polled == 0


def test_poll_errors_are_counted_and_skipped(sms_settings):
    first, second = accepted(2)
    PollingBackend.answers[first.provider_message_id] = PermanentProviderError("no such SMS")
    PollingBackend.answers[second.provider_message_id] = StatusUpdate(status="delivered")
    report = sweep()
    assert (report.polled, report.poll_errors, report.poll_changes) == (1, 1, 1)


def test_a_polled_opt_out_is_recorded(sms_settings):
    [message] = accepted()
    PollingBackend.answers[message.provider_message_id] = StatusUpdate(
        status="rejected", error_code="STOP", error_message="Recipient opted out", opted_out=True
    )
    sweep()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("rejected", "STOP")
    assert OptOut.objects.filter(phone_number=message.to, source="provider").exists()


# -- 4. webhook events ---------------------------------------------------------------------------


def test_an_early_webhook_report_is_matched_by_the_sweeper(sms_settings, status_signals):
    # A report about provider id "pv-1" before any message had that id: kept unmatched.
    backend = django_sms.sms_backends["pollable"]
    report = StatusUpdate(status="delivered", provider_message_id="pv-1", dedupe_key="r1")
    assert record_status_update(backend, report).outcome == "unmatched"
    message = get_message_model().objects.create(
        to="+33612345678", text="hi", status="accepted", backend_alias="pollable",
        provider=backend.provider_name, provider_message_id="pv-1",
    )

    assert sweep(dry_run=True).matched == 0  # a dry run changes nothing
    assert sweep().matched == 1

    message.refresh_from_db()
    assert message.status == "delivered"
    assert StatusEvent.objects.get(dedupe_key="pollable:r1").message_id == message.pk
    assert status_signals.transitions == [("accepted", "delivered")]
    assert sweep().matched == 0  # applied once


# -- dry run, command, task ------------------------------------------------------------------


def test_dry_run_changes_nothing(sms_settings):
    queued = send_sms("hello", to="+33612345678", using="flaky")
    make_due(queued)
    row = stuck()
    accepted()
    report = sweep(dry_run=True)
    assert (report.would_redeliver, report.would_rescue, report.would_poll) == (1, 1, 1)
    assert (report.redelivered, report.rescued, report.polled) == (0, 0, 0)
    queued.refresh_from_db()
    row.refresh_from_db()
    assert (queued.status, row.status) == ("queued", "sending")
    assert PollingBackend.polled == []


def test_smssync_command_reports_progress(sms_settings):
    queued = send_sms("hello", to="+33612345678", using="flaky")
    make_due(queued)
    stuck()
    out = StringIO()
    call_command("smssync", stdout=out)
    text = out.getvalue()
    assert "Due retries: 1 delivered." in text
    assert "Stuck in sending: 1 marked unknown." in text
    assert "Done: 1 delivered, 0 enqueued, 1 marked unknown" in text


def test_smssync_dry_run_and_loop(sms_settings):
    stuck()
    out = StringIO()
    call_command("smssync", "--dry-run", stdout=out)
    assert "Dry run: 0 to deliver, 0 to enqueue, 1 to mark unknown, 0 to poll." in out.getvalue()
    out = StringIO()
    call_command("smssync", "--loop", "--interval", "0.01", "--iterations", "2", stdout=out)
    assert out.getvalue().count("Done:") == 2
    assert "1 marked unknown" in out.getvalue()


def test_smssync_rejects_a_bad_batch_size(sms_settings):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--batch-size must be a positive integer"):
        call_command("smssync", "--batch-size", "0")


def test_sync_task_runs_the_sweeper(sms_settings):
    stuck()
    result = sync.enqueue()  # tests.settings: ImmediateBackend
    assert result.return_value["rescued"] == 1
    assert sync.call()["rescued"] == 0


# -- two sweepers at once ----------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks (SKIP LOCKED) need PostgreSQL"
)


def run_in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(n: int) -> None:
        try:
            barrier.wait()
            results[n] = work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def due_rows(count: int, alias: str = "default"):
    model = get_message_model()
    past = timezone.now() - timedelta(seconds=5)
    return model.objects.bulk_create(
        model(
            to=f"+336123{i:05d}",
            text="retry me",
            encoding="GSM-7",
            backend_alias=alias,
            provider="locmem",
            attempts=1,
            next_attempt_at=past,
        )
        for i in range(count)
    )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_never_deliver_a_message_twice(sms_settings):
    rows = due_rows(200)
    sms_settings(POLL_BATCH_SIZE=10)
    reports = run_in_threads(4, sweep)
    sent = Counter(sms.reference for sms in django_sms.outbox)
    assert sorted(sent) == sorted(str(row.reference) for row in rows)
    assert set(sent.values()) == {1}
    assert sum(r.redelivered for r in reports) == 200
    assert sum(1 for r in reports if r.redelivered) > 1  # the work was shared
    model = get_message_model()
    assert set(model.objects.values_list("status", "attempts")) == {("delivered", 2)}
    assert StatusEvent.objects.filter(status="sending").count() == 200


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_never_enqueue_or_rescue_twice(sms_settings, settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": IMMEDIATE}}  # cannot defer: due means due now
    sms_settings(ASYNC=True, POLL_BATCH_SIZE=7)
    rows = due_rows(60)
    stuck_rows = [stuck() for _ in range(30)]
    enqueued: list[int] = []
    lock = threading.Lock()

    def record(ids):
        with lock:
            enqueued.extend(ids)

    monkeypatch.setattr("django_sms.sweeper.enqueue_deliveries", record)
    reports = run_in_threads(4, sweep)
    assert sorted(enqueued) == sorted(row.pk for row in rows)
    assert sum(r.rescued for r in reports) == 30
    unknown = StatusEvent.objects.filter(status="unknown", source="system")
    assert sorted(unknown.values_list("message_id", flat=True)) == sorted(r.pk for r in stuck_rows)


@pytest.mark.slow
@postgres_only
@pytest.mark.django_db(transaction=True)
def test_smssync_loop_stops_cleanly_on_sigterm(sms_settings, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests.test_background import ROOT

    row = stuck()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_dbworker",
        "SMS_WORKER_DB_NAME": connection.settings_dict["NAME"],
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "smssync", "--loop", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while get_message_model().objects.get(pk=row.pk).status != "unknown":
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "1 marked unknown" in output
    assert "stopping after this sweep" in output
