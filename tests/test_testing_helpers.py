"""The helpers users get for their own tests."""

from __future__ import annotations

from django.test import TestCase

import django_sms
from django_sms import send_sms
from django_sms.testing import SmsTestMixin


class MixinTests(SmsTestMixin, TestCase):
    def test_outbox_starts_empty_and_assert_helper_matches(self):
        django_sms.outbox.append("left over from elsewhere")
        self.setUp()
        self.assertEqual(django_sms.outbox, [])
        with self.captureOnCommitCallbacks(execute=True):
            send_sms("code 1", to="+33612345678")
            # Inside TestCase's transaction: stored, delivered on "commit" (docs/testing.rst).
            self.assertEqual(django_sms.outbox, [])
        sent = self.assertSmsSent(1, to="+33612345678")
        self.assertEqual(sent[0].text, "code 1")
        with self.assertRaises(AssertionError):
            self.assertSmsSent(to="+33600000000")


def test_sms_outbox_fixture(sms_outbox, transactional_db):
    send_sms("hello", to="+33612345678")
    assert [s.text for s in sms_outbox] == ["hello"]
