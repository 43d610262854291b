"""The Mailjet-compatible REST API, through Django's test client (in-process HTTP)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

import django_sms
from django_sms.models import OptOut, get_message_model, get_token_model
from django_sms.tokens import create_token, revoke
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify

APIToken = get_token_model()  # swapped.CustomToken in the swapped run

pytestmark = pytest.mark.django_db

SEND = "/sms/v4/sms-send"
LIST = "/sms/v4/sms"
COUNT = "/sms/v4/sms/count"
PRICES = {"EUR": {"default": "0.07", "FR": "0.05"}, "USD": {"default": "0.08"}}
ERROR_KEYS = ["ErrorIdentifier", "ErrorCode", "StatusCode", "ErrorMessage", "ErrorRelatedTo"]
BODY = {"From": "MJPilot", "To": "+33600000000", "Text": "Have a nice SMS flight with Mailjet !"}


@pytest.fixture(autouse=True)
def api_settings(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": PRICES, "API_THROTTLE_RATE": None}
    cache.clear()  # throttle counters live in the default cache
    yield
    cache.clear()


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username="tenant")


@pytest.fixture
def wallet(owner):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "10")
    verify(w)
    return w


@pytest.fixture
def secret(owner):
    return create_token(owner, name="tests")[1]


def client_for(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(secret, wallet):
    return client_for(secret)


def send(client, body=BODY, **extra):
    return client.post(SEND, body, format="json", **extra)


def assert_error(response, status, code, related=None):
    data = response.json()
    assert response.status_code == status, data
    assert list(data) == ERROR_KEYS
    assert str(uuid.UUID(data["ErrorIdentifier"])) == data["ErrorIdentifier"]
    assert (data["ErrorCode"], data["StatusCode"]) == (code, status)
    assert data["ErrorMessage"]
    if related is not None:
        assert data["ErrorRelatedTo"] == related
    return data


# -- sending --------------------------------------------------------------------------------------


def test_send_answers_like_mailjet_and_charges_the_wallet(api, wallet):
    before = int(timezone.now().timestamp())
    response = send(api)
    assert response.status_code == 200
    data = response.json()
    assert list(data) == [
        "From",
        "To",
        "Text",
        "MessageId",
        "SmsCount",
        "CreationTS",
        "SentTS",
        "Cost",
        "Status",
    ]
    message = get_message_model().objects.get()
    assert data["MessageId"] == str(message.reference)
    assert (data["From"], data["To"], data["Text"]) == (BODY["From"], BODY["To"], BODY["Text"])
    assert data["SmsCount"] == 1
    assert data["CreationTS"] >= before and data["SentTS"] >= data["CreationTS"]
    assert data["Cost"] == {"Value": 0.05, "Currency": "EUR"}
    assert data["Status"] == {"Code": 3, "Name": "delivered", "Description": "Message delivered"}
    assert message.token.owner == wallet.owner
    assert [s.to for s in django_sms.outbox] == ["+33600000000"]
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("9.95") == ledger_balance(wallet)


def test_a_pending_message_has_an_empty_sent_ts(api, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    data = send(api).json()
    assert data["Status"] == {
        "Code": 1,
        "Name": "sent_pending",
        "Description": "Message is being sent",
    }
    assert data["SentTS"] == ""
    assert data["Cost"] == {"Value": 0.05, "Currency": "EUR"}  # held


def test_sent_ts_is_empty_while_pending_and_never_before_creation_ts(api, settings):
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.dummy.SmsBackend",
            "OPTIONS": {"status": "accepted"},
        }
    }
    data = send(api).json()
    assert data["Status"]["Name"] == "sent_pending"
    assert data["SentTS"] == ""
    listed = api.get(LIST).json()["Data"][0]
    assert (listed["Status"]["Code"], listed["SentTS"]) == (1, "")

    # The provider's clock runs behind ours: its times are before the message was created.
    model = get_message_model()
    message = model.objects.get()
    model.objects.filter(pk=message.pk).update(
        status="delivered",
        sent_at=message.created_at - timedelta(seconds=30),
        delivered_at=message.created_at - timedelta(seconds=10),
    )
    item = api.get(f"{LIST}/{data['MessageId']}").json()
    assert item["Status"]["Code"] == 3
    assert item["SentTS"] == item["CreationTS"] == data["CreationTS"]

    model.objects.filter(pk=message.pk).update(
        sent_at=message.created_at + timedelta(seconds=5), delivered_at=None
    )
    item = api.get(f"{LIST}/{data['MessageId']}").json()
    assert item["SentTS"] == item["CreationTS"] + 5


def test_a_message_failed_at_the_provider_costs_nothing(api, settings, wallet):
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.dummy.SmsBackend",
            "OPTIONS": {"status": "rejected"},
        }
    }
    data = send(api).json()
    assert data["Status"]["Name"] == "rejected_operator"
    assert data["Cost"] == {"Value": 0.0, "Currency": "EUR"}
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("10")


def test_a_form_labelled_json_body_is_read_as_json(api):
    response = api.post(SEND, json.dumps(BODY), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.json()


# -- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [SEND, LIST, COUNT, f"{LIST}/{uuid.uuid4()}"])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer smsk_00000000_" + "A" * 43,
        "Basic dXNlcjpwYXNz",
        "Bearer a b",
        "Token x",
    ],
)
def test_missing_or_wrong_tokens_get_401_in_mailjet_shape(wallet, path, authorization):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.post(path, BODY, format="json") if path == SEND else client.get(path)
    data = assert_error(response, 401, "mj-0015", [])
    assert data["ErrorMessage"] == "Not authorised."
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert get_message_model().objects.count() == 0


def test_revoked_and_expired_tokens_get_401(owner, wallet):
    token, secret = create_token(owner)
    api = client_for(secret)
    assert send(api).status_code == 200
    revoke(token)
    assert_error(send(api), 401, "mj-0015")
    assert_error(api.get(LIST), 401, "mj-0015")

    token, secret = create_token(owner, expires_at=timezone.now() + timedelta(hours=1))
    APIToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(send(client_for(secret)), 401, "mj-0015")
    assert get_message_model().objects.count() == 1


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "related"),
    [
        ("{not json", "mj-0002", []),
        ('{"From": NaN}', "mj-0002", []),
        ("[" * 100000 + "]" * 100000, "mj-0002", []),
        ("[]", "mj-0004", []),
        ('"text"', "mj-0004", []),
        ("{}", "mj-0003", ["From", "To", "Text"]),
        ('{"From": "MJPilot", "Text": "hi"}', "mj-0003", ["To"]),
        ('{"From": 1, "To": "+33600000000", "Text": null}', "mj-0003", ["Text"]),
        ('{"From": 1, "To": "+33600000000", "Text": 2}', "mj-0004", ["From", "Text"]),
        ('{"From": "MJ", "To": "+33600000000", "Text": "hi"}', "mj-0020", ["From"]),
        ('{"From": "MJPilotIsTooLong", "To": "+33600000000", "Text": "hi"}', "mj-0006", ["From"]),
        ('{"From": "MJPilot", "To": "", "Text": "hi"}', "mj-0020", ["To"]),
        ('{"From": "MJPilot", "To": "+336000000000000000000", "Text": "hi"}', "mj-0006", ["To"]),
        ('{"From": "MJPilot", "To": "+33600000000", "Text": ""}', "mj-0020", ["Text"]),
        ('{"From": "MJPilot", "To": "+33600000000", "Text": "   "}', "mj-0020", ["Text"]),
        (
            '{"From": "MJPilot", "To": "+33600000000", "Text": "' + "x" * 766 + '"}',
            "mj-0006",
            ["Text"],
        ),
        (
            '{"From": "MJPilot", "To": "+33600000000", "Text": "' + "x" * 10001 + '"}',
            "mj-0006",
            ["Text"],
        ),
        ('{"From": "MJ#Pilot", "To": "+33600000000", "Text": "hi"}', "mj-0004", ["From"]),
        ('{"From": "MJPilot", "To": "0600000000", "Text": "hi"}', "sms-0002", ["To"]),
        ('{"From": "MJPilot", "To": "+33600000000", "Text": "hi \\ud800"}', "mj-0004", ["Text"]),
        ('{"From": "MJPilot", "To": "+33600000000", "Text": "hi \\u0000"}', "mj-0004", ["Text"]),
        ('{"From": "MJ\\u0000Pilot", "To": "+33600000000", "Text": "hi"}', "mj-0004", ["From"]),
        ('{"From": "MJPilot", "To": "+999123", "Text": "hi"}', "sms-0002", ["To"]),
        ('{"From": "MJPilot", "To": "+33142685300", "Text": "hi"}', "sms-0002", ["To"]),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason_and_charges_nothing(api, wallet, body, code, related):
    response = api.post(SEND, body, content_type="application/json")
    assert_error(response, 400, code, related)
    assert get_message_model().objects.count() == 0
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("10")
    assert django_sms.outbox == []


def test_text_limit_names_the_characters_allowed(api):
    data = assert_error(send(api, {**BODY, "Text": "x" * 766}), 400, "mj-0006")
    assert "Max allowed - 765" in data["ErrorMessage"]
    assert "needs 6 GSM-7 parts; at most 5 are allowed." in data["ErrorMessage"]
    assert "DJANGO_SMS" not in data["ErrorMessage"]
    data = assert_error(send(api, {**BODY, "Text": "é" * 50 + "ç" * 300}), 400, "mj-0006")
    assert "Max allowed - 335" in data["ErrorMessage"]


def test_a_huge_body_is_refused(api):
    response = api.post(
        SEND, '{"Text": "' + "x" * (1024 * 1024) + '"}', content_type="application/json"
    )
    assert_error(response, 400, "mj-0011")


def test_denied_countries_are_unsupported(api, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": ["FR"]}
    data = assert_error(send(api), 400, "sms-0002", ["To"])
    assert data["ErrorMessage"] == (
        "Unsupported country code. Text messages cannot be sent to this country."
    )


@pytest.mark.parametrize("to", ["+33142685300", "+999123", "+3312"])
def test_refused_numbers_are_explained_without_the_sites_settings(api, settings, to):
    """The API's clients are the site's customers: its settings mean nothing to them."""
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "REQUIRE_MOBILE": True}
    data = assert_error(send(api, {**BODY, "To": to}), 400, "sms-0002", ["To"])
    assert data["ErrorMessage"].startswith("Unsupported country code. ")
    assert "DJANGO_SMS" not in data["ErrorMessage"]
    assert "PHONENUMBER" not in data["ErrorMessage"]


def test_opted_out_recipients_are_refused(api):
    OptOut.objects.create(phone_number="+33600000000", source="admin")
    assert_error(send(api), 400, "djsms-0001", ["To"])


def test_wrong_methods_get_405_in_mailjet_shape(api):
    assert_error(api.get(SEND), 405, "djsms-0004")
    assert_error(api.delete(LIST), 405, "djsms-0004")
    assert_error(api.post(COUNT, {}, format="json"), 405, "djsms-0004")


# -- wallets --------------------------------------------------------------------------------------


def test_insufficient_funds(owner, secret):
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 1)
    verify(w)
    from django_sms.wallets import adjust

    adjust(w, "-0.98", reason="leave 2 cents")
    data = assert_error(send(client_for(secret)), 400, "sms-0001", [])
    assert (
        data["ErrorMessage"]
        == "Insufficient funds. 0.02 EUR available, this message needs 0.05 EUR."
    )
    assert get_message_model().objects.count() == 0


def test_an_inactive_or_missing_wallet_cannot_pay(owner, secret):
    data = assert_error(send(client_for(secret)), 400, "sms-0001")
    assert "No wallet" in data["ErrorMessage"]
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, 5)
    data = assert_error(send(client_for(secret)), 400, "sms-0001")
    assert "not active yet" in data["ErrorMessage"]


def test_the_wallet_currency_header_picks_among_several_wallets(owner, wallet, api):
    usd = get_or_create_wallet(owner, "USD")
    deposit(usd, 5)
    verify(usd)
    assert_error(send(api), 400, "mj-0003", ["X-Wallet-Currency"])
    assert_error(send(api, HTTP_X_WALLET_CURRENCY="JPY"), 400, "mj-0005", ["X-Wallet-Currency"])
    assert_error(send(api, HTTP_X_WALLET_CURRENCY="GBP"), 400, "sms-0001")
    data = send(api, HTTP_X_WALLET_CURRENCY="usd").json()
    assert data["Cost"] == {"Value": 0.08, "Currency": "USD"}


# -- idempotency ----------------------------------------------------------------------------------


def test_idempotency_key_returns_the_first_result_and_charges_once(
    api, wallet, owner, django_user_model
):
    first = send(api, HTTP_IDEMPOTENCY_KEY="order-42").json()
    again = send(api, HTTP_IDEMPOTENCY_KEY="order-42").json()
    assert again == first
    assert len(django_sms.outbox) == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("9.95")

    # Another owner using the same key sends its own message.
    other = django_user_model.objects.create(username="other")
    w = get_or_create_wallet(other, "EUR")
    deposit(w, 2)
    verify(w)
    theirs = send(client_for(create_token(other)[1]), HTTP_IDEMPOTENCY_KEY="order-42").json()
    assert theirs["MessageId"] != first["MessageId"]
    assert len(django_sms.outbox) == 2


def test_idempotency_keys_are_remembered_for_24_hours(api):
    first = send(api, HTTP_IDEMPOTENCY_KEY="daily-reminder").json()
    message = get_message_model().objects.get()
    today = timezone.now().astimezone(UTC).date()
    yesterday = f"{today - timedelta(days=1):%Y%m%d}"
    assert message.idempotency_key.endswith(f":{today:%Y%m%d}:daily-reminder")

    # Sent late yesterday (UTC), 2 hours ago: still the same send.
    get_message_model().objects.filter(pk=message.pk).update(
        idempotency_key=message.idempotency_key.replace(f"{today:%Y%m%d}", yesterday),
        created_at=timezone.now() - timedelta(hours=2),
    )
    assert (
        send(api, HTTP_IDEMPOTENCY_KEY="daily-reminder").json()["MessageId"] == first["MessageId"]
    )

    # Sent more than 24 hours ago: the key may be used again.
    get_message_model().objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    again = send(api, HTTP_IDEMPOTENCY_KEY="daily-reminder").json()
    assert again["MessageId"] != first["MessageId"]
    assert len(django_sms.outbox) == 2


def test_an_overlong_idempotency_key_is_refused(api):
    assert_error(send(api, HTTP_IDEMPOTENCY_KEY="k" * 201), 400, "mj-0006", ["Idempotency-Key"])


# -- limits ---------------------------------------------------------------------------------------


def test_throttling_per_token(api, owner, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "API_THROTTLE_RATE": "2/minute"}
    assert api.get(COUNT).status_code == 200
    assert api.get(COUNT).status_code == 200
    response = api.get(COUNT)
    assert_error(response, 429, "djsms-0002")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token has its own budget.
    assert client_for(create_token(owner)[1]).get(COUNT).status_code == 200


def test_daily_limit_of_sms_parts_per_owner(api, owner, settings, wallet):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "API_DAILY_LIMIT": 3}
    assert send(api, {**BODY, "Text": "x" * 200}).status_code == 200  # 2 parts
    response = send(client_for(create_token(owner)[1]), {**BODY, "Text": "x" * 200})
    data = assert_error(response, 400, "sms-0003", [])
    assert "2 of 3 SMS parts" in data["ErrorMessage"]
    assert "Retry-After" not in response
    assert send(api).status_code == 200  # 1 part still fits
    assert get_message_model().objects.count() == 2


# -- reading messages -----------------------------------------------------------------------------


def sent_messages(api, count=3):
    ids = []
    for i in range(count):
        ids.append(
            send(api, {**BODY, "To": f"+3361234567{i}", "Text": f"message {i}"}).json()["MessageId"]
        )
    return ids


def test_read_one_message(api):
    (message_id,) = sent_messages(api, 1)
    data = api.get(f"{LIST}/{message_id}").json()
    assert data["MessageId"] == data["ID"] == message_id
    assert data["SmsCount"] == data["SMSCount"] == 1
    assert data["Status"]["Code"] == 3
    assert data["Cost"] == {"Value": 0.05, "Currency": "EUR"}
    assert set(data) == {
        "From",
        "To",
        "MessageId",
        "ID",
        "SmsCount",
        "SMSCount",
        "CreationTS",
        "SentTS",
        "Cost",
        "Status",
    }


def test_another_owners_message_is_404(api, django_user_model):
    (message_id,) = sent_messages(api, 1)
    other = django_user_model.objects.create(username="other")
    other_api = client_for(create_token(other)[1])
    assert_error(other_api.get(f"{LIST}/{message_id}"), 404, "djsms-0003")
    assert other_api.get(LIST).json() == {"Data": []}
    assert other_api.get(COUNT).json() == {"Count": 0}
    assert_error(api.get(f"{LIST}/{uuid.uuid4()}"), 404, "djsms-0003")
    assert_error(api.get(f"{LIST}/not-a-uuid"), 404, "djsms-0003")


def test_tokens_of_one_owner_see_each_others_messages(api, owner):
    (message_id,) = sent_messages(api, 1)
    assert client_for(create_token(owner)[1]).get(f"{LIST}/{message_id}").status_code == 200


def test_list_is_newest_first_with_limit_and_offset(api):
    ids = sent_messages(api, 3)
    assert [m["MessageId"] for m in api.get(LIST).json()["Data"]] == ids[::-1]
    assert [m["MessageId"] for m in api.get(LIST, {"Limit": 1, "Offset": 1}).json()["Data"]] == [
        ids[1]
    ]
    assert len(api.get(LIST, {"Limit": 0}).json()["Data"]) == 3  # 0 means 1000
    assert api.get(COUNT).json() == {"Count": 3}


def test_filters(api):
    ids = sent_messages(api, 3)
    model = get_message_model()
    old = model.objects.get(reference=ids[0])
    model.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10), status="failed"
    )
    cutoff = timezone.now() - timedelta(days=1)

    def listed(**params):
        return {m["MessageId"] for m in api.get(LIST, params).json()["Data"]}

    def counted(**params):
        return api.get(COUNT, params).json()["Count"]

    assert listed(FromTS=int(cutoff.timestamp())) == set(ids[1:])
    assert listed(FromTS=cutoff.isoformat()) == set(ids[1:])
    assert listed(ToTS=cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")) == {ids[0]}
    assert listed(To="+33612345671") == {ids[1]}
    assert listed(To=" 33612345671") == {ids[1]}  # an unencoded '+' arrives as a space
    assert listed(StatusCode="13") == {ids[0]}
    assert listed(StatusCode="3, 13") == set(ids)
    assert listed(StatusCode="1,2") == set()
    assert counted(StatusCode="3") == 2
    assert counted(FromTS=int(cutoff.timestamp()), To="+33612345672") == 1
    # Without FromTS only the last 3 months are shown, as Mailjet does.
    model.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=100))
    assert counted() == 2
    assert counted(FromTS=0) == 3
    # Only the first occurrence of a repeated filter counts.
    assert api.get(f"{COUNT}?StatusCode=13&StatusCode=3&FromTS=0").json() == {"Count": 1}


@pytest.mark.parametrize(
    ("path", "params", "code", "related"),
    [
        (LIST, {"Limit": 1001}, "mj-0025", ["Limit"]),
        (LIST, {"Limit": -1}, "mj-0004", ["Limit"]),
        (LIST, {"Limit": "ten"}, "mj-0004", ["Limit"]),
        (LIST, {"Offset": "1e3"}, "mj-0004", ["Offset"]),
        (LIST, {"Offset": 2**31}, "mj-0006", ["Offset"]),
        (LIST, {"Offset": "9" * 40}, "mj-0004", ["Offset"]),
        (LIST, {"FromTS": "yesterday"}, "mj-0009", ["FromTS"]),
        (COUNT, {"ToTS": "2024-13-01T00:00:00Z"}, "mj-0009", ["ToTS"]),
        (COUNT, {"FromTS": "999999999999"}, "mj-0009", ["FromTS"]),
        (COUNT, {"StatusCode": "17"}, "mj-0005", ["StatusCode"]),
        (LIST, {"StatusCode": "1,x"}, "mj-0005", ["StatusCode"]),
        (LIST, {"StatusCode": "٣"}, "mj-0005", ["StatusCode"]),
    ],
)
def test_bad_filters_are_4xx_with_a_reason(api, path, params, code, related):
    assert_error(api.get(path, params), 400, code, related)
