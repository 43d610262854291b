"""Idempotency keys of the Python API: scoped to the wallet that pays, and race-safe."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from django_sms import SMS, outbox, send_sms
from django_sms.models import get_message_model
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify

pytestmark = pytest.mark.django_db

TO = "+33612345678"


def make_wallet(django_user_model, name: str):
    owner = django_user_model.objects.create(username=name)
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "1")
    verify(w)
    return w


@pytest.fixture(autouse=True)
def prices(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "0.05"}}}


def test_a_key_returns_the_message_stored_under_it():
    first = send_sms("Your code is 123456", to=TO, idempotency_key="order-1")
    again = send_sms("Your code is 123456", to=TO, idempotency_key="order-1")
    assert again.pk == first.pk
    assert len(outbox) == 1


def test_the_same_key_with_another_wallet_is_another_message(django_user_model):
    alice = make_wallet(django_user_model, "alice")
    bob = make_wallet(django_user_model, "bob")
    for_alice = SMS("hello", TO, idempotency_key="k").send(wallet=alice)
    for_bob = SMS("hello", TO, idempotency_key="k").send(wallet=bob)
    assert for_bob.pk != for_alice.pk
    assert (for_alice.wallet_id, for_bob.wallet_id) == (alice.pk, bob.pk)
    assert SMS("hello", TO, idempotency_key="k").send(wallet=bob).pk == for_bob.pk
    bob.refresh_from_db()
    assert bob.balance == Decimal("0.95") == ledger_balance(bob)  # charged once


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_with_one_key_all_get_the_one_message(django_user_model):
    wallet = make_wallet(django_user_model, "tenant")
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(10)

    def send() -> None:
        try:
            barrier.wait()
            message = SMS("Your code is 123456", TO, idempotency_key="k").send(wallet=wallet)
            results.append(message.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 10 and len(set(results)) == 1
    assert get_message_model().objects.count() == 1
    assert len(outbox) == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.95") == ledger_balance(wallet)
