"""``manage.py smstoken`` and ``manage.py smswallet``."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_sms.models import LedgerEntry, get_token_model, get_wallet_model
from django_sms.tokens import authenticate

# The active models: swapped.CustomToken / CustomWallet in the swapped run.
APIToken = get_token_model()
Wallet = get_wallet_model()

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username="tenant")


@pytest.fixture
def label(owner):
    return f"auth.user:{owner.pk}"


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# -- smstoken ---------------------------------------------------------------------------------


def test_create_prints_the_secret_once(label):
    out = run("smstoken", "create", label, "--name", "shop", "--expires-in", "30")
    secret = re.search(r"^(smsk_[0-9a-f]{8}_\S{43})$", out, re.MULTILINE)[1]
    token = authenticate(secret)
    assert token.name == "shop" and token.expires_at is not None
    assert "shown only now" in out
    assert secret not in run("smstoken", "list")


def test_create_secret_only_for_scripts(label):
    out = run("smstoken", "create", label, "--secret-only").strip()
    assert authenticate(out)


def test_list_and_revoke(label, owner):
    first = run("smstoken", "create", label, "--name", "one", "--secret-only").strip()
    run("smstoken", "create", label, "--name", "two")
    prefix = first[:13]
    assert run("smstoken", "revoke", prefix).startswith(f"Revoked token {prefix}")
    assert "already revoked" in run("smstoken", "revoke", first)

    listing = run("smstoken", "list", label)
    lines = listing.splitlines()
    assert lines[0].split() == [
        "PREFIX",
        "OWNER",
        "NAME",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "STATE",
    ]
    assert any(line.startswith(prefix) and line.endswith("revoked") for line in lines)
    assert any(f"{label}  two" in line and line.endswith("active") for line in lines)
    assert prefix not in run("smstoken", "list", "--active")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "auth.user"), "not in the form app_label.model:pk"),
        (("create", "nope.model:1"), "no model 'nope.model'"),
        (("create", "auth.user:999"), "no auth.User has the primary key '999'"),
        (("create", "auth.user:abc"), "no auth.User has the primary key 'abc'"),
        (("create", "{label}", "--expires-in", "0"), "at least 1 day"),
        (("create", "{label}", "--expires-at", "tomorrow"), "not an ISO 8601"),
        (("create", "{label}", "--expires-at", "2001-01-01T00:00:00Z"), "in the past"),
        (("revoke", "smsk_00000000"), "no token has the prefix 'smsk_00000000'"),
    ],
)
def test_smstoken_errors(label, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("smstoken", *(a.format(label=label) for a in args))
    assert APIToken.objects.count() == 0


# -- smswallet --------------------------------------------------------------------------------


def test_deposit_show_verify(label):
    out = run("smswallet", "deposit", label, "25.50", "eur", "--reason", "invoice 12")
    assert "Deposited 25.50 EUR; balance 25.50 EUR." in out
    assert "Inactive until" in out
    wallet = Wallet.objects.get()
    assert wallet.balance == Decimal("25.50") and not wallet.is_active
    assert LedgerEntry.objects.get().reason == "invoice 12"

    assert "is verified" in run("smswallet", "verify", label)
    wallet.refresh_from_db()
    assert wallet.is_active

    shown = run("smswallet", "show", label)
    assert f"Wallet {wallet.pk} ({label}, EUR): balance 25.50 EUR" in shown
    assert "Active: verified at" in shown
    assert re.search(r"deposit\s+25\.50\s+->\s+25\.50\s+invoice 12", shown)
    assert "not the balance" not in shown


def test_verify_needs_a_currency_when_there_are_several_wallets(label):
    run("smswallet", "deposit", label, "5", "EUR")
    run("smswallet", "deposit", label, "5", "USD")
    with pytest.raises(CommandError, match="wallets in EUR, USD: choose one with --currency"):
        run("smswallet", "verify", label)
    run("smswallet", "verify", label, "--currency", "usd")
    assert [w.is_active for w in Wallet.objects.order_by("currency")] == [False, True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deposit", "{label}", "0.5", "EUR"), "at least 1.00 EUR"),
        (("deposit", "{label}", "ten", "EUR"), "'ten' is not a number"),
        (("deposit", "{label}", "5", "JPY"), "Unsupported wallet currency 'JPY'"),
        (("deposit", "auth.user:999", "5", "EUR"), "no auth.User has the primary key"),
        (("show", "{label}"), "has no wallet; `smswallet deposit` creates one"),
        (("verify", "{label}", "--currency", "GBP"), "has no wallet in GBP"),
        (("show", "{label}", "--currency", "XXX"), "Unsupported wallet currency"),
    ],
)
def test_smswallet_errors(label, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("smswallet", *(a.format(label=label) for a in args))
    assert LedgerEntry.objects.count() == 0


def test_a_failing_command_exits_non_zero():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "smswallet",
            "--settings=tests.settings",
            "show",
            "auth.user",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "CommandError: Owner 'auth.user' is not in the form app_label.model:pk" in result.stderr
