"""Prepaid wallets: deposits, activation, prices, holds, captures, releases, refunds."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import checks
from django.db import connection, connections, transaction
from django.utils import timezone

import django_sms
from django_sms import SMS, send_mass_sms
from django_sms.backends.base import LocalBackend, SendResult
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    InsufficientFunds,
    InvalidAmount,
    InvalidDeposit,
    TransientProviderError,
    UnsupportedCurrency,
    WalletError,
    WalletInactive,
)
from django_sms.models import EventSource, LedgerEntry, OptOut, StatusEvent, get_message_model
from django_sms.transitions import apply_status
from django_sms.wallets import (
    adjust,
    deposit,
    get_or_create_wallet,
    ledger_balance,
    price_for,
    refund,
    settle,
    verify,
)

pytestmark = pytest.mark.django_db

PRICES = {"EUR": {"default": "0.07", "FR": "0.05"}, "GBP": {"default": "0.06"}}
FR = "+33612345678"
GB = "+447400123456"


# Test backends: what a provider may answer, without a provider.
class SegmentCountBackend(LocalBackend):
    """Accepts the message but counts OPTIONS["delta"] segments more than we did."""

    provider_name = "segments"

    def send_one(self, sms):
        return SendResult(
            status="accepted",
            provider_message_id="x-" + sms.reference,
            segments=sms.segments + self.options["delta"],
        )


class AmbiguousBackend(LocalBackend):
    provider_name = "ambiguous"

    def send_one(self, sms):
        raise AmbiguousProviderError("read timeout after the request was sent")


class TransientBackend(LocalBackend):
    provider_name = "transient"

    def send_one(self, sms):
        raise TransientProviderError("connection refused")


@pytest.fixture(autouse=True)
def prices(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": PRICES}


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username="tenant")


@pytest.fixture
def wallet(owner):
    """An active EUR wallet holding 10 EUR."""
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "10")
    verify(w)
    return w


def use_backend(settings, path, **options):
    settings.SMS_BACKENDS = {"default": {"BACKEND": path, "OPTIONS": options}}


def entries(w):
    return list(LedgerEntry.objects.filter(wallet=w).values_list("kind", "amount", "balance_after"))


def assert_ledger_matches(w):
    w.refresh_from_db()
    assert ledger_balance(w) == w.balance


# -- wallets and deposits ---------------------------------------------------------------------


def test_one_wallet_per_owner_and_currency(owner):
    eur = get_or_create_wallet(owner, "eur")
    assert get_or_create_wallet(owner, "EUR").pk == eur.pk
    assert get_or_create_wallet(owner, "GBP").pk != eur.pk
    assert (eur.currency, eur.balance, eur.is_active) == ("EUR", Decimal("0"), False)


def test_unsupported_currency_is_refused(owner):
    with pytest.raises(UnsupportedCurrency, match=r"'JPY'.*EUR, USD, GBP"):
        get_or_create_wallet(owner, "JPY")


def test_first_deposit_starts_the_activation_delay(owner):
    w = get_or_create_wallet(owner, "EUR")
    before = timezone.now()
    entry = deposit(w, Decimal("25.50"), currency="EUR", reason="card payment")
    assert (entry.kind, entry.amount, entry.balance_after, entry.reason) == (
        "deposit",
        Decimal("25.5"),
        Decimal("25.5"),
        "card payment",
    )
    w.refresh_from_db()
    assert w.balance == Decimal("25.50")
    assert w.first_deposit_at >= before
    assert w.activates_at == w.first_deposit_at + timedelta(hours=48)
    assert not w.is_active

    first_activation = w.activates_at
    deposit(w, 5)
    w.refresh_from_db()
    assert w.activates_at == first_activation  # later deposits do not restart the delay
    assert w.balance == Decimal("30.50")
    assert_ledger_matches(w)


def test_activation_delay_is_a_setting(owner, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "WALLET_ACTIVATION_DELAY": timedelta(0)}
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)
    assert w.is_active


@pytest.mark.parametrize(
    ("amount", "kwargs", "error", "words"),
    [
        ("0.99", {}, InvalidDeposit, "at least 1.00 EUR; got 0.99 EUR"),
        ("5", {"currency": "USD"}, InvalidDeposit, "holds EUR; a deposit in USD"),
        (10.0, {}, InvalidAmount, "floats are inexact"),
        ("1.00001", {}, InvalidAmount, "more than 4 decimal places"),
        ("ten", {}, InvalidAmount, "not a number"),
        ("NaN", {}, InvalidAmount, "not a finite number"),
    ],
)
def test_invalid_deposits_are_refused(owner, amount, kwargs, error, words):
    w = get_or_create_wallet(owner, "EUR")
    with pytest.raises(error, match=words):
        deposit(w, amount, **kwargs)
    w.refresh_from_db()
    assert (w.balance, w.first_deposit_at) == (Decimal("0"), None)
    assert entries(w) == []


def test_min_deposit_is_a_setting(owner, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "MIN_DEPOSIT": Decimal("20")}
    w = get_or_create_wallet(owner, "EUR")
    with pytest.raises(InvalidDeposit, match="at least 20"):
        deposit(w, 19)


def test_verify_activates_at_once_and_keeps_the_first_time(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 5)
    verify(w, by="ops")
    first = w.verified_at
    assert w.is_active and first is not None
    verify(w)
    assert w.verified_at == first


def test_adjustments_need_a_reason_and_never_overdraw(wallet):
    entry = adjust(wallet, "-2.5", reason="goodwill reversal")
    assert (entry.kind, entry.amount, entry.balance_after) == (
        "adjustment",
        Decimal("-2.5"),
        Decimal("7.5"),
    )
    adjust(wallet, "1", reason="compensation")
    with pytest.raises(InsufficientFunds):
        adjust(wallet, "-100", reason="too much")
    with pytest.raises(WalletError, match="needs a reason"):
        adjust(wallet, "1", reason=" ")
    with pytest.raises(InvalidAmount, match="0 changes nothing"):
        adjust(wallet, "0", reason="nothing")
    assert wallet.balance == Decimal("8.5")
    assert_ledger_matches(wallet)


# -- prices ---------------------------------------------------------------------------------------


def test_price_per_country_per_segment_with_a_default():
    assert price_for("FR", 1, "EUR") == Decimal("0.05")
    assert price_for("FR", 3, "EUR") == Decimal("0.15")
    assert price_for("DE", 2, "EUR") == Decimal("0.14")
    assert price_for("", 1, "EUR") == Decimal("0.07")  # +800 numbers have no country
    assert price_for("FR", 1, "GBP") == Decimal("0.06")


def test_missing_prices_are_a_clear_configuration_error(settings):
    with pytest.raises(ConfigurationError, match="no price list for 'USD'"):
        price_for("FR", 1, "USD")
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"FR": "0.05"}}}
    with pytest.raises(ConfigurationError, match=r"no price for DE and no 'default'"):
        price_for("DE", 1, "EUR")


def test_system_check_reports_bad_wallet_settings(settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"FR": 0.05}, "JPY": {"default": "1"}},
        "REFUND_POLICY": "sometimes",
        "API_THROTTLE_RATE": "fast",
    }
    messages = {m.id: m.msg for m in checks.run_checks(tags=["django_sms"])}
    assert "no 'default' price" in messages["django_sms.E030"]
    assert "'JPY' is not a wallet currency" in messages["django_sms.E030"]
    assert "floats are inexact" in messages["django_sms.E030"]
    assert "'sometimes'" in messages["django_sms.E031"]
    assert "'fast'" in messages["django_sms.E032"]


# -- sending from a wallet ---------------------------------------------------------------------


def test_a_send_holds_then_captures_the_price(wallet):
    message = SMS("Your code is 1234", FR).send(wallet=wallet)

    message.refresh_from_db()
    assert message.status == "delivered"
    assert (message.price, message.price_currency, message.charge_status) == (
        Decimal("0.05"),
        "EUR",
        "captured",
    )
    assert message.wallet_id == wallet.pk
    assert entries(wallet) == [
        ("deposit", Decimal("10"), Decimal("10")),
        ("hold", Decimal("-0.05"), Decimal("9.95")),
    ]
    hold = LedgerEntry.objects.get(kind="hold")
    assert hold.message_id == message.pk
    assert_ledger_matches(wallet)
    assert wallet.balance == Decimal("9.95")


def test_price_is_per_segment_and_per_country(wallet):
    message = SMS("x" * 200, GB).send(wallet=wallet)  # 2 GSM-7 segments, default price
    assert (message.segments, message.price) == (2, Decimal("0.14"))
    assert_ledger_matches(wallet)


def test_the_sql_of_a_sync_send_from_a_wallet(wallet, sql_statements):
    """Three statements more than without a wallet (test_send_sms): the wallet's lock, the
    hold's ledger entry and the balance; the capture rides on the answer's UPDATE."""
    SMS("warm-up", FR).send(wallet=wallet)
    with sql_statements() as statements:
        SMS("Your code is 123456", FR).send(wallet=wallet)
    assert len(statements) == 8, statements.sql


def test_insufficient_funds_store_hold_and_send_nothing(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)
    verify(w)
    adjust(w, "-0.96", reason="leave 4 cents")
    with pytest.raises(
        InsufficientFunds, match=r"has 0\.04 EUR available; this message needs 0\.05 EUR"
    ):
        SMS("hello", FR).send(wallet=w)
    assert get_message_model().objects.count() == 0
    assert django_sms.outbox == []
    assert [kind for kind, *_ in entries(w)] == ["deposit", "adjustment"]
    assert_ledger_matches(w)


def test_an_inactive_wallet_sends_nothing(owner):
    w = get_or_create_wallet(owner, "EUR")
    with pytest.raises(WalletInactive, match="not active yet"):
        SMS("hello", FR).send(wallet=w)
    deposit(w, 5)
    with pytest.raises(WalletInactive, match="It becomes active at"):
        SMS("hello", FR).send(wallet=w)
    assert get_message_model().objects.count() == 0
    assert django_sms.outbox == []

    type(w).objects.filter(pk=w.pk).update(activates_at=timezone.now() - timedelta(seconds=1))
    assert SMS("hello", FR).send(wallet=w).charge_status == "captured"


def test_a_refusal_leaves_the_callers_transaction_usable(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)
    verify(w)
    adjust(w, "-0.97", reason="leave 3 cents")
    with transaction.atomic():
        with pytest.raises(InsufficientFunds):
            SMS("hello", FR).send(wallet=w)
        OptOut.objects.create(phone_number=GB, source="admin")  # the transaction still works
    assert get_message_model().objects.count() == 0
    assert OptOut.objects.count() == 1
    assert_ledger_matches(w)


def test_send_mass_sms_from_a_wallet_is_all_or_nothing(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)
    verify(w)
    adjust(w, "-0.90", reason="leave 10 cents")
    with pytest.raises(InsufficientFunds, match=r"needs 0\.15 EUR"):
        send_mass_sms([("a", FR), ("b", FR), ("c", FR)], wallet=w)
    assert get_message_model().objects.count() == 0
    messages = send_mass_sms([("a", FR), ("b", "+33612345679")], wallet=w)
    assert [m.charge_status for m in messages] == ["captured", "captured"]
    w.refresh_from_db()
    assert w.balance == Decimal("0")
    assert [e[2] for e in entries(w)][-2:] == [Decimal("0.05"), Decimal("0")]
    assert_ledger_matches(w)


def test_a_message_refused_by_the_provider_releases_its_hold(wallet, settings):
    use_backend(settings, "django_sms.backends.dummy.SmsBackend", status="rejected")
    message = SMS("hello", FR).send(wallet=wallet)
    message.refresh_from_db()
    assert (message.status, message.charge_status) == ("rejected", "released")
    assert [kind for kind, *_ in entries(wallet)] == ["deposit", "hold", "release"]
    assert_ledger_matches(wallet)
    assert wallet.balance == Decimal("10")


def test_a_canceled_message_releases_its_hold(wallet):
    from django_sms.exceptions import SendCanceled
    from django_sms.signals import pre_send

    def cancel(**kwargs):
        raise SendCanceled("no consent")

    pre_send.connect(cancel)
    try:
        message = SMS("hello", FR).send(wallet=wallet)
    finally:
        pre_send.disconnect(cancel)
    assert (message.status, message.charge_status) == ("canceled", "released")
    assert_ledger_matches(wallet)
    assert wallet.balance == Decimal("10")


@pytest.mark.parametrize(
    ("text", "delta", "price", "adjustment"),
    [
        ("hello", 1, "0.10", "-0.05"),  # the provider counted 2 parts, we held 1
        ("x" * 200, -1, "0.05", "0.05"),  # it counted 1, we held 2: the difference comes back
    ],
)
def test_a_different_segment_count_is_adjusted_at_capture(
    wallet, settings, text, delta, price, adjustment
):
    use_backend(settings, "tests.test_wallets.SegmentCountBackend", delta=delta)
    message = SMS(text, FR).send(wallet=wallet)
    message.refresh_from_db()
    assert (message.price, message.charge_status) == (Decimal(price), "captured")
    kind, amount, _ = entries(wallet)[-1]
    assert (kind, amount) == ("adjustment", Decimal(adjustment))
    assert_ledger_matches(wallet)
    assert wallet.balance == Decimal("10") - Decimal(price)


def test_an_extra_cost_is_charged_as_far_as_the_balance_goes(owner, settings, caplog):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)
    verify(w)
    adjust(w, "-0.95", reason="leave one message")
    use_backend(settings, "tests.test_wallets.SegmentCountBackend", delta=2)
    message = SMS("hello", FR).send(wallet=w)
    message.refresh_from_db()
    assert (message.price, message.charge_status) == (Decimal("0.05"), "captured")
    assert_ledger_matches(w)
    assert w.balance == Decimal("0")
    assert "could cover 0.00 of 0.10 EUR (shortfall 0.10)" in caplog.text


def test_transient_failures_keep_the_hold_until_the_last_attempt(wallet, settings):
    use_backend(settings, "tests.test_wallets.TransientBackend")
    message = SMS("hello", FR).send(wallet=wallet)
    assert (message.status, message.charge_status) == ("queued", "held")
    assert wallet.balance == Decimal("9.95")

    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "MAX_ATTEMPTS": 1}
    message = SMS("again", FR).send(wallet=wallet)
    message.refresh_from_db()
    assert (message.status, message.charge_status) == ("failed", "released")
    assert_ledger_matches(wallet)
    assert wallet.balance == Decimal("9.95")  # only the first message is still held


def later_report(message, status):
    event = StatusEvent(status=status, source=EventSource.WEBHOOK, received_at=timezone.now())
    return apply_status(message, status, event=event)


def test_an_unknown_outcome_keeps_the_hold_until_a_report_settles_it(wallet, settings):
    use_backend(settings, "tests.test_wallets.AmbiguousBackend")
    delivered = SMS("one", FR).send(wallet=wallet)
    failed = SMS("two", FR).send(wallet=wallet)
    assert (delivered.status, delivered.charge_status) == ("unknown", "held")

    later_report(delivered, "delivered")
    later_report(failed, "failed")
    delivered.refresh_from_db()
    failed.refresh_from_db()
    assert delivered.charge_status == "captured"
    assert failed.charge_status == "released"
    assert_ledger_matches(wallet)
    assert wallet.balance == Decimal("9.95")


@pytest.mark.parametrize(
    ("policy", "final", "refunded"),
    [
        ("never", "failed", False),
        ("failed", "failed", True),
        ("failed", "rejected", True),
        ("failed", "undelivered", False),
        ("failed", "expired", False),
        ("undelivered", "undelivered", True),
        ("undelivered", "expired", True),
        ("undelivered", "delivered", False),
    ],
)
def test_refund_policy_for_failures_after_acceptance(wallet, settings, policy, final, refunded):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "REFUND_POLICY": policy}
    use_backend(settings, "django_sms.backends.dummy.SmsBackend", status="accepted")
    message = SMS("hello", FR).send(wallet=wallet)
    assert message.charge_status == "captured"

    later_report(message, final)
    message.refresh_from_db()
    wallet.refresh_from_db()
    assert message.charge_status == ("refunded" if refunded else "captured")
    assert wallet.balance == (Decimal("10") if refunded else Decimal("9.95"))
    assert [k for k, *_ in entries(wallet)] == ["deposit", "hold"] + (
        ["refund"] if refunded else []
    )
    assert_ledger_matches(wallet)


def test_undelivered_at_send_time_follows_the_policy_too(wallet, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "REFUND_POLICY": "undelivered"}
    use_backend(settings, "django_sms.backends.locmem.SmsBackend", status="undelivered")
    message = SMS("hello", FR).send(wallet=wallet)
    assert (message.status, message.charge_status) == ("undelivered", "refunded")
    assert_ledger_matches(wallet)


def test_a_repeated_report_refunds_once(wallet, settings, status_signals):
    use_backend(settings, "django_sms.backends.dummy.SmsBackend", status="accepted")
    message = SMS("hello", FR).send(wallet=wallet)
    later_report(message, "failed")
    stale = get_message_model().objects.get(pk=message.pk)
    stale.charge_status = "captured"  # a copy read before the refund
    settle(stale, "failed")
    assert [k for k, *_ in entries(wallet)].count("refund") == 1
    assert_ledger_matches(wallet)


def test_an_operator_can_refund_a_message(wallet):
    message = SMS("hello", FR).send(wallet=wallet)
    entry = refund(message, reason="customer complaint")
    assert (entry.kind, entry.amount, entry.reason) == (
        "refund",
        Decimal("0.05"),
        "customer complaint",
    )
    with pytest.raises(WalletError, match="nothing to refund"):
        refund(message)
    assert_ledger_matches(wallet)


def test_async_sends_are_charged_too(wallet, settings, django_capture_on_commit_callbacks):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    with django_capture_on_commit_callbacks(execute=True):
        message = SMS("hello", FR).send(wallet=wallet)
    assert message.charge_status == "held"
    message.refresh_from_db()
    assert (message.status, message.charge_status) == ("delivered", "captured")
    assert_ledger_matches(wallet)


# -- concurrency (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_never_overdraw_a_wallet(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)  # 1 EUR pays for exactly 20 French messages at 0.05
    verify(w)
    threads_count = 50
    barrier = threading.Barrier(threads_count)
    sent, refused, errors = [], [], []
    lock = threading.Lock()

    def send(i):
        try:
            own = type(w).objects.get(pk=w.pk)
            barrier.wait()
            try:
                message = SMS(f"message {i}", FR).send(wallet=own)
            except InsufficientFunds:
                with lock:
                    refused.append(i)
            else:
                with lock:
                    sent.append(message.pk)
        except Exception as exc:  # anything else fails the test below
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert (len(sent), len(refused)) == (20, 30)
    assert len(django_sms.outbox) == 20
    w.refresh_from_db()
    assert w.balance == Decimal("0")
    assert ledger_balance(w) == w.balance
    assert LedgerEntry.objects.filter(wallet=w, kind="hold").count() == 20
    assert get_message_model().objects.filter(charge_status="captured").count() == 20
