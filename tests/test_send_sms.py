"""send_sms() through the real pipeline with the development backends."""

from __future__ import annotations

import pytest
from django.db import transaction

import django_sms
from django_sms import SMS, send_mass_sms, send_sms
from django_sms.exceptions import (
    InvalidMessage,
    InvalidRecipient,
    InvalidSender,
    MessageTooLong,
    OptedOut,
    SendCanceled,
)
from django_sms.models import OptOut, StatusEvent, get_message_model
from django_sms.signals import post_send, pre_send

pytestmark = pytest.mark.django_db


def test_send_sms_stores_the_message_with_its_history(status_signals):
    message = send_sms("Your code is 123456", to="06 12 34 56 78")

    message.refresh_from_db()
    assert message.to == "+33612345678"  # national input, PHONENUMBER_DEFAULT_REGION = FR
    assert message.country == "FR"
    assert message.sender == "TestShop"  # DJANGO_SMS["DEFAULT_SENDER"]
    assert message.text == "Your code is 123456"
    assert (message.encoding, message.segments) == ("GSM-7", 1)
    assert message.status == "delivered"
    assert message.backend_alias == "default"
    assert message.provider == "locmem"
    assert message.provider_message_id == f"locmem-{message.reference}"
    assert message.attempts == 1
    assert message.delivered_at is not None
    assert [e.status for e in message.events.all()] == ["queued", "sending", "delivered"]
    assert status_signals.transitions == [("queued", "sending"), ("sending", "delivered")]
    assert [s.to for s in django_sms.outbox] == ["+33612345678"]
    assert django_sms.outbox[0].reference == str(message.reference)


def test_unicode_and_multipart_texts_are_analysed():
    message = send_sms("Café ça va ? " * 10, to="+33612345678")
    assert (message.encoding, message.segments) == ("UCS-2", 2)


def test_sender_argument_and_metadata_are_stored():
    message = send_sms("hi", to="+447400123456", sender="Acme", metadata={"order": 42})
    message.refresh_from_db()
    assert (message.sender, message.country, message.metadata) == ("Acme", "GB", {"order": 42})


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"to": "12"}, InvalidRecipient, "'12'"),
        ({"to": "+33 1 42 68 53 00"}, InvalidRecipient, "+33 1 42 68 53 00"),
        ({"to": "+33612345678", "sender": "WayTooLongSender"}, InvalidSender, "11"),
        ({"to": "+33612345678", "sender": "Bad#Sender"}, InvalidSender, "#"),
        ({"to": "+33612345678", "text": "x" * 766}, MessageTooLong, "6 GSM-7 segments"),
        ({"to": "+33612345678", "text": "   "}, InvalidMessage, "empty"),
    ],
)
def test_invalid_input_raises_a_clear_error_and_stores_nothing(kwargs, error, words):
    kwargs.setdefault("text", "hello")
    with pytest.raises(error) as excinfo:
        send_sms(**kwargs)
    assert words in str(excinfo.value)
    assert get_message_model().objects.count() == 0
    assert django_sms.outbox == []


def test_max_segments_setting_is_honoured(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "MAX_SEGMENTS": 1}
    with pytest.raises(MessageTooLong, match="at most 1"):
        send_sms("x" * 161, to="+33612345678")


def test_idempotency_key_returns_the_same_row_and_sends_once():
    first = send_sms("code 1", to="+33612345678", idempotency_key="order-7")
    second = send_sms("code 1", to="+33612345678", idempotency_key="order-7")
    assert first.pk == second.pk
    assert len(django_sms.outbox) == 1
    assert get_message_model().objects.count() == 1


def test_a_send_inside_a_rolled_back_transaction_sends_nothing():
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        send_sms("hello", to="+33612345678")
        raise Rollback
    assert django_sms.outbox == []
    assert get_message_model().objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_send_inside_a_transaction_is_delivered_after_commit(status_signals):
    with transaction.atomic():
        message = send_sms("hello", to="+33612345678")
        assert message.status == "queued"
        assert django_sms.outbox == []
    assert len(django_sms.outbox) == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert [e.status for e in message.events.all()] == ["queued", "sending", "delivered"]
    assert status_signals.transitions == [("queued", "sending"), ("sending", "delivered")]


def test_opted_out_numbers_are_refused_before_anything_is_stored():
    OptOut.objects.create(phone_number="+33612345678", source="admin")
    with pytest.raises(OptedOut, match=r"\+33612345678 has opted out"):
        send_sms("hello", to="06 12 34 56 78")
    assert get_message_model().objects.count() == 0


