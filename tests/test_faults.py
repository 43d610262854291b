"""Fault injection: every provider against every fault the sandbox can inject.

Batches of messages (some paid from a wallet) go through the real pipeline — synchronously,
and in ASYNC mode through a real ``db_worker`` on PostgreSQL — to the provider sandbox, which
misbehaves on purpose: latency, 429 with Retry-After, 500, 503, connection resets (before and
after it stored the message), a hang past the client's read timeout (idem), a 200 answer
with malformed JSON, an authentication rejection. One test kills a worker with SIGKILL while
its batch is in flight. The sweeper then runs until it has nothing left to do, and
:func:`check_invariants` proves, from our tables and from the sandbox's own records:

* every message is in a definite state: final, accepted/sent (awaiting reports), unknown
  (an ambiguous outcome), or queued with a due time for its retry;
* nothing was accepted by the sandbox twice, and every message the sandbox accepted is one of
  ours (its message store, matched by text, and by our reference where the provider echoes
  it); every message we call accepted is in the sandbox under the id we stored;
* each attempt we count is one request in the sandbox's log (never more requests);
* nothing is lost: every row created exists;
* every wallet's ledger sums to its balance, and each message's charge matches its status.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.core.management import call_command
from django.db import connection

from django_sms import SMS, send_mass_sms, send_sms
from django_sms.backends.handler import sms_backends
from django_sms.models import AbstractMessage, get_message_model
from django_sms.status import FINAL_STATUSES, NOT_SENT_STATUSES, Status
from django_sms.sweeper import sweep
from django_sms.testing.sandbox import Fault, Sandbox, faults
from django_sms.wallets import (
    CAPTURE_STATUSES,
    deposit,
    get_or_create_wallet,
    ledger_balance,
    verify,
)
from tests import settings_faults

ROOT = Path(__file__).resolve().parent.parent
DB_WORKER = ["db_worker", "--queue-name", "sms", "--interval", "0.1", "--no-startup-delay",
             "--no-reload"]
# Each case takes seconds (timeouts, backoff, sweeps): CI runs the suite on SQLite and on
# PostgreSQL, and leaves it out of the swapped-model and Django 5.2 runs ("not slow").
pytestmark = pytest.mark.slow
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="workers share the database: PostgreSQL only"
)


@dataclass(frozen=True)
class Provider:
    """How the suite recognises one provider's send requests in the sandbox's log."""

    name: str
    #: The path (glob) of the send call: faults are injected there only, never on polls.
    send_path: str
    #: Where the text is in the request body (parsed JSON, or form fields for Twilio).
    text_of: Callable[[Any], str]
    #: Whether the provider echoes our reference (Vonage client_ref, OVH tag, AWS Context).
    echoes_reference: bool
    #: Whether the send call's body is a form (Twilio) rather than JSON.
    form_body: bool = False

    def body(self, request: Any) -> Any:
        return dict(parse_qsl(request.body.decode())) if self.form_body else request.json

    def sends(self, sandbox: Sandbox) -> list[Any]:
        """The send requests in the sandbox's log (not polls, not OVH's clock queries)."""
        return [
            r for r in sandbox.requests
            if r.provider == self.name and r.method == "POST"
            and fnmatch.fnmatchcase(r.path, self.send_path) and isinstance(self.body(r), dict)
            and self.body(r)
        ]


PROVIDERS = {
    p.name: p
    for p in (
        Provider("mailjet", "/v4/sms-send", lambda body: body["Text"], echoes_reference=False),
        Provider("vonage", "/v1/messages", lambda body: body["text"], echoes_reference=True),
        Provider("ovh", "/1.0/sms/*/jobs", lambda body: body["message"], echoes_reference=True),
        Provider("twilio", "/2010-04-01/Accounts/*/Messages.json", lambda body: body["Body"],
                 echoes_reference=False, form_body=True),
        Provider("aws", "/aws", lambda body: body["MessageBody"], echoes_reference=True),
    )
}

#: Accepted by the provider, waiting for (or having received) its reports.
TAKEN = frozenset({Status.ACCEPTED, Status.SENT, *FINAL_STATUSES} - NOT_SENT_STATUSES)


@dataclass(frozen=True)
class Case:
    fault: Callable[[], Fault]
    #: What a message hit by the fault ends as once the sweeper is done: "taken" (a transient
    #: failure retried, or only slow), "unknown" (ambiguous: never resent), "failed".
    outcome: str
    #: Whether the sandbox stored the message before misbehaving.
    stored: bool


HANG = settings_faults.HANG_SECONDS
CASES = {
    "latency": Case(lambda: faults.latency(300), "taken", True),
    "429-retry-after": Case(lambda: faults.status(429, retry_after=1), "taken", False),
    "500": Case(lambda: faults.status(500), "taken", False),
    "503": Case(lambda: faults.status(503), "taken", False),
    "reset": Case(lambda: faults.reset(accept=False), "unknown", False),
    "reset-after-storing": Case(lambda: faults.reset(accept=True), "unknown", True),
    "hang": Case(lambda: faults.hang(HANG, accept=False), "unknown", False),
    "hang-after-storing": Case(lambda: faults.hang(HANG, accept=True), "unknown", True),
    "malformed-json": Case(faults.malformed_json, "unknown", True),
    "auth-rejection": Case(faults.auth_rejection, "failed", False),
}


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def configure(settings) -> Iterator[Callable[..., None]]:
    """Point every provider alias at ``sandbox``; ASYNC or not; extra DJANGO_SMS options."""

    def apply(sandbox: Sandbox, *, asynchronous: bool, **options: Any) -> None:
        settings.SMS_BACKENDS = settings_faults.sandbox_backends(sandbox.url)
        settings.DJANGO_SMS = settings_faults.fault_sms_settings(ASYNC=asynchronous, **options)
        settings.TASKS = settings_faults.TASKS if asynchronous else settings.TASKS

    yield apply
    sms_backends.close_all()


@pytest.fixture
def wallet(django_user_model):
    owner = django_user_model.objects.create(username="tenant")
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "20")
    verify(w)
    return w


@pytest.fixture
def start_worker() -> Iterator[Callable[[Sandbox], subprocess.Popen[str]]]:
    """Start ``db_worker`` processes on the test database, sending to ``sandbox``."""
    started: list[subprocess.Popen[str]] = []

    def start(sandbox: Sandbox) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings_faults",
            "SMS_WORKER_DB_NAME": connection.settings_dict["NAME"],
            "SMS_SANDBOX_URL": sandbox.url,
            "PYTHONPATH": str(ROOT),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "django", *DB_WORKER],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


# -- sending and settling ------------------------------------------------------------------------


class Batch:
    """The messages of one test, each with a unique text (Mailjet echoes no reference)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.created: list[AbstractMessage] = []
        self.count = 0

    def sms(self) -> SMS:
        self.count += 1
        return SMS(f"Fault suite {self.provider.name} #{self.count}", f"+3361234{self.count:04d}")

    def single(self, wallet: Any = None) -> None:
        if wallet is None:
            self.created.append(send_sms(*self._args(), using=self.provider.name,
                                         fail_silently=True))
        else:
            self.bulk(1, wallet=wallet)

    def bulk(self, size: int, wallet: Any = None) -> None:
        self.created += send_mass_sms([self.sms() for _ in range(size)], using=self.provider.name,
                                      fail_silently=True, wallet=wallet)

    def _args(self) -> tuple[str, str]:
        sms = self.sms()
        return sms.text, sms.to

    @property
    def pks(self) -> list[int]:
        return [m.pk for m in self.created]

    def rows(self) -> list[AbstractMessage]:
        return list(get_message_model().objects.filter(pk__in=self.pks).order_by("pk"))

    def statuses(self) -> Counter[str]:
        return Counter(row.status for row in self.rows())

    def outcomes(self) -> Counter[str]:
        """Statuses grouped as the cases name them: taken / unknown / failed / other."""
        return Counter(
            "taken" if s in TAKEN else s if s in (Status.UNKNOWN, Status.FAILED) else f"other:{s}"
            for s in (row.status for row in self.rows())
        )

    def unsettled(self) -> int:
        return get_message_model().objects.filter(
            pk__in=self.pks, status__in=[Status.QUEUED, Status.SENDING]
        ).count()


