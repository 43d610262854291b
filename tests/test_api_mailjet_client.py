"""A client we did not write — the official ``mailjet-rest`` package — against the running API.

``mailjet-rest`` has no working SMS route helper (providers.md §1.10 and §5): its
``api_call`` with a full URL is what a Mailjet user calls, and it sends what Mailjet's API
receives (``Authorization: Bearer``, JSON body, an ``Idempotency-Key`` of its own).
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from functools import partial

import pytest
import requests
from django.core.cache import cache
from django.core.signals import request_started
from mailjet_rest import Client
from mailjet_rest.client import MailjetAuthError, ValidationError
from mailjet_rest.errors import DoesNotExistError

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
    # The SDK mounts its retrying adapter (3 retries on 429 and 5xx, obeying Retry-After)
    # for https:// only; the live server speaks http, so mount it there too, to see what a
    # client calling a real site over TLS does.
    client.session.mount("http://", client.session.get_adapter("https://"))
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


def call_within(seconds, function):
    """``function()``'s result, or a failure if it has not returned after ``seconds`` (a client
    obeying a Retry-After of hours would otherwise hang the suite)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the client still waits after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"], time.monotonic() - started


@pytest.fixture
def server_requests():
    """Paths of the requests the live server received."""
    seen = []

    def record(sender, environ, **kwargs):
        seen.append(environ["PATH_INFO"])

    request_started.connect(record)
    yield seen
    request_started.disconnect(record)


def test_the_daily_limit_is_a_400_the_client_does_not_retry(mailjet, settings, server_requests):
    client, base, _, _ = mailjet
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "API_DAILY_LIMIT": 1}
    body = {"From": "MJPilot", "To": "+33600000000", "Text": "first"}
    send = partial(
        client.api_call, "POST", base + "v4/sms-send", headers={"Content-Type": "application/json"}
    )
    assert send(data=body).status_code == 200
    server_requests.clear()

    with pytest.raises(ValidationError, match="SMS per day limit reached") as raised:
        call_within(10, lambda: send(data={**body, "Text": "second"}))
    assert raised.value.status_code == 400
    assert server_requests == ["/sms/v4/sms-send"]  # asked once, not retried
    assert get_message_model().objects.count() == 1


def test_the_throttle_is_a_429_with_seconds_the_client_retries(mailjet, settings, server_requests):
    client, base, _, _ = mailjet
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "API_THROTTLE_RATE": "1/second"}
    count = partial(client.api_call, "GET", base + "v4/sms/count")
    assert count().json() == {"Count": 0}
    server_requests.clear()

    # Throttled at once; the client waits the Retry-After (1 second) and asks again.
    response, elapsed = call_within(10, count)
    assert response.status_code == 200 and response.json() == {"Count": 0}
    assert len(server_requests) >= 2
    assert 0.5 <= elapsed < 5


def test_a_throttled_answer_says_how_many_seconds_to_wait(mailjet, settings):
    client, base, _, _ = mailjet
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "API_THROTTLE_RATE": "1/minute"}
    url = base + "v4/sms/count"
    assert client.api_call("GET", url).status_code == 200
    raw = requests.get(url, headers={"Authorization": client.session.headers["Authorization"]})
    assert raw.status_code == 429
    assert raw.json()["ErrorCode"] == "djsms-0002"
    assert 1 <= int(raw.headers["Retry-After"]) <= 60


def test_mailjet_rest_endpoint_helpers_work(mailjet):
    """The SDK's own helpers build ``v4/REST/...`` URLs: the API serves those too."""
    client, base, _, _ = mailjet
    body = {"From": "MJPilot", "To": "+33600000000", "Text": "helpers"}
    sent = client.sms_send.create(data=body)
    assert sent.status_code == 200
    message_id = sent.json()["MessageId"]
    assert client.sms.get(id=message_id).json()["ID"] == message_id
    assert [m["ID"] for m in client.sms.get(filters={"Limit": 5}).json()["Data"]] == [message_id]
    assert client.sms_count.get().json() == {"Count": 1}
    # An unknown URL is a JSON error the SDK can read, not an HTML page.
    with pytest.raises(DoesNotExistError, match="No such endpoint"):
        client.api_call("GET", base + "v4/sms/export/abc/def")
    with pytest.raises(ValidationError, match="Type mismatch"):
        client.api_call("GET", base + "v4/sms/export/abc")


def test_mailjet_rest_exports_messages_as_csv(mailjet):
    client, base, _, _ = mailjet
    body = {"From": "MJPilot", "To": "+33600000000", "Text": "to export"}
    sent = client.api_call(
        "POST", base + "v4/sms-send", data=body, headers={"Content-Type": "application/json"}
    ).json()
    now = int(time.time())
    period = {"FromTS": now - 3600, "ToTS": now + 60}

    created = client.api_call(
        "POST", base + "v4/sms/export", data=period, headers={"Content-Type": "application/json"}
    )
    assert created.status_code == 200
    job = created.json()
    assert (job["FromTs"], job["ToTs"]) == (period["FromTS"], period["ToTS"])
    # Poll as a client would, until completed.
    for _ in range(50):
        job = client.api_call("GET", base + f"v4/sms/export/{job['ID']}").json()
        if job["Status"]["Code"] in (3, 4):
            break
        time.sleep(0.1)
    assert job["Status"]["Name"] == "COMPLETED"

    csv_answer = requests.get(job["URL"], timeout=10)  # Mailjet's URLs need no token
    assert csv_answer.status_code == 200
    lines = csv_answer.text.splitlines()
    assert lines[0].startswith("MessageId,From,To,CreationTS,SentTS,SmsCount,StatusCode")
    assert len(lines) == 2 and lines[1].startswith(sent["MessageId"] + ",MJPilot,+33600000000,")

    # The SDK's helpers reach the same endpoints (v4/REST/sms/export, v4/REST/sms/{ID}/export).
    again = client.sms_export.create(data=period).json()
    assert client.sms_export.get(id=again["ID"]).json()["Status"]["Name"] == "COMPLETED"

    with pytest.raises(ValidationError, match="FromTS must not be older than one year"):
        client.api_call(
            "POST",
            base + "v4/sms/export",
            data={"FromTS": now - 400 * 86400, "ToTS": now},
            headers={"Content-Type": "application/json"},
        )
