"""``django_sms.one_statement``: on PostgreSQL a report about a known message is stored and
applied with one statement after its lookup, and records exactly what the transaction used
elsewhere records — including when another report moves the message in between."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from django_sms import events, send_sms
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
    real_write = events.insert_event_and_update

    def another_report_first(*args, **kwargs):
        # What a concurrent callback does between this one's read and its write.
        get_message_model()._default_manager.filter(pk=message.pk).update(status=moved_to)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(events, "insert_event_and_update", another_report_first)
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
    monkeypatch.setattr(events, "insert_event_and_update", lambda *args, **kwargs: None)
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
