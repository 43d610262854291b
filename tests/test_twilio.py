"""The Twilio backend sending over real HTTP to the provider sandbox (Messages resource).

Oracle independent of our code: the official ``twilio`` package. Its REST client talks to
the sandbox (so the sandbox is wire-compatible with what Twilio's own SDK expects), and its
``RequestValidator`` checks the signatures the sandbox puts on its callbacks.
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from django_sms import SMS, send_sms
from django_sms.backends.twilio import ERROR_CODES, SmsBackend
from django_sms.encoding import analyze
from django_sms.exceptions import (
    AmbiguousProviderError,
    OptedOut,
    PermanentProviderError,
    TransientProviderError,
)
from django_sms.models import OptOut, get_message_model
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome, SandboxCredentials, faults

CREDS = SandboxCredentials()
TO = "+447400123456"
FROM = "+15017122661"


def make_backend(sandbox, **options):
    defaults = {
        "account_sid": CREDS.twilio_account_sid,
        "auth_token": CREDS.twilio_auth_token,
        "base_url": sandbox.url,
        "timeout": (2, 3),
    }
    return SmsBackend(alias="twilio", **{**defaults, **options})


def make_sms(text="Your code is 123456", to=TO, sender=FROM, **kwargs):
    analysis = analyze(text)
    return SMS(text=text, to=to, sender=sender, reference=str(uuid.uuid4()),
               encoding=analysis.encoding, segments=analysis.segments, **kwargs)


def send(backend, sms):
    [result] = backend.send_messages([sms])
    return result


def basic(request):
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


# -- success ---------------------------------------------------------------------------------


def test_send_posts_the_form_with_basic_auth_and_stores_the_answer(sms_sandbox):
    backend = make_backend(sms_sandbox, status_callback="https://shop.example.com/hook/")
    sms = make_sms("Héllo ✓ & more")

    result = send(backend, sms)

    assert result.error is None, result.error
    [request] = sms_sandbox.requests
    assert (request.method, request.status) == ("POST", 201)
    assert request.path == f"/2010-04-01/Accounts/{CREDS.twilio_account_sid}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert basic(request) == f"{CREDS.twilio_account_sid}:{CREDS.twilio_auth_token}"
    assert parse_qs(request.body.decode()) == {
        "To": [TO],
        "From": [FROM],
        "Body": ["Héllo ✓ & more"],
        "StatusCallback": [f"https://shop.example.com/hook/?sms_ref={sms.reference}"],
    }
    stored = sms_sandbox.messages.last()
    assert result.provider_message_id == stored.id
    assert stored.id.startswith("SM") and len(stored.id) == 34
    assert result.status == Status.ACCEPTED
    assert result.provider_status == "queued"
    assert result.segments == 1
    assert result.cost is None  # Twilio prices a message once it is sent


def test_api_key_authentication_keeps_the_account_in_the_path(sms_sandbox):
    backend = make_backend(sms_sandbox, auth_token=None, api_key_sid=CREDS.twilio_api_key_sid,
                           api_key_secret=CREDS.twilio_api_key_secret)
    result = send(backend, make_sms())
    assert result.error is None, result.error
    [request] = sms_sandbox.requests
    assert basic(request) == f"{CREDS.twilio_api_key_sid}:{CREDS.twilio_api_key_secret}"
    assert CREDS.twilio_account_sid in request.path


def test_messaging_service_replaces_from_and_starts_accepted(sms_sandbox):
    service = "MG" + "ab" * 16
    backend = make_backend(sms_sandbox, messaging_service_sid=service, validity_period=600)
    result = send(backend, make_sms())
    form = parse_qs(sms_sandbox.requests[0].body.decode())
    assert form["MessagingServiceSid"] == [service]
    assert "From" not in form
    assert form["ValidityPeriod"] == ["600"]
    assert (result.status, result.provider_status) == (Status.ACCEPTED, "accepted")


def test_status_callback_is_built_from_the_public_base_url(sms_sandbox):
    backend = make_backend(sms_sandbox, public_base_url="https://sms.example.com")
    sms = make_sms()
    send(backend, sms)
    form = parse_qs(sms_sandbox.requests[0].body.decode())
    assert form["StatusCallback"] == [
        f"https://sms.example.com/sms/webhooks/twilio/status/?sms_ref={sms.reference}"
    ]


def test_long_unicode_text_is_counted_in_segments(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms("✓" * 100))
    assert result.segments == 2


def test_the_official_sdk_talks_to_the_sandbox(sms_sandbox):
    """twilio-python as a client: the sandbox answers what Twilio's SDK expects."""
    client = Client(CREDS.twilio_api_key_sid, CREDS.twilio_api_key_secret,
                    account_sid=CREDS.twilio_account_sid)
    client.api.base_url = sms_sandbox.url
    message = client.messages.create(to=TO, from_=FROM, body="hi", validity_period=600)
    assert message.sid.startswith("SM") and message.status == "queued"
    assert message.num_segments == "1"
    fetched = client.messages(message.sid).fetch()
    assert fetched.sid == message.sid
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+15005550001", from_=FROM, body="hi")
    assert (caught.value.status, caught.value.code) == (400, 21211)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "code"),
    [("+15005550001", "21211"), ("+15005550009", "21614"), ("+15005550002", "21612")],
)
def test_invalid_numbers_are_permanent_refusals(sms_sandbox, to, code):
    result = send(make_backend(sms_sandbox), make_sms(to=to))
    assert isinstance(result.error, PermanentProviderError)
    assert result.error.code == code
    assert result.status == Status.REJECTED
    assert not result.error.opted_out
    assert code in str(result.error)


