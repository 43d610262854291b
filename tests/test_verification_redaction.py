"""The HTTP log filter keeps masking every code still being sent when another send ends."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace

import pytest

from django_sms.verification import redaction, start_verification

pytestmark = pytest.mark.django_db


def log_line(*codes: str) -> str:
    record = logging.LogRecord(
        "django_sms.http", logging.DEBUG, __file__, 1, "body: %s", (" ".join(codes),), None
    )
    redaction.CodeLogFilter().filter(record)
    return record.getMessage()


def test_a_finished_send_does_not_unmask_the_codes_of_sends_still_in_flight():
    # Two sends in flight at once (two worker threads), codes of the same length.
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    redaction._send_with(SimpleNamespace(text="Code ******"), "111111", first)
    redaction._send_with(SimpleNamespace(text="Code ******"), "222222", second)
    try:
        assert log_line("111111", "222222") == "body: ****** ******"

        # The first send ends (post_send): only its own code leaves the filter.
        done = SimpleNamespace(
            metadata={redaction.METADATA_KEY: first}, text="Code ******", status="accepted"
        )
        redaction.forget_code(sender=None, message=done)

        assert log_line("111111", "222222") == "body: 111111 ******"
    finally:
        redaction._in_flight.pop(second, None)
        redaction._in_flight.pop(first, None)


@pytest.mark.django_db(transaction=True)
def test_the_aws_sdk_debug_log_never_shows_the_code(sms_sandbox, settings, caplog):
    """boto3 logs each request's body at DEBUG (``botocore.endpoint``): the code is masked
    there as in the app's own HTTP log."""
    pytest.importorskip("boto3")
    creds = sms_sandbox.credentials
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.aws.SmsBackend",
            "OPTIONS": {
                "region_name": creds.aws_region,
                "endpoint_url": sms_sandbox.url + "/aws",
                "aws_access_key_id": creds.aws_access_key_id,
                "aws_secret_access_key": creds.aws_secret_access_key,
                "origination_identity": "MyBrand",
                "max_attempts": 1,
                "webhook_insecure": True,
            },
        }
    }
    to = "+33612345678"
    with caplog.at_level(logging.DEBUG, logger="botocore"):
        start_verification(to)
    (request,) = sms_sandbox.requests
    code = request.json["MessageBody"][:6]
    assert code.isdigit()
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("botocore")]
    assert any("SendTextMessage" in line for line in logged)  # the request was logged
    assert all(code not in line for line in logged)
