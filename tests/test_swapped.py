"""All three pluggable models swapped together (runs only with --ds=tests.settings_swapped).

tests/swapped/models.py holds a project's own message, wallet and token models, each with a
field of its own. Each face of the app is driven here as a user drives it — send_sms, a
provider's webhook, the ledger, the REST API, the management commands — and the rows it
writes must be the project's models, with the project's fields kept. The rest of the suite
runs in the same configuration too (CI's "swapped" step), through the get_*_model() getters.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

import django_sms
from django_sms import SMS, send_mass_sms, send_sms
from django_sms.models import (
    APIToken,
    LedgerEntry,
    Message,
    StatusEvent,
    Wallet,
    get_message_model,
    get_token_model,
    get_wallet_model,
)
from django_sms.tokens import authenticate, create_token, revoke
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", None) != "swapped.CustomMessage",
        reason="needs --ds=tests.settings_swapped",
    ),
]

PRICES = {"EUR": {"default": "0.07", "FR": "0.05"}}
HOOK_SECRET = "swapped-webhook-secret"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username="tenant")


@pytest.fixture
def priced(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": PRICES, "API_THROTTLE_RATE": None}


@pytest.fixture
def wallet(owner, priced):
    wallet = get_or_create_wallet(owner, "EUR")
    wallet.cost_center = "CC-42"
    wallet.save(update_fields=["cost_center"])
    deposit(wallet, "10")
    verify(wallet)
    return wallet


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# -- the configuration itself ------------------------------------------------------------------


def test_the_getters_return_the_projects_models():
    from tests.swapped.models import CustomMessage, CustomToken, CustomWallet

    assert get_message_model() is CustomMessage
    assert get_wallet_model() is CustomWallet
    assert get_token_model() is CustomToken
    assert Message._meta.swapped == "swapped.CustomMessage"
    assert Wallet._meta.swapped == "swapped.CustomWallet"
    assert APIToken._meta.swapped == "swapped.CustomToken"


def test_only_the_projects_tables_exist():
    tables = set(connection.introspection.table_names())
    assert {"swapped_custommessage", "swapped_customwallet", "swapped_customtoken"} <= tables
    assert not {"django_sms_message", "django_sms_wallet", "django_sms_apitoken"} & tables
    # What is not swappable still points at the project's models.
    assert LedgerEntry._meta.get_field("wallet").related_model is get_wallet_model()
    assert LedgerEntry._meta.get_field("message").related_model is get_message_model()
    assert StatusEvent._meta.get_field("message").related_model is get_message_model()


def test_makemigrations_finds_nothing_to_change_in_django_sms():
    # A project that swaps the models must never get a migration for django_sms itself (it
    # would be written into site-packages): the shipped migrations and the swapped-out
    # defaults agree, including the message's link to the message it resends.
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


# -- sending, webhooks -------------------------------------------------------------------------


def test_send_sms_stores_the_projects_message_with_its_own_field(
    status_signals, django_capture_on_commit_callbacks
):
    # The project fills its own field before the message leaves: inside a transaction,
    # delivery waits for the commit.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = send_sms("hello", to="+33612345678")
        message.campaign = "spring"
        message.save(update_fields=["campaign"])
    assert type(message) is get_message_model()
    message.refresh_from_db()
    assert (message.status, message.campaign) == ("delivered", "spring")
    assert [e.status for e in message.events.all()] == ["queued", "sending", "delivered"]
    assert [s.reference for s in django_sms.outbox] == [str(message.reference)]
    assert status_signals.transitions[-1] == ("sending", "delivered")
    assert all(type(c["message"]) is get_message_model() for c in status_signals.calls)


def test_a_webhook_report_moves_the_projects_message(client, settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {
            "BACKEND": "tests.webhook_backend.SmsBackend",
            "OPTIONS": {"secrets": [HOOK_SECRET]},
        },
    }
    message = send_sms("hello", to="+33612345678", using="hook")
    get_message_model().objects.filter(pk=message.pk).update(campaign="summer")
    assert message.status == "accepted"

    response = client.post(
        "/sms/webhooks/hook/status/",
        data=json.dumps(
            {"id": message.provider_message_id, "status": "delivered", "event_id": "e1"}
        ),
        content_type="application/json",
        headers={"X-Test-Secret": HOOK_SECRET},
    )

    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.campaign) == ("delivered", "summer")
    assert message.events.filter(source="webhook", status="delivered").count() == 1


# -- the ledger --------------------------------------------------------------------------------


def test_the_projects_wallet_pays_and_its_ledger_adds_up(wallet):
    one = SMS("hello", "+33612345678").send(wallet=wallet)
    two, three = send_mass_sms(
        [("hello", "+33612345679"), ("hello", "+447911123456")], wallet=wallet
    )
    assert type(one.wallet) is get_wallet_model()

    wallet.refresh_from_db()
    assert wallet.balance == Decimal("9.83") == ledger_balance(wallet)  # 0.05 + 0.05 + 0.07
    assert wallet.cost_center == "CC-42"  # ledger writes never touch the project's field
    entries = LedgerEntry.objects.filter(wallet=wallet).order_by("pk")
    assert [(e.kind, e.message) for e in entries] == [
        ("deposit", None),
        ("hold", one),
        ("hold", two),
        ("hold", three),
    ]
    assert all(type(e.wallet) is get_wallet_model() for e in entries)
    for message in (one, two, three):
        message.refresh_from_db()
        assert (message.status, message.charge_status) == ("delivered", "captured")


def test_a_refused_message_releases_the_projects_wallet_hold(wallet, settings):
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.dummy.SmsBackend",
            "OPTIONS": {"status": "rejected"},
        }
    }
    (message,) = send_mass_sms([("hello", "+33612345678")], wallet=wallet, fail_silently=True)
    message.refresh_from_db()
    wallet.refresh_from_db()
    assert message.status == "rejected"
    assert sorted(e.kind for e in message.ledger_entries.all()) == ["hold", "release"]
    assert wallet.balance == Decimal("10") == ledger_balance(wallet)


# -- the REST API ------------------------------------------------------------------------------


def test_the_api_authenticates_the_projects_token_and_charges_the_projects_wallet(owner, wallet):
    token, secret = create_token(owner, name="shop")
    token.environment = "test"
    token.save(update_fields=["environment"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = api.post(
        "/sms/v4/sms-send", {"From": "Shop", "To": "+33612345678", "Text": "hi"}, format="json"
    )

    assert response.status_code == 200, response.json()
    message = get_message_model().objects.get(reference=response.json()["MessageId"])
    assert type(message.token) is get_token_model()
    assert (message.token.pk, message.token.environment) == (token.pk, "test")
    assert message.wallet.pk == wallet.pk
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("9.95") == ledger_balance(wallet)
    listed = api.get("/sms/v4/sms").json()
    assert [m["MessageId"] for m in listed["Data"]] == [str(message.reference)]

    revoke(token)
    response = api.get("/sms/v4/sms")
    assert response.status_code == 401


# -- the management commands -------------------------------------------------------------------


def test_smstoken_creates_lists_and_revokes_the_projects_tokens(owner):
    label = f"auth.user:{owner.pk}"
    secret = run("smstoken", "create", label, "--name", "ci", "--secret-only").strip()
    token = authenticate(secret)
    assert type(token) is get_token_model()
    assert (token.name, token.environment) == ("ci", "live")  # the project's default
    assert token.prefix in run("smstoken", "list")
    run("smstoken", "revoke", token.prefix)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_smswallet_deposits_into_and_verifies_the_projects_wallet(owner):
    label = f"auth.user:{owner.pk}"
    assert "Deposited 25.00 EUR" in run("smswallet", "deposit", label, "25", "EUR")
    wallet = get_wallet_model().objects.get()
    wallet.cost_center = "CC-7"
    wallet.save(update_fields=["cost_center"])
    assert "is verified" in run("smswallet", "verify", label)
    assert f"Wallet {wallet.pk} ({label}, EUR): balance 25.00 EUR" in run(
        "smswallet", "show", label
    )
    wallet.refresh_from_db()
    assert (wallet.is_active, wallet.cost_center, wallet.balance) == (True, "CC-7", Decimal(25))


def test_sendtestsms_stores_the_projects_message():
    out = run("sendtestsms", "+33612345678", "--text", "ping")
    assert "Status:       delivered" in out
    message = get_message_model().objects.get()
    assert (message.text, message.status, message.campaign) == ("ping", "delivered", "")


def test_smssync_rescues_a_stuck_message_of_the_projects_model(django_capture_on_commit_callbacks):
    stuck = get_message_model().objects.create(
        to="+33612345678",
        text="hi",
        encoding="GSM-7",
        backend_alias="default",
        provider="locmem",
        status="sending",
        attempts=1,
        claimed_at=timezone.now() - timedelta(hours=1),
        campaign="autumn",
    )
    with django_capture_on_commit_callbacks(execute=True):
        out = run("smssync")
    assert "Stuck in sending: 1 marked unknown." in out
    stuck.refresh_from_db()
    assert (stuck.status, stuck.campaign) == ("unknown", "autumn")
    assert re.search("SENDING_LEASE", stuck.events.get().provider_status_text)
