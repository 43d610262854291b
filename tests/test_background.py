"""ASYNC delivery through django.tasks, retries with backoff, and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

import django_sms
from django_sms import send_mass_sms, send_sms
from django_sms.delivery import backoff_seconds
from django_sms.exceptions import TransientProviderError
from django_sms.models import get_message_model
from django_sms.sweeper import sweep
from django_sms.tasks import deliver, deliver_batch, schedule_retry
from tests.backends import FlakyBackend
from tests.task_backends import DUMMY, IMMEDIATE, default_task_backend

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
DB_WORKER = ["db_worker", "--queue-name", "sms", "--interval", "0.1", "--no-startup-delay"]
DB_WORKER += ["--no-reload"]


@pytest.fixture(autouse=True)
def _reset_backends() -> None:
    FlakyBackend.reset()


@pytest.fixture
def async_settings(settings):
    """ASYNC on, the flaky backend as default; returns a function to pick the task backend."""

    def use(backend: str, **sms: object) -> None:
        settings.TASKS = {"default": {"BACKEND": backend, "QUEUES": ["default", "sms"]}}
        settings.DJANGO_SMS = {
            "DEFAULT_SENDER": "TestShop",
            "ASYNC": True,
            "QUEUE_NAME": "sms",
            "RETRY_BACKOFF": 10,
            **sms,
        }

    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 0}},
    }
    return use


def dummy_results() -> list:
    return list(default_task_backend().results)


def events(message) -> list[tuple]:
    return [(e.status, e.attempt, e.applied) for e in message.events.all()]


# -- ASYNC with the DummyBackend: what is enqueued ------------------------------------------------


def test_async_send_enqueues_one_deliver_task_on_the_configured_queue(async_settings):
    async_settings(DUMMY)
    message = send_sms("hello", to="+33612345678")

    message.refresh_from_db()
    assert message.status == "queued"
    assert events(message) == [("queued", None, True)]
    [result] = dummy_results()
    assert result.task.func is deliver.func
    assert result.task.queue_name == "sms"
    assert result.args == [message.pk]
    assert FlakyBackend.calls == []

    assert deliver.call(message.pk) == "delivered"
    message.refresh_from_db()
    assert message.status == "delivered"
    assert events(message) == [("queued", None, True), ("sending", 1, True), ("delivered", 1, True)]


def test_async_send_inside_a_transaction_enqueues_after_commit(
    async_settings, django_capture_on_commit_callbacks
):
    async_settings(DUMMY)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = send_sms("hello", to="+33612345678")
        assert dummy_results() == []
    assert [r.args for r in dummy_results()] == [[message.pk]]


def test_async_send_in_a_rolled_back_transaction_enqueues_nothing(async_settings):
    async_settings(DUMMY)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        send_sms("hello", to="+33612345678")
        1 / 0  # noqa: B018
    assert dummy_results() == []
    assert get_message_model().objects.count() == 0


def test_async_mass_send_enqueues_batch_tasks(async_settings, monkeypatch):
    async_settings(DUMMY)
    monkeypatch.setattr("django_sms.tasks.BATCH_TASK_SIZE", 2)
    messages = send_mass_sms([("hi", f"+3361234560{i}") for i in range(5)])
    assert {m.status for m in messages} == {"queued"}
    results = dummy_results()
    assert {r.task.func for r in results} == {deliver_batch.func}
    assert [r.args for r in results] == [[[m.pk for m in messages[i : i + 2]]] for i in (0, 2, 4)]
    assert {r.task.queue_name for r in results} == {"sms"}

    assert deliver_batch.call([m.pk for m in messages]) == {"delivered": 5}
    assert len(FlakyBackend.calls) == 5
    assert deliver_batch.call([m.pk for m in messages]) == {}  # nothing left to send


def test_a_batch_task_skips_retries_not_due_and_schedules_new_ones(async_settings, settings):
    async_settings(DUMMY, RETRY_BACKOFF=10)
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 1}
    first, second, third = send_mass_sms([("hi", f"+3361234560{i}") for i in range(3)])
    deliver.call(first.pk)  # fails once: its retry is due in 5-10 s
    dummy_before = len(dummy_results())

    assert deliver_batch.call([first.pk, second.pk, third.pk]) == {"queued": 2}
    first.refresh_from_db()
    assert first.attempts == 1  # not cut short
    retries = dummy_results()[dummy_before:]
    assert sorted(r.args[0] for r in retries) == [second.pk, third.pk]
    assert all(r.task.run_after is not None for r in retries)


def test_a_second_task_for_the_same_message_sends_nothing(async_settings):
    async_settings(DUMMY)
    message = send_sms("hello", to="+33612345678")
    assert deliver.call(message.pk) == "delivered"
    assert deliver.call(message.pk) == "skipped (delivered)"
    assert deliver.call(999999) == "missing"
    assert len(FlakyBackend.calls) == 1


def test_enqueue_failure_leaves_the_message_queued_for_the_sweeper(async_settings, caplog):
    async_settings("tests.task_backends.UnreachableBackend")
    message = send_sms("hello", to="+33612345678")
    message.refresh_from_db()
    assert message.status == "queued"
    assert "Could not enqueue the delivery of 1 message(s)" in caplog.text


# -- ASYNC with the ImmediateBackend: delivered in-line -------------------------------------------


def test_async_with_immediate_backend_delivers_at_once(async_settings, status_signals):
    async_settings(IMMEDIATE)
    message = send_sms("hello", to="+33612345678")
    message.refresh_from_db()
    assert message.status == "delivered"
    assert status_signals.transitions == [("queued", "sending"), ("sending", "delivered")]


def test_async_mass_send_with_immediate_backend(async_settings):
    async_settings(IMMEDIATE)
    messages = send_mass_sms([("hi", f"+3361234560{i}") for i in range(4)])
    statuses = set(
        get_message_model()
        .objects.filter(pk__in=[m.pk for m in messages])
        .values_list("status", flat=True)
    )
    assert statuses == {"delivered"}
    assert len(FlakyBackend.calls) == 4


# -- retries -------------------------------------------------------------------------------------


def test_transient_failure_is_retried_through_a_deferred_task(async_settings, settings):
    async_settings(DUMMY, RETRY_BACKOFF=10)
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 1}
    message = send_sms("hello", to="+33612345678")
    before = timezone.now()

    assert deliver.call(message.pk) == "queued"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.error_code == "E-INJECTED"
    assert (
        before + timedelta(seconds=5) <= message.next_attempt_at <= before + timedelta(seconds=11)
    )
    retry = dummy_results()[-1]
    assert retry.args == [message.pk]
    assert retry.task.run_after == message.next_attempt_at
    assert retry.task.queue_name == "sms"

    # The retry task running early (a duplicate) respects the backoff.
    assert deliver.call(message.pk) == "not due"
    get_message_model().objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert deliver.call(message.pk) == "delivered"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code) == ("delivered", 2, "")
    assert events(message) == [
        ("queued", None, True),
        ("sending", 1, True),
        ("queued", 1, True),
        ("sending", 2, True),
        ("delivered", 2, True),
    ]
    assert [e.error_code for e in message.events.all()][2] == "E-INJECTED"


def test_retry_after_is_honoured(async_settings, settings):
    async_settings(DUMMY, RETRY_BACKOFF=1, RETRY_BACKOFF_MAX=5)
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 1, "retry_after": 120}
    message = send_sms("hello", to="+33612345678")
    before = timezone.now()
    deliver.call(message.pk)
    message.refresh_from_db()
    assert message.next_attempt_at >= before + timedelta(seconds=120)


def test_transient_failures_stop_at_max_attempts(async_settings, settings):
    async_settings(DUMMY, MAX_ATTEMPTS=3, RETRY_BACKOFF=0)
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 99}
    message = send_sms("hello", to="+33612345678")
    for _ in range(3):
        deliver.call(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 3, None)
    assert "gave up after 3 attempts" in message.error_message
    assert [e for e in events(message) if e[0] == "sending"] == [
        ("sending", 1, True),
        ("sending", 2, True),
        ("sending", 3, True),
    ]
    assert deliver.call(message.pk) == "skipped (failed)"
    assert len(FlakyBackend.counts) == 1 and FlakyBackend.counts.total() == 3


@pytest.mark.parametrize(("error", "status"), [("ambiguous", "unknown"), ("permanent", "failed")])
def test_ambiguous_and_permanent_failures_are_never_retried(
    async_settings, settings, error, status
):
    async_settings(DUMMY, RETRY_BACKOFF=0)
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 1, "error": error}
    message = send_sms("hello", to="+33612345678")
    deliver.call(message.pk)
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == (status, None)
    assert len(dummy_results()) == 1  # the first task only: no retry scheduled
    report = sweep()
    assert (report.redelivered, report.enqueued) == (0, 0)
    assert FlakyBackend.counts.total() == 1


def test_without_deferral_the_sweeper_resumes_the_retry(async_settings, settings):
    async_settings(IMMEDIATE, RETRY_BACKOFF=0)
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 1}
    assert schedule_retry(1, timezone.now()) is False  # ImmediateBackend cannot defer

    message = send_sms("hello", to="+33612345678")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    report = sweep()
    assert report.enqueued == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 2)


def test_sync_mode_transient_failure_waits_for_the_sweeper(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 1}},
    }
    settings.DJANGO_SMS = {"DEFAULT_SENDER": "TestShop", "RETRY_BACKOFF": 0}
    message = send_sms("hello", to="+33612345678")
    assert (message.status, message.attempts) == ("queued", 1)
    assert sweep().redelivered == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 2)


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 15, 30), (2, 30, 60), (3, 60, 120), (7, 900, 1800), (8, 900, 1800), (40, 900, 1800)],
)
def test_backoff_doubles_with_jitter_and_a_cap(settings, attempts, low, high):
    settings.DJANGO_SMS = {"RETRY_BACKOFF": 30, "RETRY_BACKOFF_MAX": 1800}
    delays = {backoff_seconds(attempts) for _ in range(200)}
    assert all(low <= d <= high for d in delays)
    assert len(delays) > 1  # jittered


def test_backoff_never_undercuts_retry_after(settings):
    settings.DJANGO_SMS = {"RETRY_BACKOFF": 1, "RETRY_BACKOFF_MAX": 60}
    assert backoff_seconds(1, retry_after=7200) == 7200
    exc = TransientProviderError("slow down", retry_after=3)
    assert backoff_seconds(1, exc.retry_after) >= 3


# -- real worker processes ----------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="workers share the database: PostgreSQL only"
)


def apply_worker_settings(settings, module: str) -> None:
    """Give the test process the configuration its worker processes run with."""
    import importlib

    worker = importlib.import_module(module)
    settings.TASKS = worker.TASKS
    settings.SMS_BACKENDS = worker.SMS_BACKENDS
    settings.DJANGO_SMS = worker.DJANGO_SMS
    if hasattr(worker, "RQ_QUEUES"):
        settings.RQ_QUEUES = worker.RQ_QUEUES
    for name in dir(worker):
        if name.startswith("CELERY_"):
            setattr(settings, name, getattr(worker, name))


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``manage.py <command>`` processes (or ``python -m <module> ...``) on the test
    database; stop them afterwards."""
    started: list[subprocess.Popen] = []

    swapped = getattr(django_settings, "DJANGO_SMS_MESSAGE_MODEL", "")

    def start(settings_module: str, *command: str, module: str = "django") -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "SMS_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "SMS_WORKER_STATE_DIR": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            # The swapped run's models (tests/settings_swapped.py), in the worker too.
            "SMS_WORKER_SWAPPED_MODELS": swapped and "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", module, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"worker exited with {process.returncode}:\n{stop(process)}")
        time.sleep(0.2)
    raise AssertionError(f"timed out; worker output:\n{stop(process)}")


