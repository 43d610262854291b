"""MessageAdmin reused for a project's own message model (runs with --ds=tests.settings_swapped)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin

from django_sms import send_sms
from django_sms.models import Message, get_message_model
from tests.test_admin_messages import confirm, page_text

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", None) != "swapped.CustomMessage",
        reason="needs --ds=tests.settings_swapped",
    ),
]

CHANGELIST = "/admin/swapped/custommessage/"


def test_the_swapped_out_default_is_not_registered():
    assert not admin.site.is_registered(Message)


def test_message_admin_works_for_the_swapped_model(admin_client):
    message = send_sms("hello", to="+33612345678")
    message.campaign = "spring"
    message.save()

    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "+33612345678" in page_text(response)

    detail = admin_client.get(f"{CHANGELIST}{message.pk}/change/")
    assert detail.status_code == 200
    text = page_text(detail)
    assert "Status timeline" in text
    assert "Campaign: spring" in text  # the project's own field, in "Other"

    confirmation = admin_client.post(
        CHANGELIST, {"action": "resend", "index": 0, "_selected_action": [message.pk]}
    )
    response = confirm(admin_client, confirmation, CHANGELIST)
    assert "resent as message" in page_text(response)
    assert get_message_model().objects.filter(resent_from=message).count() == 1
