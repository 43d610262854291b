"""The HTTP log filter keeps masking every code still being sent when another send ends."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace

import pytest

from django_sms.verification import redaction

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