def calls_by_message(state_dir: Path) -> dict[str, list[str]]:
    return {
        path.name.removesuffix(".calls"): path.read_text().split("\n")[:-1]
        for path in state_dir.glob("*.calls")
    }


def check_all_delivered_once(messages, state_dir: Path, failing: set[int]) -> None:
    model = get_message_model()
    rows = {m.pk: m for m in model.objects.filter(pk__in=[m.pk for m in messages])}
    assert {row.status for row in rows.values()} == {"delivered"}
    calls = calls_by_message(state_dir)
    for i, message in enumerate(messages):
        row = rows[message.pk]
        expected = (
            ["default failed-transient", "default sent"] if i in failing else ["default sent"]
        )
        assert calls[str(row.reference)] == expected  # sent exactly once, retried as planned
        assert row.attempts == len(expected)
        sending = [e.attempt for e in row.events.all() if e.status == "sending"]
        assert sending == list(range(1, len(expected) + 1))


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_db_worker_delivers_and_retries(settings, start_worker, tmp_path):
    apply_worker_settings(settings, "tests.settings_dbworker")
    failing = {2, 5, 7}
    messages = send_mass_sms(
        [
            django_sms.SMS(
                "hello", f"+336123456{i:02d}", metadata={"fail_times": int(i in failing)}
            )
            for i in range(12)
        ]
    )
    assert {m.status for m in messages} == {"queued"}
    worker = start_worker("tests.settings_dbworker", *DB_WORKER)
    model = get_message_model()
    wait_for(
        lambda: (
            model.objects.filter(pk__in=[m.pk for m in messages], status="delivered").count()
            == len(messages)
        ),
        worker,
    )
    stop(worker)
    check_all_delivered_once(messages, tmp_path, failing)

    from django_tasks_db.models import DBTaskResult

    # One batch task, then one deferred retry per transient failure, all successful.
    results = list(
        DBTaskResult.objects.order_by("enqueued_at").values_list("status", "return_value")
    )
    assert results[0] == ("SUCCESSFUL", {"delivered": 9, "queued": 3})
    assert results[1:] == [("SUCCESSFUL", "delivered")] * len(failing)


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_db_worker_killed_mid_send_leaves_unknown_never_resent(settings, start_worker, tmp_path):
    apply_worker_settings(settings, "tests.settings_dbworker")
    message = send_sms("hello", to="+33612345678", using="slow")
    worker = start_worker("tests.settings_dbworker", *DB_WORKER)
    started = tmp_path / f"{message.reference}.started"
    wait_for(started.exists, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)

    message.refresh_from_db()
    assert message.status == "sending"
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "SENDING_LEASE": 0}
    report = sweep()
    assert report.rescued == 1
    message.refresh_from_db()
    assert message.status == "unknown"
    assert message.events.last().source == "system"
    # A new worker finds nothing to send: the ambiguous message is never resent blindly.
    worker = start_worker("tests.settings_dbworker", "db_worker", "--queue-name", "sms", "--batch")
    worker.wait(timeout=60)
    message.refresh_from_db()
    assert message.status == "unknown"
    assert sweep().redelivered + sweep().enqueued == 0