def sweep_until_quiet(batch: Batch, timeout: float = 40.0) -> None:
    """Run the sweeper until a sweep changes nothing and no message waits for a retry."""
    deadline = time.monotonic() + timeout
    while True:
        report = sweep()
        busy = report.redelivered + report.enqueued + report.rescued + report.poll_changes
        if not busy and not batch.unsettled():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the sweeper never got quiet: {report.as_dict()}, "
                                 f"statuses {dict(batch.statuses())}")
        time.sleep(0.2)


def wait_for_workers(batch: Batch, worker: subprocess.Popen[str], timeout: float = 90) -> None:
    """Until no message of the batch is queued or being sent (retries included)."""
    deadline = time.monotonic() + timeout
    while batch.unsettled():
        if worker.poll() is not None:
            raise AssertionError(f"worker exited with {worker.returncode}:\n{stop(worker)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out with {dict(batch.statuses())}:\n{stop(worker)}")
        time.sleep(0.2)


# -- the invariants --------------------------------------------------------------------------------


def check_invariants(
    batch: Batch, sandbox: Sandbox, wallets: list[Any], *, all_attempts_sent: bool = True
) -> None:
    provider = batch.provider
    rows = batch.rows()

    # Nothing lost.
    assert sorted(row.pk for row in rows) == sorted(batch.pks)
    by_text = {row.text: row for row in rows}
    assert len(by_text) == len(rows)

    # A definite state for every message.
    for row in rows:
        waiting = row.status == Status.QUEUED and row.next_attempt_at is not None
        assert row.status in TAKEN | NOT_SENT_STATUSES | {Status.UNKNOWN} or waiting, (
            f"message {row.pk} is {row.status!r}"
        )

    # The sandbox accepted each message at most once, and only ours.
    stored = [m for m in sandbox.messages.all() if m.provider == provider.name]
    accepted_texts = Counter(m.text for m in stored)
    assert set(accepted_texts) <= set(by_text), "the sandbox holds messages we never created"
    duplicates = {text: n for text, n in accepted_texts.items() if n > 1}
    assert not duplicates, f"accepted twice: {duplicates}"
    if provider.echoes_reference:
        references = Counter(m.reference for m in stored)
        assert max(references.values(), default=1) == 1
        for m in stored:
            # OVH's tag holds the reference's first 20 hex digits (20 characters allowed).
            reference = by_text[m.text].reference
            sent = reference.hex[:20] if provider.name == "ovh" else str(reference)
            assert m.reference == sent
    stored_by_text = {m.text: m for m in stored}
    for row in rows:
        in_sandbox = stored_by_text.get(row.text)
        if row.status in TAKEN:
            assert in_sandbox is not None, f"message {row.pk} is {row.status} but was never sent"
            assert row.provider_message_id == in_sandbox.id
        if row.status in NOT_SENT_STATUSES:
            assert in_sandbox is None, f"message {row.pk} is {row.status} but was accepted"

    # Each attempt is one request: no hidden resend (the request log proves it).
    requests = Counter(provider.text_of(provider.body(r)) for r in provider.sends(sandbox))
    for row in rows:
        sent = requests[row.text]
        why = f"message {row.pk}: {sent} requests, {row.attempts} attempts"
        if all_attempts_sent:
            assert sent == row.attempts, why
        else:  # a killed worker may have claimed rows it never got to send
            assert sent <= row.attempts, why

    # Money: ledgers add up, and each charge follows its message's status.
    for wallet in wallets:
        wallet.refresh_from_db()
        assert ledger_balance(wallet) == wallet.balance
        paid = [row for row in rows if row.wallet_id == wallet.pk]
        for row in paid:
            if row.status in CAPTURE_STATUSES:
                expected = "captured"
            elif row.status in NOT_SENT_STATUSES:
                expected = "released"
            else:  # unknown, or queued for a retry: the hold stays
                expected = "held"
            assert row.charge_status == expected, (row.pk, row.status, row.charge_status)
        owed = sum((row.price for row in paid if row.charge_status != "released"), Decimal(0))
        assert wallet.balance == Decimal("20") - owed


