"""The Mailjet SMS v4 backend, over real HTTP against the sandbox's Mailjet handler.

The official ``mailjet-rest`` SDK serves as an independent oracle for what the sandbox
accepts (auth header and JSON body), see shared/reference/providers.md §5.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from django_sms.backends.mailjet import STATUS_TABLE, SmsBackend, status_for_code
from django_sms.checks import check_backends
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    MalformedResponse,
    PermanentProviderError,
    TransientProviderError,
)
from django_sms.message import SMS
from django_sms.phone import plus_e164
from django_sms.status import FINAL_STATUSES, Status
from django_sms.testing.sandbox import Outcome, Sandbox, faults
from django_sms.testing.sandbox.providers.mailjet import MailjetHandler


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(providers=[MailjetHandler]) as running:
        yield running


@pytest.fixture
def backend(sandbox: Sandbox) -> Iterator[SmsBackend]:
    with SmsBackend(alias="mj", token=sandbox.credentials.mailjet_token,
                    base_url=sandbox.url) as opened:
        yield opened  # type: ignore[misc]


def sms(text: str = "Your code is 123456", to: str = "+33612345678",
        sender: str | None = "MyBrand") -> SMS:
    return SMS(text=text, to=to, sender=sender, reference="abc", encoding="GSM-7", segments=1)


def send(backend: SmsBackend, message: SMS | None = None) -> Any:
    (result,) = backend.send_messages([message or sms()])
    return result


class Polled:
    """What fetch_status() reads from a stored message."""

    def __init__(self, provider_message_id: str) -> None:
        self.provider_message_id = provider_message_id


# -- success ---------------------------------------------------------------------------------
def test_send_exact_request_and_parsed_result(sandbox: Sandbox, backend: SmsBackend) -> None:
    result = send(backend)

    assert result.error is None
    recorded = sandbox.requests[-1]
    assert (recorded.method, recorded.path, recorded.query_string) == ("POST", "/v4/sms-send", "")
    assert recorded.headers["Authorization"] == f"Bearer {sandbox.credentials.mailjet_token}"
    assert recorded.headers["Content-Type"] == "application/json"
    assert recorded.headers["User-Agent"].startswith("django-transactional-sms/")
    assert recorded.body == b'{"From":"MyBrand","To":"+33612345678","Text":"Your code is 123456"}'
    assert recorded.status == 200

    stored = sandbox.messages.last()
    assert result.provider_message_id == stored.id
    assert result.status == Status.ACCEPTED
    assert (result.provider_status, result.provider_status_text) == (
        "sent_pending", "Message is being sent")
    assert result.segments == 1
    assert (result.cost, result.cost_currency) == (Decimal("0.035"), "EUR")
    assert result.occurred_at == datetime.fromtimestamp(int(stored.created_at), tz=UTC)
    assert result.raw["MessageId"] == stored.id


def test_recipient_is_sent_with_a_plus(sandbox: Sandbox, backend: SmsBackend) -> None:
    send(backend, sms(to="0033612345678"))
    send(backend, sms(to="447700900123"))

    assert [r.json["To"] for r in sandbox.requests] == ["+33612345678", "+447700900123"]


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("€" * 80, 1),  # extension table: two septets each
        ("Привет, ваш код 123456", 1),  # UCS-2
        ("é" * 70 + "ç", 2),  # ç is not GSM-7: the whole text becomes UCS-2
        ("😀" * 35, 1),  # astral characters count two UTF-16 units
        ("😀" * 36, 2),
        ("a" * 765, 5),
    ],
)
def test_unicode_and_multipart_texts(sandbox: Sandbox, backend: SmsBackend, text: str,
                                     segments: int) -> None:
    result = send(backend, sms(text=text))

    assert result.error is None, result.error
    assert result.segments == segments
    assert result.cost == Decimal("0.035") * segments
    assert sandbox.requests[-1].json["Text"] == text


def test_missing_sender_fails_without_a_request(sandbox: Sandbox, backend: SmsBackend) -> None:
    result = send(backend, sms(sender=None))

    assert isinstance(result.error, PermanentProviderError)
    assert "DEFAULT_SENDER" in str(result.error)
    assert sandbox.requests == []


# -- errors the provider declares -------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "code", "text", "status"),
    [
        (sms(text="a" * 766), "mj-0006",
         "Characters limit exceeded for the property. Max allowed - 765. (related to: Text)",
         Status.FAILED),
        (sms(text="ç" * 336), "mj-0006",
         "Characters limit exceeded for the property. Max allowed - 335. (related to: Text)",
         Status.FAILED),
        (sms(sender="AB"), "mj-0020",
         "Characters limit below the minimum for the property. Min allowed - 3. "
         "(related to: From)", Status.FAILED),
        (sms(sender="MyVeryLongBrand"), "mj-0006",
         "Characters limit exceeded for the property. Max allowed - 11. (related to: From)",
         Status.FAILED),
        (sms(sender="My-Brand"), "mj-0004",
         'Type mismatch. Expected type "alphanumeric". (related to: From)', Status.FAILED),
        (sms(to="+33-6-12"), "mj-0004",
         'Type mismatch. Expected type "E.164 phone number with +". (related to: To)',
         Status.FAILED),
        (sms(to="+99912345678"), "sms-0002", "Unsupported country code. (related to: To)",
         Status.REJECTED),
        (sms(text=""), "mj-0020",
         "Characters limit below the minimum for the property. Min allowed - 1. "
         "(related to: Text)", Status.FAILED),
    ],
)
def test_payload_errors_are_permanent_with_mailjets_code_and_text(
    backend: SmsBackend, message: SMS, code: str, text: str, status: str
) -> None:
    result = send(backend, message)

    assert isinstance(result.error, PermanentProviderError)
    assert result.error.status_code == 400
    assert result.error.code == code
    assert result.error.text.startswith(text)
    assert "[ErrorIdentifier " in result.error.text
    assert result.status == status
    assert f"(HTTP 400) provider said: {code} {text}" in str(result.error)


@pytest.mark.parametrize(
    ("name", "http", "code", "text", "status"),
    [
        ("insufficient_funds", 400, "sms-0001", "Insufficient funds.", Status.REJECTED),
        ("daily_limit", 400, "sms-0003", "SMS per day limit reached.", Status.REJECTED),
        ("no_account", 400, "sms-0004", "No account.", Status.FAILED),
        ("forbidden", 403, "mj-0021", "You do not have access to this resource.",
         Status.FAILED),
        ("payload_too_large", 400, "mj-0011", "Input payload must be less than 1MB.",
         Status.FAILED),
    ],
)
def test_account_errors_are_permanent(sandbox: Sandbox, backend: SmsBackend, name: str,
                                      http: int, code: str, text: str, status: str) -> None:
    sandbox.inject(faults.error(name))

    result = send(backend)

    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.status_code, result.error.code) == (http, code)
    assert result.error.text.startswith(text)
    assert result.status == status
    assert len(sandbox.messages) == 0


def test_wallet_and_daily_limit_are_enforced_by_the_sandbox(sandbox: Sandbox,
                                                            backend: SmsBackend) -> None:
    handler = sandbox.handler("mailjet")
    handler.balance = Decimal("0.05")  # type: ignore[attr-defined]
    assert send(backend).error is None
    assert send(backend).error.code == "sms-0001"

    handler.reset()
    handler.daily_limit = 3  # type: ignore[attr-defined]
    assert send(backend, sms(text="a" * 200)).error is None  # 2 parts
    assert send(backend, sms(text="a" * 200)).error.code == "sms-0003"
    assert send(backend).error is None  # the 3rd part still fits


@pytest.mark.parametrize("inject", [False, True])
def test_auth_failure(sandbox: Sandbox, inject: bool) -> None:
    if inject:
        sandbox.inject(faults.auth_rejection())
        token = sandbox.credentials.mailjet_token
    else:
        token = "not-the-token"
    backend = SmsBackend(alias="mj", token=token, base_url=sandbox.url)

    result = send(backend)

    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.status_code, result.error.code) == (401, "mj-0015")
    assert "provider said: mj-0015 Not authorised." in str(result.error)
    assert result.status == Status.FAILED


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_rate_limit_and_server_errors_are_transient(sandbox: Sandbox, backend: SmsBackend,
                                                    status: int) -> None:
    sandbox.inject(faults.status(status, retry_after=7 if status == 429 else None))

    result = send(backend)

    assert isinstance(result.error, TransientProviderError)
    assert result.error.status_code == status
    assert result.error.retry_after == (7.0 if status == 429 else None)
    assert result.error.code == ""  # the body is not Mailjet JSON
    assert result.status == Status.QUEUED


def test_hang_is_ambiguous(sandbox: Sandbox) -> None:
    sandbox.inject(faults.hang(3, accept=True))
    backend = SmsBackend(alias="mj", token=sandbox.credentials.mailjet_token,
                         base_url=sandbox.url, timeout=(2, 0.3))

    result = send(backend)

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert len(sandbox.messages) == 1


def test_malformed_json_is_ambiguous(sandbox: Sandbox, backend: SmsBackend) -> None:
    sandbox.inject(faults.malformed_json())

    result = send(backend)

    assert isinstance(result.error, AmbiguousProviderError)
    assert len(sandbox.messages) == 1


def test_reset_is_ambiguous(sandbox: Sandbox, backend: SmsBackend) -> None:
    sandbox.inject(faults.reset(accept=True))

    result = send(backend)

    assert isinstance(result.error, AmbiguousProviderError)


# -- status polling ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["data", "bare"])
def test_fetch_status_follows_the_lifecycle(sandbox: Sandbox, backend: SmsBackend,
                                            shape: str) -> None:
    sandbox.handler("mailjet").single_shape = shape  # type: ignore[attr-defined]
    sent = send(backend)
    polled = Polled(sent.provider_message_id)

    first = backend.fetch_status(polled)
    sandbox.callbacks.flush()
    last = backend.fetch_status(polled)

    assert first is not None and last is not None
    assert (first.status, first.provider_status) == (Status.ACCEPTED, "sent_pending")
    assert (last.status, last.provider_status) == (Status.DELIVERED, "delivered")
    assert last.provider_message_id == sent.provider_message_id
    assert last.dedupe_key == f"mailjet:{sent.provider_message_id}:3"
    assert first.dedupe_key != last.dedupe_key
    assert (last.segments, last.cost, last.cost_currency) == (1, Decimal("0.035"), "EUR")
    assert last.error_code == ""
    raw_keys = set(last.raw)
    assert ("MessageId" in raw_keys) == (shape == "data")
    assert ("ID" in raw_keys) == (shape == "bare")
    request = sandbox.requests[-1]
    assert (request.method, request.path) == ("GET", f"/v4/sms/{sent.provider_message_id}")
    assert request.headers["Authorization"] == f"Bearer {sandbox.credentials.mailjet_token}"


def test_fetch_status_shows_sent_with_its_timestamp(sandbox: Sandbox,
                                                    backend: SmsBackend) -> None:
    sandbox.default_outcome = Outcome(sent_after=0.0, final_after=3600)
    sent = send(backend)
    assert sandbox.messages.wait_for(sent.provider_message_id, "sent")

    update = backend.fetch_status(Polled(sent.provider_message_id))

    assert update is not None
    assert (update.status, update.provider_status) == (Status.SENT, "sent")
    assert update.occurred_at is not None


@pytest.mark.parametrize(
    ("code", "status", "opted_out"),
    [(11, Status.REJECTED, True), (9, Status.REJECTED, False), (6, Status.EXPIRED, False),
     (5, Status.UNDELIVERED, False), (13, Status.FAILED, False)],
)
def test_fetch_status_failures(sandbox: Sandbox, backend: SmsBackend, code: int, status: str,
                               opted_out: bool) -> None:
    sandbox.set_outcome(Outcome("rejected", provider_code=code), to="+33600000011")
    sent = send(backend, sms(to="+33600000011"))
    sandbox.callbacks.flush()

    update = backend.fetch_status(Polled(sent.provider_message_id))

    assert update is not None
    assert update.status == status
    assert update.opted_out is opted_out
    assert update.error_code == STATUS_TABLE[code].name
    assert update.error_message


def test_fetch_status_unknown_id_is_permanent(backend: SmsBackend) -> None:
    with pytest.raises(PermanentProviderError) as caught:
        backend.fetch_status(Polled("1234"))
    assert caught.value.status_code == 404


def test_fetch_status_without_provider_id_asks_nothing(sandbox: Sandbox,
                                                       backend: SmsBackend) -> None:
    assert backend.fetch_status(Polled("")) is None
    assert sandbox.requests == []


@pytest.mark.parametrize("fault", [faults.hang(3), faults.reset(), faults.malformed_json(),
                                   faults.status(503)])
def test_polling_failures_are_transient(sandbox: Sandbox, fault: faults.Fault) -> None:
    backend = SmsBackend(alias="mj", token=sandbox.credentials.mailjet_token,
                         base_url=sandbox.url, read_timeout=0.3)
    sent = send(backend)
    sandbox.inject(fault, path="/v4/sms/*")

    with pytest.raises(TransientProviderError):
        backend.fetch_status(Polled(sent.provider_message_id))


# -- the status table ------------------------------------------------------------------------
EXPECTED_TABLE = {
    0: ("unknown", Status.ACCEPTED), 1: ("sent_pending", Status.ACCEPTED),
    2: ("sent", Status.SENT), 3: ("delivered", Status.DELIVERED),
    4: ("rejected_operator", Status.REJECTED), 5: ("rejected_undelivered", Status.UNDELIVERED),
    6: ("rejected_expired", Status.EXPIRED),
    7: ("rejected_incorrect_delivery", Status.UNDELIVERED),
    8: ("rejected_network", Status.UNDELIVERED), 9: ("rejected_dnd", Status.REJECTED),
    10: ("rejected_from_blacklist", Status.REJECTED),
    11: ("rejected_to_blacklist", Status.REJECTED),
    12: ("rejected_anti_flood", Status.REJECTED),
    13: ("rejected_system_error", Status.FAILED),
    14: ("invalid_phone_number", Status.REJECTED),
    15: ("rejected_insufficent_funds", Status.REJECTED),
    16: ("rejected_daily_limit_reached", Status.REJECTED),
}


def test_status_table_maps_all_17_codes() -> None:
    assert {code: (row.name, row.status) for code, row in STATUS_TABLE.items()} == EXPECTED_TABLE
    assert [c for c, row in STATUS_TABLE.items() if row.status not in FINAL_STATUSES] == [0, 1, 2]
    assert [c for c, row in STATUS_TABLE.items() if row.opted_out] == [11]
    assert status_for_code(42).status == Status.ACCEPTED  # a future code keeps us polling


@pytest.mark.parametrize("code", range(1, 17))
def test_every_code_parses_from_the_wire(sandbox: Sandbox, backend: SmsBackend,
                                         code: int) -> None:
    far = 3600.0
    if code == 1:  # still pending
        outcome = Outcome(sent_after=far, final_after=far)
    elif code == 2:  # handed to the carrier
        outcome = Outcome(sent_after=0, final_after=far)
    elif code == 3:
        outcome = Outcome(sent_after=0, final_after=0)
    else:  # a final failure, reported with Mailjet's own code
        outcome = Outcome("failed", provider_code=code, sent_after=0, final_after=0)
    sandbox.set_outcome(outcome, to="+33600000099")
    sent = send(backend, sms(to="+33600000099"))
    if code > 1:
        assert sandbox.messages.wait_for(sent.provider_message_id,
                                         "sent" if code == 2 else "delivered")

    update = backend.fetch_status(Polled(sent.provider_message_id))

    assert update is not None
    assert (update.provider_status, update.status) == EXPECTED_TABLE[code]
    assert sandbox.requests[-1].json is None
    assert f'"Code": {code},' in sandbox.requests[-1].response_body.decode()


# -- parsing tolerance (unit level: the sandbox always answers one spelling) -------------------
def response(body: bytes, status: int = 200) -> requests.Response:
    r = requests.Response()
    r.status_code, r._content = status, body
    r.url = "https://api.mailjet.com/v4/sms-send"
    return r


@pytest.mark.parametrize("id_key", ["MessageId", "MessageID", "ID", "messageid"])
@pytest.mark.parametrize("count_key", ["SmsCount", "SMSCount", "smscount"])
def test_parse_send_response_key_casings(id_key: str, count_key: str) -> None:
    body = (f'{{"{id_key}": 744, "{count_key}": 3, "CreationTS": 1521626400, "SentTS": "", '
            '"Cost": {"Value": 0.0012, "Currency": "EUR"}, '
            '"Status": {"Code": 1, "Name": "sent_pending", '
            '"Description": "Message is being sent"}}')

    result = SmsBackend(token="t").parse_send_response(sms(), response(body.encode()))

    assert result.provider_message_id == "744"
    assert result.segments == 3
    assert result.cost == Decimal("0.0012")
    assert result.occurred_at == datetime(2018, 3, 21, 10, 0, tzinfo=UTC)


def test_parse_send_response_refusal_in_a_200() -> None:
    body = (b'{"MessageId": "x1", "SmsCount": 1, "Status": {"Code": 14, '
            b'"Name": "invalid_phone_number", "Description": "Invalid phone number"}}')

    result = SmsBackend(token="t").parse_send_response(sms(), response(body))

    assert result.status == Status.REJECTED
    assert result.provider_message_id == "x1"
    assert isinstance(result.error, PermanentProviderError)
    assert result.error.code == "invalid_phone_number"


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"SmsCount": 1, "Status": {"Code": 1}}', b'{"MessageId": "1"}',
     b'{"MessageId": "1", "Status": {"Code": "x", "Name": "nope"}}'],
)
def test_unreadable_success_bodies_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        SmsBackend(token="t").parse_send_response(sms(), response(body))


def test_error_parsing_shapes() -> None:
    backend = SmsBackend(token="t")
    tail = (b'{"ErrorCode":"sms-0002","StatusCode":400,"ErrorMessage":"Unsupported country '
            b'code.","ErrorRelatedTo":["To"]}')
    details = backend.parse_error(response(tail, 400))
    assert (details.code, details.text, details.status) == (
        "sms-0002", "Unsupported country code. (related to: To)", Status.REJECTED)
    v3 = backend.parse_error(response(b'{"ErrorInfo": "", "ErrorMessage": "Oops", '
                                      b'"StatusCode": 400}', 400))
    assert (v3.code, v3.text) == ("", "Oops")
    assert backend.parse_error(response(b"Too Many Requests", 429)).code == ""


def test_plus_e164() -> None:
    assert [plus_e164(n) for n in ("+33612345678", "0033612345678", "33612345678",
                                   " +33 6 12 34 56 78")] == ["+33612345678"] * 4
    # Not international: kept (an alphanumeric sender, a national number).
    assert [plus_e164(n) for n in ("MyShop", "0612345678")] == ["MyShop", "0612345678"]


@pytest.mark.parametrize("options", [{}, {"token": ""}, {"token": "   "}, {"token": None}])
def test_a_missing_or_empty_token_refuses_to_create_the_backend(settings, options) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        SmsBackend(alias="mj", **options)
    assert str(excinfo.value) == (
        "SMS backend 'mj' (django_sms.backends.mailjet) needs the 'token' OPTION, missing or "
        "empty in SMS_BACKENDS['mj']['OPTIONS']."
    )
    settings.SMS_BACKENDS = {"mj": {"BACKEND": "django_sms.backends.mailjet.SmsBackend",
                                    "OPTIONS": options}}
    [message] = [m for m in check_backends() if m.id == "django_sms.E010"]
    assert (message.id, message.msg) == ("django_sms.E010", str(excinfo.value))
    assert list(SmsBackend(alias="mj", token="t").check()) == []


def test_capabilities() -> None:
    assert SmsBackend.max_segments == 5
    assert SmsBackend.supports_status_polling is True
    assert SmsBackend.supports_status_webhooks is False
    assert SmsBackend(token="t").base_url == "https://api.mailjet.com"


# -- the official SDK as an oracle --------------------------------------------------------------
def test_mailjet_rest_sdk_is_accepted_like_our_backend(sandbox: Sandbox,
                                                       backend: SmsBackend) -> None:
    from mailjet_rest import Client

    client = Client(auth=sandbox.credentials.mailjet_token, version="v4",
                    api_url=sandbox.url + "/")
    payload = {"From": "MyBrand", "To": "+33612345678", "Text": "Your code is 123456"}

    sdk_response = client.api_call("POST", sandbox.url + "/v4/sms-send", data=payload,
                                   headers={"Content-Type": "application/json"})
    send(backend)

    assert sdk_response.status_code == 200
    assert sdk_response.json()["Status"]["Code"] == 1
    sdk_request, our_request = sandbox.requests
    assert sdk_request.headers["User-Agent"].startswith("mailjet-apiv3-python/")
    assert sdk_request.headers["Authorization"] == our_request.headers["Authorization"]
    assert sdk_request.json == our_request.json == payload
    assert len(sandbox.messages) == 2

    listed = client.api_call("GET", sandbox.url + "/v4/sms",
                             filters={"StatusCode": "1,2", "Limit": 10})
    assert [m["MessageId"] for m in listed.json()["Data"]] == \
        [m.id for m in reversed(sandbox.messages.all())]


def test_mailjet_rest_sdk_with_a_wrong_token_is_refused(sandbox: Sandbox) -> None:
    from mailjet_rest import Client
    from mailjet_rest.errors import MailjetAuthError

    client = Client(auth="wrong-token", version="v4", api_url=sandbox.url + "/")

    # The SDK reads our 401 body like Mailjet's: its auth error, with Mailjet's ErrorMessage.
    with pytest.raises(MailjetAuthError, match=r"Not authorised\."):
        client.api_call("POST", sandbox.url + "/v4/sms-send",
                        data={"From": "MyBrand", "To": "+33612345678", "Text": "hi"},
                        headers={"Content-Type": "application/json"})

    assert sandbox.requests[-1].status == 401
    assert len(sandbox.messages) == 0


def test_numeric_senders_are_accepted(sandbox: Sandbox, backend: SmsBackend) -> None:
    assert send(backend, sms(sender="+33612345678")).error is None
    assert send(backend, sms(sender="36111")).error is None
