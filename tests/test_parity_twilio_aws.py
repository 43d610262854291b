"""Twilio and AWS leave the same rows, events and signals on every database.

As tests/test_parity.py does for the generic pipeline: each scenario — a send through the
provider sandbox, then the provider's own delivery reports posted to the webhook view — is
compared with the shape recorded below. CI runs it on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_sms import send_sms
from django_sms.backends import aws
from django_sms.backends.handler import sms_backends
from django_sms.testing.sandbox import Sandbox
from tests.test_parity import Signals, shape

pytestmark = pytest.mark.django_db

TO = "+33612345678"


@pytest.fixture
def sandbox(sms_sandbox: Sandbox, settings: Any) -> Iterator[Sandbox]:
    creds = sms_sandbox.credentials
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "twilio": {"BACKEND": "django_sms.backends.twilio.SmsBackend", "OPTIONS": {
            "base_url": sms_sandbox.url, "account_sid": creds.twilio_account_sid,
            "auth_token": creds.twilio_auth_token,
            # Django's test client is http://testserver: the callbacks are signed for it.
            "public_base_url": "http://testserver"}},
        "aws": {"BACKEND": "django_sms.backends.aws.SmsBackend", "OPTIONS": {
            "region_name": creds.aws_region, "endpoint_url": sms_sandbox.url + "/aws",
            "aws_access_key_id": creds.aws_access_key_id,
            "aws_secret_access_key": creds.aws_secret_access_key,
            "topic_arns": [creds.aws_events_topic_arn],
            "sns_test_url_prefixes": [sms_sandbox.url + "/aws/sns/"]}},
    }
    sms_sandbox.set_callback_url("aws", "http://testserver/sms/webhooks/aws/status/")
    aws.clear_certificate_cache()
    yield sms_sandbox
    sms_backends.close_all()


@pytest.fixture
def signals() -> Iterator[Signals]:
    with Signals() as recorder:
        yield recorder


def post_reports(client: Any, sandbox: Sandbox, alias: str) -> list[int]:
    """The provider's reports about its last message, posted in order to the webhook."""
    message = sandbox.messages.last()
    handler = sandbox.handler(alias)
    codes = []
    for callback in handler.build_status_callbacks(message, message.outcome):
        if callback.prepare is not None:
            callback = callback.prepare(callback)
        path = callback.full_url.removeprefix("http://testserver")
        response = client.generic("POST", path, data=callback.body,
                                  content_type=callback.headers["Content-Type"],
                                  headers=callback.headers)
        codes.append(response.status_code)
    return codes


SEND = [("queued", "send", None, "", True), ("sending", "send", 1, "{alias}", True),
        ("accepted", "send", 1, "{alias}", True)]
SEND_SIGNALS = [
    ("post_save", "Message", "sending", True),
    ("status_changed", "queued", "sending", "str", "str"),
    ("pre_send", "sending"),
    ("status_changed", "sending", "accepted", "str", "str"),
    ("post_send", "accepted"),
]
#: The reports each provider sends for a delivered message, as events.
REPORTS = {
    "twilio": [("accepted", "webhook", None, "twilio", False),  # Twilio's "sending"
               ("sent", "webhook", None, "twilio", True),
               ("delivered", "webhook", None, "twilio", True)],
    "aws": [("sent", "webhook", None, "aws", True),
            ("delivered", "webhook", None, "aws", True)],
}


@pytest.mark.parametrize("alias", ["twilio", "aws"])
def test_a_send_and_its_reports(sandbox, client, signals, alias):
    message = send_sms("Your code is 123456", to=TO, using=alias)
    assert post_reports(client, sandbox, alias) == [200] * len(REPORTS[alias])

    recorded = shape(message)
    assert recorded["message"] == ("delivered", 1, alias, "", None)
    expected = [tuple(alias if v == "{alias}" else v for v in e) for e in SEND]
    assert recorded["events"] == expected + REPORTS[alias]
    assert recorded["ledger"] == []
    sent_signals = [s for s in signals.seen if s[0] != "post_save"]
    assert sent_signals[:4] == [s for s in SEND_SIGNALS if s[0] != "post_save"]
    assert sent_signals[4:] == [
        ("status_changed", "accepted", "sent", "str", "str"),
        ("status_changed", "sent", "delivered", "str", "str"),
    ]
