"""send_sms(..., using="mj") through the real pipeline, the Mailjet backend and the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from django_sms import send_sms
from django_sms.backends.handler import sms_backends
from django_sms.exceptions import PermanentProviderError
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome, Sandbox, faults

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(sms_sandbox: Sandbox, settings: Any) -> Iterator[Sandbox]:
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "mj": {
            "BACKEND": "django_sms.backends.mailjet.SmsBackend",
            "OPTIONS": {"token": sms_sandbox.credentials.mailjet_token,
                        "base_url": sms_sandbox.url, "read_timeout": 0.5},
        },
    }
    yield sms_sandbox
    sms_backends.close_all()


def test_send_sms_through_mailjet(sandbox: Sandbox) -> None:
    message = send_sms("Your code is 123456", to="06 12 34 56 78", using="mj")

    message.refresh_from_db()
    (request,) = sandbox.requests
    assert request.json == {"From": "TestShop", "To": "+33612345678",
                            "Text": "Your code is 123456"}
    stored = sandbox.messages.last()
    assert message.status == Status.ACCEPTED
    assert (message.provider, message.backend_alias) == ("mailjet", "mj")
    assert message.provider_message_id == stored.id
    assert message.provider_status == "sent_pending"
    assert (message.cost, message.cost_currency) == (Decimal("0.035"), "EUR")
    assert [e.status for e in message.events.order_by("pk")] == ["queued", "sending", "accepted"]


def test_status_polling_of_a_stored_message(sandbox: Sandbox) -> None:
    sandbox.set_outcome(Outcome("rejected", provider_code=11), to="+33612345678")
    message = send_sms("Hello", to="+33612345678", using="mj")
    sandbox.callbacks.flush()

    update = sms_backends["mj"].fetch_status(message)

    assert update is not None
    assert (update.status, update.provider_status, update.opted_out) == (
        Status.REJECTED, "rejected_to_blacklist", True)
    assert update.provider_message_id == message.provider_message_id


def test_transient_failure_requeues_the_message(sandbox: Sandbox) -> None:
    sandbox.inject(faults.status(503, retry_after=120))

    message = send_sms("Hello", to="+33612345678", using="mj")

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.next_attempt_at is not None
    assert "(HTTP 503)" in message.error_message
    assert len(sandbox.messages) == 0


def test_permanent_failure_is_stored_and_raised(sandbox: Sandbox) -> None:
    sandbox.inject(faults.error("insufficient_funds"))

    with pytest.raises(PermanentProviderError, match=r"sms-0001 Insufficient funds\."):
        send_sms("Hello", to="+33612345678", using="mj")

    from django_sms.models import get_message_model

    message = get_message_model().objects.get()
    assert message.status == Status.REJECTED
    assert message.error_code == "sms-0001"


def test_read_timeout_leaves_the_message_unknown(sandbox: Sandbox) -> None:
    sandbox.inject(faults.hang(3, accept=True))

    message = send_sms("Hello", to="+33612345678", using="mj", fail_silently=True)

    message.refresh_from_db()
    assert message.status == Status.UNKNOWN
    assert "may have been accepted" in message.error_message
    assert len(sandbox.messages) == 1  # it was, indeed: polling will tell


def test_many_sends_through_the_alias_share_one_connection(sandbox: Sandbox) -> None:
    for i in range(50):
        send_sms(f"Code {i}", to="+33612345678", using="mj")

    assert len(sandbox.messages) == 50
    assert sandbox.connection_count == 1


def test_sent_at_is_never_earlier_than_the_message_itself(sandbox: Sandbox) -> None:
    # Mailjet's CreationTS is whole seconds (and another machine's clock): the provider's time
    # is kept on the event, the message's timestamps never go before its own creation.
    message = send_sms("Hello", to="+33612345678", using="mj")

    message.refresh_from_db()
    accepted = message.events.get(status=Status.ACCEPTED)
    assert accepted.occurred_at is not None and accepted.occurred_at < message.created_at
    assert message.sent_at is not None and message.sent_at >= message.created_at
