"""Twilio's signed webhooks through the real webhook views, signed by the official
``twilio`` package's ``RequestValidator`` (the oracle: not our signing code).

The deployments that matter: the app behind a TLS-terminating proxy that rewrites scheme,
host and port, trusted through Django's own settings or described by ``public_base_url``;
forged, tampered and unsigned callbacks refused with nothing changed, in DEBUG too.
"""

from __future__ import annotations

import functools
import http.server
import logging
import threading
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from twilio.request_validator import RequestValidator

from django_sms.backends.base import WebhookRequest
from django_sms.backends.twilio import (
    EMPTY_TWIML,
    SmsBackend,
    compute_signature,
    url_variants,
)
from django_sms.models import InboundMessage, OptOut, StatusEvent, get_message_model
from django_sms.status import Status

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef"
NEW_TOKEN = "fedcba9876543210fedcba9876543210"
ACCOUNT = "AC" + "0" * 32
SID = "SM" + "1" * 32
PUBLIC = "https://sms.example.com"
STATUS_PATH = "/sms/webhooks/twilio/status/"
INBOUND_PATH = "/sms/webhooks/twilio/inbound/"


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "twilio": {
            "BACKEND": "django_sms.backends.twilio.SmsBackend",
            "OPTIONS": {"account_sid": ACCOUNT, "auth_token": [TOKEN, NEW_TOKEN]},
        },
    }
    settings.ALLOWED_HOSTS = ["*"]


