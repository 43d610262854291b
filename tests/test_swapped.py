"""Runs only with --ds=tests.settings_swapped: the message model swapped for CustomMessage."""

from __future__ import annotations

import pytest
from django.conf import settings

from django_sms import send_sms
from django_sms.models import Message, StatusEvent, get_message_model

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", None) != "swapped.CustomMessage",
        reason="needs --ds=tests.settings_swapped",
    ),
]


def test_send_sms_stores_the_swapped_model():
    from tests.swapped.models import CustomMessage

    assert get_message_model() is CustomMessage
    message = send_sms("hello", to="+33612345678", metadata={"campaign": "x"})
    assert isinstance(message, CustomMessage)
    message.campaign = "spring"
    message.save()
    assert StatusEvent.objects.filter(message=message).count() == 3
    assert Message._meta.swapped == "swapped.CustomMessage"
