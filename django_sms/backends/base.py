"""The backend contract, modelled on ``django.core.mail.backends.base.BaseEmailBackend``.

A backend turns outgoing :class:`~django_sms.message.SMS` values into provider calls and
provider answers into normalised results. It never touches the database: the pipeline in
``django_sms.sending`` stores what the backend reports. That keeps every provider module about
one thing, its wire format.

The orchestration lives here (template method, as django-anymail does): ``send_messages()``
calls ``send_one()`` for each message and turns a :class:`ProviderError` into a failed
:class:`SendResult` instead of an exception, so one bad recipient never hides the others.
HTTP providers subclass :class:`django_sms.backends.http.HttpBackend`, which implements
``send_one()`` with ``build_request()`` and ``parse_send_response()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from django.core import checks

from django_sms.exceptions import (
    AmbiguousProviderError,
    ProviderError,
    TransientProviderError,
    WebhookAuthenticationError,
)
from django_sms.status import Status

if TYPE_CHECKING:
    from django_sms.message import SMS
    from django_sms.models import AbstractMessage


@dataclass
class SendResult:
    """What the provider answered for one message.

    ``status`` is a :class:`~django_sms.status.Status` value. When the provider refused the
    message or the call failed, ``error`` holds the exception and ``status`` the status the
    failure gives the message (the pipeline decides about retries from the error's class:
    :class:`~django_sms.exceptions.TransientProviderError` and its subclasses are retried).
    """

    status: str
    provider_message_id: str = ""
    segments: int | None = None
    cost: Decimal | None = None
    cost_currency: str = ""
    provider_status: str = ""
    provider_status_text: str = ""
    occurred_at: datetime | None = None
    raw: Any = None
    error: ProviderError | None = None


@dataclass
class StatusUpdate:
    """One normalised status report about one message, from a webhook or a poll.

    The message is found by ``provider_message_id`` or, when the provider echoes it back, by
    ``message_ref`` (our own reference, sent as Vonage's ``client_ref`` / OVH's ``tag``).
    ``dedupe_key`` identifies the report itself: the same report received twice has the same
    key and is stored once.
    """

    status: str
    provider_message_id: str = ""
    message_ref: str = ""
    provider_status: str = ""
    provider_status_text: str = ""
    occurred_at: datetime | None = None
    dedupe_key: str = ""
    error_code: str = ""
    error_message: str = ""
    segments: int | None = None
    cost: Decimal | None = None
    cost_currency: str = ""
    #: True when the provider's error means the recipient opted out (STOP).
    opted_out: bool = False
    raw: Any = None


@dataclass
class InboundSMS:
    """One SMS received from a handset, normalised."""

    provider_message_id: str
    from_number: str
    to_number: str
    text: str
    occurred_at: datetime | None = None
    keyword: str = ""
    #: What the provider says the text did: "opt-out", "opt-in" or "" (then our own
    #: keyword lists decide). Twilio's ``OptOutType`` and similar flags set it.
    opt_out: str = ""
    raw: Any = None


@dataclass
class WebhookRequest:
    """The parts of an HTTP callback a backend needs to verify and parse it.

    Built by the webhook view from the Django request, so backends stay free of DRF and can
    be tested with plain values. ``body`` is the raw body exactly as received (signatures
    are computed over it); ``data`` is the parsed JSON object or form fields; ``query`` the
    query string; ``url_secret`` the secret segment of the callback URL, if any; ``url`` the
    absolute URL as Django rebuilds it (``build_absolute_uri()``: the proxy settings
    ``SECURE_PROXY_SSL_HEADER`` / ``USE_X_FORWARDED_HOST`` apply) and ``full_path`` the path
    and query string as received, for signatures computed over the URL (Twilio).
    """

    method: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    data: Any = None
    url_secret: str = ""
    basic_auth: tuple[str, str] | None = None
    url: str = ""
    full_path: str = ""


class BaseSmsBackend:
    """Base class of every backend.

    Subclasses set ``provider_name`` and implement ``send_one()`` (or, through
    :class:`~django_sms.backends.http.HttpBackend`, ``build_request()`` and
    ``parse_send_response()``). Optional capabilities: ``fetch_status()``,
    ``verify_webhook()``, ``parse_status_webhook()``, ``parse_inbound_webhook()``.
    """

    #: Stored on every message this backend sends ("mailjet", "vonage", "locmem", ...).
    provider_name: ClassVar[str] = ""
    #: OPTIONS a user must set; checked by ``manage.py check`` (django_sms.E010).
    required_options: ClassVar[tuple[str, ...]] = ()
    #: OPTIONS this backend understands; anything else is reported (django_sms.W010).
    known_options: ClassVar[tuple[str, ...]] = ()
    supports_status_polling: ClassVar[bool] = False
    supports_status_webhooks: ClassVar[bool] = False
    #: Whether this provider's status reports echo our message reference (Vonage's
    #: ``client_ref``). Such a report is matched by the reference even when it beats the
    #: send answer, so delivery skips the look for early reports (one query per send);
    #: a report that lacks the reference after all is matched by the next ``smssync``.
    status_reports_carry_reference: ClassVar[bool] = False
    supports_inbound: ClassVar[bool] = False
    #: Most parts this provider accepts for one text (None: no provider limit).
    max_segments: ClassVar[int | None] = None

    def __init__(self, alias: str = "default", **options: Any):
        self.alias = alias
        self.options: dict[str, Any] = options

    # -- connection lifecycle (like BaseEmailBackend) ------------------------------------
    def open(self) -> bool:
        """Open a reusable connection; return True if a new one was opened."""
        return False

    def close(self) -> None:
        """Close the connection opened by ``open()``."""

    def __enter__(self) -> BaseSmsBackend:
        try:
            self.open()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- sending ---------------------------------------------------------------------------
    def send_messages(self, messages: Sequence[SMS]) -> list[SendResult]:
        """Send each message and return one :class:`SendResult` per message, in order.

        Provider errors are returned in the result (``result.error``), never raised, so the
        caller can record every message of a batch.
        """
        results = []
        for sms in messages:
            try:
                results.append(self.send_one(sms))
            except ProviderError as exc:
                if not exc.provider:
                    exc.provider = self.provider_name
                results.append(SendResult(status=self.status_for_error(exc), error=exc))
        return results

    def send_one(self, sms: SMS) -> SendResult:
        """Send one message; raise a :class:`ProviderError` subclass when it fails."""
        raise NotImplementedError(f"{type(self).__name__} must implement send_one().")

    @staticmethod
    def status_for_error(exc: ProviderError) -> str:
        """The status a failed send gives the message (before any retry decision)."""
        if exc.status:
            return exc.status
        if isinstance(exc, AmbiguousProviderError):
            return Status.UNKNOWN
        if isinstance(exc, TransientProviderError):
            return Status.QUEUED
        return Status.FAILED

    # -- optional capabilities -------------------------------------------------------------
    def fetch_status(self, message: AbstractMessage) -> StatusUpdate | None:
        """Ask the provider for the current status of a sent message (polling)."""
        raise NotImplementedError(
            f"{self.provider_name or type(self).__name__} has no status polling."
        )

    def verify_webhook(self, request: WebhookRequest, kind: str) -> None:
        """Raise :class:`WebhookAuthenticationError` unless the callback is authentic.

        ``kind`` is ``"status"`` or ``"inbound"``. The default refuses everything: a backend
        that receives webhooks must say how it checks them (fail closed).
        """
        raise WebhookAuthenticationError(f"Backend {self.alias!r} does not accept {kind} webhooks.")

    def parse_status_webhook(self, request: WebhookRequest) -> list[StatusUpdate]:
        raise NotImplementedError(f"{self.provider_name} has no status webhook.")

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundSMS]:
        raise NotImplementedError(f"{self.provider_name} has no inbound webhook.")

    def webhook_answer(self, kind: str) -> tuple[bytes, str] | None:
        """``(body, content type)`` the provider expects in answer to an accepted webhook
        (Twilio: empty TwiML for inbound messages); None for the default JSON summary."""
        return None

    def webhook_protection(self, kind: str) -> str:
        """A short description of how callbacks are verified; "" when they are not.

        Used by the deploy check that warns about unprotected webhook aliases.
        """
        return ""

    # -- checks ------------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        """System-check this backend's OPTIONS; backends extend it."""
        errors: list[checks.CheckMessage] = []
        for name in self.required_options:
            if not self.options.get(name):
                errors.append(
                    checks.Error(
                        f"SMS backend {self.alias!r} ({type(self).__module__}) needs the "
                        f"{name!r} OPTION.",
                        hint=f"Set SMS_BACKENDS[{self.alias!r}]['OPTIONS'][{name!r}].",
                        id="django_sms.E010",
                    )
                )
        if self.known_options:
            for name in sorted(set(self.options) - set(self.known_options)):
                errors.append(
                    checks.Warning(
                        f"SMS backend {self.alias!r} ignores the unknown OPTION {name!r}.",
                        hint="Known options: " + ", ".join(self.known_options),
                        id="django_sms.W010",
                    )
                )
        return errors


class LocalBackend(BaseSmsBackend):
    """Base of the development backends (console, locmem, filebased, dummy).

    They reach no provider, so they report a final status at once: ``OPTIONS["status"]``
    (default ``"delivered"``), so that code reacting to ``status_changed`` can be exercised
    without a provider. ``provider_message_id`` is ``"<provider>-<reference>"``.
    """

    known_options: ClassVar[tuple[str, ...]] = ("status",)

    def send_one(self, sms: SMS) -> SendResult:
        self.deliver_locally(sms)
        return SendResult(
            status=self.options.get("status", "delivered"),
            provider_message_id=f"{self.provider_name}-{sms.reference}",
            segments=sms.segments,
        )

    def deliver_locally(self, sms: SMS) -> None:
        raise NotImplementedError
