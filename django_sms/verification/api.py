"""DRF endpoints for single-page and mobile apps: ``POST verify/start`` and ``POST verify/check``.

Both are public (``AllowAny``, no authentication: whoever may ask for a code is the site's
business, e.g. a CAPTCHA in front), throttled per client IP, and answer errors as
``{"code": <stable code>, "detail": <English text>, ...}``. Codes: ``invalid_request``,
``invalid_number`` (with ``reason``: ``too_short``, ``not_mobile``... and a ``detail`` fit
for the person who typed the number), ``country_not_allowed``, ``rate_limited`` (with
``retry_after`` and a ``Retry-After`` header), ``invalid_code`` (a wrong code, an expired
one, or no code pending: answered alike), ``max_attempts_reached``, ``method_not_allowed``,
``unsupported_media_type``.

A start answers ``202`` the same way whether the code was sent, or silently not sent because
the number opted out or its country is blocked: no enumeration.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from django_sms.api.schema import auto_schema, extend_operation
from django_sms.exceptions import CountryNotAllowed, InvalidRecipient, VerificationRateLimited
from django_sms.verification.conf import verification_settings
from django_sms.verification.service import (
    CheckResult,
    check_verification,
    client_ip,
    start_verification,
)

INVALID_REQUEST = "invalid_request"
INVALID_NUMBER = "invalid_number"
COUNTRY_NOT_ALLOWED = "country_not_allowed"
RATE_LIMITED = "rate_limited"
INVALID_CODE = "invalid_code"
MAX_ATTEMPTS_REACHED = "max_attempts_reached"

#: The answer to a failed check. A wrong code, an expired one and a number with no code
#: pending answer alike (no attempts count either): otherwise anyone could learn which
#: numbers are verifying right now. Only the lock-out after the allowed attempts differs.
NOT_VALID = (
    status.HTTP_400_BAD_REQUEST, INVALID_CODE, "The code is not correct or no longer valid."
)
CHECK_FAILURES = {
    "pending": NOT_VALID,
    "expired": NOT_VALID,
    "not_found": NOT_VALID,
    "max_attempts_reached": (
        status.HTTP_429_TOO_MANY_REQUESTS,
        MAX_ATTEMPTS_REACHED,
        "Too many wrong codes: ask for a new code later.",
    ),
}


class VerificationAPIError(exceptions.APIException):
    """An endpoint's refusal: its HTTP status, stable ``code`` and extra fields (kept apart
    from ``django_sms.exceptions.VerificationError``, which the Python API raises)."""

    def __init__(self, status_code: int, code: str, detail: str, **extra: Any) -> None:
        self.status_code = status_code
        self.error_code = code
        self.extra = extra
        super().__init__(detail=detail, code=code)


class ErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="A stable error code (see the description).")
    detail = serializers.CharField(help_text="What went wrong, in English.")
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="invalid_request: the problems of each field."
    )
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait.")
    reason = serializers.CharField(required=False, help_text="invalid_number: why.")
    scope = serializers.CharField(required=False, help_text="rate_limited: which limit.")


class StartSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(max_length=32, help_text="The number, E.164 or national.")
    purpose = serializers.SlugField(max_length=50, default="default")
    app_hash = serializers.RegexField(
        r"^[A-Za-z0-9+/]{11}$",
        required=False,
        help_text="Android SMS Retriever app hash, appended to the text's last line.",
    )


class StartResponseSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["pending"])
    to = serializers.CharField(help_text="The number in E.164.")
    purpose = serializers.CharField()
    expires_at = serializers.DateTimeField()
    code_length = serializers.IntegerField()
    resend_after = serializers.IntegerField(help_text="Seconds before another code may be sent.")


class CheckSerializer(serializers.Serializer[Any]):
    to = serializers.CharField(max_length=32)
    code = serializers.CharField(max_length=20)
    purpose = serializers.SlugField(max_length=50, default="default")


class CheckResponseSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["approved"])
    to = serializers.CharField()
    purpose = serializers.CharField()


class VerificationThrottle(SimpleRateThrottle):
    """Requests per client IP and endpoint (``API_THROTTLE_RATES`` of the verification
    settings); a second line of defence in front of the per-number limits."""

    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = verification_settings.API_THROTTLE_RATES or {}
        return rates.get(self.scope or "")

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        ip = client_ip(request._request) or "unknown"
        return f"throttle_django_sms_verify_{self.scope}_{ip}"


class StartThrottle(VerificationThrottle):
    scope = "start"


class CheckThrottle(VerificationThrottle):
    scope = "check"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error of these views as ``{"code", "detail", ...}``."""
    headers: dict[str, str] = {}
    if isinstance(exc, VerificationAPIError):
        body = {"code": exc.error_code, "detail": str(exc.detail), **exc.extra}
        if "retry_after" in exc.extra:
            headers["Retry-After"] = str(exc.extra["retry_after"])
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(getattr(exc, "wait", None) or 1)
        body = {"code": RATE_LIMITED, "detail": "Too many requests.", "retry_after": wait}
        return Response(body, status=429, headers={"Retry-After": str(wait)})
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": INVALID_REQUEST, "detail": "The request is not valid.",
                "fields": exc.detail}
        return Response(body, status=400)
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        body = {"code": code if isinstance(code, str) else "error", "detail": str(exc.detail)}
        return Response(body, status=exc.status_code)
    return None


