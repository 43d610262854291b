"""``SMS``: one outgoing text message as a value object, like ``django.core.mail.EmailMessage``.

An ``SMS`` is not stored until it is sent. ``SMS(...).send()`` runs the pipeline in
``django_sms.sending`` and returns the stored message row. Backends receive ``SMS`` values
(validated, with ``to`` in E.164 and ``reference`` set to the stored message's public id),
never model instances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django_sms.models import AbstractMessage

#: The pipeline ``SMS.send()`` runs (``django_sms.sending.send_messages``). This value class
#: is used by every layer below the pipeline (backends, delivery), so it cannot import it:
#: the pipeline connects itself when its module is imported, which the app's ``ready()``
#: does.
_pipeline: Callable[..., list[AbstractMessage]] | None = None


def connect_pipeline(pipeline: Callable[..., list[AbstractMessage]]) -> None:
    """Make ``SMS.send()`` run ``pipeline`` (called by ``django_sms.sending``)."""
    global _pipeline
    _pipeline = pipeline


@dataclass
class SMS:
    text: str
    to: str
    sender: str | None = None
    #: Caller-chosen key: sending twice with the same key returns the first message.
    idempotency_key: str | None = None
    #: JSON-serialisable data stored with the message (your order id, user id...).
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Provider-specific extras a backend may read (e.g. {"ttl": 600} for Vonage).
    options: dict[str, Any] = field(default_factory=dict)

    # Filled in by the pipeline once the message is validated and stored.
    reference: str = ""
    encoding: str = ""
    segments: int = 0

    def send(
        self,
        *,
        using: str | None = None,
        fail_silently: bool = False,
        wallet: Any = None,
        token: Any = None,
    ) -> AbstractMessage:
        """Validate, store and dispatch this message; return the stored message.

        ``using`` is a backend alias (default: routing, else ``"default"``); ``wallet`` pays for
        it (see :doc:`wallets`); ``token`` records which API token sent it.
        """
        if _pipeline is None:
            raise ImproperlyConfigured(
                "SMS.send() needs the django_sms app: add 'django_sms' to INSTALLED_APPS."
            )
        return _pipeline(
            [self], using=using, fail_silently=fail_silently, wallet=wallet, token=token
        )[0]

    @classmethod
    def from_message(cls, message: AbstractMessage) -> SMS:
        """The value a backend receives for a stored message."""
        return cls(
            text=message.text,
            to=message.to,
            sender=message.sender,
            idempotency_key=message.idempotency_key,
            metadata=message.metadata or {},
            options=(message.metadata or {}).get("_options", {}),
            reference=str(message.reference),
            encoding=message.encoding,
            segments=message.segments,
        )
