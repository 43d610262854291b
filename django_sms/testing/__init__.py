"""Helpers for testing projects that send SMS: the outbox plugin, a test-case mixin and the
provider sandbox."""

from django_sms.testing.mixins import SmsTestMixin
from django_sms.testing.verification import VerificationTestMixin, last_verification_code

__all__ = ["SmsTestMixin", "VerificationTestMixin", "last_verification_code"]
