"""The callback builders of django_sms.testing.webhooks, checked with PyJWT directly (the
provider backends' own verification is exercised in tests/test_webhooks_providers.py)."""

from __future__ import annotations

import hashlib
import json
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from django_sms.exceptions import ConfigurationError
from django_sms.testing.webhooks import (
    Callback,
    ovh_status_callback,
    post_callback,
    vonage_inbound_callback,
    vonage_signature,
    vonage_status_callback,
)

SECRET = "vonage-signature-secret-for-tests"


@pytest.fixture(autouse=True)
def backends(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "vonage": {
            "BACKEND": "django_sms.backends.locmem.SmsBackend",
            "OPTIONS": {"signature_secret": [SECRET, "older"], "api_key": "key123"},
        },
        "ovh": {
            "BACKEND": "django_sms.backends.locmem.SmsBackend",
            "OPTIONS": {"webhook_secret": "url-secret-0123"},
        },
        "hook": {
            "BACKEND": "tests.webhook_backend.SmsBackend",
            "OPTIONS": {"secrets": ["s"]},
        },
    }


def claims_of(callback: Callback, secret: str = SECRET) -> dict:
    scheme, token = callback.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    return jwt.decode(token, secret, algorithms=["HS256"])


def test_a_vonage_status_callback_is_signed_as_vonage_signs():
    callback = vonage_status_callback(
        status="rejected",
        message_uuid="aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        client_ref="ref-1",
        to="+447700900000",
        error=(1250, "Unroutable"),
        price="0.0333",
        count_total=2,
        alias="vonage",
    )
    assert (callback.method, callback.path) == ("POST", "/sms/webhooks/vonage/status/")
    assert callback.content_type == "application/json"
    data = json.loads(callback.body)
    assert data["message_uuid"] == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    assert (data["status"], data["to"], data["client_ref"]) == ("rejected", "447700900000", "ref-1")
    assert data["error"]["title"] == 1250 and data["error"]["detail"] == "Unroutable"
    assert data["usage"] == {"currency": "EUR", "price": "0.0333"}
    assert data["sms"] == {"count_total": "2"}
    assert data["timestamp"].endswith("Z")

    claims = claims_of(callback)  # the first secret of the rotation list
    assert claims["iss"] == "Vonage"
    assert claims["api_key"] == "key123"
    assert claims["payload_hash"] == hashlib.sha256(callback.body).hexdigest()
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["jti"]
    assert jwt.get_unverified_header(callback.headers["Authorization"][7:])["alg"] == "HS256"


def test_a_vonage_status_callback_for_a_stored_message(transactional_db):
    from django_sms import send_sms

    message = send_sms("hi", to="+447400123456")
    data = json.loads(vonage_status_callback(message, alias="vonage").body)
    assert data["message_uuid"] == message.provider_message_id
    assert data["client_ref"] == str(message.reference)
    assert data["to"] == "447400123456"


def test_broken_vonage_callbacks():
    tampered = vonage_status_callback(alias="vonage", tamper=True)
    assert claims_of(tampered)["payload_hash"] != hashlib.sha256(tampered.body).hexdigest()

    stale = vonage_status_callback(alias="vonage", iat=time.time() - 3600)
    assert time.time() - claims_of(stale)["iat"] >= 3600

    with pytest.raises(jwt.InvalidSignatureError):
        claims_of(
            vonage_status_callback(
                alias="vonage", signature_secret="wrong-secret-wrong-secret-wrong-secret"
            )
        )

    assert "Authorization" not in vonage_status_callback(alias="vonage", sign=False).headers

    unsigned = vonage_status_callback(alias="vonage", algorithm="none")
    token = unsigned.headers["Authorization"][7:]
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert token.endswith(".")  # no signature part
    with pytest.raises(jwt.InvalidAlgorithmError):
        claims_of(unsigned)


def test_a_vonage_inbound_callback():
    callback = vonage_inbound_callback("Stop please", from_="+447700900001", alias="vonage")
    assert callback.path == "/sms/webhooks/vonage/inbound/"
    data = json.loads(callback.body)
    assert (data["from"], data["to"], data["text"]) == (
        "447700900001",
        "447700900000",
        "Stop please",
    )
    assert data["sms"] == {"num_messages": "1", "keyword": "STOP"}
    assert data["channel"] == "sms" and data["message_type"] == "text"
    assert claims_of(callback)["payload_hash"] == hashlib.sha256(callback.body).hexdigest()
    altered = vonage_inbound_callback("STOP", alias="vonage", tamper=True)
    assert json.loads(altered.body)["text"] == "STOP (altered)"


def test_signing_needs_a_secret():
    with pytest.raises(ConfigurationError, match="signature_secret"):
        vonage_status_callback(alias="default")
    assert vonage_status_callback(alias="default", signature_secret="x").headers


def test_vonage_signature_accepts_extra_claims():
    key = "k" * 32
    token = vonage_signature(b"{}", key, claims={"application_id": "app"}, iat=1_700_000_000)
    claims = jwt.decode(token, key, algorithms=["HS256"], options={"verify_iat": False})
    assert claims["application_id"] == "app" and claims["iat"] == 1_700_000_000
    assert claims["payload_hash"] == hashlib.sha256(b"{}").hexdigest()


def test_an_ovh_status_callback_is_a_get_with_the_url_secret():
    callback = ovh_status_callback(id=987654, ptt=5, description=2, alias="ovh")
    url = urlsplit(callback.path)
    assert callback.method == "GET" and callback.body == b""
    assert url.path == "/sms/webhooks/ovh/url-secret-0123/status/"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {
        "id": "987654",
        "ptt": "5",
        "description": "2",
        "descriptionDlr": "Failure",
        "date": query["date"],
    }

    without = ovh_status_callback(id=1, alias="ovh", secret="")
    assert urlsplit(without.path).path == "/sms/webhooks/ovh/status/"
    basic = ovh_status_callback(id=1, alias="ovh", basic_auth=("ovh", "pw"))
    assert basic.headers["Authorization"] == "Basic b3ZoOnB3"
    form = ovh_status_callback(id=1, alias="ovh", method="POST")
    assert form.content_type == "application/x-www-form-urlencoded"
    assert b"id=1" in form.body and "?" not in form.path


@pytest.mark.django_db
def test_post_callback_makes_the_request_with_the_test_client(client):
    callback = Callback(
        "POST",
        "/sms/webhooks/hook/inbound/",
        {"X-Test-Secret": "s"},
        b'{"id": "1", "from": "+33612345678", "text": "hi"}',
        "application/json",
    )
    assert post_callback(client, callback).json() == {"received": 1, "stored": 1, "duplicate": 0}
    query = Callback("GET", "/sms/webhooks/hook/s/inbound/?id=2&from=%2B33612345678&text=yo")
    assert post_callback(client, query).json()["stored"] == 1
