"""The API's views: ``POST v4/sms-send``, ``GET v4/sms``, ``GET v4/sms/{id}``,
``GET v4/sms/count``, as Mailjet's SMS API v4 (the export views are in ``export_views``).

Every request is authenticated by an API token; the token's owner's wallet pays and the
owner sees only messages sent with its tokens. Bad input gets a 4xx in Mailjet's error shape
(never a 500), and a refused request charges nothing: everything is validated before the
pipeline holds any money.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.urls import Resolver404, resolve
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_sms import encoding
from django_sms.api import errors
from django_sms.api.authentication import BearerTokenAuthentication, HasAPIToken
from django_sms.api.daily_limit import DailyLimitReached, Reservation, reserve
from django_sms.api.errors import MailjetError, exception_handler
from django_sms.api.parsers import JSONOnlyNegotiation, MailjetJSONParser
from django_sms.api.queries import owner_messages
from django_sms.api.schema import auto_schema, extend_operation, parameter
from django_sms.api.serializers import (
    MAILJET_STATUSES,
    CountSerializer,
    ErrorSerializer,
    MessageListSerializer,
    MessageSerializer,
    SendSMSResponseSerializer,
    SendSMSSerializer,
    message_item,
    send_response,
    statuses_for_codes,
    validated_send,
)
from django_sms.api.throttling import TokenRateThrottle
from django_sms.api.timestamps import parse_timestamp
from django_sms.conf import sms_settings
from django_sms.exceptions import (
    CountryNotAllowed,
    InsufficientFunds,
    InvalidMessage,
    InvalidRecipient,
    InvalidSender,
    MessageTooLong,
    OptedOut,
    WalletInactive,
)
from django_sms.message import SMS
from django_sms.models import (
    AbstractAPIToken,
    AbstractMessage,
    AbstractWallet,
    ChargeStatus,
    Currency,
    get_message_model,
    get_wallet_model,
)

#: Header choosing the paying wallet when the token's owner has several (one per currency).
WALLET_CURRENCY_HEADER = "X-Wallet-Currency"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200
#: How long an Idempotency-Key is remembered. The official Python client sends a key derived
#: from the payload on every POST: without a window, the same text sent to the same number
#: days later would never go out.
IDEMPOTENCY_WINDOW = timedelta(hours=24)

LIMIT_DEFAULT, LIMIT_MAX = 10, 1000
OFFSET_MAX = 2**31 - 1
#: Without ``FromTS``, lists and counts cover the last 3 months, as Mailjet's do.
DEFAULT_WINDOW = timedelta(days=90)

ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    405: ErrorSerializer,
    429: ErrorSerializer,
}


class PublicJSONView(APIView):
    """Base of every view under ``v4/``: JSON in and out, errors in Mailjet's shape; no
    authentication (the views that need a token add it)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    parser_classes = [MailjetJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    schema = None  # not one of the API's endpoints

    def get_exception_handler(self) -> Any:
        return exception_handler


class MailjetAPIView(PublicJSONView):
    """Base of the API's endpoints: bearer tokens, per-token throttling."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasAPIToken]
    throttle_classes = [TokenRateThrottle]
    if auto_schema() is not None:
        schema = auto_schema()
    #: False for the URL aliases mailjet-rest's helpers call (left out of the schema).
    in_schema = True

    @property
    def token(self) -> AbstractAPIToken:
        token = self.request.auth
        assert isinstance(token, AbstractAPIToken)  # HasAPIToken let the request in
        return token

    def owner_messages(self) -> QuerySet[AbstractMessage]:
        """Messages sent with any token of this token's owner."""
        return owner_messages(self.token.owner_type_id, self.token.owner_id)


class UnknownURLView(PublicJSONView):
    """Any other URL under ``v4/``, whatever the method: a JSON 404 in Mailjet's shape, with
    the right URL when the client added a trailing slash. No authentication: which URLs
    exist is public."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        where = f"{request.method} {request.path}"
        without_slash = request.path_info.rstrip("/")
        if without_slash != request.path_info and api_view_at(without_slash):
            right = request.path[: len(request.path) - len(request.path_info)] + without_slash
            raise MailjetError(
                404,
                errors.NOT_FOUND,
                f"No such endpoint: {where}. The API's URLs have no trailing slash: {right}.",
            )
        raise MailjetError(404, errors.NOT_FOUND, f"No such endpoint: {where}.")


def api_view_at(path_info: str) -> bool:
    """Whether ``path_info`` is one of the API's endpoints."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return False
    view_class = getattr(match.func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, MailjetAPIView)


# -- POST v4/sms-send --------------------------------------------------------------------------


def not_text(value: str) -> str:
    """Why a header's ``value`` cannot be stored as text ("" when it can): no database column
    accepts a NUL or an unpaired UTF-16 surrogate."""
    if "\x00" in value:
        return "it contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "it contains an unpaired UTF-16 surrogate"
    return ""


class SendView(MailjetAPIView):
    @extend_operation(
        operation_id="sms_send",
        tags=["SMS"],
        summary="Send an SMS",
        description=(
            "Send one SMS, paid from the token owner's wallet. With an `Idempotency-Key` "
            "header, a repeated request returns the first message instead of sending again."
        ),
        request=SendSMSSerializer,
        responses={200: SendSMSResponseSerializer, **ERRORS},
        parameters=[
            parameter(
                IDEMPOTENCY_HEADER,
                str,
                "header",
                description="Your key for this send (at most 200 characters).",
            ),
            parameter(
                WALLET_CURRENCY_HEADER,
                str,
                "header",
                enum=Currency.values,
                description="Which wallet pays, when the token's owner has one per currency.",
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        payload = validated_send(request.data)
        keys = self.idempotency_keys(request)
        key = keys[0] if keys else None
        existing = self.previous_send(keys)
        if existing is not None:
            return Response(send_response(existing))
        wallet = self.paying_wallet(request)
        sms = SMS(
            text=payload["Text"], to=payload["To"], sender=payload["From"], idempotency_key=key
        )
        reservation = self.reserve_daily_parts(payload["Text"])
        try:
            message, stored = self.send(sms, wallet, keys)
        except BaseException:
            reservation.release()
            raise
        if not stored or message.charge_status == ChargeStatus.RELEASED:
            # Another request's message, or one that never reached a carrier: not counted.
            reservation.release()
        return Response(send_response(message))

    def send(
        self, sms: SMS, wallet: AbstractWallet, keys: list[str]
    ) -> tuple[AbstractMessage, bool]:
        """Send ``sms`` through the pipeline: the message, and whether this request stored
        it. Refusals become Mailjet's errors."""
        try:
            return sms.send(wallet=wallet, token=self.token, fail_silently=True), True
        except IntegrityError:
            # The same Idempotency-Key sent twice at once: the other request stored it first.
            existing = self.previous_send(keys)
            if existing is None:
                raise
            return existing, False
        except Exception as exc:
            error = send_error(exc)
            if error is None:
                raise
            raise error from exc

    def idempotency_keys(self, request: Request) -> list[str]:
        """The stored forms of the client's ``Idempotency-Key``: today's, then yesterday's.

        Scoped to the token's owner, so two owners' keys never collide, and to the UTC day,
        so a key can be used again once :data:`IDEMPOTENCY_WINDOW` has passed (the stored
        key is unique). A new message is stored under today's form.
        """
        raw = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
        if not raw:
            return []
        problem = not_text(raw)
        if problem:
            raise MailjetError(
                400,
                errors.TYPE_MISMATCH,
                f'Type mismatch. Expected type "string": {problem}.',
                [IDEMPOTENCY_HEADER],
            )
        if len(raw) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise MailjetError(
                400,
                errors.TOO_LONG,
                "Characters limit exceeded for the property. "
                f"Max allowed - {IDEMPOTENCY_KEY_MAX_LENGTH}.",
                [IDEMPOTENCY_HEADER],
            )
        scope = f"api:{self.token.owner_type_id}:{self.token.owner_id}"
        today = timezone.now().astimezone(UTC).date()
        return [f"{scope}:{day:%Y%m%d}:{raw}" for day in (today, today - timedelta(days=1))]

    @staticmethod
    def previous_send(keys: list[str]) -> AbstractMessage | None:
        """The message stored under one of ``keys`` within the idempotency window."""
        if not keys:
            return None
        since = timezone.now() - IDEMPOTENCY_WINDOW
        return (
            get_message_model()
            ._default_manager.filter(idempotency_key__in=keys, created_at__gte=since)
            .order_by("-created_at")
            .first()
        )

    def paying_wallet(self, request: Request) -> AbstractWallet:
        """The owner's wallet: its only one, or the one ``X-Wallet-Currency`` names."""
        wallets = list(
            get_wallet_model()._default_manager.filter(
                owner_type_id=self.token.owner_type_id, owner_id=self.token.owner_id
            )
        )
        currency = (request.headers.get(WALLET_CURRENCY_HEADER) or "").strip().upper()
        if currency and currency not in Currency.values:
            raise MailjetError(
                400,
                errors.NOT_IN_ALLOWED_LIST,
                f"Value not in allowed list: {WALLET_CURRENCY_HEADER} must be one of "
                + ", ".join(Currency.values)
                + ".",
                [WALLET_CURRENCY_HEADER],
            )
        if currency:
            wallets = [w for w in wallets if w.currency == currency]
        if not wallets:
            where = f" in {currency}" if currency else ""
            raise MailjetError(
                400,
                errors.INSUFFICIENT_FUNDS,
                f"Insufficient funds. No wallet{where}: make a deposit first.",
            )
        if len(wallets) > 1:
            raise MailjetError(
                400,
                errors.MISSING_PROPERTY,
                f"Missing mandatory property. This account has a wallet in each of "
                f"{', '.join(sorted(w.currency for w in wallets))}: name the one that pays "
                f"with the {WALLET_CURRENCY_HEADER} header.",
                [WALLET_CURRENCY_HEADER],
            )
        return wallets[0]

    def reserve_daily_parts(self, text: str) -> Reservation:
        """Count the parts of ``text`` against the owner's ``API_DAILY_LIMIT`` for today, or
        refuse with Mailjet's ``400 sms-0003``.

        A 400, which clients do not retry: a 429 with a Retry-After of hours would hold a
        retrying client (mailjet-rest) until midnight.
        """
        limit = sms_settings.API_DAILY_LIMIT
        if not limit:
            return Reservation(self.token.owner_type_id, self.token.owner_id, date.min, 0)
        try:
            return reserve(self.token, encoding.analyze(text).segments, limit)
        except DailyLimitReached as exc:
            raise MailjetError(
                400, errors.DAILY_LIMIT, f"SMS per day limit reached. {exc}"
            ) from None


def send_error(exc: Exception) -> MailjetError | None:
    """The API error for an exception of the pipeline; None when it is not the client's."""
    if isinstance(exc, InsufficientFunds):
        return MailjetError(
            400,
            errors.INSUFFICIENT_FUNDS,
            f"Insufficient funds. {exc.available} available, this message needs {exc.needed}.",
        )
    if isinstance(exc, WalletInactive):
        return MailjetError(400, errors.INSUFFICIENT_FUNDS, f"Insufficient funds. {exc}")
    if isinstance(exc, CountryNotAllowed | InvalidRecipient):
        # The message written for people outside the site: str(exc) names its settings.
        return MailjetError(
            400, errors.UNSUPPORTED_COUNTRY, f"Unsupported country code. {exc.user_message}", ["To"]
        )
    if isinstance(exc, InvalidSender):
        return MailjetError(
            400, errors.TYPE_MISMATCH, f'Type mismatch. Expected type "SenderID": {exc}', ["From"]
        )
    if isinstance(exc, MessageTooLong):
        return MailjetError(
            400,
            errors.TOO_LONG,
            "Characters limit exceeded for the property. "
            f"Max allowed - {max_characters(exc.encoding, exc.max_segments)}. The text needs "
            f"{exc.segments} {exc.encoding} parts; at most {exc.max_segments} are allowed.",
            ["Text"],
        )
    if isinstance(exc, OptedOut):
        return MailjetError(400, errors.OPTED_OUT, f"Recipient opted out. {exc}", ["To"])
    if isinstance(exc, InvalidMessage):
        return MailjetError(
            400,
            errors.TOO_SHORT,
            f"Characters limit below the minimum for the property. {exc}",
            ["Text"],
        )
    return None


def max_characters(encoding_name: str, segments: int) -> int:
    """Characters that fit in ``segments`` parts (Mailjet's table: 5 parts = 765 / 335)."""
    single, multi = encoding.SEGMENT_LIMITS[encoding_name]
    return single if segments <= 1 else multi * segments


# -- GET v4/sms, v4/sms/count, v4/sms/{id} ------------------------------------------------------


@dataclass
class Filters:
    from_ts: datetime
    to_ts: datetime | None
    to: str | None
    statuses: set[str] | None


def first(request: Request, name: str) -> str | None:
    """A query parameter's first occurrence (Mailjet: only the first of repeats counts)."""
    values = request.query_params.getlist(name)
    return values[0] if values else None


def parse_filters(request: Request) -> Filters:
    now = timezone.now()
    raw_from, raw_to = first(request, "FromTS"), first(request, "ToTS")
    to_ts = parse_timestamp(raw_to, "ToTS") if raw_to else None
    from_ts = parse_timestamp(raw_from, "FromTS") if raw_from else (to_ts or now) - DEFAULT_WINDOW
    to = (first(request, "To") or "").strip() or None
    if to is not None and (problem := not_text(to)):
        # No database column holds it (PostgreSQL refuses the query itself).
        raise MailjetError(
            400, errors.TYPE_MISMATCH, f'Type mismatch. Expected type "string": {problem}.', ["To"]
        )
    if to is not None and not to.startswith("+"):
        to = "+" + to  # an unencoded '+' arrives as a space, stripped above
    statuses = None
    raw_codes = first(request, "StatusCode")
    if raw_codes is not None:
        codes = set()
        for part in raw_codes.split(","):
            part = part.strip()
            if not (part.isascii() and part.isdigit() and int(part) in MAILJET_STATUSES):
                raise MailjetError(
                    400,
                    errors.NOT_IN_ALLOWED_LIST,
                    f"Value not in allowed list: StatusCode {part[:20]!r}; codes are 0 to 16.",
                    ["StatusCode"],
                )
            codes.add(int(part))
        statuses = statuses_for_codes(codes)
    return Filters(from_ts, to_ts, to, statuses)


def parse_count(request: Request, name: str, default: int, maximum: int) -> int:
    raw = first(request, name)
    if raw is None:
        return default
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise MailjetError(
            400, errors.TYPE_MISMATCH, 'Type mismatch. Expected type "unsigned integer".', [name]
        )
    return int(raw)


def apply_filters(
    queryset: QuerySet[AbstractMessage], filters: Filters
) -> QuerySet[AbstractMessage]:
    queryset = queryset.filter(created_at__gte=filters.from_ts)
    if filters.to_ts is not None:
        queryset = queryset.filter(created_at__lte=filters.to_ts)
    if filters.to is not None:
        queryset = queryset.filter(to=filters.to)
    if filters.statuses is not None:
        queryset = queryset.filter(status__in=filters.statuses)
    return queryset


def filter_parameters(*, paging: bool) -> list[Any]:
    ts = "Unix seconds or an RFC 3339 date-time."
    parameters = [
        parameter(
            "FromTS",
            str,
            description=f"Created at or after. {ts} Default: 3 months before ToTS or now.",
        ),
        parameter("ToTS", str, description=f"Created at or before. {ts}"),
        parameter("To", str, description="Recipient, E.164 (URL-encode the '+' as %2B)."),
        parameter(
            "StatusCode",
            str,
            pattern=r"^\s*([0-9]|1[0-6])\s*(,\s*([0-9]|1[0-6])\s*)*$",
            description="Comma-separated Mailjet status codes (0-16), any of which matches.",
        ),
    ]
    if paging:
        parameters += [
            parameter(
                "Limit",
                {"type": "integer", "minimum": 0, "maximum": LIMIT_MAX},
                description="Items per page, default 10; 0 means 1000.",
            ),
            parameter(
                "Offset",
                {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX},
                description="Items to skip.",
            ),
        ]
    return parameters


class MessageListView(MailjetAPIView):
    @extend_operation(
        operation_id="sms_list",
        tags=["SMS"],
        summary="List sent SMS",
        description="The token owner's messages, newest first.",
        parameters=filter_parameters(paging=True),
        responses={200: MessageListSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        filters = parse_filters(request)
        limit = parse_count(request, "Limit", LIMIT_DEFAULT, LIMIT_MAX) or LIMIT_MAX
        if limit > LIMIT_MAX:
            raise MailjetError(
                400,
                errors.LIMIT_EXCEEDED,
                f"Limit max exceeded. Max allowed - {LIMIT_MAX}.",
                ["Limit"],
            )
        offset = parse_count(request, "Offset", 0, OFFSET_MAX)
        if offset > OFFSET_MAX:
            raise MailjetError(
                400,
                errors.TOO_LONG,
                f"Offset is too large. Max allowed - {OFFSET_MAX}.",
                ["Offset"],
            )
        messages = apply_filters(self.owner_messages(), filters).order_by("-created_at", "-pk")
        return Response({"Data": [message_item(m) for m in messages[offset : offset + limit]]})


class MessageCountView(MailjetAPIView):
    @extend_operation(
        operation_id="sms_count",
        tags=["SMS"],
        summary="Count sent SMS",
        description="How many of the token owner's messages match the filters.",
        parameters=filter_parameters(paging=False),
        responses={200: CountSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        filters = parse_filters(request)
        return Response({"Count": apply_filters(self.owner_messages(), filters).count()})


class MessageDetailView(MailjetAPIView):
    @extend_operation(
        operation_id="sms_retrieve",
        tags=["SMS"],
        summary="One sent SMS",
        description="A message of the token's owner, by its MessageId; 404 for any other.",
        parameters=[parameter("message_id", uuid.UUID, "path")],
        responses={200: MessageSerializer, 404: ErrorSerializer, **ERRORS},
    )
    def get(self, request: Request, message_id: str) -> Response:
        try:
            reference = uuid.UUID(message_id)
        except ValueError:
            raise MailjetError(404, errors.NOT_FOUND, "Object not found.") from None
        message = self.owner_messages().filter(reference=reference).first()
        if message is None:
            raise MailjetError(404, errors.NOT_FOUND, "Object not found.")
        return Response(message_item(message))
