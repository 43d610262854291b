"""The Vonage backend sending over real HTTP to the provider sandbox (Messages API).

Oracles independent of our code: PyJWT decodes the application JWT we send against the
application's public key; vonage-jwt (Vonage's own library) makes tokens the sandbox accepts.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import time
import uuid

import jwt
import pytest
import requests
from django.core.management import call_command

from django_sms import SMS, send_sms
from django_sms.backends import vonage
from django_sms.backends.vonage import SmsBackend
from django_sms.checks import check_backends
from django_sms.encoding import analyze
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    MessageTooLong,
    PermanentProviderError,
    TransientProviderError,
)
from django_sms.models import get_message_model
from django_sms.status import Status
from django_sms.testing.sandbox import SandboxCredentials, faults

CREDS = SandboxCredentials()
TO = "+447400123456"


def make_backend(sandbox, **options):
    defaults = {
        "application_id": CREDS.vonage_application_id,
        "private_key": CREDS.vonage_private_key,
        "base_url": sandbox.url,
        "timeout": (2, 5),
    }
    return SmsBackend(alias="vonage", **{**defaults, **options})


def make_sms(text="Your code is 123456", to=TO, sender="Acme", **kwargs):
    analysis = analyze(text)
    return SMS(text=text, to=to, sender=sender, reference=str(uuid.uuid4()),
               encoding=analysis.encoding, segments=analysis.segments, **kwargs)


def send(backend, sms):
    [result] = backend.send_messages([sms])
    return result


def bearer(request):
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    return token


# -- success ---------------------------------------------------------------------------------


def test_send_posts_the_messages_api_body_and_returns_the_message_uuid(sms_sandbox):
    backend = make_backend(sms_sandbox)
    sms = make_sms()

    result = send(backend, sms)

    assert result.error is None
    assert result.status == Status.ACCEPTED
    [request] = sms_sandbox.requests
    assert (request.method, request.path, request.status) == ("POST", "/v1/messages", 202)
    assert request.json == {
        "message_type": "text",
        "channel": "sms",
        "to": "447400123456",
        "from": "Acme",
        "text": "Your code is 123456",
        "client_ref": sms.reference,
        "sms": {"encoding_type": "text"},
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("django-transactional-sms/")
    assert result.provider_message_id == json.loads(request.response_body)["message_uuid"]
    stored = sms_sandbox.messages.get(result.provider_message_id)
    assert stored is not None
    assert (stored.to, stored.sender, stored.reference) == ("447400123456", "Acme", sms.reference)
    assert stored.extra["auth"] == "jwt"


def test_the_jwt_verifies_with_pyjwt_against_the_application_public_key(sms_sandbox):
    send(make_backend(sms_sandbox), make_sms())

    token = bearer(sms_sandbox.requests[0])
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, CREDS.vonage_public_key, algorithms=["RS256"])

    assert header == {"alg": "RS256", "typ": "JWT"}
    assert set(claims) == {"application_id", "iat", "jti", "exp"}
    assert claims["application_id"] == CREDS.vonage_application_id
    assert claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 60
    assert uuid.UUID(claims["jti"]).version == 4


def test_a_token_made_by_vonage_jwt_is_accepted_by_the_sandbox(sms_sandbox):
    vonage_jwt = pytest.importorskip("vonage_jwt")
    token = vonage_jwt.JwtClient(
        CREDS.vonage_application_id, CREDS.vonage_private_key
    ).generate_application_jwt().decode()
    body = {"message_type": "text", "channel": "sms", "to": "447400123456", "from": "Acme",
            "text": "hi"}

    response = requests.post(f"{sms_sandbox.url}/v1/messages", json=body,
                             headers={"Authorization": f"Bearer {token}"}, timeout=5)

    assert response.status_code == 202
    assert uuid.UUID(response.json()["message_uuid"])


def test_the_jwt_is_reused_across_requests(sms_sandbox):
    backend = make_backend(sms_sandbox)
    for _ in range(3):
        assert send(backend, make_sms()).status == Status.ACCEPTED

    tokens = {bearer(r) for r in sms_sandbox.requests}
    assert len(tokens) == 1
    assert len(set(sms_sandbox.handler("vonage").seen_jtis)) == 1


def test_the_jwt_is_regenerated_shortly_before_it_expires(sms_sandbox, monkeypatch):
    backend = make_backend(sms_sandbox)
    real = time.time()
    # The first token is made 880 s "ago": still valid, but only 20 s of its 900 are left.
    monkeypatch.setattr(vonage, "_now", lambda: real - 880)
    send(backend, make_sms())
    monkeypatch.setattr(vonage, "_now", lambda: real)
    send(backend, make_sms())
    send(backend, make_sms())

    first, second, third = (bearer(r) for r in sms_sandbox.requests)
    assert first != second == third
    assert [r.status for r in sms_sandbox.requests] == [202, 202, 202]
    old = jwt.decode(first, CREDS.vonage_public_key, algorithms=["RS256"])
    new = jwt.decode(second, CREDS.vonage_public_key, algorithms=["RS256"])
    assert old["jti"] != new["jti"]
    assert new["iat"] == int(real)


def test_jwt_lifetime_option(sms_sandbox):
    send(make_backend(sms_sandbox, jwt_lifetime=120), make_sms())
    claims = jwt.decode(bearer(sms_sandbox.requests[0]), CREDS.vonage_public_key,
                        algorithms=["RS256"])
    assert claims["exp"] - claims["iat"] == 120


def test_private_key_can_be_a_file_path(sms_sandbox, tmp_path):
    path = tmp_path / "private.key"
    path.write_text(CREDS.vonage_private_key)

    result = send(make_backend(sms_sandbox, private_key=str(path)), make_sms())

    assert result.status == Status.ACCEPTED


def test_private_key_with_flattened_newlines_is_accepted(sms_sandbox):
    flattened = CREDS.vonage_private_key.strip().replace("\n", "\\n")
    result = send(make_backend(sms_sandbox, private_key=flattened), make_sms())
    assert result.status == Status.ACCEPTED


def test_basic_auth_with_api_key_and_secret(sms_sandbox):
    backend = SmsBackend(alias="vonage", api_key=CREDS.vonage_api_key,
                         api_secret=CREDS.vonage_api_secret, base_url=sms_sandbox.url)

    result = send(backend, make_sms())

    assert result.status == Status.ACCEPTED
    expected = base64.b64encode(f"{CREDS.vonage_api_key}:{CREDS.vonage_api_secret}".encode())
    assert sms_sandbox.requests[0].headers["Authorization"] == f"Basic {expected.decode()}"
    assert sms_sandbox.messages.last().extra["auth"] == "basic"


def test_wrong_basic_secret_is_a_permanent_auth_failure(sms_sandbox):
    backend = SmsBackend(alias="vonage", api_key=CREDS.vonage_api_key, api_secret="wrong",
                         base_url=sms_sandbox.url)

    result = send(backend, make_sms())

    assert isinstance(result.error, PermanentProviderError)
    assert result.status == Status.FAILED
    assert (result.error.status_code, result.error.code) == (401, "unauthorized")
    assert "You did not provide correct credentials" in str(result.error)
    assert "wrong" not in str(result.error)  # the secret never shows
    assert len(sms_sandbox.messages) == 0


def test_a_jwt_from_another_key_is_refused(sms_sandbox):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()

    result = send(make_backend(sms_sandbox, private_key=other), make_sms())

    assert result.status == Status.FAILED
    assert (result.error.status_code, result.error.code) == (401, "unauthorized")


# -- encodings and lengths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding_type", "parts"),
    [
        ("Hello", "text", 1),
        ("x" * 161, "text", 2),
        ("Prix: 10€ {promo}", "text", 1),
        ("Привет, как дела?", "unicode", 1),
        ("Café ça va ? " * 10, "unicode", 2),
        ("😀" * 36, "unicode", 2),
    ],
)
def test_encoding_type_follows_the_analysis(sms_sandbox, text, encoding_type, parts):
    sms = make_sms(text)
    assert sms.segments == parts

    result = send(make_backend(sms_sandbox), sms)

    assert result.status == Status.ACCEPTED
    body = sms_sandbox.requests[0].json
    assert body["sms"] == {"encoding_type": encoding_type}
    assert body["text"] == text
    assert sms_sandbox.messages.last().segments == parts


def test_numeric_sender_is_sent_without_plus(sms_sandbox):
    send(make_backend(sms_sandbox), make_sms(sender="+447700900001"))
    assert sms_sandbox.requests[0].json["from"] == "447700900001"


def test_ttl_and_webhook_url_options(sms_sandbox):
    sms = make_sms(options={"ttl": 600, "webhook_url": "https://example.com/sms/status"})

    send(make_backend(sms_sandbox), sms)

    body = sms_sandbox.requests[0].json
    assert (body["ttl"], body["webhook_url"], body["webhook_version"]) == (
        600, "https://example.com/sms/status", "v1")


def test_a_text_over_1000_characters_is_refused_before_any_request(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms("x" * 1001))

    assert isinstance(result.error, PermanentProviderError)
    assert result.status == Status.REJECTED
    assert "1000 characters" in str(result.error)
    assert sms_sandbox.requests == []


def test_missing_sender_fails_clearly(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms(sender=""))
    assert result.status == Status.FAILED
    assert "sender" in str(result.error)
    assert sms_sandbox.requests == []


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "exception", "status", "code", "http"),
    [
        (faults.auth_rejection(), PermanentProviderError, Status.FAILED, "unauthorized", 401),
        (faults.status(403), PermanentProviderError, Status.FAILED, "forbidden", 403),
        (faults.error("low_balance"), PermanentProviderError, Status.REJECTED, "low-balance",
         403),
        (faults.error("opted_out"), PermanentProviderError, Status.REJECTED, "1240", 422),
        (faults.error("invalid_sender"), PermanentProviderError, Status.REJECTED, "1420", 422),
        (faults.error("throttled"), TransientProviderError, Status.QUEUED, "1000", 422),
        (faults.status(429), TransientProviderError, Status.QUEUED, "rate-limit", 429),
        (faults.status(500), TransientProviderError, Status.QUEUED, "", 500),
        (faults.status(503), TransientProviderError, Status.QUEUED, "", 503),
    ],
    ids=str,
)
def test_errors_are_mapped(sms_sandbox, fault, exception, status, code, http):
    sms_sandbox.inject(fault, provider="vonage")

    result = send(make_backend(sms_sandbox), make_sms())

    assert type(result.error) is exception
    assert result.status == status
    assert (result.error.code, result.error.status_code) == (code, http)
    assert result.error.provider == "vonage"
    assert len(sms_sandbox.messages) == 0


def test_problem_title_and_detail_are_in_the_error(sms_sandbox):
    sms_sandbox.inject(faults.error("low_balance"))
    result = send(make_backend(sms_sandbox), make_sms())
    assert "Low balance: This request could not be performed" in str(result.error)
    assert "[vonage]" in str(result.error)


def test_429_honours_retry_after(sms_sandbox):
    sms_sandbox.inject(faults.status(429, retry_after=7))

    result = send(make_backend(sms_sandbox), make_sms())

    assert isinstance(result.error, TransientProviderError)
    assert result.error.retry_after == 7
    assert "Rate Limit Hit" in result.error.text


def test_422_invalid_parameters_are_reported(sms_sandbox):
    # The sandbox validates like Vonage: "Bad#Sender" is no valid sender ID.
    result = send(make_backend(sms_sandbox), make_sms(sender="Bad#Sender"))

    assert isinstance(result.error, PermanentProviderError)
    assert result.status == Status.REJECTED
    assert result.error.code == "1150"
    assert "Invalid params" in result.error.text
    assert "from: must be a number" in result.error.text


def test_a_hang_past_the_read_timeout_is_ambiguous(sms_sandbox):
    sms_sandbox.inject(faults.hang(3, accept=True))

    result = send(make_backend(sms_sandbox, timeout=(2, 0.5)), make_sms())

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert "may have been accepted" in str(result.error)
    assert len(sms_sandbox.messages) == 1  # it was, in fact


def test_malformed_json_is_ambiguous_not_a_crash(sms_sandbox):
    sms_sandbox.inject(faults.malformed_json())

    result = send(make_backend(sms_sandbox), make_sms())

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert "could not be understood" in str(result.error)


def test_a_connection_refused_is_transient():
    backend = SmsBackend(alias="vonage", api_key="k", api_secret="s",
                         base_url="http://127.0.0.1:9")
    result = send(backend, make_sms())
    assert isinstance(result.error, TransientProviderError)


# -- configuration ---------------------------------------------------------------------------


def test_base_url_default_region_and_override():
    def base_url(**options):
        return SmsBackend(api_key="k", api_secret="s", **options).base_url

    assert base_url() == "https://api.nexmo.com"
    assert base_url(region="eu") == "https://api-eu.vonage.com"
    assert base_url(region="US") == "https://api-us.vonage.com"
    assert base_url(region="ap") == "https://api-ap.vonage.com"
    assert base_url(region="eu", base_url="http://127.0.0.1:1/") == "http://127.0.0.1:1"


def check_ids(backend):
    return [(m.id, m.msg) for m in backend.check()]


def test_check_accepts_either_credential_pair():
    assert check_ids(SmsBackend(application_id="a", private_key=CREDS.vonage_private_key)) == []
    assert check_ids(SmsBackend(api_key="k", api_secret="s")) == []


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({}, "the 'application_id' and 'private_key' OPTIONS"),
        ({"private_key": CREDS.vonage_private_key}, "the 'application_id' OPTION"),
        ({"application_id": "a", "private_key": ""}, "the 'private_key' OPTION"),
        ({"application_id": "a", "api_key": "k", "api_secret": "s"}, "the 'private_key' OPTION"),
        ({"api_key": "k"}, "the 'api_secret' OPTION"),
        ({"api_secret": "s", "api_key": " "}, "the 'api_key' OPTION"),
    ],
)
def test_missing_credentials_refuse_to_create_the_backend(settings, options, missing):
    with pytest.raises(ConfigurationError) as excinfo:
        SmsBackend(alias="v", **options)
    assert str(excinfo.value).startswith(
        f"SMS backend 'v' (django_sms.backends.vonage) needs {missing}, missing or empty in "
        "SMS_BACKENDS['v']['OPTIONS']."
    )
    assert "'api_key' and 'api_secret'" in str(excinfo.value)  # the alternative is named
    settings.SMS_BACKENDS = {"v": {"BACKEND": "django_sms.backends.vonage.SmsBackend",
                                   "OPTIONS": options}}
    assert [m.id for m in check_backends() if m.id.startswith("django_sms.E01")] == [
        "django_sms.E010"]


def test_check_reports_an_unusable_private_key(tmp_path):
    [(check_id, msg)] = check_ids(SmsBackend(application_id="a", private_key="/nonexistent.key"))
    assert check_id == "django_sms.E012"
    assert "cannot read '/nonexistent.key'" in msg
    bad = tmp_path / "bad.key"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    [(check_id, msg)] = check_ids(SmsBackend(application_id="a", private_key=str(bad)))
    assert (check_id, "not a valid PEM private key" in msg) == ("django_sms.E012", True)


def test_check_reports_bad_region_lifetime_and_secrets():
    messages = check_ids(SmsBackend(api_key="k", api_secret="s", region="mars",
                                    jwt_lifetime=10, signature_secret=["ok", ""]))
    assert [m[0] for m in messages] == ["django_sms.E012"] * 3
    texts = " | ".join(m[1] for m in messages)
    for expected in ("'mars'", "jwt_lifetime", "'signature_secret' must be a string"):
        assert expected in texts


def test_check_explains_how_to_install_pyjwt(monkeypatch):
    monkeypatch.setitem(sys.modules, "jwt", None)  # import jwt -> ImportError
    [message] = SmsBackend(application_id="a", private_key=CREDS.vonage_private_key).check()
    assert message.id == "django_sms.E011"
    assert message.hint == 'pip install "django-transactional-sms[vonage]"'


def test_send_without_pyjwt_fails_the_message_clearly(monkeypatch, sms_sandbox):
    monkeypatch.setitem(sys.modules, "jwt", None)
    result = send(make_backend(sms_sandbox), make_sms())
    assert result.status == Status.FAILED
    assert "django-transactional-sms[vonage]" in str(result.error)
    assert sms_sandbox.requests == []


def test_secrets_are_masked_in_debug_logs(sms_sandbox, caplog):
    caplog.set_level("DEBUG", logger="django_sms.http")
    backend = SmsBackend(alias="vonage", api_key=CREDS.vonage_api_key,
                         api_secret=CREDS.vonage_api_secret, base_url=sms_sandbox.url, debug=True)
    send(backend, make_sms())
    assert "/v1/messages" in caplog.text
    assert CREDS.vonage_api_secret not in caplog.text
    assert base64.b64encode(f"{CREDS.vonage_api_key}:{CREDS.vonage_api_secret}".encode()
                            ).decode() not in caplog.text


# -- through the pipeline ------------------------------------------------------------------------


@pytest.fixture
def vonage_alias(settings, sms_sandbox):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "vonage": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {
                "application_id": CREDS.vonage_application_id,
                "private_key": CREDS.vonage_private_key,
                "signature_secret": CREDS.vonage_signature_secret,
                "base_url": sms_sandbox.url,
            },
        },
    }
    return sms_sandbox


@pytest.mark.django_db
def test_send_sms_through_vonage_stores_the_provider_answer(vonage_alias):
    text = "Café ça va ? " * 10  # UCS-2, 2 parts

    message = send_sms(text, to="+447400123456", using="vonage")

    message.refresh_from_db()
    stored = vonage_alias.messages.last()
    assert message.status == Status.ACCEPTED
    assert (message.provider, message.backend_alias) == ("vonage", "vonage")
    assert message.provider_message_id == stored.id
    assert stored.reference == str(message.reference)  # client_ref finds the message later
    assert (message.encoding, message.segments) == ("UCS-2", 2)
    assert stored.segments == message.segments
    assert vonage_alias.requests[0].json["from"] == "TestShop"


@pytest.mark.django_db
def test_send_sms_through_vonage_records_a_refusal(vonage_alias):
    vonage_alias.inject(faults.error("opted_out"))

    with pytest.raises(PermanentProviderError, match="1240"):
        send_sms("hello", to="+447400123456", using="vonage")

    message = get_message_model().objects.get()
    assert message.status == Status.REJECTED
    assert message.error_code == "1240"


@pytest.mark.django_db
def test_vonage_caps_texts_at_six_parts(vonage_alias, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "MAX_SEGMENTS": 10}
    with pytest.raises(MessageTooLong, match="at most 6"):
        send_sms("x" * (153 * 6 + 1), to="+447400123456", using="vonage")
    assert send_sms("x" * (153 * 6), to="+447400123456", using="vonage").segments == 6


@pytest.mark.django_db
def test_sequential_sends_reuse_one_connection(vonage_alias):
    for _ in range(200):
        send_sms("hello", to="+447400123456", using="vonage")
    assert len(vonage_alias.messages) == 200
    assert vonage_alias.connection_count == 1


@pytest.mark.django_db
def test_sendtestsms_against_the_sandbox(vonage_alias):
    out = io.StringIO()

    call_command("sendtestsms", "+447400123456", "--using", "vonage", "--text", "Hi", stdout=out)

    text = out.getvalue()
    assert "Status:       accepted" in text
    assert f"Provider id:  {vonage_alias.messages.last().id}" in text
    assert vonage_alias.requests[0].json["text"] == "Hi"


# -- the sandbox plays Vonage strictly ----------------------------------------------------------


def raw_post(sandbox, body, headers):
    return requests.post(f"{sandbox.url}/v1/messages", data=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json", **headers}, timeout=5)


VALID = {"message_type": "text", "channel": "sms", "to": "447400123456", "from": "Acme",
         "text": "hi"}


def app_token(**claims):
    now = int(time.time())
    base = {"application_id": CREDS.vonage_application_id, "iat": now,
            "jti": str(uuid.uuid4()), "exp": now + 900}
    return jwt.encode({k: v for k, v in {**base, **claims}.items() if v is not None},
                      CREDS.vonage_private_key, algorithm="RS256")


@pytest.mark.parametrize(
    ("token", "problem", "reason"),
    [
        (lambda: app_token(exp=int(time.time()) - 3600), "#jwt-expired", "expired"),
        (lambda: app_token(application_id="someone-else"), "#unauthorized", "application_id"),
        (lambda: app_token(jti=None), "#unauthorized", "'jti'"),
        (lambda: app_token(iat=int(time.time()) + 3600), "#unauthorized", "future"),
        (lambda: jwt.encode({"application_id": CREDS.vonage_application_id}, "k" * 32,
                            algorithm="HS256"), "#unauthorized", "RS256"),
        (lambda: "abc", "#unauthorized", "compact JWS"),
    ],
)
def test_sandbox_refuses_bad_application_jwts(sms_sandbox, token, problem, reason):
    response = raw_post(sms_sandbox, VALID, {"Authorization": f"Bearer {token()}"})

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith(problem)
    assert reason in response.headers["X-Sandbox-Reason"]


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"to": "+447400123456"}, "to"),
        ({"to": "0033612345678"}, "to"),
        ({"from": "WayTooLongSender"}, "from"),
        ({"text": "x" * 1001}, "text"),
        ({"client_ref": "r" * 101}, "client_ref"),
        ({"channel": "whatsapp"}, "channel"),
        ({"message_type": "image"}, "message_type"),
        ({"sms": {"encoding_type": "binary"}}, "sms.encoding_type"),
        ({"sms": {"encoding_type": "text"}, "text": "Привет"}, "sms.encoding_type"),
        ({"ttl": 5}, "ttl"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_sandbox_validates_payloads_like_vonage(sms_sandbox, changes, name):
    response = raw_post(sms_sandbox, {**VALID, **changes},
                        {"Authorization": f"Bearer {app_token()}"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/messages#1150")
    assert [p["name"] for p in problem["invalid_parameters"]] == [name]
    assert len(sms_sandbox.messages) == 0


@pytest.mark.django_db
def test_per_message_options_survive_the_pipeline(vonage_alias):
    SMS("hello", to="+447400123456", options={"ttl": 600}).send(using="vonage")
    assert vonage_alias.requests[0].json["ttl"] == 600


def test_capabilities():
    backend = SmsBackend(api_key="k", api_secret="s")
    assert (backend.supports_status_polling, backend.supports_status_webhooks,
            backend.supports_inbound) == (False, True, True)
    with pytest.raises(NotImplementedError, match="no status polling"):
        backend.fetch_status(None)
