"""Amounts are validated before they reach a Decimal operation or the database.

A deposit, an adjustment or ``smswallet deposit`` given an amount that no wallet can hold
(``1e30``, NaN, Infinity, a fraction of a cent, a balance past the columns' ``max_digits``)
is refused with :class:`InvalidAmount` naming the limit: never ``decimal.InvalidOperation``
or a database ``DataError``, and nothing is written.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_sms.exceptions import InvalidAmount, InvalidDeposit, WalletError
from django_sms.models import LedgerEntry, get_wallet_model
from django_sms.wallets import adjust, deposit, get_or_create_wallet, max_amount, to_amount

Wallet = get_wallet_model()  # swapped.CustomWallet in the swapped run

pytestmark = pytest.mark.django_db

#: What the shipped columns (max_digits=14, decimal_places=4) can hold.
LIMIT = Decimal("9999999999.9999")


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username="tenant")


@pytest.fixture
def wallet(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 10)
    return w


def ledger(wallet):
    return list(LedgerEntry.objects.filter(wallet=wallet).values_list("kind", "amount"))


def assert_unchanged(wallet, balance, entries):
    wallet.refresh_from_db()
    assert wallet.balance == balance
    assert ledger(wallet) == entries


def test_the_limit_comes_from_the_columns():
    assert max_amount() == LIMIT


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1e30", "at most 9999999999.9999"),
        ("-1e30", "at most 9999999999.9999"),
        (Decimal("1E+28"), "at most 9999999999.9999"),
        ("10000000000", "at most 9999999999.9999"),
        ("1e999999", "at most 9999999999.9999"),
        ("NaN", "not a finite number"),
        ("sNaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("-inf", "not a finite number"),
        ("1.00001", "more than 4 decimal places"),
        ("1e-30", "more than 4 decimal places"),
        ("", "not a number"),
        ("12,50", "not a number"),
    ],
)
def test_deposit_refuses_amounts_no_wallet_can_hold(wallet, amount, words):
    with pytest.raises(InvalidAmount, match=words):
        deposit(wallet, amount)
    assert_unchanged(wallet, Decimal("10"), [("deposit", Decimal("10"))])


@pytest.mark.parametrize("amount", ["1e30", "-1e30", "NaN", "Infinity", "0.00001"])
def test_adjust_refuses_the_same_amounts(wallet, amount):
    with pytest.raises(InvalidAmount):
        adjust(wallet, amount, reason="typo")
    assert_unchanged(wallet, Decimal("10"), [("deposit", Decimal("10"))])


def test_negative_deposits_are_refused(wallet):
    with pytest.raises(InvalidDeposit, match=r"at least 1\.00 EUR; got -5\.00 EUR"):
        deposit(wallet, "-5")
    assert_unchanged(wallet, Decimal("10"), [("deposit", Decimal("10"))])


def test_a_deposit_past_the_largest_balance_is_refused(wallet):
    """The amount fits the column; the balance it would make does not (a DataError on
    PostgreSQL before)."""
    deposit(wallet, "9999999980")
    with pytest.raises(InvalidAmount, match=r"9999999999\.9999 EUR") as refused:
        deposit(wallet, "1000")
    assert "largest balance" in str(refused.value)
    with pytest.raises(InvalidAmount, match=r"9999999999\.9999 EUR"):
        adjust(wallet, "1000", reason="goodwill")
    assert_unchanged(
        wallet,
        Decimal("9999999990"),
        [("deposit", Decimal("10")), ("deposit", Decimal("9999999980"))],
    )
    # Up to the limit exactly is fine.
    deposit(wallet, "9.9999")
    wallet.refresh_from_db()
    assert wallet.balance == LIMIT


def test_smswallet_deposit_prints_a_clean_error(owner):
    label = f"auth.user:{owner.pk}"
    with pytest.raises(CommandError, match=r"at most 9999999999\.9999"):
        call_command("smswallet", "deposit", label, "1e30", "EUR", stdout=StringIO())
    # The amount is checked before the wallet is created.
    assert not Wallet.objects.exists()


def test_smswallet_deposit_exits_non_zero_without_a_traceback():
    # The amount is checked before the database is read: no test database needed.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "smswallet",
            "--settings=tests.settings",
            "deposit",
            "auth.user:1",
            "1e30",
            "EUR",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "InvalidOperation" not in result.stderr
    assert "at most 9999999999.9999" in result.stderr


# -- properties --------------------------------------------------------------------------------

AMOUNTS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.from_regex(r"\A-?[0-9]{1,40}(\.[0-9]{1,8})?([eE][+-]?[0-9]{1,6})?\Z"),
    st.sampled_from(["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", " 12.5 ", "1_000"]),
    st.text(max_size=20),
)


@given(AMOUNTS)
def test_to_amount_returns_an_exact_storable_amount_or_refuses(value):
    try:
        amount = to_amount(value)
    except InvalidAmount as exc:
        assert str(exc)
        return
    assert amount.is_finite()
    assert abs(amount) <= LIMIT
    assert amount == amount.quantize(Decimal("0.0001"))
    assert amount == Decimal(str(value).strip())  # never rounded


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(AMOUNTS, min_size=1, max_size=4))
def test_deposits_either_land_in_the_ledger_or_are_refused(wallet, amounts):
    for value in amounts:
        before = Wallet.objects.get(pk=wallet.pk).balance
        try:
            entry = deposit(wallet, value)
        except (InvalidAmount, InvalidDeposit) as exc:
            assert isinstance(exc, WalletError) and str(exc)
            assert Wallet.objects.get(pk=wallet.pk).balance == before
            continue
        assert entry.amount == Decimal(str(value).strip())
        assert entry.balance_after == before + entry.amount <= LIMIT
    stored = Wallet.objects.get(pk=wallet.pk).balance
    total = LedgerEntry.objects.filter(wallet=wallet).aggregate(total=Sum("amount"))["total"]
    assert stored == total


def test_the_admin_deposit_form_names_the_limit(admin_client, wallet):
    """The form's DecimalField accepts 9999999999 (14 digits); the balance it would make
    does not fit: the operator reads why, nothing is written (a DataError on PostgreSQL
    before)."""
    url = f"/admin/{Wallet._meta.app_label}/{Wallet._meta.model_name}/{wallet.pk}/deposit/"
    response = admin_client.post(url, {"amount": "9999999999", "reason": "typo"})
    assert response.status_code == 200
    [error] = response.context["form"].errors["amount"]
    assert "above the largest balance a wallet can hold (9999999999.9999 EUR)" in error
    assert_unchanged(wallet, Decimal("10"), [("deposit", Decimal("10"))])