class VerificationAPIView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    schema = auto_schema()

    def get_exception_handler(self) -> Any:
        return exception_handler


class StartVerificationView(VerificationAPIView):
    """Send a one-time code to a number."""

    throttle_classes = [StartThrottle]

    @extend_operation(
        operation_id="verification_start",
        tags=["verification"],
        request=StartSerializer,
        responses={202: StartResponseSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        description=(
            "Send a one-time code by SMS. The answer is the same whether the code was sent "
            "or silently withheld (opted-out number, blocked country). Errors: "
            "invalid_request, invalid_number, country_not_allowed (400); rate_limited (429, "
            "with retry_after and Retry-After)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            verification = start_verification(
                values["to"],
                purpose=values["purpose"],
                request=request._request,
                app_hash=values.get("app_hash"),
            )
        except CountryNotAllowed as exc:
            raise VerificationAPIError(400, COUNTRY_NOT_ALLOWED,
                                    "Codes cannot be sent to this country.") from exc
        except InvalidRecipient as exc:
            raise VerificationAPIError(400, INVALID_NUMBER, exc.user_message,
                                    reason=exc.code) from exc
        except VerificationRateLimited as exc:
            raise VerificationAPIError(429, RATE_LIMITED, "Too many codes requested: wait a while.",
                                    retry_after=exc.retry_after, scope=exc.scope) from exc
        body = {
            "status": "pending",
            "to": verification.phone,
            "purpose": verification.purpose,
            "expires_at": verification.expires_at,
            "code_length": verification.code_length,
            "resend_after": int(verification_settings.RESEND_COOLDOWN),
        }
        return Response(StartResponseSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class CheckVerificationView(VerificationAPIView):
    """Check the code a user typed."""

    throttle_classes = [CheckThrottle]

    @extend_operation(
        operation_id="verification_check",
        tags=["verification"],
        request=CheckSerializer,
        responses={
            200: CheckResponseSerializer,
            400: ErrorSerializer,
            429: ErrorSerializer,
        },
        description=(
            "Check a code. Approving consumes it. Errors: invalid_request (400), invalid_code "
            "(400: a wrong code, an expired one, or no code pending, answered alike), "
            "max_attempts_reached and rate_limited (429)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = CheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result: CheckResult = check_verification(
            values["to"], values["code"], purpose=values["purpose"], request=request._request
        )
        if result.approved:
            assert result.verification is not None
            body = {"status": "approved", "to": result.verification.phone,
                    "purpose": result.verification.purpose}
            return Response(CheckResponseSerializer(body).data)
        status_code, code, detail = CHECK_FAILURES[result.status]
        raise VerificationAPIError(status_code, code, detail)