def flushed_redis(variable, default_url):
    """A client of the Redis database named by the environment ``variable`` (or
    ``default_url``), flushed before and after the test; the test is skipped without Redis."""
    redis = pytest.importorskip("redis")
    url = os.environ.get(variable, default_url)
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    client.flushdb()  # only the dedicated test database
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def redis_db():
    yield from flushed_redis("SMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_rq_worker_delivers_and_retries(settings, start_worker, tmp_path, redis_db):
    apply_worker_settings(settings, "tests.settings_rq")
    failing = {1, 4}
    messages = send_mass_sms(
        [
            django_sms.SMS(
                "hello", f"+336123456{i:02d}", metadata={"fail_times": int(i in failing)}
            )
            for i in range(8)
        ]
    )
    worker = start_worker(
        "tests.settings_rq",
        "rqworker", "sms", "--job-class", "django_tasks_rq.Job", "--with-scheduler",
    )  # fmt: skip
    model = get_message_model()
    wait_for(
        lambda: (
            model.objects.filter(pk__in=[m.pk for m in messages], status="delivered").count()
            == len(messages)
        ),
        worker,
    )
    stop(worker)
    check_all_delivered_once(messages, tmp_path, failing)


@pytest.fixture
def celery_redis_db():
    """The Redis database of the Celery test (broker and results), flushed before and after."""
    pytest.importorskip("django_tasks_celery", reason="django-tasks-celery needs Django 6.0+")
    yield from flushed_redis("SMS_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_celery_worker_delivers_and_retries(settings, start_worker, tmp_path, celery_redis_db):
    apply_worker_settings(settings, "tests.settings_celery")
    failing = {0, 3}
    one = send_sms("hello", to="+33612345699")  # one message: one deliver task
    messages = send_mass_sms(  # several: a deliver_batch task, retries as deferred tasks
        [
            django_sms.SMS(
                "hello", f"+336123456{i:02d}", metadata={"fail_times": int(i in failing)}
            )
            for i in range(6)
        ]
    )
    assert {m.status for m in [one, *messages]} == {"queued"}
    worker = start_worker(
        "tests.settings_celery",
        "-A", "tests.celery_app", "worker", "-Q", "sms", "--pool", "solo",
        "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        module="celery",
    )  # fmt: skip
    model = get_message_model()
    everything = [one.pk, *[m.pk for m in messages]]
    wait_for(
        lambda: (
            model.objects.filter(pk__in=everything, status="delivered").count() == len(everything)
        ),
        worker,
    )
    output = stop(worker)
    check_all_delivered_once(messages, tmp_path, failing)
    assert calls_by_message(tmp_path)[str(one.reference)] == ["default sent"]
    assert "django_sms.tasks.deliver_batch" in output and "succeeded" in output
