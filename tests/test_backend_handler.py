"""``sms_backends``: aliases, and what a developer reads when one is wrong."""

from __future__ import annotations

import pytest

from django_sms import send_sms
from django_sms.backends.handler import InvalidSmsBackend, sms_backends
from django_sms.exceptions import ConfigurationError
from django_sms.models import get_message_model

pytestmark = pytest.mark.django_db


def test_an_unknown_alias_names_the_setting_and_the_configured_aliases(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "fr": {"BACKEND": "django_sms.backends.dummy.SmsBackend"},
    }
    with pytest.raises(InvalidSmsBackend) as excinfo:
        send_sms("hello", to="+33612345678", using="nope")
    message = str(excinfo.value)
    assert message == (
        "The SMS backend alias 'nope' is not configured: add it to the SMS_BACKENDS setting. "
        "Configured aliases: 'default', 'fr' (from SMS_BACKENDS)."
    )
    assert isinstance(excinfo.value, ConfigurationError)
    assert not get_message_model().objects.exists()


def test_with_the_simple_setting_the_message_says_so(settings):
    settings.SMS_BACKENDS = None
    settings.SMS_BACKEND = "django_sms.backends.locmem.SmsBackend"
    with pytest.raises(InvalidSmsBackend, match=r"'nope' .* SMS_BACKENDS setting\. Configured "
                       r"aliases: 'default' \(from SMS_BACKEND \(which defines only"):
        sms_backends["nope"]


def test_a_configured_alias_still_resolves(settings):
    settings.SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"}}
    assert sms_backends["default"].alias == "default"
