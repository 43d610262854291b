"""For projects that use Django's own test runner instead of pytest."""

from __future__ import annotations

from typing import Any


class SmsTestMixin:
    """Empties ``django_sms.outbox`` before each test, like Django does for ``mail.outbox``::

    class SignupTests(SmsTestMixin, TestCase):
        def test_code_is_sent(self):
            ...
            self.assertEqual(len(django_sms.outbox), 1)
    """

    def setUp(self) -> None:
        import django_sms

        django_sms.outbox.clear()
        super().setUp()  # type: ignore[misc]

    def assertSmsSent(self, count: int | None = None, **fields: Any) -> list[Any]:
        """Assert SMS were sent (matching ``fields`` such as ``to=``) and return them."""
        import django_sms

        matching = [
            sms
            for sms in django_sms.outbox
            if all(getattr(sms, name) == value for name, value in fields.items())
        ]
        if count is None:
            self.assertTrue(matching, f"No SMS sent matching {fields}.")  # type: ignore[attr-defined]
        else:
            self.assertEqual(len(matching), count, f"SMS matching {fields}: {matching}")  # type: ignore[attr-defined]
        return matching