# -- synchronous mode: one fault at a time -------------------------------------------------------

FAULTED = 6  # requests hit by the fault in each synchronous test


@pytest.mark.django_db
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("case", CASES)
def test_sync_sends_survive_the_fault(provider, case, sms_sandbox, configure, wallet):
    configure(sms_sandbox, asynchronous=False)
    fault = CASES[case]
    batch = Batch(PROVIDERS[provider])
    sms_sandbox.inject(fault.fault(), provider=provider, path=batch.provider.send_path,
                       count=FAULTED)

    # The first six requests meet the fault: a lone send, a paid bulk send (4 threads), a paid
    # lone send. Then a clean bulk send and two lone sends.
    batch.single()
    batch.bulk(4, wallet=wallet)
    batch.single(wallet=wallet)
    batch.bulk(6)
    batch.single()
    batch.single()
    assert len(batch.provider.sends(sms_sandbox)) == len(batch.created)

    sweep_until_quiet(batch)
    check_invariants(batch, sms_sandbox, [wallet])

    total = len(batch.created)
    expected = Counter({"taken": total - FAULTED, fault.outcome: FAULTED})
    if fault.outcome == "taken":
        expected = Counter({"taken": total})
    assert batch.outcomes() == expected
    stored = len([m for m in sms_sandbox.messages.all() if m.provider == provider])
    if fault.outcome == "taken" or fault.stored:
        assert stored == total
    else:
        assert stored == total - FAULTED


