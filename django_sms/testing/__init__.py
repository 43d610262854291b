"""Helpers for testing projects that send SMS: the outbox plugin, a test-case mixin and the
provider sandbox."""

from django_sms.testing.mixins import SmsTestMixin

__all__ = ["SmsTestMixin"]
