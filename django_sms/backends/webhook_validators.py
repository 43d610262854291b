"""Stackable webhook validation, written once (as django-anymail's ``validate_request``).

A backend that receives callbacks mixes in :class:`ValidatedWebhooksMixin` and lists the
checks a callback must pass::

    class SmsBackend(ValidatedWebhooksMixin, HttpBackend):
        webhook_validators = (AcmeSignature(), SharedSecretValidator())

Each :class:`WebhookValidator` owns one OPTION holding its secret (a string, or a list of
strings while a secret is being rotated). The rules, in one place:

* every validator whose OPTION is set must pass, in the order listed;
* when none is set the callback is refused (fail closed) unless the OPTION
  ``webhook_insecure`` is the boolean True (any other value, even a truthy string, refuses),
  which a deploy check reports (django_sms.W103);
* a refusal is a :class:`~django_sms.exceptions.WebhookAuthenticationError` whose text says
  what failed; the webhook view answers 401 and logs it on ``django.security.*``.

:class:`SharedSecretValidator` (an unguessable secret in the callback URL, or the password of
HTTP Basic credentials) protects providers that sign nothing (OVH) and can be stacked on
those that do. A provider's own signature check is a small subclass in its module (Vonage's
HS256 JWT in ``vonage.py``): a new provider writes ``validate()`` and ``describe()``, and
inherits the secret lists, rotation, fail-closed handling, checks and option bookkeeping.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any, ClassVar

from django.core import checks

from django_sms.backends.base import BaseSmsBackend, WebhookRequest
from django_sms.exceptions import ConfigurationError, WebhookAuthenticationError

#: Characters a secret may use to sit in a URL path segment unescaped.
URL_SAFE_SECRET = re.compile(r"^[A-Za-z0-9._~-]+$")
#: Shorter webhook secrets can be guessed (a warning, django_sms.W013).
MIN_SECRET_LENGTH = 20


def secret_list(backend: BaseSmsBackend, option: str) -> list[str]:
    """The secrets in ``backend.options[option]``: one string, or a list during a rotation.

    Unset or empty gives ``[]``; any other shape raises ConfigurationError (E012).
    """
    value = backend.options.get(option)
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ConfigurationError(
        f"SMS backend {backend.alias!r}: {option!r} must be a string or a list of non-empty "
        f"strings, not {type(value).__name__}."
    )


def matches_any(offered: Iterable[str], secrets: Iterable[str]) -> bool:
    """Whether one of ``offered`` equals one of ``secrets``, compared in constant time.

    Every pair is compared (no early exit), so the time taken tells nothing about which
    secret came close. Non-ASCII values are compared as UTF-8 bytes.
    """
    matched = False
    secrets = list(secrets)
    for candidate in offered:
        for secret in secrets:
            matched |= hmac.compare_digest(candidate.encode("utf-8", "surrogatepass"),
                                           secret.encode("utf-8", "surrogatepass"))
    return matched


def header(request: WebhookRequest, name: str) -> str:
    """A request header, looked up case-insensitively (``""`` when absent)."""
    wanted = name.lower()
    for key, value in request.headers.items():
        if key.lower() == wanted:
            return str(value)
    return ""


def bearer_token(request: WebhookRequest) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = header(request, "Authorization").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class WebhookValidator:
    """One check a callback must pass, configured by one OPTION (``option``).

    Subclasses implement :meth:`validate` (raise WebhookAuthenticationError with the
    reason) and :meth:`describe`, and may extend :meth:`check`.
    """

    #: The OPTION holding this validator's secret(s).
    option: ClassVar[str] = ""
    #: How to configure it, for the fail-closed message.
    hint: ClassVar[str] = ""

    def secrets(self, backend: BaseSmsBackend) -> list[str]:
        return secret_list(backend, self.option)

    def is_configured(self, backend: BaseSmsBackend) -> bool:
        """Whether the OPTION is set. A malformed value counts as set, so that
        :meth:`validate` refuses every callback (fail closed) instead of skipping the check."""
        try:
            return bool(self.secrets(backend))
        except ConfigurationError:
            return True

    def validate(self, backend: BaseSmsBackend, request: WebhookRequest, kind: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement validate().")

    def describe(self, backend: BaseSmsBackend) -> str:
        """One line for the deploy check and the docs: what is verified, with how many
        secrets."""
        raise NotImplementedError(f"{type(self).__name__} must implement describe().")

    def check(self, backend: BaseSmsBackend) -> list[checks.CheckMessage]:
        try:
            self.secrets(backend)
        except ConfigurationError as exc:
            return [checks.Error(str(exc), id="django_sms.E012")]
        return []


class SharedSecretValidator(WebhookValidator):
    """A secret only we and the provider know: in the callback URL
    (``.../webhooks/<alias>/<secret>/status/``) or as the password of HTTP Basic credentials.
    Either may match any of the configured secrets (rotation)."""

    option = "webhook_secret"
    hint = ("Set 'webhook_secret' to a long random string and put it in the callback URL "
            "(or use it as the HTTP Basic password).")

    def validate(self, backend: BaseSmsBackend, request: WebhookRequest, kind: str) -> None:
        offered = [request.url_secret] if request.url_secret else []
        if request.basic_auth is not None:
            offered.append(request.basic_auth[1])
        if not offered:
            raise WebhookAuthenticationError(
                "no secret: the callback URL has no secret segment and there are no HTTP "
                "Basic credentials"
            )
        if not matches_any(offered, self.secrets(backend)):
            raise WebhookAuthenticationError(
                f"wrong secret: neither the URL secret nor the Basic password matches a "
                f"configured {self.option}"
            )

    def describe(self, backend: BaseSmsBackend) -> str:
        return ("secret in the callback URL or HTTP Basic password, checked against "
                f"{len(self.secrets(backend))} webhook secret(s)")

    def check(self, backend: BaseSmsBackend) -> list[checks.CheckMessage]:
        errors = super().check(backend)
        if errors:
            return errors
        return [
            checks.Warning(
                f"SMS backend {backend.alias!r}: a {self.option!r} is shorter than "
                f"{MIN_SECRET_LENGTH} characters or has characters that need escaping in a URL.",
                hint='Use python -c "import secrets; print(secrets.token_urlsafe(32))".',
                id="django_sms.W013",
            )
            for secret in self.secrets(backend)
            if len(secret) < MIN_SECRET_LENGTH or not URL_SAFE_SECRET.match(secret)
        ]


class ValidatedWebhooksMixin(BaseSmsBackend):
    """``verify_webhook()``, ``webhook_protection()`` and their checks from
    ``webhook_validators``; see the module docstring for the rules.

    The validators' OPTIONS and ``webhook_insecure`` are added to ``known_options``, and the
    validators' OPTIONS to ``secret_options`` (masked in logs), when the class is defined.
    """

    webhook_validators: ClassVar[tuple[WebhookValidator, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        options = tuple(v.option for v in cls.webhook_validators if v.option)
        cls.known_options = _merged(cls.known_options, (*options, "webhook_insecure"))
        secret_options = getattr(cls, "secret_options", ())
        cls.secret_options = _merged(secret_options, options)  # type: ignore[attr-defined]

    def configured_validators(self) -> list[WebhookValidator]:
        return [v for v in self.webhook_validators if v.is_configured(self)]

    def verify_webhook(self, request: WebhookRequest, kind: str) -> None:
        validators = self.configured_validators()
        if not validators:
            if self.accepts_unverified():
                return
            raise WebhookAuthenticationError(self._fail_closed_reason(kind))
        for validator in validators:
            try:
                validator.validate(self, request, kind)
            except ConfigurationError as exc:
                raise WebhookAuthenticationError(str(exc)) from exc

    def accepts_unverified(self) -> bool:
        """Whether ``webhook_insecure`` opens an unprotected backend. Only the boolean True
        does: a string such as ``"false"`` from an environment variable is truthy, and servers
        run no system check (E012) to catch it, so anything else keeps the door closed."""
        return self.options.get("webhook_insecure") is True

    def _fail_closed_reason(self, kind: str) -> str:
        names = " or ".join(repr(v.option) for v in self.webhook_validators)
        hints = " ".join(v.hint for v in self.webhook_validators if v.hint)
        return (
            f"SMS backend {self.alias!r} has no {names} OPTION: its {kind} callbacks cannot be "
            f"told from forgeries, so they are refused (fail closed). {hints}"
        ).strip()

    def webhook_protection(self, kind: str) -> str:
        validators = self.configured_validators()
        if validators:
            try:
                return " + ".join(v.describe(self) for v in validators)
            except ConfigurationError:
                return "refused: a webhook secret OPTION is malformed (fail closed)"
        if self.accepts_unverified():
            return ""
        return "refused: no webhook secret configured (fail closed)"

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        for validator in self.webhook_validators:
            errors += validator.check(self)
        insecure = self.options.get("webhook_insecure")
        if insecure is not None and not isinstance(insecure, bool):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'webhook_insecure' must be True or False, not "
                f"{insecure!r}.",
                id="django_sms.E012",
            ))
        return errors


def _merged(first: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    return (*first, *(name for name in extra if name not in first))
