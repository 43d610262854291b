"""``django_sms.one_statement``: on PostgreSQL a report about a known message is stored and
applied with one statement after its lookup, and records exactly what the transaction used
elsewhere records — including when another report moves the message in between."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from django_sms import send_sms, transitions
from django_sms.models import StatusEvent, get_message_model
from django_sms.signals import status_changed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the one-statement write is PostgreSQL's"
    ),
]

SECRET = "one-statement-secret"


@pytest.fixture(autouse=True)
def hook_backend(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
    }


@pytest.fixture
def changes():
    seen = []

    def receiver(sender, message, old, new, **kwargs):
        seen.append((message.pk, old, new))

    status_changed.connect(receiver)
    yield seen
    status_changed.disconnect(receiver)


def post(client, message, status, event_id, **extra):
    payload = {
        "id": message.provider_message_id,
        "ref": message.reference.hex,
        "status": status,
        "event_id": event_id,
        **extra,
    }
    response = client.post(
        "/sms/webhooks/hook/status/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"X-Test-Secret": SECRET},
    )
    assert response.status_code == 200, response.content
    return response.json()


def sent():
    return send_sms("Your code is 123456", to="+33612345678", using="hook")


def test_a_report_is_one_select_and_one_write(client, django_assert_num_queries, changes):
    message = sent()
    changes.clear()
    with django_assert_num_queries(2) as captured:
        answer = post(client, message, "delivered", "e1", cost="0.04", currency="EUR")
    assert answer["applied"] == 1
    assert captured.captured_queries[1]["sql"].startswith("WITH ")
    message.refresh_from_db()
    event = message.events.get(dedupe_key="hook:e1")
    assert (message.status, message.cost, message.cost_currency) == (
        "delivered", Decimal("0.04000"), "EUR"
    )
    assert message.delivered_at is not None and event.applied
    assert changes == [(message.pk, "accepted", "delivered")]

    with django_assert_num_queries(1):  # the same report again: found recorded, nothing written
        assert post(client, message, "delivered", "e1")["duplicate"] == 1
    assert message.events.filter(dedupe_key="hook:e1").count() == 1
    assert len(changes) == 1


def test_a_stale_report_with_nothing_new_writes_only_its_event(client, changes):
    message = sent()
    changes.clear()
    post(client, message, "delivered", "e2")
    updated_at = get_message_model()._default_manager.get(pk=message.pk).updated_at
    assert post(client, message, "submitted", "e1")["stale"] == 1
    message.refresh_from_db()
    assert (message.status, message.updated_at) == ("delivered", updated_at)
    assert not message.events.get(dedupe_key="hook:e1").applied
    assert len(changes) == 1


@pytest.mark.parametrize(
    ("moved_to", "report", "outcome", "final", "applied"),
    [
        ("delivered", "submitted", "stale", "delivered", False),  # overtaken: stored, not applied
        ("sent", "delivered", "applied", "delivered", True),  # still a step forward
    ],
)
def test_a_message_moved_by_another_report_in_between(
    client, monkeypatch, changes, moved_to, report, outcome, final, applied
):
    message = sent()
    changes.clear()
    real_write = transitions.insert_events_and_update

    def another_report_first(*args, **kwargs):
        # What a concurrent callback does between this one's read and its write.
        get_message_model()._default_manager.filter(pk=message.pk).update(status=moved_to)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(transitions, "insert_events_and_update", another_report_first)
    assert post(client, message, report, "e1")[outcome] == 1
    message.refresh_from_db()
    event = message.events.get(dedupe_key="hook:e1")
    assert (message.status, event.applied) == (final, applied)
    assert changes == ([(message.pk, moved_to, final)] if applied else [])


REPORTS = [
    [("delivered", "e1", {"cost": "0.04", "currency": "eur", "segments": "2"})],
    [("submitted", "e1", {}), ("delivered", "e2", {"error": "", "cost": "0.04"})],
    [("delivered", "e2", {}), ("submitted", "e1", {"cost": "0.05", "currency": "EUR"})],
    [("failed", "e1", {"error": "1170", "error_text": "Absent subscriber"})],
    [("delivered", "e1", {}), ("failed", "e2", {"error": "1", "error_text": "late"})],
    [("delivered", "e1", {}), ("delivered", "e1", {})],
    [("submitted", "e1", {"at": "2026-12-01T10:00:00+00:00"}), ("delivered", "e2", {})],
]


@pytest.mark.parametrize("reports", REPORTS)
def test_both_ways_of_recording_give_the_same_rows(client, monkeypatch, reports):
    one_statement = replay(client, reports, "a")
    monkeypatch.setattr(transitions, "insert_events_and_update", lambda *args, **kwargs: None)
    transaction = replay(client, reports, "b")
    assert one_statement == transaction


def replay(client, reports, run):
    message = sent()
    answers = [
        post(client, message, status, f"{run}-{key}", **extra) for status, key, extra in reports
    ]
    message.refresh_from_db()
    ignored = {"id", "reference", "provider_message_id", "created_at", "updated_at", "sent_at"}
    row = {k: v for k, v in model_to_dict(message).items() if k not in ignored}
    row["delivered_at"] = message.delivered_at is not None
    history = [
        (event.status, event.applied, event.provider_status, event.error_code,
         event.dedupe_key.split("-", 1)[1])
        for event in StatusEvent.objects.filter(message=message, source="webhook").order_by("pk")
    ]
    return answers, row, history


# -- the answer to a send ------------------------------------------------------------------------


@pytest.fixture
def send_backends(settings):
    from tests.backends import FlakyBackend

    FlakyBackend.reset()
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "flaky": {"BACKEND": "tests.backends.FlakyBackend"},
        "backup": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
    }
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "FAILOVER": {"flaky": ["backup"]},
        "PRICES": {"EUR": {"default": "0.07"}},
        "WALLET_ACTIVATION_DELAY": 0,
    }
    yield
    FlakyBackend.reset()


def test_a_send_stores_its_answer_and_events_in_one_statement(
    send_backends, django_assert_num_queries, changes
):
    with django_assert_num_queries(3) as captured:  # opt-out check, INSERT, the answer
        message = send_sms("Your code is 123456", to="+33612345678")
    statements = [query["sql"] for query in captured.captured_queries]
    assert statements[2].startswith("WITH ")
    assert not any(sql in ("BEGIN", "COMMIT") for sql in statements)
    message.refresh_from_db()
    # locmem reports its messages delivered at once.
    assert (message.status, message.claimed_at, message.attempts) == ("delivered", None, 1)
    assert message.delivered_at is not None
    history = list(message.events.order_by("pk").values_list("status", "applied", "attempt"))
    assert history == [("queued", True, None), ("sending", True, 1), ("delivered", True, 1)]
    assert changes == [(message.pk, "queued", "sending"), (message.pk, "sending", "delivered")]


def test_a_report_that_beat_the_answer_keeps_the_message_where_it_is(
    send_backends, monkeypatch, changes
):
    real_write = transitions.insert_events_and_update

    def delivered_first(events, message, expected_status, values):
        # A fast provider's delivery report, stored while the send answer was on its way.
        get_message_model()._default_manager.filter(pk=message.pk).update(status="delivered")
        return real_write(events, message, expected_status, values)

    monkeypatch.setattr(transitions, "insert_events_and_update", delivered_first)
    message = send_sms("Your code is 123456", to="+33612345678")
    stored = get_message_model()._default_manager.get(pk=message.pk)
    # The answer's columns are kept (the provider id, the claim released), its status is not.
    assert (stored.status, stored.claimed_at) == ("delivered", None)
    assert stored.provider_message_id == message.provider_message_id != ""
    # locmem's own answer, "delivered" too, arrived second: stored, not applied.
    answer = stored.events.get(status="delivered", source="send")
    assert not answer.applied
    assert changes == [(message.pk, "queued", "sending")]


SENDS = [
    {},  # accepted at once
    {"using": "flaky", "metadata": {"fail_times": 1}},  # transient: fails over to "backup"
    {"using": "flaky", "metadata": {"fail_times": 9, "error": "permanent"}},
    {"using": "flaky", "metadata": {"fail_times": 9, "error": "ambiguous"}},
    {"wallet": True},  # paid from a wallet: the charge is captured
    {"wallet": True, "using": "flaky", "metadata": {"fail_times": 9, "error": "permanent"}},
]


@pytest.mark.parametrize("how", SENDS)
def test_both_ways_of_storing_an_answer_give_the_same_rows(send_backends, monkeypatch, how):
    from django_sms import sending

    one_statement = send_and_read(how)
    monkeypatch.setattr(sending, "store_in_one_statement", lambda *args, **kwargs: None)
    transaction = send_and_read(how)
    assert one_statement == transaction


def send_and_read(how):
    from django.contrib.auth import get_user_model

    from django_sms import SMS, send_mass_sms
    from django_sms.wallets import deposit, get_or_create_wallet, verify

    wallet = None
    if how.get("wallet"):
        owner = get_user_model().objects.create(username=f"owner-{StatusEvent.objects.count()}")
        wallet = get_or_create_wallet(owner, "EUR")
        deposit(wallet, "1")
        verify(wallet)
    sms = SMS("Your code is 123456", to="+33612345678", metadata=how.get("metadata", {}))
    [message] = send_mass_sms([sms], using=how.get("using"), wallet=wallet, fail_silently=True)
    message.refresh_from_db()
    ignored = {"id", "reference", "provider_message_id", "created_at", "updated_at", "wallet"}
    row = {k: v for k, v in model_to_dict(message).items() if k not in ignored}
    for stamp in ("sent_at", "delivered_at", "next_attempt_at"):
        row[stamp] = row[stamp] is not None
    history = [
        (e.status, e.applied, e.source, e.backend_alias, e.provider, e.attempt, e.error_code,
         e.provider_status, e.message_id == message.pk, e.pk is not None)
        for e in message.events.order_by("pk")
    ]
    ledger = []
    if wallet is not None:
        wallet.refresh_from_db()
        entries = wallet.ledger_entries.order_by("pk").values_list("kind", "amount")
        ledger = [wallet.balance, *entries]
    return row, history, ledger
