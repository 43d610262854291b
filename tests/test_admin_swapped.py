"""The app's admin classes registered for a project's own message, wallet and token models
(tests/swapped/admin.py); runs with --ds=tests.settings_swapped."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType

from django_sms import SMS, send_sms, wallets
from django_sms.models import (
    APIToken,
    Message,
    Wallet,
    get_message_model,
    get_token_model,
    get_wallet_model,
)
from django_sms.tokens import authenticate
from tests.test_admin_messages import confirm, page_text

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", None) != "swapped.CustomMessage",
        reason="needs --ds=tests.settings_swapped",
    ),
]

CHANGELIST = "/admin/swapped/custommessage/"


def test_the_swapped_out_defaults_are_not_registered():
    assert not any(admin.site.is_registered(m) for m in (Message, Wallet, APIToken))
    assert all(
        admin.site.is_registered(m)
        for m in (get_message_model(), get_wallet_model(), get_token_model())
    )


def test_message_admin_works_for_the_swapped_model(admin_client):
    message = send_sms("hello", to="+33612345678")
    message.campaign = "spring"
    message.save()

    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "+33612345678" in page_text(response)

    detail = admin_client.get(f"{CHANGELIST}{message.pk}/change/")
    assert detail.status_code == 200
    text = page_text(detail)
    assert "Status timeline" in text
    assert "Campaign: spring" in text  # the project's own field, in "Other"

    confirmation = admin_client.post(
        CHANGELIST, {"action": "resend", "index": 0, "_selected_action": [message.pk]}
    )
    response = confirm(admin_client, confirmation, CHANGELIST)
    assert "resent as message" in page_text(response)
    assert get_message_model().objects.filter(resent_from=message).count() == 1


WALLETS = "/admin/swapped/customwallet/"
TOKENS = "/admin/swapped/customtoken/"
LEDGER = "/admin/django_sms/ledgerentry/"


def test_wallet_admin_works_for_the_swapped_model(admin_client, django_user_model, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "0.07"}}}
    owner = django_user_model.objects.create_user("tenant")
    response = admin_client.post(
        f"{WALLETS}add/",
        {
            "owner_type": ContentType.objects.get_for_model(owner).pk,
            "owner_id": owner.pk,
            "currency": "EUR",
        },
    )
    assert response.status_code == 302
    wallet = get_wallet_model().objects.get()
    assert (wallet.owner, wallet.cost_center) == (owner, "")

    response = admin_client.post(f"{WALLETS}{wallet.pk}/deposit/", {"amount": "5", "reason": "t"})
    assert response.status_code == 302
    admin_client.post(
        WALLETS, {"action": "verify_now", "index": 0, "_selected_action": [wallet.pk]}
    )
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.is_active) == (Decimal("5"), True)
    assert "Active (verified on" in page_text(admin_client.get(f"{WALLETS}{wallet.pk}/change/"))

    # A message paid by the project's wallet, resent from the project's message admin: the
    # resend is paid by the same wallet, and every admin link points at the project's pages.
    paid = SMS("hello", "+33612345678").send(wallet=wallet)
    confirmation = admin_client.post(
        CHANGELIST, {"action": "resend", "index": 0, "_selected_action": [paid.pk]}
    )
    assert "resent as message" in page_text(confirm(admin_client, confirmation, CHANGELIST))
    resent = get_message_model().objects.get(resent_from=paid)
    assert resent.wallet == wallet
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("4.86")

    detail = admin_client.get(f"{CHANGELIST}{resent.pk}/change/").content.decode()
    assert f'href="{WALLETS}{wallet.pk}/change/"' in detail
    ledger = admin_client.get(LEDGER).content.decode()
    assert f'href="{WALLETS}{wallet.pk}/change/"' in ledger
    assert f'href="{CHANGELIST}{resent.pk}/change/"' in ledger


def test_token_admin_works_for_the_swapped_model(admin_client, django_user_model):
    owner = django_user_model.objects.create_user("tenant")
    response = admin_client.post(
        f"{TOKENS}add/",
        {
            "owner_type": ContentType.objects.get_for_model(owner).pk,
            "owner_id": owner.pk,
            "name": "shop",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    token = get_token_model().objects.get()
    assert response.url == f"{TOKENS}{token.pk}/secret/"
    secret = re.search(
        r'id="sms-token-secret">([^<]+)<', admin_client.get(response.url).content.decode()
    ).group(1)
    assert authenticate(secret) == token
    assert token.environment == "live"

    admin_client.post(
        TOKENS, {"action": "revoke_tokens", "index": 0, "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def inline_management_form(page: str) -> dict[str, str]:
    """The hidden management fields of the page's inline formsets, as a browser posts them."""
    return dict(
        re.findall(
            r'<input type="hidden" name="([^"]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"'
            r' value="([^"]*)"',
            page,
        )
    )


def test_the_projects_own_wallet_and_token_fields_are_edited_in_the_admin(
    admin_client, django_user_model
):
    owner = django_user_model.objects.create_user("tenant")
    owner_fields = {"owner_type": ContentType.objects.get_for_model(owner).pk, "owner_id": owner.pk}

    admin_client.post(f"{WALLETS}add/", {**owner_fields, "currency": "EUR", "cost_center": "CC-1"})
    wallet = get_wallet_model().objects.get()
    assert wallet.cost_center == "CC-1"
    wallets.deposit(wallet, "5")
    page = admin_client.get(f"{WALLETS}{wallet.pk}/change/").content.decode()
    assert 'name="cost_center"' in page and 'name="_save"' in page
    # Saving the page changes the project's field and nothing else, even a forged balance.
    response = admin_client.post(
        f"{WALLETS}{wallet.pk}/change/",
        {"cost_center": "CC-2", "balance": "999", **inline_management_form(page)},
    )
    assert response.status_code == 302
    wallet.refresh_from_db()
    assert (wallet.cost_center, wallet.balance) == ("CC-2", Decimal("5"))
    assert wallets.ledger_balance(wallet) == Decimal("5")

    response = admin_client.post(
        f"{TOKENS}add/",
        {
            **owner_fields,
            "name": "ci",
            "expires_at_0": "",
            "expires_at_1": "",
            "environment": "test",
        },
    )
    token = get_token_model().objects.get()
    assert (token.name, token.environment) == ("ci", "test")
    assert admin_client.get(response.url).status_code == 200  # the secret page, once
    admin_client.post(
        f"{TOKENS}{token.pk}/change/",
        {"name": "ci", "expires_at_0": "", "expires_at_1": "", "environment": "live"},
    )
    token.refresh_from_db()
    assert token.environment == "live"
