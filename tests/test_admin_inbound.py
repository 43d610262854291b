"""The inbound messages and opt-out admin pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import DELETION, LogEntry

from django_sms import send_sms
from django_sms.exceptions import OptedOut
from django_sms.models import InboundMessage, OptOut
from tests.test_admin_messages import page_text

pytestmark = pytest.mark.django_db

INBOUND = "/admin/django_sms/inboundmessage/"
OPT_OUTS = "/admin/django_sms/optout/"


def make_inbound(**fields: Any) -> InboundMessage:
    values = {
        "backend_alias": "default",
        "provider": "locmem",
        "provider_message_id": "in-1",
        "from_number": "+33612345678",
        "to_number": "+33700000000",
        "text": "STOP please",
        "keyword": "STOP",
    }
    values.update(fields)
    return InboundMessage.objects.create(**values)


def test_inbound_messages_are_browsable_and_searchable(admin_client):
    make_inbound()
    make_inbound(provider_message_id="in-2", from_number="+447400123456", text="hello", keyword="")

    response = admin_client.get(INBOUND)
    assert response.status_code == 200
    text = page_text(response)
    assert "STOP please" in text and "+447400123456" in text

    response = admin_client.get(INBOUND, {"q": "+4474"})
    assert [m.from_number for m in response.context["cl"].result_list] == ["+447400123456"]
    response = admin_client.get(INBOUND, {"q": "in-1"})
    assert [m.provider_message_id for m in response.context["cl"].result_list] == ["in-1"]
    response = admin_client.get(INBOUND, {"keyword": "STOP"})
    assert [m.provider_message_id for m in response.context["cl"].result_list] == ["in-1"]


def test_inbound_messages_are_read_only(admin_client):
    message = make_inbound()
    assert admin_client.get(f"{INBOUND}add/").status_code == 403
    response = admin_client.get(f"{INBOUND}{message.pk}/change/")
    assert response.status_code == 200
    assert "STOP please" in page_text(response)
    assert admin_client.post(f"{INBOUND}{message.pk}/change/", {"text": "x"}).status_code == 403


def test_operator_adds_an_opt_out_with_a_reason(admin_client, admin_user):
    response = admin_client.post(
        f"{OPT_OUTS}add/",
        {"phone_number": "06 12 34 56 78", "sender": "", "reason": "Asked by phone on 3 May"},
    )
    assert response.status_code == 302
    opt_out = OptOut.objects.get()
    assert opt_out.phone_number == "+33612345678"  # normalised to E.164
    assert (opt_out.source, opt_out.reason, opt_out.created_by) == (
        "admin",
        "Asked by phone on 3 May",
        admin_user,
    )
    # The pipeline now refuses the number.
    with pytest.raises(OptedOut):
        send_sms("hello", to="+33612345678")

    text = page_text(admin_client.get(OPT_OUTS))
    assert "+33612345678" in text and "every sender" in text and "Operator" in text


def test_opt_out_form_requires_a_valid_number_and_a_reason(admin_client):
    response = admin_client.post(f"{OPT_OUTS}add/", {"phone_number": "12", "reason": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["phone_number"] == ["12 is not a valid phone number."]
    assert errors["reason"] == ["This field is required."]
    OptOut.objects.create(phone_number="+33612345678", source="keyword")
    response = admin_client.post(
        f"{OPT_OUTS}add/", {"phone_number": "+33612345678", "reason": "again"}
    )
    assert "already exists" in str(response.context["adminform"].form.errors)
    assert OptOut.objects.count() == 1


def test_only_the_reason_of_an_opt_out_can_be_changed(admin_client):
    opt_out = OptOut.objects.create(phone_number="+33612345678", source="keyword", reason="STOP")
    response = admin_client.post(
        f"{OPT_OUTS}{opt_out.pk}/change/",
        {"phone_number": "+33699999999", "sender": "Other", "reason": "STOP by SMS"},
    )
    assert response.status_code == 302
    opt_out.refresh_from_db()
    assert (opt_out.phone_number, opt_out.sender, opt_out.reason) == (
        "+33612345678",
        "",
        "STOP by SMS",
    )


def test_operator_removes_an_opt_out_and_the_log_keeps_it(admin_client, admin_user):
    opt_out = OptOut.objects.create(phone_number="+33612345678", source="keyword", reason="STOP")
    response = admin_client.post(f"{OPT_OUTS}{opt_out.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not OptOut.objects.exists()
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert (entry.user, entry.object_repr) == (admin_user, "+33612345678")
    assert send_sms("hello", to="+33612345678").status == "delivered"


def test_opt_outs_are_searched_by_number(admin_client):
    OptOut.objects.create(phone_number="+33612345678", source="keyword")
    OptOut.objects.create(phone_number="+447400123456", source="keyword")
    response = admin_client.get(OPT_OUTS, {"q": "+44"})
    assert [o.phone_number for o in response.context["cl"].result_list] == ["+447400123456"]
    response = admin_client.get(OPT_OUTS, {"q": "stop"})
    assert list(response.context["cl"].result_list) == []