# -- status polling: faults on the provider's status endpoint ------------------------------------

POLL_PATHS = {"mailjet": "/v4/sms/*", "ovh": "/1.0/sms/*/outgoing/*",
              "twilio": "/2010-04-01/Accounts/*/Messages/*.json"}


@pytest.mark.django_db
@pytest.mark.parametrize("provider", POLL_PATHS)
@pytest.mark.parametrize("case", CASES)
def test_status_polling_survives_the_fault(provider, case, sms_sandbox, configure, wallet):
    """Polls are safe to repeat: whatever goes wrong, the next sweep asks again, and every
    message reaches the status the provider reports, each state stored once."""
    configure(sms_sandbox, asynchronous=False)
    batch = Batch(PROVIDERS[provider])
    batch.bulk(3, wallet=wallet)
    batch.bulk(3)
    sms_sandbox.inject(CASES[case].fault(), provider=provider, path=POLL_PATHS[provider],
                       count=FAULTED)

    deadline = time.monotonic() + 40
    while batch.statuses() != Counter({Status.DELIVERED: len(batch.created)}):
        assert time.monotonic() < deadline, dict(batch.statuses())
        sweep()
        time.sleep(0.2)

    polls = [r for r in sms_sandbox.requests if r.method == "GET"]
    assert sum(1 for r in polls if r.fault) == FAULTED
    for row in batch.rows():
        states = [e.status for e in row.events.filter(source="poll")]
        assert len(states) == len(set(states)), f"a polled state was stored twice: {states}"
    check_invariants(batch, sms_sandbox, [wallet])


# -- delivery reports reconcile ambiguous sends ----------------------------------------------------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_delivery_reports_reconcile_ambiguous_sends(sms_sandbox, configure, wallet, live_server):
    """Vonage reports on every message it stored, also those whose send answer we lost: the
    signed webhooks (through a real HTTP server) find them by our reference and move them
    from unknown to delivered, and the wallet captures their holds. Messages the provider
    never stored stay unknown."""
    configure(sms_sandbox, asynchronous=False)
    sms_sandbox.set_callback_url("vonage", f"{live_server.url}/sms/webhooks/vonage/status/")
    batch = Batch(PROVIDERS["vonage"])
    for name in ("hang-after-storing", "malformed-json", "reset-after-storing", "hang", "reset",
                 "503"):
        sms_sandbox.inject(CASES[name].fault(), provider="vonage", path="/v1/messages")
    batch.bulk(6, wallet=wallet)
    batch.bulk(6)

    deadline = time.monotonic() + 40
    while batch.outcomes() != Counter({"taken": 10, "unknown": 2}) or any(
        row.status != Status.DELIVERED for row in batch.rows() if row.status in TAKEN
    ):
        assert time.monotonic() < deadline, dict(batch.statuses())
        sweep()  # the 503 is retried by the sweeper
        time.sleep(0.3)

    unstored = ("hang(accept=False)", "reset(accept=False)")
    never_stored = {r.json["text"] for r in sms_sandbox.requests if r.fault in unstored}
    rows = batch.rows()
    assert {row.text for row in rows if row.status == Status.UNKNOWN} == never_stored
    reconciled = [row for row in rows if row.events.filter(status=Status.UNKNOWN).exists()
                  and row.status == Status.DELIVERED]
    assert len(reconciled) == 3
    for row in reconciled:
        sources = [e.source for e in row.events.all() if e.applied]
        assert sources[-1] == "webhook"
    assert sms_sandbox.callbacks.attempts and all(a.ok for a in sms_sandbox.callbacks.attempts)
    check_invariants(batch, sms_sandbox, [wallet])


