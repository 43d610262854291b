"""Reading the codes the locmem backend "sent", for testing sign-up and login flows.

``last_verification_code("+33612345678")`` returns the code of the last SMS sent to that
number (from ``django_sms.outbox``), so a test types it without parsing texts. The pytest
plugin offers it as the ``verification_code`` fixture; Django ``TestCase`` users mix in
:class:`VerificationTestMixin`.
"""

from __future__ import annotations

import re
from typing import Any

import django_sms

#: The autofill line (``@host #code``), else the first run of 4-10 digits.
_BOUND = re.compile(r"^@\S+ #(\d{4,10})(?: \S+)?$", re.MULTILINE)
_DIGITS = re.compile(r"(?<!\d)(\d{4,10})(?!\d)")


def last_verification_code(to: Any) -> str:
    """The code of the last SMS the locmem backend sent to ``to`` (any accepted spelling).

    Raises ``AssertionError`` (with what was sent) when no code was sent to that number.
    """
    # Imported here, not at the top: the pytest plugin imports this package before Django's
    # settings are configured, and django_sms.phone reads them when it is imported.
    from django_sms.phone import parse_recipient

    number = parse_recipient(to).e164
    for sms in reversed(django_sms.outbox):
        if sms.to != number:
            continue
        match = _BOUND.search(sms.text) or _DIGITS.search(sms.text)
        if match:
            return match.group(1)
    sent = [(sms.to, sms.text) for sms in django_sms.outbox]
    raise AssertionError(f"No verification code was sent to {number}; the outbox holds {sent}")


class VerificationTestMixin:
    """For ``TestCase``: ``self.last_verification_code(number)``; empties the outbox before
    each test (use it with or instead of ``SmsTestMixin``)."""

    def setUp(self) -> None:
        django_sms.outbox.clear()
        super().setUp()  # type: ignore[misc]

    def last_verification_code(self, to: Any) -> str:
        return last_verification_code(to)
