"""The wallet admin: state, ledger, deposits, verification; resend paid by a wallet."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from django_sms.admin.common import own_fields
from django_sms.models import AbstractWallet, LedgerEntry, get_message_model, get_wallet_model
from tests.test_admin_messages import confirm, make_message, page_text, resend_post

wallets = pytest.importorskip("django_sms.wallets", reason="django_sms.wallets is not merged yet")

pytestmark = pytest.mark.django_db

# The active model and its admin pages: swapped.CustomWallet in the swapped run (registered by
# tests/swapped/admin.py, as a project that swaps the model does).
Wallet = get_wallet_model()
WALLETS = f"/admin/{Wallet._meta.app_label}/{Wallet._meta.model_name}/"


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("tenant")


@pytest.fixture
def wallet(owner: Any) -> Any:
    return wallets.get_or_create_wallet(owner, "EUR")


def test_wallet_list_shows_owner_balance_and_state(admin_client, wallet, owner):
    response = admin_client.get(WALLETS)
    assert response.status_code == 200
    text = page_text(response)
    assert f"user: {owner}" in text
    assert "EUR" in text
    assert "Pending: activates" in text


def test_wallet_list_queries_do_not_grow(
    admin_client, django_user_model, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(3):
        wallets.get_or_create_wallet(django_user_model.objects.create_user(f"a{i}"), "EUR")
    with CaptureQueriesContext(connection) as few:
        admin_client.get(WALLETS)
    for i in range(20):
        wallets.get_or_create_wallet(django_user_model.objects.create_user(f"b{i}"), "USD")
    with django_assert_num_queries(len(few.captured_queries)):
        admin_client.get(WALLETS)


def test_operator_creates_a_wallet_for_an_owner(admin_client, owner):
    user_type = ContentType.objects.get_for_model(owner)
    response = admin_client.post(
        f"{WALLETS}add/", {"owner_type": user_type.pk, "owner_id": owner.pk, "currency": "GBP"}
    )
    assert response.status_code == 302
    created = Wallet.objects.get()
    assert (created.owner, created.currency, created.balance) == (owner, "GBP", Decimal("0"))

    response = admin_client.post(
        f"{WALLETS}add/", {"owner_type": user_type.pk, "owner_id": "999", "currency": "EUR"}
    )
    assert response.context["adminform"].form.errors["owner_id"] == [
        "There is no user with id 999."
    ]


def test_balance_is_never_editable(admin_client, wallet):
    response = admin_client.get(f"{WALLETS}{wallet.pk}/change/")
    assert response.status_code == 200
    assert 'name="balance"' not in response.content.decode()
    # Nothing to save, unless a swapped-in model adds fields of its own (the swapped run).
    if not own_fields(Wallet, AbstractWallet):
        assert 'name="_save"' not in response.content.decode()
    admin_client.post(f"{WALLETS}{wallet.pk}/change/", {"balance": "1000", "currency": "USD"})
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.currency) == (Decimal("0"), "EUR")


def test_deposit_form_writes_a_ledger_entry(admin_client, admin_user, wallet):
    page = admin_client.get(f"{WALLETS}{wallet.pk}/change/")
    assert f'href="{WALLETS}{wallet.pk}/deposit/"' in page.content.decode()
    form = admin_client.get(f"{WALLETS}{wallet.pk}/deposit/")
    assert form.status_code == 200
    assert "In EUR, at least 1." in page_text(form)

    response = admin_client.post(
        f"{WALLETS}{wallet.pk}/deposit/",
        {"amount": "25.50", "reason": "Invoice 2026-114"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"{WALLETS}{wallet.pk}/change/"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("25.50")
    entry = LedgerEntry.objects.get(wallet=wallet)
    assert (entry.kind, entry.amount, entry.created_by, entry.reason) == (
        "deposit",
        Decimal("25.50"),
        admin_user,
        "Invoice 2026-114",
    )
    text = page_text(response)
    assert "Deposited 25.5" in text and "The balance is now 25.5" in text
    assert "Invoice 2026-114" in text  # the ledger inline
    assert "Pending: activates on" in text  # activation delay after the first deposit


@pytest.mark.parametrize("amount", ["0.99", "-5", "abc", ""])
def test_deposit_below_the_minimum_is_refused(admin_client, wallet, amount):
    response = admin_client.post(f"{WALLETS}{wallet.pk}/deposit/", {"amount": amount})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert not LedgerEntry.objects.exists()


def test_deposit_needs_the_change_permission(client, django_user_model, wallet):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename=f"view_{Wallet._meta.model_name}"))
    client.force_login(user)
    assert client.get(f"{WALLETS}{wallet.pk}/change/").status_code == 200
    assert client.get(f"{WALLETS}{wallet.pk}/deposit/").status_code == 403
    assert client.post(f"{WALLETS}{wallet.pk}/deposit/", {"amount": "10"}).status_code == 403
    assert not LedgerEntry.objects.exists()


def test_verify_now_activates_the_wallet(admin_client, wallet):
    response = admin_client.post(
        WALLETS, {"action": "verify_now", "index": 0, "_selected_action": [wallet.pk]}, follow=True
    )
    wallet.refresh_from_db()
    assert wallet.verified_at is not None and wallet.is_active
    assert "1 wallet verified." in page_text(response)
    assert "Active (verified on" in page_text(admin_client.get(f"{WALLETS}{wallet.pk}/change/"))


def test_ledger_list_of_one_wallet(admin_client, wallet):
    wallets.deposit(wallet, Decimal("10"), currency="EUR")
    response = admin_client.get("/admin/django_sms/ledgerentry/", {"wallet__exact": wallet.pk})
    assert response.status_code == 200
    assert [e.kind for e in response.context["cl"].result_list] == ["deposit"]


@pytest.mark.skipif(
    getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", "django_sms.Message") != "django_sms.Message",
    reason="resends through the default message admin",
)
def test_resend_paid_by_a_wallet_and_insufficient_funds(admin_client, owner, wallet, settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"default": "0.07"}, "USD": {"default": "0.08"}},
    }
    wallets.deposit(wallet, Decimal("1"), currency="EUR")
    wallets.verify(wallet)
    paid = make_message(wallet=wallet, price=Decimal("0.0700"), price_currency="EUR")

    response = confirm(admin_client, resend_post(admin_client, [paid]))

    new = get_message_model().objects.get(resent_from=paid)
    assert new.wallet_id == wallet.pk
    assert new.price == Decimal("0.0700")
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.9300")
    assert f"resent as message #{new.pk}" in page_text(response)

    # A verified wallet with nothing on it cannot pay.
    empty = wallets.get_or_create_wallet(owner, "USD")
    wallets.verify(empty)
    unpaid = make_message(
        to="+33600000009", wallet=empty, price=Decimal("0.0700"), price_currency="USD"
    )
    response = confirm(admin_client, resend_post(admin_client, [unpaid]))
    assert f"Message #{unpaid.pk} to +33600000009 was not resent:" in page_text(response)
    assert not get_message_model().objects.filter(resent_from=unpaid).exists()
