"""Errors in Mailjet's shape, and the exception handler that produces them for every error.

Mailjet answers errors with ``{"ErrorIdentifier", "ErrorCode", "StatusCode", "ErrorMessage",
"ErrorRelatedTo"}``. The API's views use :func:`exception_handler` (whatever the project's
``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` is), so authentication failures, throttling, parse
errors and 404s come out in that shape too, and a Mailjet client shows their message.

Mailjet's own codes are used wherever one fits (docs/api.rst lists them). Situations Mailjet
documents no code for get a ``djsms-`` code, so they can never be mistaken for one of Mailjet's.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

__all__ = ["MailjetError", "error_body", "exception_handler"]

NOT_AUTHORISED = "mj-0015"
MALFORMED_JSON = "mj-0002"
MISSING_PROPERTY = "mj-0003"
TYPE_MISMATCH = "mj-0004"
NOT_IN_ALLOWED_LIST = "mj-0005"
TOO_LONG = "mj-0006"
INVALID_DATETIME = "mj-0009"
PAYLOAD_TOO_LARGE = "mj-0011"
TOO_SHORT = "mj-0020"
NO_ACCESS = "mj-0021"
LIMIT_EXCEEDED = "mj-0025"
INSUFFICIENT_FUNDS = "sms-0001"
UNSUPPORTED_COUNTRY = "sms-0002"
DAILY_LIMIT = "sms-0003"
# Codes of our own, for situations Mailjet documents no code for.
OPTED_OUT = "djsms-0001"
TOO_MANY_REQUESTS = "djsms-0002"
NOT_FOUND = "djsms-0003"
METHOD_NOT_ALLOWED = "djsms-0004"
BAD_REQUEST = "djsms-0005"
INVALID_PERIOD = "djsms-0006"


class MailjetError(exceptions.APIException):
    """An API error with its Mailjet code; raised by the views, rendered by the handler."""

    def __init__(
        self,
        status_code: int,
        error_code: str,
        message: str,
        related_to: Iterable[str] = (),
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.error_code = error_code
        self.error_message = message
        self.related_to = list(related_to)
        self.headers = headers or {}
        super().__init__(detail=message, code=error_code)


def error_body(
    status_code: int, error_code: str, message: str, related_to: Iterable[str] = ()
) -> dict[str, Any]:
    return {
        "ErrorIdentifier": str(uuid.uuid4()),
        "ErrorCode": error_code,
        "StatusCode": status_code,
        "ErrorMessage": message,
        "ErrorRelatedTo": list(related_to),
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render ``exc`` in Mailjet's error shape; None for unexpected errors (a real 500)."""
    error = to_mailjet_error(exc)
    if error is None:
        return None
    headers = dict(error.headers)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    body = error_body(error.status_code, error.error_code, error.error_message, error.related_to)
    return Response(body, status=error.status_code, headers=headers)


def to_mailjet_error(exc: Exception) -> MailjetError | None:
    if isinstance(exc, MailjetError):
        return exc
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return MailjetError(401, NOT_AUTHORISED, "Not authorised.")
    if isinstance(exc, exceptions.Throttled):
        seconds = getattr(exc, "wait", None)
        wait = max(1, math.ceil(seconds)) if seconds is not None else 1
        return MailjetError(
            429,
            TOO_MANY_REQUESTS,
            f"Too many requests for this API token. Retry in {wait} second(s).",
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, exceptions.ParseError):
        return MailjetError(400, MALFORMED_JSON, f"Malformed JSON. {exc.detail}")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return MailjetError(405, METHOD_NOT_ALLOWED, str(exc.detail))
    if isinstance(exc, exceptions.NotFound | Http404):
        return MailjetError(404, NOT_FOUND, "Object not found.")
    if isinstance(exc, exceptions.PermissionDenied | PermissionDenied):
        return MailjetError(403, NO_ACCESS, "You do not have access to this resource.")
    if isinstance(exc, exceptions.APIException):
        return MailjetError(exc.status_code, BAD_REQUEST, str(exc.detail))
    return None
