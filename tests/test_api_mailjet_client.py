"""A client we did not write — the official ``mailjet-rest`` package — against the running API.

``mailjet-rest`` has no working SMS route helper (providers.md §1.10 and §5): its
``api_call`` with a full URL is what a Mailjet user calls, and it sends what Mailjet's API
receives (``Authorization: Bearer``, JSON body, an ``Idempotency-Key`` of its own).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from mailjet_rest import Client
from mailjet_rest.client import MailjetAuthError, ValidationError

import django_sms
from django_sms.models import get_message_model
from django_sms.tokens import create_token, revoke
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mailjet(live_server, django_user_model, settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"default": "0.07", "FR": "0.05"}},
        "API_THROTTLE_RATE": None,
    }
    cache.clear()
    owner = django_user_model.objects.create(username="mailjet-user")
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "5")
    verify(wallet)
    token, secret = create_token(owner, name="mailjet-rest")
    base = live_server.url + "/sms/"
    client = Client(auth=secret, version="v4", api_url=base)
    yield client, base, wallet, token
    client.close()


def test_mailjet_rest_sends_and_reads_back(mailjet):
    client, base, wallet, _ = mailjet
    body = {
        "From": "MJPilot",
        "To": "+33600000000",
        "Text": "Have a nice SMS flight with Mailjet !",
    }
    response = client.api_call(
        "POST", base + "v4/sms-send", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    sent = response.json()
    assert sent["To"] == "+33600000000"
    assert sent["Status"]["Name"] == "delivered"
    assert sent["Cost"] == {"Value": 0.05, "Currency": "EUR"}
    assert [s.text for s in django_sms.outbox] == [body["Text"]]

    # The SDK derives its Idempotency-Key from the payload: the same call sends nothing new.
    again = client.api_call(
        "POST", base + "v4/sms-send", data=body, headers={"Content-Type": "application/json"}
    )
    assert again.json()["MessageId"] == sent["MessageId"]
    assert len(django_sms.outbox) == 1

    one = client.api_call("GET", base + "v4/sms/" + sent["MessageId"]).json()
    assert (one["ID"], one["To"], one["SmsCount"]) == (sent["MessageId"], "+33600000000", 1)
    listed = client.api_call(
        "GET", base + "v4/sms", filters={"StatusCode": "3", "Limit": 10}
    ).json()
    assert [m["MessageId"] for m in listed["Data"]] == [sent["MessageId"]]
    count = client.api_call("GET", base + "v4/sms/count", filters={"To": "+33600000000"}).json()
    assert count == {"Count": 1}

    wallet.refresh_from_db()
    assert wallet.balance == Decimal("4.95") == ledger_balance(wallet)
    assert get_message_model().objects.get().token.name == "mailjet-rest"


def test_mailjet_rest_sees_mailjet_errors(mailjet):
    client, base, _, token = mailjet
    with pytest.raises(ValidationError, match="Missing mandatory property"):
        client.api_call(
            "POST",
            base + "v4/sms-send",
            data={"From": "MJPilot"},
            headers={"Content-Type": "application/json"},
        )
    revoke(token)
    with pytest.raises(MailjetAuthError, match="Not authorised"):
        client.api_call("GET", base + "v4/sms/count")
    assert get_message_model().objects.count() == 0
