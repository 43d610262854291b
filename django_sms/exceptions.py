"""One exception hierarchy. Every message says what was wrong and, for provider errors,
shows what the provider answered.

    SMSError
    ├── ConfigurationError           settings that cannot work (an ImproperlyConfigured)
    ├── InvalidMessage               refused before anything is stored
    │   ├── InvalidRecipient
    │   ├── InvalidSender
    │   ├── MessageTooLong
    │   └── CountryNotAllowed
    ├── OptedOut                     the recipient asked not to receive messages
    ├── SendCanceled                 a pre_send receiver canceled the message
    ├── WalletError
    │   ├── InsufficientFunds
    │   ├── WalletInactive
    │   ├── InvalidDeposit
    │   ├── InvalidAmount
    │   └── UnsupportedCurrency
    ├── InvalidToken                 an API token that is unknown, revoked or expired
    ├── ProviderError                the provider call failed
    │   ├── TransientProviderError   nothing was sent: retrying is safe
    │   ├── PermanentProviderError   the provider refused: retrying will not help
    │   ├── AmbiguousProviderError   it may or may not have been sent: never resend blindly
    │   └── MalformedResponse        an answer we could not read (ambiguous when sending)
    └── WebhookError
        ├── WebhookAuthenticationError   -> HTTP 401 (a SuspiciousOperation: logged by
        │                                   Django's ``django.security.*`` loggers)
        └── WebhookPayloadError          -> HTTP 400
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.utils.translation import gettext


class SMSError(Exception):
    """Base class of every exception raised by django_sms."""


class ConfigurationError(SMSError, ImproperlyConfigured):
    """A setting or backend OPTION cannot work (also reported by ``manage.py check``).

    Also Django's ``ImproperlyConfigured``, so code and tools that handle Django's
    configuration errors handle these too."""


class InvalidMessage(SMSError, ValueError):
    """The message was refused before anything was stored or charged."""


class InvalidRecipient(InvalidMessage):
    """A destination number that cannot be used.

    ``str(exc)`` and ``reason`` are written for developers and may name a setting;
    ``user_message`` can be shown to the person who typed the number (translated, no setting
    names); ``code`` is a stable identifier (``"too_short"``, ``"not_mobile"``...).
    """

    def __init__(
        self,
        value: object,
        reason: str,
        *,
        user_message: str | None = None,
        code: str = "invalid",
    ) -> None:
        self.value = value
        self.reason = reason
        self.code = code
        self.user_message = (
            user_message if user_message is not None else gettext("Enter a valid phone number.")
        )
        super().__init__(f"Invalid recipient {value!r}: {reason}")


class InvalidSender(InvalidMessage):
    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"Invalid sender ID {value!r}: {reason}")


class MessageTooLong(InvalidMessage):
    def __init__(self, segments: int, max_segments: int, encoding: str) -> None:
        self.segments = segments
        self.max_segments = max_segments
        self.encoding = encoding
        super().__init__(
            f"Text needs {segments} {encoding} segments; at most {max_segments} are allowed "
            f"(DJANGO_SMS['MAX_SEGMENTS'])."
        )


class CountryNotAllowed(InvalidMessage):
    """A number of a country the settings exclude. ``str(exc)`` names the settings;
    ``user_message`` (translated) does not; ``code`` is ``"country_not_allowed"``."""

    code = "country_not_allowed"

    def __init__(self, number: str, country: str) -> None:
        self.number = number
        self.country = country
        self.user_message = gettext("Text messages cannot be sent to this country.")
        super().__init__(
            f"Sending to {number} ({country}) is not allowed by "
            "DJANGO_SMS['ALLOWED_COUNTRIES'] / ['DENIED_COUNTRIES']."
        )


class OptedOut(SMSError):
    def __init__(self, number: str, sender: str = "") -> None:
        self.number = number
        self.sender = sender
        scope = f" from sender {sender!r}" if sender else ""
        super().__init__(f"{number} has opted out of messages{scope}.")


class SendCanceled(SMSError):
    """A ``pre_send`` receiver raised this to cancel the message; it is stored as canceled."""


class WalletError(SMSError):
    """Base class of wallet errors."""


class InsufficientFunds(WalletError):
    def __init__(self, wallet: Any, needed: Any, available: Any) -> None:
        self.wallet = wallet
        self.needed = needed
        self.available = available
        super().__init__(
            f"Wallet {getattr(wallet, 'pk', wallet)} has {available} available; "
            f"this message needs {needed}."
        )


class WalletInactive(WalletError):
    def __init__(self, wallet: Any, activates_at: Any = None) -> None:
        self.wallet = wallet
        self.activates_at = activates_at
        when = f" It becomes active at {activates_at:%Y-%m-%d %H:%M %Z}." if activates_at else ""
        super().__init__(f"Wallet {getattr(wallet, 'pk', wallet)} is not active yet.{when}")


class InvalidDeposit(WalletError, ValueError):
    """A deposit below the minimum or in another currency than the wallet's."""


