"""The whole lifecycle of a message through Twilio and AWS End User Messaging, nothing faked.

As tests/test_end_to_end.py does for the first three providers: ``send_sms(..., using=alias)``
runs the real pipeline; the backend talks HTTP to the provider sandbox (Twilio's Messages
resource; AWS's JSON protocol through boto3); the sandbox calls the app's real webhook views
back over HTTP (``live_server``): Twilio's form callbacks signed with ``X-Twilio-Signature``
over the exact URL called, AWS's SMS events wrapped in SNS notifications signed with the
sandbox's own key, whose certificate the backend fetches from the sandbox (trusted through
the test-only ``sns_test_url_prefixes`` OPTION). The scheduler is driven with ``flush()``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from django_sms import send_sms
from django_sms.backends import aws
from django_sms.backends.handler import sms_backends
from django_sms.exceptions import OptedOut
from django_sms.models import InboundMessage, OptOut, StatusEvent, get_message_model
from django_sms.status import Status
from django_sms.sweeper import sweep
from django_sms.testing.sandbox import Outcome, Sandbox, faults

pytestmark = pytest.mark.django_db(transaction=True)

TO = "+33612345678"
SEND_STEPS = [(Status.QUEUED, Status.SENDING), (Status.SENDING, Status.ACCEPTED)]
ALIASES = ["twilio", "aws"]


def webhook_url(live_server: Any, alias: str, kind: str = "status") -> str:
    return f"{live_server.url}/sms/webhooks/{alias}/{kind}/"


@pytest.fixture
def sandbox(sms_sandbox: Sandbox, live_server: Any, settings: Any) -> Iterator[Sandbox]:
    creds = sms_sandbox.credentials
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "twilio": {
            "BACKEND": "django_sms.backends.twilio.SmsBackend",
            "OPTIONS": {
                "base_url": sms_sandbox.url,
                "account_sid": creds.twilio_account_sid,
                "auth_token": creds.twilio_auth_token,
                # Each message asks Twilio to report to this URL (+ our reference).
                "status_callback": webhook_url(live_server, "twilio"),
            },
        },
        "aws": {
            "BACKEND": "django_sms.backends.aws.SmsBackend",
            "OPTIONS": {
                "region_name": creds.aws_region,
                "endpoint_url": sms_sandbox.url + "/aws",
                "aws_access_key_id": creds.aws_access_key_id,
                "aws_secret_access_key": creds.aws_secret_access_key,
                "configuration_set_name": "sandbox",
                "topic_arns": [creds.aws_events_topic_arn, creds.aws_inbound_topic_arn],
                "sns_test_url_prefixes": [sms_sandbox.url + "/aws/sns/"],
            },
        },
    }
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "POLL_MIN_AGE": 0}
    sms_sandbox.set_callback_url("aws", webhook_url(live_server, "aws"))
    aws.clear_certificate_cache()
    yield sms_sandbox
    sms_backends.close_all()


def reload(message):
    return get_message_model().objects.get(pk=message.pk)


def timeline(message):
    return [(e.status, e.source, e.applied) for e in message.events.order_by("received_at", "pk")]


def assert_callbacks_answered_ok(sandbox: Sandbox, count: int) -> None:
    attempts = sandbox.callbacks.attempts
    assert [a.status_code for a in attempts] == [200] * count, [
        (a.status_code, a.response_body, a.error) for a in attempts
    ]


#: Reports each provider sends for a delivered message: Twilio "sending", "sent",
#: "delivered" (its "sending" is our accepted: stored, changes nothing); AWS
#: TEXT_SUCCESSFUL (not final: sent) then TEXT_DELIVERED.
REPORTS = {"twilio": 3, "aws": 2}
DELIVERED_PROVIDER_STATUS = {"twilio": "delivered", "aws": "TEXT_DELIVERED"}


@pytest.mark.parametrize("alias", ALIASES)
def test_message_is_delivered_by_its_reports(sandbox, status_signals, alias):
    message = send_sms("Your code is 123456", to=TO, using=alias)
    assert message.status == Status.ACCEPTED
    assert status_signals.transitions == SEND_STEPS

    sandbox.callbacks.flush()

    assert_callbacks_answered_ok(sandbox, REPORTS[alias])
    message = reload(message)
    assert message.status == Status.DELIVERED
    assert message.provider_status == DELIVERED_PROVIDER_STATUS[alias]
    assert message.provider_message_id == sandbox.messages.last().id
    assert message.delivered_at is not None
    assert status_signals.transitions == [
        *SEND_STEPS, (Status.ACCEPTED, Status.SENT), (Status.SENT, Status.DELIVERED)]
    applied = [(s, src) for s, src, ok in timeline(message) if ok]
    assert applied == [("queued", "send"), ("sending", "send"), ("accepted", "send"),
                       ("sent", "webhook"), ("delivered", "webhook")]


def test_twilio_callbacks_are_signed_for_the_url_with_our_reference(sandbox):
    message = send_sms("Your code is 123456", to=TO, using="twilio")
    sandbox.callbacks.flush()
    for attempt in sandbox.callbacks.attempts:
        assert attempt.request.headers["X-Twilio-Signature"]
        assert attempt.request.url.endswith(f"?sms_ref={message.reference}")


def test_aws_events_carry_parts_and_price(sandbox):
    message = send_sms("✓" * 100, to=TO, using="aws")
    sandbox.callbacks.flush()
    message = reload(message)
    assert (message.segments, message.cost, message.cost_currency) == (
        2, Decimal("0.01162"), "USD")


@pytest.mark.parametrize("alias", ALIASES)
def test_duplicate_and_out_of_order_reports_change_each_step_once(sandbox, status_signals,
                                                                  alias):
    sandbox.set_outcome(Outcome(duplicates=2, out_of_order=True), to=TO)
    message = send_sms("Your code is 123456", to=TO, using=alias)

    sandbox.callbacks.flush()

    assert_callbacks_answered_ok(sandbox, REPORTS[alias] + 2)
    message = reload(message)
    assert message.status == Status.DELIVERED
    assert message.provider_status == DELIVERED_PROVIDER_STATUS[alias]
    assert status_signals.transitions == [*SEND_STEPS, (Status.ACCEPTED, Status.DELIVERED)]
    events = [(s, src, ok) for s, src, ok in timeline(message) if src == "webhook"]
    assert events[0] == ("delivered", "webhook", True)
    assert all(not ok for _, _, ok in events[1:])  # the late ones are history only
    assert Counter(s for s, _, _ in events)[Status.DELIVERED] == 1  # duplicates stored once


@pytest.mark.parametrize(
    ("alias", "outcome", "status", "error_code", "steps"),
    [
        ("twilio", Outcome("undelivered"), Status.UNDELIVERED, "30003",
         [Status.SENT, Status.UNDELIVERED]),
        ("twilio", Outcome("failed"), Status.FAILED, "30008", [Status.FAILED]),
        ("aws", Outcome("rejected"), Status.REJECTED, "BLOCKED", [Status.REJECTED]),
        ("aws", Outcome("expired"), Status.EXPIRED, "TTL_EXPIRED", [Status.SENT, Status.EXPIRED]),
        ("aws", Outcome("undelivered"), Status.UNDELIVERED, "CARRIER_UNREACHABLE",
         [Status.SENT, Status.UNDELIVERED]),
    ],
    ids=["twilio-undelivered", "twilio-failed", "aws-blocked", "aws-ttl", "aws-unreachable"],
)
def test_failure_reports(sandbox, status_signals, alias, outcome, status, error_code, steps):
    sandbox.set_outcome(outcome, to=TO)
    message = send_sms("Your code is 123456", to=TO, using=alias)

    sandbox.callbacks.flush()

    message = reload(message)
    assert message.status == status
    assert message.error_code == error_code
    assert message.error_message
    expected = [*SEND_STEPS]
    for new in steps:
        expected.append((expected[-1][1], new))
    assert status_signals.transitions == expected
    assert not OptOut.objects.exists()


@pytest.mark.parametrize("alias", ALIASES)
def test_reports_arriving_before_the_send_answer_are_matched(sandbox, status_signals, alias):
    sandbox.inject(faults.reports_first(), provider=alias)

    message = send_sms("Your code is 123456", to=TO, using=alias)

    assert_callbacks_answered_ok(sandbox, REPORTS[alias])
    message = reload(message)
    assert message.status == Status.DELIVERED
    assert message.provider_message_id == sandbox.messages.last().id
    # Twilio's first report ("sending") is our "accepted": it beats the answer too.
    first = ([(Status.SENDING, Status.ACCEPTED), (Status.ACCEPTED, Status.SENT)]
             if alias == "twilio" else [(Status.SENDING, Status.SENT)])
    assert Counter(status_signals.transitions) == Counter(
        [(Status.QUEUED, Status.SENDING), *first, (Status.SENT, Status.DELIVERED)])


@pytest.mark.parametrize("alias", ALIASES)
def test_reports_with_real_delays_arrive_by_themselves(sandbox, status_signals, alias):
    sandbox.set_outcome(Outcome(sent_after=0.05, final_after=0.1), to=TO)
    message = send_sms("Your code is 123456", to=TO, using=alias)

    assert sandbox.callbacks.wait_idle(timeout=30)

    assert_callbacks_answered_ok(sandbox, REPORTS[alias])
    assert reload(message).status == Status.DELIVERED


def test_twilio_message_whose_reports_are_lost_is_completed_by_polling(sandbox, settings,
                                                                       status_signals):
    settings.SMS_BACKENDS["twilio"]["OPTIONS"].pop("status_callback")
    message = send_sms("Your code is 123456", to=TO, using="twilio")
    sandbox.callbacks.flush()
    assert sandbox.callbacks.attempts == []

    assert sweep().poll_changes == 1
    assert sweep().poll_changes == 0

    message = reload(message)
    assert (message.status, message.cost, message.cost_currency) == (
        Status.DELIVERED, Decimal("0.0079"), "USD")
    assert [(s, src) for s, src, _ in timeline(message)][-1] == ("delivered", "poll")


def test_twilio_inbound_stop_blocks_the_next_send(sandbox, live_server):
    handler = sandbox.handler("twilio")
    attempt = sandbox.callbacks.send_now(handler.inbound_callback(
        webhook_url(live_server, "twilio", "inbound"), from_number=TO, text="STOP"))
    assert attempt.status_code == 200
    assert attempt.response_body.startswith(b"<?xml")
    assert InboundMessage.objects.get().keyword == "STOP"
    assert OptOut.objects.filter(phone_number=TO).exists()
    with pytest.raises(OptedOut):
        send_sms("Your code is 123456", to=TO, using="twilio")

    attempt = sandbox.callbacks.send_now(handler.inbound_callback(
        webhook_url(live_server, "twilio", "inbound"), from_number=TO, text="START"))
    assert attempt.status_code == 200
    assert not OptOut.objects.exists()
    assert send_sms("Your code is 123456", to=TO, using="twilio").status == Status.ACCEPTED


def test_twilio_refusal_for_an_unsubscribed_number_records_the_opt_out(sandbox, live_server):
    # The recipient texted STOP to Twilio, but the callback never reached us.
    sandbox.handler("twilio").inbound_callback("http://unused", from_number=TO, text="STOP")
    message = send_sms("Your code is 123456", to=TO, using="twilio", fail_silently=True)
    assert (reload(message).status, reload(message).error_code) == (Status.REJECTED, "21610")
    assert OptOut.objects.filter(phone_number=TO, source=OptOut.Source.PROVIDER).exists()


def test_aws_two_way_stop_is_recorded(sandbox, live_server):
    handler = sandbox.handler("aws")
    attempt = sandbox.callbacks.send_now(handler.inbound_callback(
        webhook_url(live_server, "aws", "inbound"), from_number=TO, text="Stop"))
    assert attempt.status_code == 200, attempt.response_body
    inbound = InboundMessage.objects.get()
    assert (inbound.from_number, inbound.text) == (TO, "Stop")
    assert OptOut.objects.filter(phone_number=TO).exists()


def test_aws_messages_signed_with_another_key_are_refused(sandbox, live_server):
    from cryptography.hazmat.primitives.asymmetric import rsa

    message = send_sms("Your code is 123456", to=TO, using="aws")
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    handler = sandbox.handler("aws")
    event = {"eventType": "TEXT_BLOCKED", "isFinal": True, "messageId": message.provider_message_id}
    envelope = handler.envelope(sandbox.credentials.aws_events_topic_arn, json.dumps(event),
                                key=forger)
    forged = handler._sns_request(webhook_url(live_server, "aws"), envelope)
    attempt = sandbox.callbacks.send_now(forged)
    assert attempt.status_code == 401
    assert reload(message).status == Status.ACCEPTED
    assert not StatusEvent.objects.filter(source="webhook").exists()

    forged_stop = handler.inbound_callback(webhook_url(live_server, "aws", "inbound"),
                                           from_number=TO, text="STOP", key=forger)
    assert sandbox.callbacks.send_now(forged_stop).status_code == 401
    assert not OptOut.objects.exists()


def test_aws_subscription_is_confirmed_through_the_webhook(sandbox, live_server):
    handler = sandbox.handler("aws")
    attempt = sandbox.callbacks.send_now(handler.subscription_confirmation(
        webhook_url(live_server, "aws")))
    assert attempt.status_code == 200
    assert len(handler.confirmed) == 1


def test_aws_subscription_to_another_topic_is_not_confirmed(sandbox, live_server):
    handler = sandbox.handler("aws")
    attempt = sandbox.callbacks.send_now(handler.subscription_confirmation(
        webhook_url(live_server, "aws"), topic_arn="arn:aws:sns:eu-west-1:666:other"))
    assert attempt.status_code == 401
    assert handler.confirmed == []


def test_each_alias_completes_its_own_lifecycle(sandbox, status_signals):
    by_twilio = send_sms("Your code is 111111", to=TO, using="twilio")
    by_aws = send_sms("Your code is 222222", to="+33612345679", using="aws")

    sandbox.callbacks.flush()

    for message in (by_twilio, by_aws):
        assert reload(message).status == Status.DELIVERED
    per_message = Counter(call["message"].pk for call in status_signals.calls)
    assert per_message == {by_twilio.pk: 4, by_aws.pk: 4}
