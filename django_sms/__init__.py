"""django-transactional-sms: transactional SMS for Django.

The public API, mirroring ``django.core.mail``::

    from django_sms import send_sms, send_mass_sms, SMS, sms_backends, outbox

Names are imported lazily so that ``import django_sms`` works before settings are configured
(the pytest plugin imports it at start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Messages "sent" by the locmem backend (``SMS`` values); emptied before every test by the
#: pytest plugin and by ``django_sms.testing.SmsTestMixin``.
outbox: list[Any] = []

__all__ = ["SMS", "outbox", "send_mass_sms", "send_sms", "sms_backends"]

if TYPE_CHECKING:
    from django_sms.backends.handler import sms_backends
    from django_sms.message import SMS
    from django_sms.sending import send_mass_sms, send_sms

_LAZY = {
    "send_sms": "django_sms.sending",
    "send_mass_sms": "django_sms.sending",
    "SMS": "django_sms.message",
    "sms_backends": "django_sms.backends.handler",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'django_sms' has no attribute {name!r}")