def test_unsubscribed_recipient_is_permanent_and_flagged_opted_out(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms(to="+15005550004"))
    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.code, result.status, result.error.opted_out) == (
        "21610", Status.REJECTED, True)


def test_bad_credentials_fail_the_message_as_a_configuration_problem(sms_sandbox):
    result = send(make_backend(sms_sandbox, auth_token="wrong"), make_sms())
    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.code, result.error.status_code, result.status) == (
        "20003", 401, Status.FAILED)
    assert "wrong" not in str(result.error)


def test_missing_credentials_fail_without_a_request(sms_sandbox):
    result = send(make_backend(sms_sandbox, auth_token=None), make_sms())
    assert isinstance(result.error, PermanentProviderError)
    assert "auth_token" in str(result.error)
    assert sms_sandbox.requests == []


@pytest.mark.parametrize("fault", [faults.status(429, retry_after=3),
                                   faults.error("too_many_requests")])
def test_rate_limits_are_transient(sms_sandbox, fault):
    sms_sandbox.inject(fault)
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, TransientProviderError)
    assert result.error.code == "20429"


def test_queue_full_is_transient_by_its_code(sms_sandbox):
    sms_sandbox.inject(faults.error("queue_full"))
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, TransientProviderError)
    assert result.error.status_code == 400


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(sms_sandbox, status):
    sms_sandbox.inject(faults.status(status))
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, TransientProviderError)
    assert result.status == Status.QUEUED


def test_a_reset_after_the_request_is_ambiguous(sms_sandbox):
    sms_sandbox.inject(faults.reset(accept=True))
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert len(sms_sandbox.messages) == 1


def test_a_hang_is_ambiguous_after_the_read_timeout(sms_sandbox):
    sms_sandbox.inject(faults.hang(2, accept=True))
    result = send(make_backend(sms_sandbox, timeout=(1, 0.5)), make_sms())
    assert isinstance(result.error, AmbiguousProviderError)


def test_malformed_answer_is_ambiguous(sms_sandbox):
    sms_sandbox.inject(faults.malformed_json())
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, AmbiguousProviderError)


def test_text_over_1600_characters_is_refused_before_any_request(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms("a" * 1601))
    assert isinstance(result.error, PermanentProviderError)
    assert sms_sandbox.requests == []


def test_every_listed_code_has_a_title_and_a_meaning():
    assert ERROR_CODES[21610].opted_out
    assert ERROR_CODES[20429].transient and ERROR_CODES[21611].transient
    assert ERROR_CODES[20003].configuration
    assert all(e.title for e in ERROR_CODES.values())


# -- polling ---------------------------------------------------------------------------------


def test_fetch_status_reads_the_message_resource(sms_sandbox):
    backend = make_backend(sms_sandbox)
    result = send(backend, make_sms("✓" * 100))
    sms_sandbox.callbacks.flush()
    message = get_message_model()(provider_message_id=result.provider_message_id)

    update = backend.fetch_status(message)

    assert update is not None
    assert (update.status, update.provider_status) == (Status.DELIVERED, "delivered")
    assert (update.cost, update.cost_currency, update.segments) == (Decimal("0.0158"), "USD", 2)
    request = sms_sandbox.requests[-1]
    assert (request.method, request.status) == ("GET", 200)
    assert request.path.endswith(f"/Messages/{result.provider_message_id}.json")


