"""A delivery report only ever settles a message sent through the provider that reports it."""

from __future__ import annotations

import pytest

from django_sms.events import match_pending_events
from django_sms.models import StatusEvent, get_message_model
from django_sms.testing.webhooks import ovh_status_callback, post_callback

pytestmark = pytest.mark.django_db

SECRET = "k3D9wq0Jr8vT2bYxN5mLp7Hs4Zc1Fa6Ue"


@pytest.fixture(autouse=True)
def backends(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "application_key": "ak",
                "application_secret": "as",
                "consumer_key": "ck",
                "service_name": "sms-ab12345-1",
                "webhook_secret": SECRET,
            },
        },
    }


def sent_through(provider: str, provider_message_id: str):
    return get_message_model().objects.create(
        to="+33612345678",
        text="hello",
        encoding="GSM-7",
        segments=1,
        status="accepted",
        backend_alias=provider,
        provider=provider,
        provider_message_id=provider_message_id,
    )


def test_an_ovh_report_naming_a_vonage_message_changes_nothing(client):
    vonage = sent_through("vonage", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
    # Whoever holds the OVH callback URL knows (or guesses) the reference of a message sent
    # through Vonage and posts an OVH report carrying it as OVH's tag.
    callback = ovh_status_callback(
        id="555", extra={"tag": str(vonage.reference)}, alias="ovh"
    )
    response = post_callback(client, callback)

    assert response.status_code == 200  # kept for later matching, as any unknown report
    vonage.refresh_from_db()
    assert vonage.status == "accepted"
    assert not vonage.events.exists()
    # Nor does the sweeper's later matching attach it to the Vonage message.
    assert match_pending_events() == 0
    assert match_pending_events(vonage) == 0
    vonage.refresh_from_db()
    assert vonage.status == "accepted"
    assert StatusEvent.objects.get().message_id is None


def test_the_same_report_for_an_ovh_message_applies(client):
    ovh = sent_through("ovh", "555")
    callback = ovh_status_callback(
        id="555", extra={"tag": str(ovh.reference)}, alias="ovh"
    )
    assert post_callback(client, callback).status_code == 200
    ovh.refresh_from_db()
    assert ovh.status == "delivered"
