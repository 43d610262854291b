"""The provider sandbox: a local HTTP server that speaks the Mailjet (and, as handlers are
added, Vonage and OVH) wire formats, so the whole SMS lifecycle runs without any provider
account. See docs/sandbox.rst.

::

    from django_sms.testing.sandbox import Sandbox, Outcome, faults

    with Sandbox() as sandbox:
        ...  # point a backend's base_url at sandbox.url

In pytest, use the ``sms_sandbox`` fixture; from a shell, ``manage.py smssandbox``.
"""

from django_sms.testing.sandbox import faults
from django_sms.testing.sandbox.callbacks import (
    CallbackAttempt,
    CallbackRequest,
    CallbackScheduler,
)
from django_sms.testing.sandbox.credentials import SandboxCredentials
from django_sms.testing.sandbox.faults import Fault
from django_sms.testing.sandbox.messages import MessageStore, Outcome, SandboxMessage
from django_sms.testing.sandbox.providers import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
    register,
)
from django_sms.testing.sandbox.server import RecordedRequest, Sandbox

__all__ = [
    "CallbackAttempt",
    "CallbackRequest",
    "CallbackScheduler",
    "Fault",
    "MessageStore",
    "Outcome",
    "ProviderHandler",
    "RecordedRequest",
    "Sandbox",
    "SandboxCredentials",
    "SandboxMessage",
    "SandboxRequest",
    "SandboxResponse",
    "faults",
    "register",
]
