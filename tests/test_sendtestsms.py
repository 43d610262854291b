from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

import django_sms

pytestmark = pytest.mark.django_db


def test_sendtestsms_prints_the_result():
    out = io.StringIO()
    call_command("sendtestsms", "06 12 34 56 78", "--text", "Hi there", stdout=out)
    text = out.getvalue()
    assert "To:           +33612345678" in text
    assert "Status:       delivered" in text
    assert "Encoding:     GSM-7" in text and "Segments:     1" in text
    assert "Provider id:  locmem-" in text
    assert django_sms.outbox[0].text == "Hi there"


def test_sendtestsms_fails_clearly_on_bad_input():
    with pytest.raises(CommandError, match="InvalidRecipient"):
        call_command("sendtestsms", "12", stdout=io.StringIO())
    with pytest.raises(CommandError, match="'nope'"):
        call_command("sendtestsms", "+33612345678", "--using", "nope", stdout=io.StringIO())


def test_sendtestsms_exits_non_zero_when_the_provider_refuses(settings):
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.dummy.SmsBackend",
            "OPTIONS": {"status": "rejected"},
        }
    }
    with pytest.raises(CommandError, match="rejected"):
        call_command("sendtestsms", "+33612345678", stdout=io.StringIO())
