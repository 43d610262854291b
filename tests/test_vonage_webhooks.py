"""Vonage webhooks: verification of the signed HS256 JWT, status and inbound parsing, and the
sandbox's callbacks received over real HTTP.

Tokens are built here with PyJWT, independently of the backend's code; the sandbox's own
signatures are checked with vonage-jwt (Vonage's library) as well.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from django_sms.backends.base import WebhookRequest
from django_sms.backends.vonage import SmsBackend as VonageBackend
from django_sms.exceptions import WebhookAuthenticationError, WebhookPayloadError
from django_sms.message import SMS
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome, Sandbox, SandboxCredentials

CREDS = SandboxCredentials()
SECRET = "account-signature-secret-number-one"

# The sandbox's public test secret is shorter than the 32 bytes PyJWT recommends for HS256;
# Vonage chooses signature secrets, so PyJWT's warning says nothing about our code.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

STATUS_BODY = {
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "to": "447700900000",
    "from": "447700900001",
    "timestamp": "2020-01-01T14:00:03.010Z",
    "status": "delivered",
    "channel": "sms",
    "client_ref": "6f1c7a52-3a4b-4c1e-9d63-2f0e5b8a9c10",
    "usage": {"currency": "EUR", "price": "0.0333"},
    "sms": {"count_total": "3"},
    "destination": {"network_code": "54321"},
}

INBOUND_BODY = {
    "channel": "sms",
    "message_uuid": "bbbbbbbb-cccc-dddd-eeee-0123456789ab",
    "to": "447700900000",
    "from": "447700900001",
    "timestamp": "2020-01-01T14:00:00.000Z",
    "message_type": "text",
    "text": "Stop sending me these",
    "sms": {"num_messages": "1", "keyword": "STOP"},
    "usage": {"currency": "EUR", "price": "0.0000"},
}

# A backend cannot be created without its credentials (issue 14 item 6); these tests are
# about webhooks, so every backend gets a dummy key pair unless a test says otherwise.
SmsBackend = functools.partial(VonageBackend, api_key="k", api_secret="s")


def token_for(body: bytes, *, secret=SECRET, iat=None, algorithm="HS256", **claims):
    payload = {
        "iat": int(time.time()) if iat is None else iat,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": "abcd1234",
        **claims,
    }
    return jwt.encode(payload, secret, algorithm=algorithm)


def webhook(body, token=None, **headers) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **headers}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    return WebhookRequest(method="POST", headers=all_headers, body=raw)


def signed(body=STATUS_BODY, **kwargs) -> WebhookRequest:
    raw = json.dumps(body).encode()
    return webhook(raw, token_for(raw, **kwargs))


@pytest.fixture
def backend():
    return SmsBackend(alias="vonage", api_key="abcd1234", api_secret="x",
                      signature_secret=SECRET)


def refused(backend, request) -> str:
    with pytest.raises(WebhookAuthenticationError) as excinfo:
        backend.verify_webhook(request, "status")
    return str(excinfo.value)


# -- verification --------------------------------------------------------------------------------


def test_a_correctly_signed_callback_is_accepted(backend):
    backend.verify_webhook(signed(), "status")
    backend.verify_webhook(signed(INBOUND_BODY), "inbound")


def test_header_lookup_is_case_insensitive(backend):
    raw = json.dumps(STATUS_BODY).encode()
    request = WebhookRequest("POST", {"authorization": f"bearer {token_for(raw)}"}, raw)
    backend.verify_webhook(request, "status")


def test_wrong_secret_is_refused(backend):
    assert "bad signature" in refused(backend, signed(secret="not-the-secret"))


def test_tampered_body_is_refused(backend):
    raw = json.dumps(STATUS_BODY).encode()
    tampered = raw.replace(b'"delivered"', b'"rejected"')
    assert "payload_hash" in refused(backend, webhook(tampered, token_for(raw)))


def test_a_re_serialised_body_does_not_match(backend):
    # Same JSON, other bytes: the hash covers the exact body received.
    raw = json.dumps(STATUS_BODY).encode()
    compact = json.dumps(STATUS_BODY, separators=(",", ":")).encode()
    assert "payload_hash" in refused(backend, webhook(compact, token_for(raw)))


def test_stale_token_is_refused(backend):
    reason = refused(backend, signed(iat=int(time.time()) - 301))
    assert "stale token" in reason
    assert "WEBHOOK_MAX_AGE" in reason


def test_webhook_max_age_setting_is_honoured(backend, settings):
    backend.verify_webhook(signed(iat=int(time.time()) - 60), "status")
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "WEBHOOK_MAX_AGE": 30}
    assert "stale token" in refused(backend, signed(iat=int(time.time()) - 60))


def test_token_from_the_future_is_refused_beyond_clock_skew(backend):
    backend.verify_webhook(signed(iat=int(time.time()) + 20), "status")
    assert "in the future" in refused(backend, signed(iat=int(time.time()) + 600))


def test_expired_exp_claim_is_refused(backend):
    assert "expired" in refused(backend, signed(exp=int(time.time()) - 3600))


def test_a_token_not_valid_yet_is_refused(backend):
    backend.verify_webhook(signed(nbf=int(time.time()) + 30), "status")  # within clock skew
    assert "not valid yet" in refused(backend, signed(nbf=int(time.time()) + 3600))


def test_a_non_numeric_exp_claim_is_refused(backend):
    reason = refused(backend, signed(exp="tomorrow"))
    assert reason.startswith("invalid token")
    assert "(exp)" in reason


def test_a_signed_payload_that_is_not_a_json_object_is_refused(backend):
    raw = json.dumps(STATUS_BODY).encode()
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    for payload, reason in ((b"[1, 2]", "must be a json object"), (b"{nope", "invalid token")):
        claims = _b64url(payload)
        signature = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256)
        token = f"{header}.{claims}.{_b64url(signature.digest())}"
        assert reason in refused(backend, webhook(raw, token))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}],
)
def test_missing_bearer_header_is_refused(backend, headers):
    request = WebhookRequest("POST", headers, json.dumps(STATUS_BODY).encode())
    assert "missing 'Authorization: Bearer" in refused(backend, request)


def test_garbage_token_is_refused(backend):
    assert "not a JWT" in refused(backend, webhook(STATUS_BODY, "not.a-jwt"))


def test_alg_none_is_refused(backend):
    raw = json.dumps(STATUS_BODY).encode()
    claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(raw).hexdigest()}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert "'none'" in refused(backend, webhook(raw, unsigned))


def test_rs256_token_is_refused(backend):
    raw = json.dumps(STATUS_BODY).encode()
    token = token_for(raw, secret=CREDS.vonage_private_key, algorithm="RS256")
    assert "'RS256'" in refused(backend, webhook(raw, token))


def test_a_token_hmac_signed_with_the_public_key_is_refused(backend):
    # RS/HS confusion: an attacker who knows the application's public key signs HS256 with
    # it (built by hand: PyJWT itself refuses PEM keys as HMAC secrets).
    raw = json.dumps(STATUS_BODY).encode()
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"iat": int(time.time()),
                                 "payload_hash": hashlib.sha256(raw).hexdigest()}).encode())
    signature = hmac.new(CREDS.vonage_public_key.encode(), f"{header}.{claims}".encode(),
                         hashlib.sha256).digest()
    forged = f"{header}.{claims}.{_b64url(signature)}"
    assert "bad signature" in refused(backend, webhook(raw, forged))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_missing_payload_hash_is_refused(backend):
    raw = json.dumps(STATUS_BODY).encode()
    token = jwt.encode({"iat": int(time.time())}, SECRET, algorithm="HS256")
    assert "payload_hash" in refused(backend, webhook(raw, token))


def test_missing_iat_is_refused(backend):
    raw = json.dumps(STATUS_BODY).encode()
    token = jwt.encode({"payload_hash": hashlib.sha256(raw).hexdigest()}, SECRET,
                       algorithm="HS256")
    assert "'iat'" in refused(backend, webhook(raw, token))


def test_secret_rotation_accepts_every_configured_secret():
    backend = SmsBackend(signature_secret=["the-new-signature-secret-after-rotation", SECRET])
    backend.verify_webhook(signed(secret=SECRET), "status")
    backend.verify_webhook(signed(secret="the-new-signature-secret-after-rotation"), "status")
    retired = signed(secret="a-retired-signature-secret-no-longer-valid")
    assert "bad signature" in refused(backend, retired)


def test_no_signature_secret_fails_closed():
    backend = SmsBackend(api_key="k", api_secret="s")
    reason = refused(backend, signed())
    assert "no 'signature_secret' or 'webhook_secret' OPTION" in reason
    assert "fail closed" in reason
    assert backend.webhook_protection("status").startswith("refused")


def test_a_malformed_signature_secret_refuses_every_callback():
    backend = SmsBackend(api_key="k", api_secret="s", signature_secret=123)
    assert "'signature_secret' must be a string" in refused(backend, signed())
    assert backend.webhook_protection("status").startswith("refused")


def test_a_url_secret_stacks_on_the_signature():
    url_secret = "Vz3kQ9mW1xR7tY5uP2aS8dF4gH6jK0lZ"
    backend = SmsBackend(api_key="k", api_secret="s", signature_secret=SECRET,
                         webhook_secret=url_secret)
    good = signed()
    good.url_secret = url_secret
    backend.verify_webhook(good, "status")
    assert "no secret" in refused(backend, signed())  # signed, but not the URL secret
    unsigned = webhook(STATUS_BODY)
    unsigned.url_secret = url_secret
    assert "missing 'Authorization: Bearer" in refused(backend, unsigned)
    protection = backend.webhook_protection("status")
    assert "HS256" in protection
    assert "secret in the callback URL" in protection


def test_the_signature_is_checked_by_pyjwt(backend, monkeypatch):
    # Issue 12 item 2: PyJWT (the [vonage] extra) verifies the token, no hand-written HMAC.
    calls = []
    real_decode = jwt.decode

    def spy(*args, **kwargs):
        calls.append(kwargs.get("algorithms"))
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", spy)
    backend.verify_webhook(signed(), "status")
    assert calls == [["HS256"]]


@pytest.mark.parametrize("iat", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_iat_is_refused(backend, iat):
    # Issue 13 item 11: JSON parsers read NaN and Infinity, and every comparison with NaN is
    # false, so such an iat passed both age tests. The claims are written by hand, as a
    # buggy signer (or one holding a leaked secret) would.
    raw = json.dumps(STATUS_BODY).encode()
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64url(
        f'{{"iat": {iat}, "payload_hash": "{hashlib.sha256(raw).hexdigest()}"}}'.encode()
    )
    signature = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256)
    token = f"{header}.{claims}.{_b64url(signature.digest())}"
    assert "'iat' claim is not a finite number" in refused(backend, webhook(raw, token))


def test_webhook_insecure_accepts_unsigned_callbacks():
    backend = SmsBackend(api_key="k", api_secret="s", webhook_insecure=True)
    backend.verify_webhook(webhook(STATUS_BODY), "status")
    assert backend.webhook_protection("status") == ""


def test_a_signature_secret_wins_over_webhook_insecure():
    backend = SmsBackend(signature_secret=SECRET, webhook_insecure=True)
    assert "missing" in refused(backend, webhook(STATUS_BODY))
    assert "HS256" in backend.webhook_protection("inbound")


def test_vonage_jwt_agrees_with_our_verification(backend):
    vonage_jwt = pytest.importorskip("vonage_jwt")
    raw = json.dumps(STATUS_BODY).encode()
    good, bad = token_for(raw), token_for(raw, secret="other")
    assert vonage_jwt.verify_signature(good, SECRET) is True
    assert vonage_jwt.verify_signature(bad, SECRET) is False
    backend.verify_webhook(webhook(raw, good), "status")
    assert "bad signature" in refused(backend, webhook(raw, bad))


# -- status webhook parsing -------------------------------------------------------------------


def parse(body, backend=None):
    backend = backend or SmsBackend()
    return backend.parse_status_webhook(webhook(body))


def test_status_webhook_is_normalised():
    [update] = parse(STATUS_BODY)

    assert update.status == Status.DELIVERED
    assert update.provider_message_id == STATUS_BODY["message_uuid"]
    assert update.message_ref == STATUS_BODY["client_ref"]
    assert update.provider_status == "delivered"
    assert update.occurred_at == datetime(2020, 1, 1, 14, 0, 3, 10000, tzinfo=UTC)
    assert (update.cost, update.cost_currency) == (Decimal("0.0333"), "EUR")
    assert update.segments == 3
    assert (update.error_code, update.error_message, update.opted_out) == ("", "", False)
    assert update.dedupe_key == (
        "vonage:aaaaaaaa-bbbb-cccc-dddd-0123456789ab:delivered:2020-01-01T14:00:03.010Z")
    assert update.raw == STATUS_BODY


@pytest.mark.parametrize(
    ("vonage_status", "error", "status"),
    [
        ("submitted", None, Status.SENT),
        ("delivered", None, Status.DELIVERED),
        ("rejected", 1250, Status.REJECTED),
        ("rejected", 1360, Status.EXPIRED),
        ("undeliverable", 1260, Status.UNDELIVERED),
        ("undeliverable", None, Status.UNDELIVERED),
        ("read", None, Status.DELIVERED),
        ("some-future-status", None, Status.ACCEPTED),
    ],
)
def test_status_mapping(vonage_status, error, status):
    body = {**STATUS_BODY, "status": vonage_status}
    if error:
        body["error"] = {"type": f"https://developer.nexmo.com/api-errors/messages#{error}",
                         "title": error, "detail": "details", "instance": "x"}
    [update] = parse(body)
    assert update.status == status
    assert update.provider_status == vonage_status
    assert update.error_code == (str(error) if error else "")


def test_opted_out_error_is_flagged():
    body = {**STATUS_BODY, "status": "rejected",
            "error": {"type": "https://developer.nexmo.com/api-errors/messages-olympus#1240",
                      "title": "1240", "detail": "Illegal Number - recipient opted out"}}
    [update] = parse(body)
    assert (update.status, update.opted_out, update.error_code) == (Status.REJECTED, True, "1240")
    assert update.error_message == "Illegal Number - recipient opted out"
    assert update.provider_status_text == "Illegal Number - recipient opted out"


def test_error_without_detail_gets_the_code_title():
    body = {**STATUS_BODY, "status": "rejected", "error": {"title": 1000}}
    [update] = parse(body)
    assert (update.error_code, update.error_message) == ("1000", "Throttled")


def test_v0_1_error_shape_is_understood():
    body = {**STATUS_BODY, "status": "rejected", "error": {"code": 1360, "reason": "TTL"}}
    [update] = parse(body)
    assert (update.status, update.error_code, update.error_message) == (
        Status.EXPIRED, "1360", "TTL")


def test_optional_fields_may_be_missing_or_odd():
    body = {"message_uuid": "m-1", "status": "submitted", "timestamp": "not a date",
            "usage": {"price": "n/a"}, "sms": {"count_total": "three"}, "error": "oops"}
    [update] = parse(body)
    assert update.status == Status.SENT
    assert (update.message_ref, update.occurred_at, update.cost, update.segments) == (
        "", None, None, None)


def test_numbers_as_numbers_are_accepted():
    body = {**STATUS_BODY, "usage": {"currency": "EUR", "price": 0.05}, "sms": {"count_total": 2}}
    [update] = parse(body)
    assert (update.cost, update.segments) == (Decimal("0.05"), 2)


def test_dedupe_key_tells_reports_apart():
    [submitted] = parse({**STATUS_BODY, "status": "submitted"})
    [delivered] = parse(STATUS_BODY)
    [again] = parse(STATUS_BODY)
    assert submitted.dedupe_key != delivered.dedupe_key == again.dedupe_key


def test_parsed_data_from_the_view_is_used():
    request = WebhookRequest("POST", {}, b"ignored", data=STATUS_BODY)
    [update] = SmsBackend().parse_status_webhook(request)
    assert update.status == Status.DELIVERED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (json.dumps({"status": "delivered"}).encode(), "'message_uuid'"),
        (json.dumps({"message_uuid": "m", "status": ""}).encode(), "'status'"),
        (json.dumps({"message_uuid": None, "status": "x"}).encode(), "'message_uuid'"),
        (json.dumps({"message_uuid": "m", "status": ["delivered"]}).encode(), "'status'"),
    ],
)
def test_malformed_status_webhook_says_why(body, reason):
    with pytest.raises(WebhookPayloadError, match=reason):
        SmsBackend().parse_status_webhook(webhook(body))


# -- inbound webhook parsing ------------------------------------------------------------------


def test_inbound_webhook_is_normalised():
    [inbound] = SmsBackend().parse_inbound_webhook(webhook(INBOUND_BODY))

    assert inbound.provider_message_id == INBOUND_BODY["message_uuid"]
    assert (inbound.from_number, inbound.to_number) == ("+447700900001", "+447700900000")
    assert inbound.text == "Stop sending me these"
    assert inbound.keyword == "STOP"
    assert inbound.occurred_at == datetime(2020, 1, 1, 14, 0, tzinfo=UTC)
    assert inbound.raw == INBOUND_BODY


def test_inbound_v0_1_number_objects_are_understood():
    body = {**INBOUND_BODY, "from": {"type": "sms", "number": "447700900001"},
            "to": {"type": "sms", "number": "447700900000"}}
    [inbound] = SmsBackend().parse_inbound_webhook(webhook(body))
    assert (inbound.from_number, inbound.to_number) == ("+447700900001", "+447700900000")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"from": None}, "'from'"),
        ({"message_uuid": ""}, "'message_uuid'"),
        ({"channel": "whatsapp"}, "not an SMS"),
        ({"text": 42}, "'text' must be a string"),
    ],
)
def test_malformed_inbound_webhook_says_why(changes, reason):
    with pytest.raises(WebhookPayloadError, match=reason):
        SmsBackend().parse_inbound_webhook(webhook({**INBOUND_BODY, **changes}))


# -- the sandbox's callbacks over real HTTP -----------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it receives and answers 204."""

    def __init__(self) -> None:
        self.received: list[WebhookRequest] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(
                        WebhookRequest("POST", dict(self.headers.items()), body, data=None))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/vonage/status/"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def sandbox(receiver) -> Iterator[Sandbox]:
    with Sandbox(callback_urls={"vonage": receiver.url}) as sandbox:
        yield sandbox


