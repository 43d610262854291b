"""The provider webhook endpoints (DESIGN §7): delivery reports and inbound SMS.

Mounted by ``django_sms.urls``::

    webhooks/<alias>/status/             webhooks/<alias>/inbound/
    webhooks/<alias>/<secret>/status/    webhooks/<alias>/<secret>/inbound/

The alias selects the backend (``SMS_BACKENDS[alias]``). The views are generic: everything
provider-specific is in the backend, which verifies (``verify_webhook``) and parses
(``parse_status_webhook`` / ``parse_inbound_webhook``) a :class:`WebhookRequest` built here.
Storage is in ``django_sms.events`` and ``django_sms.inbound``.

Answers:

* 200 — accepted, including duplicates and reports about unknown messages (kept for later
  matching): a provider that gets 2xx stops retrying.
* 401 — the backend did not verify the request (signature, URL secret, credentials), with
  a reason and a ``WWW-Authenticate`` header. Nothing is stored. The refusal is a
  :class:`~django.core.exceptions.SuspiciousOperation` and is logged, as Django logs its
  own, on the ``django.security.WebhookAuthenticationError`` logger.
* 400 — the body could not be read or parsed, with the reason (only once verified: an
  unverified caller gets 401 whatever its body). Backends report a malformed
  payload with :class:`~django_sms.exceptions.WebhookPayloadError`; because provider
  parsers index into untrusted data, ``LookupError``, ``ValueError``, ``TypeError``,
  ``AttributeError`` and ``ArithmeticError`` raised while parsing are answered 400 too
  (and logged): bad input is never a 500.
* 404 — unknown alias, or a backend that does not receive this kind of webhook.
* 405 — a method other than GET or POST. 413 — a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
* 500 — only real failures (the database is down...), which the provider should retry.

The views are CSRF-exempt and skip ``LoginRequiredMiddleware`` (DRF's ``APIView`` does
both), use no DRF authentication, permission or throttle class (the backend is the
authentication), are not wrapped in ``ATOMIC_REQUESTS`` (storage manages its own short
transactions), ignore the ``Accept`` header (providers send odd ones; the answer is JSON)
and are left out of the OpenAPI schema. No provider is called during the request.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any, ClassVar

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_sms.backends.base import BaseSmsBackend, InboundSMS, StatusUpdate, WebhookRequest
from django_sms.backends.handler import sms_backends
from django_sms.events import record_status_updates
from django_sms.exceptions import WebhookAuthenticationError, WebhookPayloadError
from django_sms.inbound import record_inbound
from django_sms.models import EventSource
from django_sms.status import ALL_STATUSES

logger = logging.getLogger("django_sms.webhooks")

__all__ = [
    "InboundWebhookView",
    "StatusWebhookView",
    "WebhookView",
    "build_webhook_request",
    "webhook_path",
]

#: Exceptions a backend's parser may raise on a malformed payload (answered 400, see above).
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    WebhookPayloadError,
    LookupError,
    ValueError,
    TypeError,
    AttributeError,
    ArithmeticError,
)


def webhook_path(alias: str, kind: str, secret: str = "") -> str:
    """The path of a webhook endpoint, e.g. ``webhook_path("fr", "status", secret)``.

    ``kind`` is ``"status"`` or ``"inbound"``. Give it to the provider as an absolute URL
    (``request.build_absolute_uri(webhook_path(...))`` or your site's base URL + path).
    """
    if kind not in ("status", "inbound"):
        raise ValueError(f"kind must be 'status' or 'inbound', not {kind!r}.")
    kwargs = {"alias": alias, "secret": secret} if secret else {"alias": alias}
    name = f"django_sms:webhook-{kind}" + ("-secret" if secret else "")
    return reverse(name, kwargs=kwargs)


# -- request ------------------------------------------------------------------------------------


class WebhookBodyError(ValueError):
    """The body does not match its content type (answered 400)."""


def build_webhook_request(
    request: HttpRequest, url_secret: str = "", *, parse_body: bool = True
) -> WebhookRequest:
    """The backend-facing view of ``request``: raw body, headers, query, parsed data.

    ``data`` is the parsed JSON value for a JSON content type (``application/json``,
    ``*/*+json``, ``text/json``), a dict of fields for a form (urlencoded or multipart; the
    last value wins for a repeated field) and None otherwise (or with ``parse_body=False``).
    Raises :class:`WebhookBodyError` when the body does not parse as its content type says,
    and ``RequestDataTooBig`` / ``SuspiciousOperation`` for oversized input.
    """
    body = request.body  # read before anything parses the stream: signatures cover these bytes
    content_type = request.content_type or ""
    charset = request.content_params.get("charset") if request.content_params else None
    return WebhookRequest(
        method=request.method or "",
        headers=request.headers,
        body=body,
        query={key: str(value) for key, value in request.GET.items()},
        data=_parse_body(request, body, content_type.lower(), charset) if parse_body else None,
        url_secret=url_secret,
        basic_auth=_basic_auth(request.headers.get("Authorization", "")),
        url=request.build_absolute_uri(),
        full_path=request.get_full_path(),
    )


def _parse_body(request: HttpRequest, body: bytes, content_type: str, charset: str | None) -> Any:
    if not body:
        return None
    if content_type in ("application/json", "text/json") or content_type.endswith("+json"):
        try:
            text: str | bytes = body.decode(charset) if charset else body
            return json.loads(text)
        except LookupError:
            raise WebhookBodyError(f"Unknown charset {charset!r}.") from None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise WebhookBodyError(f"The body is not valid JSON: {exc}") from None
    if content_type == "application/x-www-form-urlencoded":
        try:
            fields = QueryDict(body, encoding=charset or "utf-8")
        except LookupError:
            raise WebhookBodyError(f"Unknown charset {charset!r}.") from None
        return dict(fields.items())
    if content_type == "multipart/form-data":
        try:
            return dict(request.POST.items())
        except MultiPartParserError as exc:
            raise WebhookBodyError(f"The multipart body cannot be parsed: {exc}") from None
    return None


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


# -- views --------------------------------------------------------------------------------------


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """Always answer JSON: a provider's ``Accept`` header must not turn a report into a 406."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type


class WebhookView(APIView):
    """Base of the two webhook views; ``kind`` is ``"status"`` or ``"inbound"``.

    Subclass it to add throttling or logging; ``handle()`` does the work for GET and POST.
    """

    kind: ClassVar[str] = ""
    http_method_names = ["get", "post"]
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreAcceptNegotiation
    schema = None  # provider callbacks are not part of the app's API

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # Storage opens its own short transactions; ATOMIC_REQUESTS would hold one open for
        # the whole request and delay status_changed until its end.
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def get(self, request: Request, alias: str, secret: str = "") -> HttpResponse:
        return self.handle(request, alias, secret)

    def post(self, request: Request, alias: str, secret: str = "") -> HttpResponse:
        return self.handle(request, alias, secret)

    def handle(self, request: Request, alias: str, secret: str = "") -> HttpResponse:
        backend = self.get_backend(alias)
        if backend is None:
            return Response(
                {"detail": f"Unknown SMS backend alias {alias!r}."}, status=404
            )
        supported = (
            backend.supports_status_webhooks if self.kind == "status" else backend.supports_inbound
        )
        if not supported:
            return Response(
                {"detail": f"SMS backend {alias!r} does not receive {self.kind} webhooks."},
                status=404,
            )
        body_error: WebhookBodyError | None = None
        try:
            try:
                webhook_request = build_webhook_request(request._request, url_secret=secret)
            except WebhookBodyError as exc:
                # Verify first anyway: an unauthenticated caller gets a 401, not a parse error.
                body_error = exc
                webhook_request = build_webhook_request(
                    request._request, url_secret=secret, parse_body=False
                )
        except RequestDataTooBig:
            return Response({"detail": "The body is too large."}, status=413)
        except SuspiciousOperation as exc:
            return Response({"detail": str(exc) or "The request cannot be read."}, status=400)

        refusal = self.verify(backend, webhook_request)
        if refusal is not None:
            return refusal
        if body_error is not None:
            return Response({"detail": str(body_error)}, status=400)
        try:
            items = self.parse(backend, webhook_request)
        except PARSE_ERRORS as exc:
            return self.bad_payload(backend, exc)
        summary = self.store(backend, items)
        answer = backend.webhook_answer(self.kind)
        if answer is not None:
            body, content_type = answer
            return HttpResponse(body, content_type=content_type)
        return Response(summary, status=200)

    def get_backend(self, alias: str) -> BaseSmsBackend | None:
        """The backend for ``alias``, or None when no such alias is configured.

        A configured alias whose backend cannot be created is a server error (500), not a
        404: the provider should retry once the configuration is fixed.
        """
        if alias not in sms_backends.settings:
            return None
        backend: BaseSmsBackend = sms_backends[alias]
        return backend

    def verify(self, backend: BaseSmsBackend, webhook_request: WebhookRequest) -> Response | None:
        """None if the backend verified the request; else the 401 answer (fail closed)."""
        try:
            backend.verify_webhook(webhook_request, self.kind)
        except WebhookAuthenticationError as exc:
            reason = str(exc) or "The callback could not be verified."
            # A SuspiciousOperation: logged where Django logs its own (django.security.<Name>),
            # as django.core.handlers.exception does, but answered 401 rather than 400.
            logging.getLogger(f"django.security.{type(exc).__name__}").error(
                "Refused a %s webhook for SMS backend %r: %s",
                self.kind,
                backend.alias,
                reason,
                extra={"status_code": 401, "request": self.request._request},
            )
            return self.unauthorized(backend, webhook_request, reason, exc)
        except PARSE_ERRORS as exc:
            # A verifier that chokes on garbage has not verified anything.
            logger.warning(
                "The %s webhook verifier of SMS backend %r failed on its input: %r",
                self.kind,
                backend.alias,
                exc,
                exc_info=True,
            )
            reason = f"The callback could not be verified ({type(exc).__name__})."
            return self.unauthorized(backend, webhook_request, reason, exc)
        return None

    def unauthorized(
        self,
        backend: BaseSmsBackend,
        webhook_request: WebhookRequest,
        reason: str,
        exc: BaseException,
    ) -> Response:
        """401 with a ``WWW-Authenticate`` challenge, the first of: the exception's
        ``www_authenticate`` attribute, the backend's ``webhook_auth_scheme`` attribute
        (``"Bearer"`` for Vonage's signed callbacks), the scheme the request tried, else
        ``Basic`` (URL secrets and HTTP Basic credentials)."""
        challenge = getattr(exc, "www_authenticate", "")
        if not challenge:
            scheme = getattr(backend, "webhook_auth_scheme", "")
            if not scheme:
                tried = webhook_request.headers.get("Authorization", "").partition(" ")[0]
                scheme = "Bearer" if tried.lower() == "bearer" else "Basic"
            challenge = f'{scheme} realm="SMS webhooks"'
        return Response({"detail": reason}, status=401, headers={"WWW-Authenticate": challenge})

    def parse(self, backend: BaseSmsBackend, webhook_request: WebhookRequest) -> list[Any]:
        raise NotImplementedError

    def store(self, backend: BaseSmsBackend, items: list[Any]) -> dict[str, Any]:
        raise NotImplementedError

    def bad_payload(self, backend: BaseSmsBackend, exc: BaseException) -> Response:
        if isinstance(exc, WebhookPayloadError):
            reason = str(exc)
        else:
            # Not the backend's own diagnosis: say what failed without echoing internals.
            logger.warning(
                "The %s webhook parser of SMS backend %r failed on its input.",
                self.kind,
                backend.alias,
                exc_info=True,
            )
            reason = f"The {self.kind} payload cannot be parsed ({type(exc).__name__}: {exc})."
        return Response({"detail": reason or "The payload cannot be parsed."}, status=400)


class StatusWebhookView(WebhookView):
    """Delivery reports: each becomes a :class:`~django_sms.models.StatusEvent`, stored once
    and applied to its message by the status rules."""

    kind = "status"

    def parse(self, backend: BaseSmsBackend, webhook_request: WebhookRequest) -> list[Any]:
        updates = list(backend.parse_status_webhook(webhook_request) or ())
        for update in updates:
            if not isinstance(update, StatusUpdate):
                raise TypeError(f"parse_status_webhook() returned a {type(update).__name__}.")
            if update.status not in ALL_STATUSES:
                raise WebhookPayloadError(f"Unknown status {update.status!r}.")
        return updates

    def store(self, backend: BaseSmsBackend, items: list[Any]) -> dict[str, Any]:
        recorded = record_status_updates(backend, items, source=EventSource.WEBHOOK)
        counts: dict[str, int] = {"applied": 0, "stale": 0, "unmatched": 0, "duplicate": 0}
        for result in recorded:
            counts[result.outcome] += 1
        return {"received": len(recorded), **counts}


class InboundWebhookView(WebhookView):
    """SMS from handsets: stored once as :class:`~django_sms.models.InboundMessage`,
    announced with ``inbound_received``, opt-out keywords applied."""

    kind = "inbound"

    def parse(self, backend: BaseSmsBackend, webhook_request: WebhookRequest) -> list[Any]:
        messages = list(backend.parse_inbound_webhook(webhook_request) or ())
        for sms in messages:
            if not isinstance(sms, InboundSMS):
                raise TypeError(f"parse_inbound_webhook() returned a {type(sms).__name__}.")
            if not str(sms.from_number or "").strip():
                raise WebhookPayloadError("The inbound message has no sender number.")
        return messages

    def store(self, backend: BaseSmsBackend, items: list[Any]) -> dict[str, Any]:
        recorded = [record_inbound(backend, sms) for sms in items]
        created = sum(1 for r in recorded if r.created)
        return {"received": len(recorded), "stored": created, "duplicate": len(recorded) - created}
