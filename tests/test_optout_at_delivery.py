"""A STOP that arrives while a message waits (for a retry, for a worker) stops it."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_sms import SMS
from django_sms.models import LedgerEntry, get_message_model
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify
from tests.backends import FlakyBackend
from tests.test_background import (  # noqa: F401  (start_worker is a fixture)
    DB_WORKER,
    apply_worker_settings,
    calls_by_message,
    needs_postgres,
    start_worker,
    stop,
    wait_for,
)

pytestmark = pytest.mark.django_db

TO = "+33612345678"
SECRET = "inbound-secret"


@pytest.fixture
def wallet(django_user_model):
    owner = django_user_model.objects.create(username="tenant")
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "1")
    verify(w)
    return w


def reply_stop(client) -> None:
    """The recipient replies STOP, through the inbound webhook."""
    response = client.post(
        "/sms/webhooks/hook/inbound/",
        data=json.dumps({"id": "in-1", "from": TO, "text": "STOP"}),
        content_type="application/json",
        headers={"X-Test-Secret": SECRET},
    )
    assert response.status_code == 200, response.content


def check_canceled_and_released(message, wallet) -> None:
    message.refresh_from_db()
    assert message.status == "canceled"
    assert message.provider_status == "opted-out"
    last = message.events.order_by("pk").last()
    assert last.status == "canceled"
    assert "opted out of messages from every sender" in last.provider_status_text
    assert message.charge_status == "released"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1.00") == ledger_balance(wallet)
    kinds = list(LedgerEntry.objects.filter(message_id=message.pk).values_list("kind", flat=True))
    assert kinds == ["hold", "release"]


def test_a_stop_while_a_retry_waits_cancels_it(settings, client, wallet):
    FlakyBackend.reset()
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 1}},
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
    }
    settings.DJANGO_SMS = {
        "DEFAULT_SENDER": "TestShop",
        "PRICES": {"EUR": {"default": "0.05"}},
        "RETRY_BACKOFF": 60,
    }
    message = SMS("Your code is 123456", TO).send(wallet=wallet)
    assert message.status == "queued"  # a transient failure: a retry is due in a minute
    reply_stop(client)
    get_message_model().objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )

    call_command("smssync", stdout=io.StringIO())

    check_canceled_and_released(message, wallet)
    assert FlakyBackend.counts[str(message.reference)] == 1  # the first attempt only


@pytest.mark.slow
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_stop_while_queued_for_a_db_worker_cancels_it(
    settings, client, wallet, start_worker, tmp_path  # noqa: F811 (the imported fixture)
):
    apply_worker_settings(settings, "tests.settings_dbworker")
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "0.05"}}}
    settings.SMS_BACKENDS = {
        **settings.SMS_BACKENDS,
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
    }
    message = SMS("Your code is 123456", TO).send(wallet=wallet)
    other = SMS("Your code is 654321", "+33612345679").send(wallet=wallet)
    assert message.status == "queued"  # its task waits for a worker
    reply_stop(client)

    worker = start_worker("tests.settings_dbworker", *DB_WORKER)
    model = get_message_model()
    wait_for(
        lambda: set(
            model.objects.filter(pk__in=[message.pk, other.pk]).values_list("status", flat=True)
        ) == {"canceled", "delivered"},
        worker,
    )
    stop(worker)

    calls = calls_by_message(tmp_path)
    assert str(message.reference) not in calls  # never handed to the provider
    assert calls[str(other.reference)] == ["default sent"]
    other.refresh_from_db()
    assert other.charge_status == "captured"
    message.refresh_from_db()
    assert message.status == "canceled" and message.charge_status == "released"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.95") == ledger_balance(wallet)