def test_opt_out_scoped_to_a_sender_only_blocks_that_sender():
    OptOut.objects.create(phone_number="+33612345678", sender="Promo", source="keyword")
    with pytest.raises(OptedOut, match="from sender 'Promo'"):
        send_sms("hello", to="+33612345678", sender="Promo")
    assert send_sms("hello", to="+33612345678", sender="Bank").status == "delivered"


def test_the_sql_of_a_sync_send(sql_statements):
    """The documented budget (docs/overview.rst): the opt-out lookup, the row and its two
    events before the provider is called, the answer and its event after — the same five
    statements on every database."""
    send_sms("warm-up", to="+33612345679")  # content types, backend instance
    with sql_statements() as statements:
        send_sms("Your code is 123456", to="+33612345678")
    kinds = [sql.split(None, 1)[0].upper() for sql in statements.sql]
    assert kinds == ["SELECT", "INSERT", "INSERT", "UPDATE", "INSERT"], statements.sql
    assert '"django_sms_optout"' in statements.sql[0]


def test_pre_send_receiver_can_cancel(status_signals):
    def cancel(sender, message, sms, **kwargs):
        raise SendCanceled("customer has no consent")

    pre_send.connect(cancel)
    try:
        message = send_sms("hello", to="+33612345678")
    finally:
        pre_send.disconnect(cancel)
    message.refresh_from_db()
    assert message.status == "canceled"
    assert django_sms.outbox == []
    assert message.events.last().provider_status_text == "customer has no consent"


def test_post_send_receives_the_result():
    seen = []

    def receiver(sender, message, result, **kwargs):
        seen.append((message.pk, result.status))

    post_send.connect(receiver)
    try:
        message = send_sms("hello", to="+33612345678")
    finally:
        post_send.disconnect(receiver)
    assert seen == [(message.pk, "delivered")]


def test_a_broken_status_changed_receiver_does_not_break_sending():
    from django_sms.signals import status_changed

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    status_changed.connect(broken)
    try:
        message = send_sms("hello", to="+33612345678")
    finally:
        status_changed.disconnect(broken)
    assert message.status == "delivered"


def test_sms_value_object_send():
    message = SMS("hello", "+33612345678", sender="Acme", metadata={"a": 1}).send()
    assert message.sender == "Acme"
    assert django_sms.outbox[0].sender == "Acme"


def test_send_mass_sms_stores_one_row_per_recipient(status_signals):
    messages = send_mass_sms(
        [
            ("hello 1", "+33612345601"),
            ("hello 2", "+33612345602", "Other"),
            SMS("hello 3", "+447400123456"),
        ]
    )
    assert [m.to for m in messages] == ["+33612345601", "+33612345602", "+447400123456"]
    assert [m.sender for m in messages] == ["TestShop", "Other", "TestShop"]
    assert {m.status for m in messages} == {"delivered"}
    assert len(django_sms.outbox) == 3
    assert StatusEvent.objects.count() == 9
    assert len(status_signals.calls) == 6


def test_send_mass_sms_validates_every_message_before_storing_any():
    with pytest.raises(InvalidRecipient):
        send_mass_sms([("ok", "+33612345601"), ("bad", "not a number")])
    assert get_message_model().objects.count() == 0


def test_using_selects_a_backend_alias(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "quiet": {
            "BACKEND": "django_sms.backends.dummy.SmsBackend",
            "OPTIONS": {"status": "accepted"},
        },
    }
    message = send_sms("hello", to="+33612345678", using="quiet")
    assert (message.backend_alias, message.provider, message.status) == (
        "quiet",
        "dummy",
        "accepted",
    )
    assert django_sms.outbox == []


def test_routes_pick_an_alias_by_destination_country(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "uk": {"BACKEND": "django_sms.backends.dummy.SmsBackend"},
    }
    settings.DJANGO_SMS = {"ROUTES": {"GB": "uk", "*": "default"}}
    assert send_sms("hi", to="+447400123456").backend_alias == "uk"
    assert send_sms("hi", to="+33612345678").backend_alias == "default"


def test_unknown_alias_is_a_clear_error():
    from django_sms.backends.handler import InvalidSmsBackend

    with pytest.raises(InvalidSmsBackend, match="nope"):
        send_sms("hello", to="+33612345678", using="nope")