def site_backend(sandbox) -> SmsBackend:
    """The backend as a site configures it for the sandbox: same secrets on both sides."""
    return SmsBackend(alias="vonage", application_id=CREDS.vonage_application_id,
                      private_key=CREDS.vonage_private_key,
                      signature_secret=CREDS.vonage_signature_secret, base_url=sandbox.url)


def send_and_collect(sandbox, receiver, text="Hello", to="+447400123456", **options):
    backend = site_backend(sandbox)
    sms = SMS(text=text, to=to, sender="Acme", reference=str(uuid.uuid4()), options=options)
    [result] = backend.send_messages([sms])
    assert result.status == Status.ACCEPTED, result.error
    sandbox.callbacks.flush()
    updates = []
    for request in receiver.received:
        backend.verify_webhook(request, "status")
        updates += backend.parse_status_webhook(request)
    return sms, result, updates


def test_sandbox_reports_submitted_then_delivered_signed_like_vonage(sandbox, receiver):
    sms, result, updates = send_and_collect(sandbox, receiver, text="x" * 200)

    assert [u.status for u in updates] == [Status.SENT, Status.DELIVERED]
    assert [u.provider_status for u in updates] == ["submitted", "delivered"]
    for update in updates:
        assert update.provider_message_id == result.provider_message_id
        assert update.message_ref == sms.reference
        assert (update.cost, update.cost_currency, update.segments) == (
            Decimal("0.0666"), "EUR", 2)
        assert update.occurred_at is not None
    assert updates[0].occurred_at < updates[1].occurred_at