def test_fetch_status_reports_the_delivery_error(sms_sandbox):
    sms_sandbox.set_outcome(Outcome("undelivered", provider_code=30006), to=TO)
    backend = make_backend(sms_sandbox)
    result = send(backend, make_sms())
    sms_sandbox.callbacks.flush()
    update = backend.fetch_status(get_message_model()(
        provider_message_id=result.provider_message_id))
    assert (update.status, update.error_code) == (Status.UNDELIVERED, "30006")
    assert "Landline" in update.error_message


def test_fetch_status_of_an_unknown_sid_is_a_permanent_error(sms_sandbox):
    backend = make_backend(sms_sandbox)
    with pytest.raises(PermanentProviderError) as caught:
        backend.fetch_status(get_message_model()(provider_message_id="SM" + "0" * 32))
    assert caught.value.code == "20404"


# -- through the pipeline ----------------------------------------------------------------------


@pytest.mark.django_db
def test_send_sms_refused_with_21610_records_the_opt_out(sms_sandbox, settings):
    settings.SMS_BACKENDS = {"default": {
        "BACKEND": "django_sms.backends.twilio.SmsBackend",
        "OPTIONS": {"account_sid": CREDS.twilio_account_sid,
                    "auth_token": CREDS.twilio_auth_token, "base_url": sms_sandbox.url},
    }}
    message = send_sms("hello", to="+15005550004", sender=FROM, fail_silently=True)
    assert message.status == Status.REJECTED
    assert message.error_code == "21610"
    [opt_out] = OptOut.objects.all()
    assert (opt_out.phone_number, opt_out.source) == ("+15005550004", OptOut.Source.PROVIDER)
    assert "21610" in opt_out.reason
    with pytest.raises(OptedOut):
        send_sms("hello again", to="+15005550004", sender=FROM)
    assert len(sms_sandbox.requests) == 1


def test_callbacks_are_signed_as_twilios_request_validator_expects(sms_sandbox):
    url = "https://shop.example.com/sms/webhooks/twilio/status/"
    backend = make_backend(sms_sandbox, status_callback=url)
    send(backend, make_sms())
    message = sms_sandbox.messages.last()
    handler = sms_sandbox.handler("twilio")
    callbacks = [handler.sign_callback(c) for c in
                 handler.build_status_callbacks(message, message.outcome)]
    assert [parse_qs(c.body.decode())["MessageStatus"] for c in callbacks] == [
        ["sending"], ["sent"], ["delivered"]]
    validator = RequestValidator(CREDS.twilio_auth_token)
    for callback in callbacks:
        params = {k: v[0] for k, v in parse_qs(callback.body.decode()).items()}
        assert validator.validate(callback.full_url, params,
                                  callback.headers["X-Twilio-Signature"])


# -- checks ------------------------------------------------------------------------------------


def check_ids(**options):
    backend = SmsBackend(alias="twilio", **options)
    return sorted(message.id for message in backend.check())


def test_a_complete_configuration_passes_the_checks():
    assert check_ids(account_sid=CREDS.twilio_account_sid, auth_token=CREDS.twilio_auth_token,
                     public_base_url="https://shop.example.com") == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"auth_token": "t"}, ["django_sms.E010"]),  # no account SID
        ({"account_sid": "AC123", "auth_token": "t"}, ["django_sms.E010"]),
        ({"account_sid": "AC" + "0" * 32}, ["django_sms.E010"]),  # no credentials
        ({"account_sid": "AC" + "0" * 32, "api_key_sid": "SK" + "0" * 32,
          "api_key_secret": "s"}, ["django_sms.W015"]),  # webhooks would be refused
        ({"account_sid": "AC" + "0" * 32, "auth_token": ["t", 3]}, ["django_sms.E012"]),
        ({"account_sid": "AC" + "0" * 32, "auth_token": "t", "public_base_url": "shop.example"},
         ["django_sms.E012"]),
        ({"account_sid": "AC" + "0" * 32, "auth_token": "t",
          "public_base_url": "https://shop.example/sms"}, ["django_sms.E012"]),
        ({"account_sid": "AC" + "0" * 32, "auth_token": "t", "messaging_service_sid": "MG1"},
         ["django_sms.E012"]),
        ({"account_sid": "AC" + "0" * 32, "auth_token": "t", "tokn": "x"}, ["django_sms.W010"]),
    ],
)
def test_misconfigurations_are_reported(options, expected):
    assert check_ids(**options) == expected