# -- ASYNC mode with a real db_worker: every fault in one batch ------------------------------------

PER_FAULT = 2


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_db_worker_batches_survive_every_fault(provider, sms_sandbox, configure, wallet,
                                               start_worker):
    # Enough attempts that no message can exhaust them on transient faults alone: every
    # message ends taken, unknown (one per ambiguous fault) or failed (one per rejection).
    configure(sms_sandbox, asynchronous=True, MAX_ATTEMPTS=len(CASES) * PER_FAULT)
    batch = Batch(PROVIDERS[provider])
    for case in CASES.values():
        sms_sandbox.inject(case.fault(), provider=provider, path=batch.provider.send_path,
                           count=PER_FAULT)
    batch.single()
    batch.bulk(10, wallet=wallet)
    batch.single(wallet=wallet)
    batch.bulk(16)
    batch.single()
    assert batch.statuses() == Counter({Status.QUEUED: len(batch.created)})

    worker = start_worker(sms_sandbox)
    wait_for_workers(batch, worker)
    stop(worker)
    sweep_until_quiet(batch)

    per_outcome = Counter()
    for case in CASES.values():
        per_outcome[case.outcome] += PER_FAULT
    assert batch.outcomes() == Counter({
        "taken": len(batch.created) - per_outcome["unknown"] - per_outcome["failed"],
        "unknown": per_outcome["unknown"],
        "failed": per_outcome["failed"],
    })
    check_invariants(batch, sms_sandbox, [wallet])


# -- a worker killed in the middle of a batch ------------------------------------------------------


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.sms_sandbox(latency_ms=250)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_worker_killed_mid_batch_loses_nothing_and_resends_nothing(
    provider, sms_sandbox, configure, wallet, start_worker, settings
):
    configure(sms_sandbox, asynchronous=True)
    batch = Batch(PROVIDERS[provider])
    batch.bulk(16, wallet=wallet)  # the first task: in flight when the worker dies
    batch.single()
    batch.single(wallet=wallet)
    batch.bulk(12)
    model = get_message_model()

    worker = start_worker(sms_sandbox)
    deadline = time.monotonic() + 60
    while model.objects.filter(pk__in=batch.pks, status__in=TAKEN).count() < 4:
        assert worker.poll() is None, stop(worker)
        assert time.monotonic() < deadline, stop(worker)
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    in_flight = set(
        model.objects.filter(pk__in=batch.pks, status=Status.SENDING).values_list("pk", flat=True)
    )
    assert in_flight, "the worker died with nothing in flight: the test proves nothing"
    assert model.objects.filter(pk__in=batch.pks, status=Status.QUEUED).exists()
    time.sleep(0.6)  # the sandbox finishes the requests the dead worker left in flight

    # The sweeper marks what was in flight unknown and re-enqueues what was never claimed;
    # a new worker delivers those.
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "SENDING_LEASE": 0}
    out = StringIO()
    call_command("smssync", stdout=out)
    assert f"Stuck in sending: {len(in_flight)} marked unknown." in out.getvalue()
    assert "Due retries: 0 enqueued." not in out.getvalue()
    worker = start_worker(sms_sandbox)
    wait_for_workers(batch, worker)
    stop(worker)
    sweep_until_quiet(batch)

    rows = {row.pk: row for row in batch.rows()}
    assert {pk for pk, row in rows.items() if row.status == Status.UNKNOWN} == in_flight
    assert all(row.status in TAKEN for pk, row in rows.items() if pk not in in_flight)
    assert all(rows[pk].attempts == 1 for pk in in_flight)  # never resent
    check_invariants(batch, sms_sandbox, [wallet], all_attempts_sent=False)