def test_sandbox_signatures_carry_vonage_claims(sandbox, receiver):
    send_and_collect(sandbox, receiver)

    for request in receiver.received:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        claims = jwt.decode(token, CREDS.vonage_signature_secret, algorithms=["HS256"])
        assert claims["iss"] == "Vonage"
        assert claims["api_key"] == CREDS.vonage_api_key
        assert claims["payload_hash"] == hashlib.sha256(request.body).hexdigest()
        assert abs(claims["iat"] - time.time()) < 60
        assert uuid.UUID(claims["jti"])


def test_vonage_jwt_verifies_the_sandbox_signatures(sandbox, receiver):
    vonage_jwt = pytest.importorskip("vonage_jwt")
    send_and_collect(sandbox, receiver)

    assert len(receiver.received) == 2
    for request in receiver.received:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        assert vonage_jwt.verify_signature(token, CREDS.vonage_signature_secret) is True
        assert vonage_jwt.verify_signature(token, "another secret") is False


def test_sandbox_reports_an_opt_out_rejection(sandbox, receiver):
    sandbox.set_outcome(Outcome("rejected", provider_code=1240), to="447400123456")

    _, _, updates = send_and_collect(sandbox, receiver)

    [update] = updates  # refused before reaching a carrier: no "submitted"
    assert (update.status, update.error_code, update.opted_out) == (
        Status.REJECTED, "1240", True)
    assert update.cost is None  # not charged


