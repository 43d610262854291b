"""The hand-written peer of ``send_sms()``: what a developer writes without this app.

Parse and check the number with ``phonenumbers``, store the message with the ORM, post it to
the provider with ``requests`` (:mod:`benchmarks.providers`: the same endpoint, credentials
and body as the app's backend), then store the answer on the message and one event row —
on the app's own tables, so both write the same rows with the same indexes. Each ORM call
is its own statement in autocommit, as a developer would write it.

What it leaves out, and the app does not: the sender and text checks, segments and
encoding, the opt-out list, idempotency keys, wallets, the claim that keeps two workers
from sending one message, the status rules, retries and failover, the error
classification, the signals, and the events before the answer (``queued``, ``sending``)
that explain a message whose process died during the request.
"""

from __future__ import annotations

import phonenumbers
from django.utils import timezone

from benchmarks.providers import SENDER, Post
from django_sms.models import EventSource, Message, StatusEvent
from django_sms.status import Status


class InvalidNumber(ValueError):
    pass


def hand_written_send(post: Post, provider: str, text: str, to: str) -> Message:
    """Send ``text`` to ``to`` through ``post``; the stored message."""
    number = phonenumbers.parse(to, "FR")
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber(f"not a valid phone number: {to}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    message = Message.objects.create(
        to=e164,
        country=phonenumbers.region_code_for_number(number) or "",
        sender=SENDER,
        text=text,
        encoding="GSM-7",
        backend_alias="default",
        provider=provider,
    )

    provider_id = post(text, e164, str(message.reference))

    now = timezone.now()
    message.status = Status.ACCEPTED
    message.provider_message_id = provider_id
    message.sent_at = now
    message.attempts = 1
    message.save(update_fields=["status", "provider_message_id", "sent_at", "attempts",
                                "updated_at"])
    StatusEvent.objects.create(
        message=message,
        status=Status.ACCEPTED,
        source=EventSource.SEND,
        backend_alias="default",
        provider=provider,
        provider_message_id=provider_id,
        received_at=now,
    )
    return message
