"""ROUTES and FAILOVER: a transient failure moves a message to the next provider at once."""

from __future__ import annotations

import pytest

import django_sms
from django_sms import SMS, send_mass_sms, send_sms
from django_sms.sweeper import sweep
from tests.backends import FlakyBackend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def backends(settings):
    FlakyBackend.reset()
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 99}},
        "backup": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "also-down": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 99}},
    }
    settings.DJANGO_SMS = {
        "DEFAULT_SENDER": "TestShop",
        "FAILOVER": {"default": ["backup"]},
        "RETRY_BACKOFF": 60,
    }


def timeline(message) -> list[tuple]:
    return [
        (e.status, e.attempt, e.backend_alias, e.provider, e.applied) for e in message.events.all()
    ]


def test_a_transient_failure_fails_over_to_the_next_alias(status_signals):
    message = send_sms("hello", to="+33612345678")

    message.refresh_from_db()
    assert (message.status, message.backend_alias, message.provider) == (
        "delivered",
        "backup",
        "locmem",
    )
    assert message.attempts == 2
    assert message.provider_message_id == f"locmem-{message.reference}"
    assert timeline(message) == [
        ("queued", None, "", "", True),
        ("sending", 1, "default", "flaky", True),
        ("sending", 1, "default", "flaky", False),  # attempt 1 failed: failing over
        ("sending", 2, "backup", "locmem", False),
        ("delivered", 2, "backup", "locmem", True),
    ]
    failed = message.events.all()[2]
    assert failed.error_code == "E-INJECTED"
    assert "failing over to 'backup'" in failed.provider_status_text
    assert status_signals.transitions == [("queued", "sending"), ("sending", "delivered")]
    assert [s.reference for s in django_sms.outbox] == [str(message.reference)]


def test_a_single_send_with_failover_costs_no_extra_query(sql_statements):
    send_sms("warm-up", to="+33612345679")
    with sql_statements() as statements:
        send_sms("hello", to="+33612345678")
    assert len(statements) == 5, statements.sql  # as without failover (test_send_sms)


@pytest.mark.parametrize(("error", "status"), [("ambiguous", "unknown"), ("permanent", "failed")])
def test_ambiguous_and_permanent_failures_never_fail_over(settings, error, status):
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 1, "error": error}
    message = send_sms("hello", to="+33612345678", fail_silently=True)
    message.refresh_from_db()
    assert (message.status, message.backend_alias, message.attempts) == (status, "default", 1)
    assert django_sms.outbox == []


def test_when_every_alias_fails_the_retry_starts_again_from_the_routed_alias(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "FAILOVER": {"default": ["also-down"]}}
    message = send_sms("hello", to="+33612345678")
    message.refresh_from_db()
    assert (message.status, message.backend_alias, message.attempts) == ("queued", "default", 2)
    assert message.next_attempt_at is not None
    assert [(e.status, e.attempt, e.backend_alias) for e in message.events.all()][-1] == (
        "queued",
        2,
        "also-down",
    )
    # The retry goes through the chain again: default, then also-down.
    settings.SMS_BACKENDS = {
        **settings.SMS_BACKENDS,
        "also-down": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 0}},
    }
    type(message).objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
    sweep()
    message.refresh_from_db()
    assert (message.status, message.backend_alias, message.attempts) == (
        "delivered",
        "also-down",
        4,
    )
    assert [e.backend_alias for e in message.events.filter(status="sending")] == [
        "default", "default", "also-down", "default", "default", "also-down",
    ]  # fmt: skip


def test_failover_counts_against_max_attempts(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "MAX_ATTEMPTS": 1}
    message = send_sms("hello", to="+33612345678")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.backend_alias) == ("failed", 1, "default")
    assert django_sms.outbox == []


def test_routes_and_failover_together(settings):
    settings.SMS_BACKENDS["uk"] = {
        "BACKEND": "tests.backends.FlakyBackend",
        "OPTIONS": {"fail_times": 99},
    }
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "ROUTES": {"GB": "uk", "*": "backup"},
        "FAILOVER": {"uk": ["backup"]},
    }
    uk = send_sms("hello", to="+447400123456")
    fr = send_sms("hello", to="+33612345678")
    uk.refresh_from_db()
    fr.refresh_from_db()
    assert (uk.backend_alias, uk.attempts, uk.status) == ("backup", 2, "delivered")
    assert [e.backend_alias for e in uk.events.filter(status="sending")] == ["uk", "uk", "backup"]
    assert (fr.backend_alias, fr.attempts) == ("backup", 1)


def test_bulk_sends_fail_over_message_by_message(settings):
    settings.SMS_BACKENDS["default"]["OPTIONS"] = {"fail_times": 0}
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "BULK_CONCURRENCY": 3}
    batch = [
        SMS("hi", f"+336123456{i:02d}", metadata={"fail_times": 1 if i % 3 == 0 else 0})
        for i in range(12)
    ]
    messages = send_mass_sms(batch)
    for i, message in enumerate(messages):
        message.refresh_from_db()
        expected = ("backup", 2) if i % 3 == 0 else ("default", 1)
        assert (message.status, message.backend_alias, message.attempts) == ("delivered", *expected)
    assert len(django_sms.outbox) == 4