def test_sandbox_reports_undeliverable(sandbox, receiver):
    sandbox.set_outcome(Outcome("undelivered"), to="447400123456")
    _, _, updates = send_and_collect(sandbox, receiver)
    assert [(u.provider_status, u.status) for u in updates] == [
        ("submitted", Status.SENT), ("undeliverable", Status.UNDELIVERED)]
    assert updates[1].error_code == "1260"


def test_sandbox_reports_ttl_expiry_as_rejected_1360(sandbox, receiver):
    sandbox.set_outcome(Outcome("expired"), to="447400123456")
    _, _, updates = send_and_collect(sandbox, receiver, ttl=60)
    assert [(u.provider_status, u.status) for u in updates] == [
        ("submitted", Status.SENT), ("rejected", Status.EXPIRED)]
    assert updates[1].error_code == "1360"


def test_duplicate_reports_share_a_dedupe_key(sandbox, receiver):
    sandbox.set_outcome(Outcome(duplicates=2), to="447400123456")
    _, _, updates = send_and_collect(sandbox, receiver)
    assert [u.status for u in updates] == [Status.SENT] + [Status.DELIVERED] * 3
    assert len({u.dedupe_key for u in updates}) == 2
    tokens = {r.headers["Authorization"] for r in receiver.received}
    assert len(tokens) == 4  # each attempt is signed afresh