@pytest.fixture
def behind_proxy(settings, twilio):
    """Django trusts its proxy: scheme from X-Forwarded-Proto, host (and port) forwarded."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.USE_X_FORWARDED_PORT = True


def status_fields(status="delivered", **extra):
    fields = {
        "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "From": "+15017122661",
        "MessageSid": SID, "MessageStatus": status, "SmsSid": SID, "SmsStatus": status,
        "To": "+15558675310", **extra,
    }
    return fields


def signed_post(client, path, fields, *, url, token=TOKEN, **headers):
    """POST ``fields`` to ``path`` of the test server, signed by twilio's RequestValidator
    for ``url`` (the URL Twilio called, as the public sees it)."""
    signature = RequestValidator(token).compute_signature(url, fields)
    return client.post(path, data=urlencode(fields),
                       content_type="application/x-www-form-urlencoded",
                       HTTP_X_TWILIO_SIGNATURE=signature, **headers)


PROXY_HEADERS = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "sms.example.com",
                 "HTTP_X_FORWARDED_PORT": "443", "SERVER_NAME": "app-internal",
                 "SERVER_PORT": "8000"}


def twilio_message(**fields):
    values = {"to": "+15558675310", "text": "Your code is 123456", "encoding": "GSM-7",
              "status": Status.ACCEPTED, "backend_alias": "twilio", "provider": "twilio",
              "provider_message_id": SID, **fields}
    return get_message_model().objects.create(**values)


def reload(message):
    return get_message_model().objects.get(pk=message.pk)


# -- the signature itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "url", "params", "expected"),
    [
        ("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
         {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
          "To": "+18005551212", "Caller": "+14158675309"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (TOKEN, "https://example.com/sms/twilio/status/",
         status_fields(From="+15017122661", To="+15558675310") | {"MessageSid": SID},
         "geBOL0ai+kGQLsgBv4yVj3YKx4k="),
    ],
)
def test_compute_signature_matches_twilios_vectors(token, url, params, expected):
    assert compute_signature(token, url, params.items()) == expected
    assert RequestValidator(token).compute_signature(url, params) == expected


@pytest.mark.parametrize("body", ["Héllo ✓", "", "a+b&c=d", "STOP"])
def test_compute_signature_agrees_with_the_request_validator(body):
    params = {"Body": body, "From": "+15558675310", "ErrorCode": ""}
    url = "https://example.com/sms/twilio/inbound/?tenant=42"
    assert compute_signature(TOKEN, url, params.items()) == RequestValidator(
        TOKEN).compute_signature(url, params)


def test_url_variants_with_and_without_the_default_port():
    assert url_variants("https://a.example/x?y=1") == [
        "https://a.example:443/x?y=1", "https://a.example/x?y=1"]
    assert url_variants("http://a.example:80/x") == ["http://a.example:80/x", "http://a.example/x"]
    assert url_variants("https://a.example:8443/x") == [
        "https://a.example:8443/x", "https://a.example/x"]


# -- behind a proxy ------------------------------------------------------------------------------


def test_accepted_behind_a_proxy_that_rewrote_scheme_host_and_port(behind_proxy, client,
                                                                   status_signals):
    message = twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields(), url=PUBLIC + STATUS_PATH,
                           **PROXY_HEADERS)
    assert response.status_code == 200, response.content
    assert reload(message).status == Status.DELIVERED
    assert status_signals.transitions == [(Status.ACCEPTED, Status.DELIVERED)]


def test_accepted_when_twilio_signed_the_url_with_the_default_port(behind_proxy, client):
    message = twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields(),
                           url="https://sms.example.com:443" + STATUS_PATH, **PROXY_HEADERS)
    assert response.status_code == 200, response.content
    assert reload(message).status == Status.DELIVERED


def test_query_string_of_the_callback_url_is_signed_and_carries_our_reference(
        behind_proxy, client):
    message = twilio_message(provider_message_id="")
    path = f"{STATUS_PATH}?sms_ref={message.reference}"
    response = signed_post(client, path, status_fields(), url=PUBLIC + path, **PROXY_HEADERS)
    assert response.status_code == 200, response.content
    message = reload(message)
    assert (message.status, message.provider_message_id) == (Status.DELIVERED, SID)


def test_refused_when_django_does_not_trust_the_proxy(twilio, client, caplog):
    """Without the proxy settings Django sees http://app-internal:8000/...: the signature
    (for the public URL) cannot match, and the log says which URL was checked."""
    message = twilio_message()
    with caplog.at_level(logging.WARNING, logger="django_sms.webhooks"):
        response = signed_post(client, STATUS_PATH, status_fields(), url=PUBLIC + STATUS_PATH,
                               **PROXY_HEADERS)
    assert response.status_code == 401
    assert reload(message).status == Status.ACCEPTED
    assert "http://app-internal:8000" + STATUS_PATH in caplog.text
    assert "public_base_url" in caplog.text


def test_public_base_url_replaces_the_proxy_settings(twilio, settings, client):
    settings.SMS_BACKENDS["twilio"]["OPTIONS"]["public_base_url"] = PUBLIC
    message = twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields(), url=PUBLIC + STATUS_PATH,
                           SERVER_NAME="app-internal", SERVER_PORT="8000")
    assert response.status_code == 200, response.content
    assert reload(message).status == Status.DELIVERED


def test_scheme_mismatch_is_refused(behind_proxy, client):
    twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields(),
                           url="http://sms.example.com" + STATUS_PATH, **PROXY_HEADERS)
    assert response.status_code == 401


# -- refusals: nothing changes, in DEBUG too ----------------------------------------------------


@pytest.fixture(params=[False, True], ids=["production", "DEBUG"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_nothing_changed(message):
    assert reload(message).status == Status.ACCEPTED
    assert not StatusEvent.objects.filter(source="webhook").exists()


def test_forged_signature_is_refused(behind_proxy, debug, client):
    message = twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields(), url=PUBLIC + STATUS_PATH,
                           token="not-the-auth-token", **PROXY_HEADERS)
    assert response.status_code in (401, 403)
    assert_nothing_changed(message)


def test_tampered_body_is_refused(behind_proxy, debug, client):
    message = twilio_message()
    fields = status_fields(status="undelivered")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + STATUS_PATH, fields)
    fields["MessageStatus"] = fields["SmsStatus"] = "delivered"
    response = client.post(STATUS_PATH, data=urlencode(fields),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=signature, **PROXY_HEADERS)
    assert response.status_code in (401, 403)
    assert_nothing_changed(message)


def test_an_added_field_is_refused(behind_proxy, debug, client):
    message = twilio_message()
    fields = status_fields()
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + STATUS_PATH, fields)
    response = client.post(STATUS_PATH, data=urlencode({**fields, "ErrorCode": "30003"}),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=signature, **PROXY_HEADERS)
    assert response.status_code in (401, 403)
    assert_nothing_changed(message)


def test_unsigned_callback_is_refused(behind_proxy, debug, client):
    message = twilio_message()
    response = client.post(STATUS_PATH, data=urlencode(status_fields()),
                           content_type="application/x-www-form-urlencoded", **PROXY_HEADERS)
    assert response.status_code in (401, 403)
    assert b"X-Twilio-Signature" in response.content
    assert_nothing_changed(message)


def test_a_json_body_is_refused(behind_proxy, client):
    message = twilio_message()
    response = client.post(STATUS_PATH, data=status_fields(), content_type="application/json",
                           HTTP_X_TWILIO_SIGNATURE="x", **PROXY_HEADERS)
    assert response.status_code == 401
    assert_nothing_changed(message)


def test_no_auth_token_fails_closed(settings, client):
    settings.DEBUG = True
    settings.SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
                             "twilio": {"BACKEND": "django_sms.backends.twilio.SmsBackend",
                                        "OPTIONS": {"account_sid": ACCOUNT}}}
    message = twilio_message()
    response = client.post(STATUS_PATH, data=urlencode(status_fields()),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE="anything")
    assert response.status_code == 401
    assert_nothing_changed(message)


def test_webhooks_rule_signatures_are_refused():
    backend = SmsBackend(alias="twilio", account_sid=ACCOUNT, auth_token=TOKEN)
    request = WebhookRequest(
        method="POST", url="https://a.example/x",
        headers={"X-Twilio-Signature": compute_signature(TOKEN, "https://a.example/x"),
                 "X-Twilio-Webhooks-Signature-Settings": "key=k1,algorithm=HMAC_SHA256",
                 "Content-Type": "application/x-www-form-urlencoded"})
    from django_sms.exceptions import WebhookAuthenticationError

    with pytest.raises(WebhookAuthenticationError, match="Webhooks Rule"):
        backend.verify_webhook(request, "status")


# -- rotation, statuses, ordering ------------------------------------------------------------------


def test_every_configured_auth_token_is_accepted(behind_proxy, client):
    message = twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields(), url=PUBLIC + STATUS_PATH,
                           token=NEW_TOKEN, **PROXY_HEADERS)
    assert response.status_code == 200
    assert reload(message).status == Status.DELIVERED


def test_late_and_duplicate_callbacks_never_regress_a_final_status(behind_proxy, client,
                                                                   status_signals):
    message = twilio_message()
    for status in ("delivered", "sent", "sending", "delivered", "undelivered"):
        response = signed_post(client, STATUS_PATH, status_fields(status),
                               url=PUBLIC + STATUS_PATH, **PROXY_HEADERS)
        assert response.status_code == 200
    message = reload(message)
    assert (message.status, message.provider_status) == (Status.DELIVERED, "delivered")
    assert status_signals.transitions == [(Status.ACCEPTED, Status.DELIVERED)]
    # The duplicate "delivered" is stored once; the late ones are kept as history.
    statuses = list(message.events.values_list("status", flat=True))
    assert statuses.count(Status.DELIVERED) == 1
    assert Status.SENT in statuses


@pytest.mark.parametrize(
    ("twilio_status", "error_code", "status"),
    [("sent", "", Status.SENT), ("undelivered", "30003", Status.UNDELIVERED),
     ("failed", "30008", Status.FAILED), ("canceled", "", Status.CANCELED),
     ("read", "", Status.DELIVERED)],
)
def test_status_mapping(behind_proxy, client, twilio_status, error_code, status):
    message = twilio_message()
    extra = {"ErrorCode": error_code} if error_code else {}
    signed_post(client, STATUS_PATH, status_fields(twilio_status, **extra),
                url=PUBLIC + STATUS_PATH, **PROXY_HEADERS)
    message = reload(message)
    assert message.status == status
    assert message.error_code == error_code


def test_unknown_status_is_a_bad_request_once_verified(behind_proxy, client):
    twilio_message()
    response = signed_post(client, STATUS_PATH, status_fields("exploded"),
                           url=PUBLIC + STATUS_PATH, **PROXY_HEADERS)
    assert response.status_code == 400


# -- inbound ---------------------------------------------------------------------------------------


def inbound_fields(body, **extra):
    sid = "SM" + "2" * 32
    return {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "Body": body,
            "From": "+15558675310", "MessageSid": sid, "NumMedia": "0", "NumSegments": "1",
            "SmsMessageSid": sid, "SmsSid": sid, "SmsStatus": "received", "To": "+15017122661",
            **extra}


def test_inbound_is_stored_and_answered_with_empty_twiml(behind_proxy, client):
    response = signed_post(client, INBOUND_PATH, inbound_fields("Héllo ✓"),
                           url=PUBLIC + INBOUND_PATH, **PROXY_HEADERS)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content == EMPTY_TWIML
    [inbound] = InboundMessage.objects.all()
    assert (inbound.from_number, inbound.to_number, inbound.text) == (
        "+15558675310", "+15017122661", "Héllo ✓")


def test_stop_then_start_maintains_the_opt_out_list(behind_proxy, client):
    signed_post(client, INBOUND_PATH, inbound_fields("Stop", OptOutType="STOP"),
                url=PUBLIC + INBOUND_PATH, **PROXY_HEADERS)
    assert OptOut.objects.filter(phone_number="+15558675310").exists()
    fields = inbound_fields("start", OptOutType="START", MessageSid="SM" + "3" * 32)
    signed_post(client, INBOUND_PATH, fields, url=PUBLIC + INBOUND_PATH, **PROXY_HEADERS)
    assert not OptOut.objects.exists()


def test_opt_out_type_decides_for_a_keyword_we_do_not_list(behind_proxy, client, settings):
    """Advanced Opt-Out lets the account add keywords (here "BASTA"): Twilio's
    OptOutType is trusted even though our keyword list does not know the word."""
    signed_post(client, INBOUND_PATH, inbound_fields("BASTA", OptOutType="STOP"),
                url=PUBLIC + INBOUND_PATH, **PROXY_HEADERS)
    [opt_out] = OptOut.objects.all()
    assert opt_out.phone_number == "+15558675310"


def test_forged_inbound_stop_is_refused(behind_proxy, debug, client):
    response = signed_post(client, INBOUND_PATH, inbound_fields("STOP", OptOutType="STOP"),
                           url=PUBLIC + INBOUND_PATH, token="forged", **PROXY_HEADERS)
    assert response.status_code in (401, 403)
    assert not OptOut.objects.exists()
    assert not InboundMessage.objects.exists()


# -- the testing helpers -------------------------------------------------------------------------


def test_testing_helpers_build_callbacks_the_backend_accepts(twilio, client):
    from django_sms.testing.webhooks import (
        post_callback,
        twilio_inbound_callback,
        twilio_status_callback,
    )

    message = twilio_message(provider_message_id="")
    response = post_callback(client, twilio_status_callback(message, alias="twilio"))
    assert response.status_code == 200, response.content
    message = reload(message)
    assert message.status == Status.DELIVERED  # matched by the reference in the URL
    tampered = twilio_status_callback(message, status="sent", alias="twilio", tamper=True)
    assert post_callback(client, tampered).status_code == 401
    unsigned = twilio_status_callback(message, alias="twilio", sign=False)
    assert post_callback(client, unsigned).status_code == 401
    response = post_callback(client, twilio_inbound_callback("+15558675310", "STOP",
                                                             alias="twilio"))
    assert response.content == EMPTY_TWIML
    assert OptOut.objects.filter(phone_number="+15558675310").exists()


def test_a_url_secret_stacks_on_the_signature(twilio, settings, client):
    secret = "stacked-url-secret-0123456789"
    settings.SMS_BACKENDS["twilio"]["OPTIONS"]["webhook_secret"] = secret
    message = twilio_message()
    path = f"/sms/webhooks/twilio/{secret}/status/"
    assert signed_post(client, path, status_fields(), url="http://testserver" + path
                       ).status_code == 200
    assert reload(message).status == Status.DELIVERED
    # Signed, but without the secret: refused.
    response = signed_post(client, STATUS_PATH, status_fields("undelivered"),
                           url="http://testserver" + STATUS_PATH)
    assert response.status_code == 401


# -- over real HTTP, through a reverse proxy -------------------------------------------------------


class _Proxy(http.server.ThreadingHTTPServer):
    """A TLS-terminating reverse proxy, as far as the app can tell: it forwards each request
    over plain HTTP to ``upstream`` and says what the client called in X-Forwarded-*."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _Proxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.com",
                        "X-Forwarded-Port": "443"})
        upstream = requests.post(self.server.upstream + self.path, data=body, headers=headers,
                                 timeout=10)
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", upstream.headers.get("Content-Type", ""))
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(live_server):
    server = _Proxy(live_server.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_over_http_behind_a_reverse_proxy_signed_for_the_public_url(behind_proxy, proxy,
                                                                    settings):
    settings.DEBUG = True
    message = twilio_message()
    public = PUBLIC + STATUS_PATH
    fields = status_fields()
    signature = RequestValidator(TOKEN).compute_signature(public, fields)
    post = functools.partial(requests.post, proxy + STATUS_PATH, timeout=10)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    forged = post(data=urlencode(fields), headers={
        **form, "X-Twilio-Signature": RequestValidator("forged").compute_signature(public,
                                                                                   fields)})
    unsigned = post(data=urlencode(fields), headers=form)
    tampered = post(data=urlencode({**fields, "MessageStatus": "failed"}),
                    headers={**form, "X-Twilio-Signature": signature})
    assert [r.status_code for r in (forged, unsigned, tampered)] == [401, 401, 401]
    assert_nothing_changed(message)

    accepted = post(data=urlencode(fields), headers={**form, "X-Twilio-Signature": signature})
    assert accepted.status_code == 200, accepted.text
    assert reload(message).status == Status.DELIVERED