class InvalidAmount(WalletError, ValueError):
    """An amount that is not a finite decimal with at most 4 places (or a zero adjustment)."""


class UnsupportedCurrency(WalletError, ValueError):
    def __init__(self, currency: object, supported: Any) -> None:
        self.currency = currency
        self.supported = tuple(supported)
        super().__init__(
            f"Unsupported wallet currency {currency!r}; use one of {', '.join(self.supported)}."
        )


class InvalidToken(SMSError):
    """An API token could not authenticate. ``reason`` says why, for logs and operators only:
    the REST API answers every such case with the same 401 so it reveals nothing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Invalid API token: {reason}.")


class ProviderError(SMSError):
    """The provider call failed. ``str()`` shows the provider's own code and text.

    ``code`` and ``text`` are the provider's error code and description, ``status_code`` the
    HTTP status (when there was a response), ``response_body`` what the provider answered
    (truncated), ``retry_after`` the delay in seconds the provider asked for, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        text: str = "",
        status_code: int | None = None,
        response_body: str = "",
        retry_after: float | None = None,
        provider: str = "",
        status: str | None = None,
        opted_out: bool = False,
    ) -> None:
        self.message = message
        self.code = str(code or "")
        self.text = text or ""
        self.status_code = status_code
        self.response_body = (response_body or "")[:2000]
        self.retry_after = retry_after
        self.provider = provider
        #: The normalised status this error gives the message (a Status value), if specific.
        self.status = status
        #: True when the provider refused because the recipient opted out (STOP).
        self.opted_out = opted_out
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.provider:
            parts.insert(0, f"[{self.provider}]")
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code})")
        if self.code or self.text:
            parts.append(f"provider said: {self.code} {self.text}".rstrip())
        if self.response_body and not (self.code or self.text):
            parts.append(f"response: {self.response_body[:300]}")
        return " ".join(parts)


class TransientProviderError(ProviderError):
    """Nothing reached the provider, or it asked us to come back later: safe to retry."""


class PermanentProviderError(ProviderError):
    """The provider refused the message; retrying the same request will fail again."""


class AmbiguousProviderError(ProviderError):
    """The request was sent but no answer came back: the message may have been sent."""


class MalformedResponse(TransientProviderError):
    """The provider answered with a body we could not understand (bad JSON, missing id).

    Raised by provider modules while parsing. When it happens while *sending*,
    ``HttpBackend.send_one()`` turns it into an :class:`AmbiguousProviderError`: the provider
    answered, so it may well have accepted the message. Anywhere else (status polling) asking
    again is harmless, hence a transient error.
    """


class WebhookError(SMSError):
    """Base class of webhook errors."""


class WebhookAuthenticationError(WebhookError, SuspiciousOperation):
    """The callback's signature or secret did not verify (HTTP 401).

    A :class:`~django.core.exceptions.SuspiciousOperation`, as Django treats a forged
    request: the webhook view logs it on the ``django.security.WebhookAuthenticationError``
    logger (configure that logger to route or silence these reports).
    """


class WebhookPayloadError(WebhookError, ValueError):
    """The callback's body could not be understood (HTTP 400)."""


class VerificationError(SMSError):
    """Base class of phone-verification errors (``django_sms.verification``)."""


class VerificationRateLimited(VerificationError):
    """A start refused by a sending limit; nothing was stored or sent.

    ``scope`` names the limit (``"cooldown"``, ``"number"``, ``"ip"``, ``"country"``,
    ``"prefix"`` or ``"failures"``) and ``retry_after`` is the number of seconds after which
    the same start would be accepted.
    """

    def __init__(self, scope: str, retry_after: int) -> None:
        self.scope = scope
        self.retry_after = retry_after
        super().__init__(
            f"Verification refused by the {scope!r} limit of DJANGO_SMS['VERIFICATION']; "
            f"retry in {retry_after} s."
        )
