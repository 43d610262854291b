"""The provider's segment count reaches the message through real reports (issue 13 item 3,
provider side): Vonage's ``sms.count_total`` in signed status webhooks, OVH's
``numberOfSms`` when polled (and in a callback, should OVH send it), Mailjet's ``SmsCount``.
They all land in the same place, ``StatusUpdate.segments`` / ``SendResult.segments``, which
the charging code reads. (The ledger side is tested with the wallets.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from django_sms import send_sms
from django_sms.backends.handler import sms_backends
from django_sms.events import match_pending_events
from django_sms.models import StatusEvent, get_message_model
from django_sms.sweeper import Sweeper
from django_sms.testing.sandbox import Sandbox, SandboxCredentials
from django_sms.testing.webhooks import ovh_status_callback, post_callback, vonage_status_callback

pytestmark = pytest.mark.django_db

CREDS = SandboxCredentials()
SIGNATURE_SECRET = "vonage-signature-secret-0123456789abcdef"
OVH_SECRET = "k3D9wq0Jr8vT2bYxN5mLp7Hs4Zc1Fa6Ue"


@pytest.fixture
def aliases(settings: Any) -> None:
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "vonage": {"BACKEND": "django_sms.backends.vonage.SmsBackend",
                   "OPTIONS": {"api_key": "abcd1234", "api_secret": "x",
                               "signature_secret": SIGNATURE_SECRET}},
        "ovh": {"BACKEND": "django_sms.backends.ovh.SmsBackend",
                "OPTIONS": {"application_key": "a", "application_secret": "s",
                            "consumer_key": "c", "service_name": "sms-ab12345-1",
                            "webhook_secret": OVH_SECRET}},
    }


def message_of(alias: str, provider_message_id: str, segments: int = 1) -> Any:
    return get_message_model().objects.create(
        to="+33612345678", text="hello", encoding="GSM-7", segments=segments,
        status="accepted", backend_alias=alias, provider=alias,
        provider_message_id=provider_message_id,
    )


def test_vonage_count_total_in_a_signed_report_is_the_segment_count(aliases, client):
    message = message_of("vonage", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
    submitted = vonage_status_callback(message, status="submitted", alias="vonage",
                                       count_total=3, price="0.0999", currency="EUR")
    assert post_callback(client, submitted).json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.segments, message.cost) == ("sent", 3, Decimal("0.0999"))
    event = StatusEvent.objects.get(message=message, source="webhook")
    assert event.raw["sms"]["count_total"] == "3"

    # The final report without sms.count_total keeps Vonage's count.
    delivered = vonage_status_callback(message, status="delivered", alias="vonage")
    assert post_callback(client, delivered).json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.segments) == ("delivered", 3)


def test_vonage_count_below_our_estimate_is_taken_too(aliases, client):
    message = message_of("vonage", "aaaaaaaa-bbbb-cccc-dddd-0123456789ac", segments=2)
    callback = vonage_status_callback(message, status="delivered", alias="vonage",
                                      count_total=1)
    post_callback(client, callback)
    message.refresh_from_db()
    assert message.segments == 1


def test_vonage_count_of_a_report_that_beat_the_answer_is_kept_for_matching(aliases, client):
    callback = vonage_status_callback(None, status="delivered", alias="vonage",
                                      message_uuid="aaaaaaaa-bbbb-cccc-dddd-0123456789ad",
                                      count_total=4)
    assert post_callback(client, callback).json()["unmatched"] == 1
    message = message_of("vonage", "aaaaaaaa-bbbb-cccc-dddd-0123456789ad")
    assert match_pending_events(message) == 1
    message.refresh_from_db()
    assert (message.status, message.segments) == ("delivered", 4)


def test_ovh_number_of_sms_in_a_callback_is_the_segment_count(aliases, client):
    message = message_of("ovh", "987654321")
    callback = ovh_status_callback(message, alias="ovh", extra={"numberOfSms": "2"})
    assert post_callback(client, callback).status_code == 200
    message.refresh_from_db()
    assert (message.status, message.segments) == ("delivered", 2)


def test_ovh_number_of_sms_is_read_when_polling(settings, sms_sandbox: Sandbox):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "ovh": {"BACKEND": "django_sms.backends.ovh.SmsBackend",
                "OPTIONS": {"application_key": CREDS.ovh_application_key,
                            "application_secret": CREDS.ovh_application_secret,
                            "consumer_key": CREDS.ovh_consumer_key,
                            "endpoint": sms_sandbox.url}},
    }
    settings.DJANGO_SMS = {**getattr(settings, "DJANGO_SMS", {}), "POLL_MIN_AGE": 0}
    try:
        message = send_sms("x" * 200, to="+33612345678", using="ovh")
        # The sandbox bills 3 parts where we counted 2 (a carrier's count differs).
        stored = sms_sandbox.messages.get(message.provider_message_id)
        stored.segments = 3
        sms_sandbox.callbacks.flush()  # OVH's own reports go nowhere here: polling finds it
        Sweeper().run()
    finally:
        sms_backends.close_all()
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.segments == 3
