"""A missing or empty credential is a configuration error before anything is sent or stored
(issue 14 item 6): servers such as gunicorn run no system checks, so ``send_sms()`` itself
must refuse, naming the alias and the OPTION, with no row stored and no request sent."""

from __future__ import annotations

from typing import Any

import pytest

from django_sms import send_sms
from django_sms.backends.handler import sms_backends
from django_sms.exceptions import ConfigurationError
from django_sms.models import StatusEvent, get_message_model
from django_sms.testing.sandbox import Sandbox, SandboxCredentials

pytestmark = pytest.mark.django_db

CREDS = SandboxCredentials()


def mailjet(sandbox: Sandbox, **options: Any) -> dict[str, Any]:
    return {"BACKEND": "django_sms.backends.mailjet.SmsBackend",
            "OPTIONS": {"base_url": sandbox.url, **options}}


def vonage(sandbox: Sandbox, **options: Any) -> dict[str, Any]:
    return {"BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {"base_url": sandbox.url, **options}}


def ovh(sandbox: Sandbox, **options: Any) -> dict[str, Any]:
    keys = {"application_key": CREDS.ovh_application_key,
            "application_secret": CREDS.ovh_application_secret,
            "consumer_key": CREDS.ovh_consumer_key}
    return {"BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {"endpoint": sandbox.url, **keys, **options}}


CASES = [
    (mailjet, {}, "'token' OPTION"),
    (mailjet, {"token": ""}, "'token' OPTION"),
    (vonage, {"application_id": "app-id"}, "'private_key' OPTION"),
    (vonage, {"private_key": CREDS.vonage_private_key}, "'application_id' OPTION"),
    (vonage, {}, "'application_id' and 'private_key' OPTIONS"),
    (ovh, {"consumer_key": ""}, "'consumer_key' OPTION"),
    (ovh, {"application_key": None, "application_secret": " "},
     "'application_key' and 'application_secret' OPTIONS"),
]


@pytest.mark.parametrize(("backend", "options", "missing"), CASES)
def test_send_sms_refuses_before_storing_or_sending(
    settings: Any, sms_sandbox: Sandbox, backend: Any, options: dict[str, Any], missing: str
) -> None:
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "provider": backend(sms_sandbox, **options),
    }
    try:
        with pytest.raises(ConfigurationError) as excinfo:
            send_sms("Your code is 123456", to="+33612345678", sender="MyShop",
                     using="provider")
    finally:
        sms_backends.close_all()

    message = str(excinfo.value)
    assert message.startswith("SMS backend 'provider' (django_sms.backends.")
    assert f"needs the {missing}, missing or empty in SMS_BACKENDS['provider']['OPTIONS']" \
        in message
    assert not get_message_model().objects.exists()
    assert not StatusEvent.objects.exists()
    assert sms_sandbox.requests == []  # not even OVH's /auth/time


def test_a_complete_configuration_still_sends(settings: Any, sms_sandbox: Sandbox) -> None:
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "provider": mailjet(sms_sandbox, token=CREDS.mailjet_token),
    }
    try:
        message = send_sms("Your code is 123456", to="+33612345678", sender="MyShop",
                           using="provider")
    finally:
        sms_backends.close_all()
    assert message.status == "accepted"
    assert len(sms_sandbox.requests) == 1
