"""Real provider backends behind the webhook endpoints, fed by the independent callback
builders of django_sms.testing.webhooks (PyJWT signing, not the backend's own code)."""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest

from django_sms.models import InboundMessage, OptOut, StatusEvent, get_message_model
from django_sms.testing.webhooks import (
    post_callback,
    vonage_inbound_callback,
    vonage_status_callback,
)

pytestmark = pytest.mark.django_db

SIGNATURE_SECRET = "vonage-signature-secret-0123456789abcdef"
PREVIOUS_SECRET = "vonage-previous-secret-0123456789abcdef"
VONAGE_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


@pytest.fixture
def vonage(settings):
    pytest.importorskip("django_sms.backends.vonage")
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "vonage": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {
                "api_key": "abcd1234",
                "api_secret": "not-used-here",
                "signature_secret": [SIGNATURE_SECRET, PREVIOUS_SECRET],
            },
        },
    }


def vonage_message(**fields):
    values = {
        "to": "+447700900000",
        "text": "Your code is 123456",
        "encoding": "GSM-7",
        "status": "accepted",
        "backend_alias": "vonage",
        "provider": "vonage",
        "provider_message_id": VONAGE_ID,
        **fields,
    }
    return get_message_model().objects.create(**values)


def test_a_signed_vonage_status_callback_is_applied(vonage, client, status_signals):
    message = vonage_message()
    callback = vonage_status_callback(
        message, status="delivered", price="0.0333", currency="EUR", count_total=2, alias="vonage"
    )

    response = post_callback(client, callback)

    assert response.status_code == 200, response.content
    assert response.json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.cost, message.cost_currency, message.segments) == (
        "delivered",
        Decimal("0.0333"),
        "EUR",
        2,
    )
    assert status_signals.transitions == [("accepted", "delivered")]
    # Vonage retries: the same callback again changes nothing.
    assert post_callback(client, callback).json()["duplicate"] == 1
    assert message.events.filter(source="webhook").count() == 1


def test_a_vonage_callback_signed_with_the_previous_secret_is_accepted(vonage, client):
    message = vonage_message()
    callback = vonage_status_callback(message, alias="vonage", signature_secret=PREVIOUS_SECRET)
    assert post_callback(client, callback).status_code == 200


def test_a_vonage_callback_is_matched_by_client_ref_before_the_send_answer(vonage, client):
    message = vonage_message(status="sending", provider_message_id="")
    callback = vonage_status_callback(
        message, status="delivered", message_uuid=VONAGE_ID, alias="vonage"
    )
    assert post_callback(client, callback).json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("delivered", VONAGE_ID)


@pytest.mark.parametrize(
    ("breakage", "kwargs"),
    [
        ("wrong secret", {"signature_secret": "not-the-secret-not-the-secret-not-the-secret"}),
        ("tampered body", {"tamper": True}),
        ("stale iat", {"iat": time.time() - 3600}),
        ("missing header", {"sign": False}),
        ("alg none", {"algorithm": "none"}),
    ],
)
def test_a_vonage_callback_that_does_not_verify_is_refused(
    vonage, client, status_signals, caplog, breakage, kwargs
):
    message = vonage_message()
    events = StatusEvent.objects.count()

    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = post_callback(
            client, vonage_status_callback(message, alias="vonage", **kwargs)
        )

    assert response.status_code == 401, breakage
    assert response.json()["detail"]
    assert response.headers["WWW-Authenticate"]
    # A SuspiciousOperation, logged where Django logs its own, with the request and the 401.
    [record] = [r for r in caplog.records if r.name.startswith("django.security.")]
    assert record.name == "django.security.WebhookAuthenticationError"
    assert record.levelno == logging.ERROR
    assert response.json()["detail"] in record.getMessage()
    assert record.status_code == 401
    assert record.request.path == "/sms/webhooks/vonage/status/"
    assert StatusEvent.objects.count() == events
    message.refresh_from_db()
    assert message.status == "accepted"
    assert status_signals.calls == []

    inbound = post_callback(client, vonage_inbound_callback("STOP", alias="vonage", **kwargs))
    assert inbound.status_code == 401, breakage
    assert not InboundMessage.objects.exists()
    assert not OptOut.objects.exists()


def test_a_signed_vonage_inbound_stop_opts_the_number_out(vonage, client):
    callback = vonage_inbound_callback("Stop", from_="447700900001", alias="vonage")
    response = post_callback(client, callback)

    assert response.status_code == 200, response.content
    inbound = InboundMessage.objects.get()
    assert (inbound.provider, inbound.from_number, inbound.text) == (
        "vonage",
        "+447700900001",
        "Stop",
    )
    assert OptOut.objects.get().phone_number == "+447700900001"
    assert post_callback(client, callback).json()["duplicate"] == 1


# -- fuzzing past the signature check -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["status", "inbound"])
def test_signed_garbage_never_gets_a_5xx(vonage, kind):
    """Correctly signed bodies of any shape reach Vonage's parser: 200 or 400, never 5xx."""
    import json

    from django.test import Client
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from django_sms.testing.webhooks import vonage_signature
    from tests.test_webhooks_fuzz import JSON_VALUES, SCALARS

    client = Client()
    vonage_message()
    fields = st.fixed_dictionaries(
        {},
        optional={
            "message_uuid": st.one_of(st.just(VONAGE_ID), SCALARS),
            "status": st.one_of(st.sampled_from(["submitted", "delivered", "rejected"]), SCALARS),
            "timestamp": st.one_of(st.just("2026-01-01T10:00:00.000Z"), SCALARS),
            "client_ref": SCALARS,
            "to": SCALARS,
            "from": st.one_of(st.just("447700900001"), SCALARS),
            "text": st.one_of(st.just("STOP"), SCALARS),
            "channel": st.one_of(st.just("sms"), SCALARS),
            "error": JSON_VALUES,
            "usage": JSON_VALUES,
            "sms": JSON_VALUES,
        },
    )
    bodies = st.one_of(
        st.binary(max_size=100),
        st.one_of(fields, JSON_VALUES).map(lambda value: json.dumps(value).encode()),
    )

    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=bodies)
    def fuzz(body):
        token = vonage_signature(body, SIGNATURE_SECRET, api_key="abcd1234")
        response = client.generic(
            "POST",
            f"/sms/webhooks/vonage/{kind}/",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code in (200, 400), response.content

    fuzz()


def test_a_url_secret_stacked_on_the_vonage_signature_is_required_too(settings, client):
    url_secret = "Vz3kQ9mW1xR7tY5uP2aS8dF4gH6jK0lZ"
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "vonage": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {"api_key": "abcd1234", "api_secret": "x",
                        "signature_secret": SIGNATURE_SECRET, "webhook_secret": url_secret},
        },
    }
    message = vonage_message()
    callback = vonage_status_callback(message, status="delivered", alias="vonage")
    assert f"/{url_secret}/status/" in callback.path  # the helper follows the OPTIONS
    without_secret = vonage_status_callback(
        message, status="delivered", alias="vonage", path="/sms/webhooks/vonage/status/"
    )
    refused = post_callback(client, without_secret)
    assert refused.status_code == 401
    assert "no secret" in refused.json()["detail"]
    assert post_callback(client, callback).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
