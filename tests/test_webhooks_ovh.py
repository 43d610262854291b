"""OVH delivery reports through the real webhook views (URL secret / HTTP Basic)."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.test import Client

from django_sms.events import match_pending_events
from django_sms.models import StatusEvent, get_message_model
from django_sms.testing.webhooks import ovh_status_callback, post_callback

pytestmark = pytest.mark.django_db

SECRET = "k3D9wq0Jr8vT2bYxN5mLp7Hs4Zc1Fa6Ue"


@pytest.fixture(autouse=True)
def ovh_alias(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "application_key": "ak",
                "application_secret": "as",
                "consumer_key": "ck",
                "service_name": "sms-ab12345-1",
                "webhook_secret": ["old-" + SECRET, SECRET],
            },
        },
    }


@pytest.fixture
def message():
    model = get_message_model()
    return model.objects.create(
        to="+33612345678",
        text="hello",
        encoding="GSM-7",
        segments=1,
        status="accepted",
        backend_alias="ovh",
        provider="ovh",
        provider_message_id="987654321",
    )


def test_a_callback_with_the_url_secret_is_applied(client, message, status_signals):
    response = post_callback(client, ovh_status_callback(message, alias="ovh"))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert status_signals.transitions == [("accepted", "delivered")]


@pytest.mark.parametrize("secret", ["", "wrong-" + SECRET])
def test_a_callback_without_the_secret_is_refused_and_logged_as_suspicious(
    client, message, caplog, secret
):
    callback = ovh_status_callback(message, alias="ovh", secret=secret)
    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = post_callback(client, callback)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="SMS webhooks"'
    [record] = [r for r in caplog.records if r.name.startswith("django.security.")]
    assert record.name == "django.security.WebhookAuthenticationError"
    assert "secret" in record.getMessage()
    message.refresh_from_db()
    assert message.status == "accepted"
    assert not StatusEvent.objects.filter(message=message, source="webhook").exists()


def test_the_old_secret_still_works_during_rotation(client, message):
    callback = ovh_status_callback(message, alias="ovh", secret="old-" + SECRET)
    assert post_callback(client, callback).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


def test_http_basic_password_is_accepted(client, message):
    callback = ovh_status_callback(message, alias="ovh", secret="", basic_auth=("ovh", SECRET))
    assert post_callback(client, callback).status_code == 200


@pytest.mark.parametrize("secret", ["", "wrong-" + SECRET])
def test_a_callback_without_the_right_secret_is_refused_and_stores_nothing(
    client, message, secret
):
    response = post_callback(client, ovh_status_callback(message, alias="ovh", secret=secret))
    assert response.status_code == 401
    assert StatusEvent.objects.count() == 0
    message.refresh_from_db()
    assert message.status == "accepted"


def test_the_same_callback_twice_changes_the_message_once(client, message, status_signals):
    callback = ovh_status_callback(message, alias="ovh", date="2026-11-22 10:00:00")
    assert post_callback(client, callback).status_code == 200
    assert post_callback(client, callback).status_code == 200
    assert StatusEvent.objects.filter(message=message).count() == 1
    assert len(status_signals.calls) == 1


def test_a_failure_report_is_applied_with_its_reason(client, message):
    callback = ovh_status_callback(message, alias="ovh", ptt=23, description=2)
    assert post_callback(client, callback).status_code == 200
    message.refresh_from_db()
    assert message.is_final and message.status != "delivered"
    assert message.error_code == "ptt-23"


def test_a_report_for_an_unknown_message_is_kept(client):
    callback = ovh_status_callback(id="555", alias="ovh")
    assert post_callback(client, callback).status_code == 200
    event = StatusEvent.objects.get()
    assert (event.message, event.provider_message_id) == (None, "555")


# -- the 20-character tag (issue 14 item 5) -------------------------------------------------------


def sending_message(reference=None):
    """A message whose send answer is not stored yet: no OVH id, only our reference."""
    fields = {"reference": reference} if reference is not None else {}
    return get_message_model().objects.create(
        to="+33612345678", text="hello", encoding="GSM-7", segments=1, status="sending",
        backend_alias="ovh", provider="ovh", provider_message_id="", **fields,
    )


def test_a_report_carrying_the_20_character_tag_finds_its_message(client, status_signals):
    message = sending_message()
    tag = message.reference.hex[:20]
    callback = ovh_status_callback(id="777001", alias="ovh", extra={"tag": tag})
    response = post_callback(client, callback)
    assert response.status_code == 200
    assert response.json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("delivered", "777001")
    assert StatusEvent.objects.get(message=message, source="webhook").message_ref == tag


def test_a_legacy_36_character_tag_still_finds_its_message(client):
    # Messages sent before the short tag are in flight with the whole reference as tag.
    message = sending_message()
    callback = ovh_status_callback(id="777002", alias="ovh",
                                   extra={"tag": str(message.reference)})
    assert post_callback(client, callback).json()["applied"] == 1
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_tag_two_messages_share_decides_nothing(client):
    prefix = "0123456789abcdef0123"
    first = sending_message(uuid.UUID(hex=prefix + "4" + "0" * 11))
    second = sending_message(uuid.UUID(hex=prefix + "4" + "f" * 11))
    callback = ovh_status_callback(id="777003", alias="ovh", extra={"tag": prefix})
    assert post_callback(client, callback).json()["unmatched"] == 1
    for message in (first, second):
        message.refresh_from_db()
        assert message.status == "sending"


def test_a_report_whose_tag_beat_the_message_is_matched_later_by_the_tag():
    reference = uuid.uuid4()
    client = Client()
    callback = ovh_status_callback(id="777004", alias="ovh",
                                   extra={"tag": reference.hex[:20]})
    assert post_callback(client, callback).json()["unmatched"] == 1
    message = sending_message(reference)
    assert match_pending_events() == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("delivered", "777004")
    assert match_pending_events(message) == 0  # attached once