def test_per_message_webhook_url_is_used(sandbox, receiver):
    sandbox.set_callback_url("vonage", "")
    _, _, updates = send_and_collect(sandbox, receiver, webhook_url=receiver.url + "?m=1")
    assert [u.status for u in updates] == [Status.SENT, Status.DELIVERED]


def test_unsigned_sandbox_callbacks_are_refused(sandbox, receiver):
    sandbox.handler("vonage").sign_callbacks = False
    backend = site_backend(sandbox)
    backend.send_messages([SMS(text="hi", to="+447400123456", sender="Acme")])
    sandbox.callbacks.flush()

    assert receiver.received
    for request in receiver.received:
        assert "missing 'Authorization" in refused(backend, request)


def test_sandbox_inbound_callback_verifies_and_parses(sandbox, receiver):
    handler = sandbox.handler("vonage")
    callback = handler.inbound_callback(receiver.url, from_number="+447400123456",
                                        text="stop please", to_number="+447700900000")

    attempt = sandbox.callbacks.send_now(callback)

    assert attempt.ok
    [request] = receiver.received
    backend = site_backend(sandbox)
    backend.verify_webhook(request, "inbound")
    [inbound] = backend.parse_inbound_webhook(request)
    assert (inbound.from_number, inbound.to_number) == ("+447400123456", "+447700900000")
    assert (inbound.text, inbound.keyword) == ("stop please", "STOP")
