"""Money holds under faults: settlement is stored with the status change that causes it.

Each case breaks something between a status change and its settlement (a database error, a
process that dies), then checks what a site reselling SMS relies on: every wallet's ledger
sums to its balance and every final message is settled by the refund policy.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from django_sms import SMS
from django_sms.models import LedgerEntry, get_message_model
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome
from django_sms.wallets import (
    deposit,
    get_or_create_wallet,
    ledger_balance,
    unsettled,
    verify,
)
from tests.test_end_to_end import PROVIDER_TO, TO, sandbox  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

SECRET = "money-webhook-secret"


@pytest.fixture
def wallet(settings, django_user_model):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "0.05"}}}
    owner = django_user_model.objects.create(username="tenant")
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "1")
    verify(w)
    return w


@pytest.fixture
def hook(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
    }


def post_report(client: Any, message: Any, status: str, event_id: str, **extra: Any) -> Any:
    payload = {"id": message.provider_message_id, "status": status, "event_id": event_id, **extra}
    return client.post(
        "/sms/webhooks/hook/status/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"X-Test-Secret": SECRET},
    )


def check_money(*wallets: Any) -> None:
    """Ledgers equal balances, and no final message is left unsettled."""
    for w in wallets:
        w.refresh_from_db()
        assert w.balance == ledger_balance(w)
    assert not unsettled(get_message_model()).exists()


def kinds(message: Any) -> list[str]:
    return list(
        LedgerEntry.objects.filter(message_id=message.pk).order_by("pk").values_list(
            "kind", flat=True
        )
    )


class Injected(Exception):
    pass


def fail_once(monkeypatch: pytest.MonkeyPatch, name: str, error: BaseException) -> list[str]:
    """Make ``django_sms.wallets.<name>`` raise ``error`` on its first call only."""
    from django_sms import wallets

    original = getattr(wallets, name)
    calls: list[str] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        if len(calls) == 1:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(wallets, name, failing)
    return calls


# -- a report's status change and its refund ---------------------------------------------------


def test_a_database_error_during_a_signed_report_refund_loses_nothing(
    sandbox, wallet, monkeypatch  # noqa: F811 (the imported fixture)
):
    # Vonage accepts, then reports "rejected" with a signed callback over real HTTP. The
    # refund fails once with a database error: the report's transaction is rolled back
    # (500), Vonage retries, and the retry refunds. Before, the status was committed first
    # and the refund lost for good behind a 200.
    sandbox.callbacks.retries, sandbox.callbacks.retry_delay = 2, 0
    sandbox.set_outcome(Outcome("rejected"), to=PROVIDER_TO["vonage"])
    calls = fail_once(monkeypatch, "_move", OperationalError("the database went away"))

    message = SMS("Your code is 123456", TO).send(using="vonage", wallet=wallet)
    sandbox.callbacks.flush()

    assert [a.status_code for a in sandbox.callbacks.attempts] == [500, 200]
    message.refresh_from_db()
    assert (message.status, message.charge_status) == (Status.REJECTED, "refunded")
    assert kinds(message) == ["hold", "refund"]
    assert len(calls) == 2
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1.00")
    check_money(wallet)


def test_a_process_killed_between_a_status_change_and_its_settlement(
    hook, client, wallet, monkeypatch
):
    message = SMS("Your code is 123456", TO).send(using="hook", wallet=wallet)
    assert (message.status, message.charge_status) == (Status.ACCEPTED, "captured")
    # The process dies while settling: nothing of the report's transaction is committed.
    fail_once(monkeypatch, "_give_back", Injected("killed"))
    client.raise_request_exception = False
    assert post_report(client, message, "rejected", "r1").status_code == 500
    message.refresh_from_db()
    assert (message.status, message.charge_status) == (Status.ACCEPTED, "captured")
    assert not message.events.filter(source="webhook").exists()  # not seen as a duplicate

    assert post_report(client, message, "rejected", "r1").status_code == 200  # the retry
    message.refresh_from_db()
    assert (message.status, message.charge_status) == (Status.REJECTED, "refunded")
    check_money(wallet)


def test_smssync_reconciles_a_final_message_left_unsettled(hook, client, wallet):
    message = SMS("Your code is 123456", TO).send(using="hook", wallet=wallet)
    # Data as an older version (or an operator's direct edit) could leave it: rejected, but
    # still captured although REFUND_POLICY "failed" refunds rejected messages.
    get_message_model().objects.filter(pk=message.pk).update(status=Status.REJECTED)
    assert unsettled(get_message_model()).count() == 1

    out = io.StringIO()
    call_command("smssync", stdout=out)

    assert "1 charges reconciled" in out.getvalue()
    message.refresh_from_db()
    assert message.charge_status == "refunded"
    assert kinds(message) == ["hold", "refund"]
    check_money(wallet)


# -- the provider's segment count is what is charged -------------------------------------------


@pytest.mark.parametrize(
    ("segments", "price", "adjustment"),
    [(3, "0.15", "-0.10"), (1, "0.05", None)],
    ids=["more-segments-captures-the-difference", "same-count-moves-nothing"],
)
def test_a_report_counting_segments_charges_them(
    hook, client, wallet, segments, price, adjustment
):
    message = SMS("Your code is 123456", TO).send(using="hook", wallet=wallet)
    assert post_report(client, message, "delivered", "r1", segments=segments).status_code == 200
    message.refresh_from_db()
    assert (message.segments, message.price) == (segments, Decimal(price))
    entries = list(LedgerEntry.objects.filter(message_id=message.pk).order_by("pk"))
    assert [e.kind for e in entries] == ["hold"] + (["adjustment"] if adjustment else [])
    if adjustment:
        assert entries[-1].amount == Decimal(adjustment)
    check_money(wallet)


def test_a_lower_count_gives_the_difference_back(hook, client, wallet):
    message = SMS("x" * 200, TO).send(using="hook", wallet=wallet)  # 2 segments held
    assert message.price == Decimal("0.10")
    assert post_report(client, message, "delivered", "r1", segments=1).status_code == 200
    message.refresh_from_db()
    assert message.price == Decimal("0.05")
    [*_, entry] = LedgerEntry.objects.filter(message_id=message.pk).order_by("pk")
    assert (entry.kind, entry.amount) == ("adjustment", Decimal("0.05"))
    check_money(wallet)


def test_a_count_the_wallet_cannot_pay_records_the_shortfall(hook, client, wallet, caplog):
    message = SMS("Your code is 123456", TO).send(using="hook", wallet=wallet)
    from django_sms.wallets import adjust

    adjust(wallet, "-0.90", reason="spent elsewhere")  # 0.05 left
    assert post_report(client, message, "delivered", "r1", segments=4).status_code == 200
    message.refresh_from_db()
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0")  # never negative
    assert message.price == Decimal("0.10")  # 0.05 held + the 0.05 the wallet had
    [*_, entry] = LedgerEntry.objects.filter(message_id=message.pk).order_by("pk")
    assert "shortfall 0.10" in entry.reason
    check_money(wallet)


# -- holds never hang ------------------------------------------------------------------------


def test_an_unknown_message_has_its_hold_captured_after_the_horizon(settings, wallet):
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "tests.backends.FlakyBackend",
            "OPTIONS": {"fail_times": 1, "error": "ambiguous"},
        }
    }
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "UNKNOWN_SETTLE_AFTER": 3600}
    message = SMS("Your code is 123456", TO).send(wallet=wallet, fail_silently=True)
    assert (message.status, message.charge_status) == (Status.UNKNOWN, "held")

    call_command("smssync", stdout=io.StringIO())  # within the horizon: the hold stays
    message.refresh_from_db()
    assert message.charge_status == "held"

    get_message_model().objects.filter(pk=message.pk).update(
        updated_at=timezone.now() - timedelta(seconds=3601)
    )
    out = io.StringIO()
    call_command("smssync", stdout=out)
    assert "1 unknown message(s) captured" in out.getvalue()
    message.refresh_from_db()
    assert (message.status, message.charge_status) == (Status.UNKNOWN, "captured")
    last = message.events.order_by("pk").last()
    assert last.source == "system" and "UNKNOWN_SETTLE_AFTER" in last.provider_status_text
    check_money(wallet)


# -- a report for another provider's message ---------------------------------------------------


def test_a_report_for_another_providers_message_moves_no_money(settings, client, wallet):
    from django_sms.testing.webhooks import ovh_status_callback, post_callback

    secret = "k3D9wq0Jr8vT2bYxN5mLp7Hs4Zc1Fa6Ue"
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "application_key": "ak",
                "application_secret": "as",
                "consumer_key": "ck",
                "service_name": "sms-ab12345-1",
                "webhook_secret": secret,
            },
        },
    }
    message = SMS("Your code is 123456", TO).send(using="hook", wallet=wallet)
    assert message.charge_status == "captured"
    # An OVH "rejected" report (PTT 23) carrying the reference of the message sent elsewhere.
    callback = ovh_status_callback(
        id="555", ptt=23, description=2, extra={"tag": message.reference.hex}, alias="ovh"
    )
    assert post_callback(client, callback).status_code == 200
    call_command("smssync", stdout=io.StringIO())  # nor is it matched later

    message.refresh_from_db()
    assert (message.status, message.charge_status) == (Status.ACCEPTED, "captured")
    assert kinds(message) == ["hold"]
    check_money(wallet)
