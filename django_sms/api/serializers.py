"""What the API reads and writes, key for key as Mailjet's SMS API v4.

Responses are built by :func:`send_response` and :func:`message_item` (plain dicts: the list
endpoint returns up to 1000 of them). The serializer classes describe the same shapes for the
OpenAPI schema; schemathesis checks in the test suite that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from rest_framework import serializers
from rest_framework.settings import api_settings

from django_sms.api import errors
from django_sms.api.errors import MailjetError
from django_sms.api.schema import schema_field
from django_sms.api.timestamps import LATEST, parse_timestamp
from django_sms.models import AbstractMessage, ChargeStatus
from django_sms.status import Status


class MailjetStatus(NamedTuple):
    code: int
    name: str
    description: str


#: Mailjet's status table (providers.md §1.4).
MAILJET_STATUSES: dict[int, MailjetStatus] = {
    s.code: s
    for s in (
        MailjetStatus(0, "unknown", "Unknown status"),
        MailjetStatus(1, "sent_pending", "Message is being sent"),
        MailjetStatus(2, "sent", "Message sent"),
        MailjetStatus(3, "delivered", "Message delivered"),
        MailjetStatus(4, "rejected_operator", "Message rejected by the operator"),
        MailjetStatus(
            5, "rejected_undelivered", "Message undelivered, as declared by the operator"
        ),
        MailjetStatus(6, "rejected_expired", "Message sent to the operator but expired"),
        MailjetStatus(
            7,
            "rejected_incorrect_delivery",
            "Message sent to the operator, incorrect delivery report",
        ),
        MailjetStatus(
            8, "rejected_network", "Message sent to the operator, network or setup issue"
        ),
        MailjetStatus(9, "rejected_dnd", "Recipient is on a Do Not Disturb service"),
        MailjetStatus(10, "rejected_from_blacklist", "Sender is blacklisted"),
        MailjetStatus(11, "rejected_to_blacklist", "Recipient is blacklisted"),
        MailjetStatus(12, "rejected_anti_flood", "Message rejected by the anti-flooding mechanism"),
        MailjetStatus(
            13, "rejected_system_error", "Message rejected due to an unexpected system error"
        ),
        MailjetStatus(14, "invalid_phone_number", "Invalid phone number"),
        MailjetStatus(15, "rejected_insufficent_funds", "Not enough funds in the wallet"),
        MailjetStatus(16, "rejected_daily_limit_reached", "Daily sending limit reached"),
    )
}

#: Our status -> Mailjet's status code. Several of Mailjet's rejection codes (7-12, 14-16)
#: describe causes we do not track separately; they are never produced.
STATUS_CODES: dict[str, int] = {
    Status.QUEUED: 1,
    Status.SENDING: 1,
    Status.ACCEPTED: 1,
    Status.UNKNOWN: 0,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.REJECTED: 4,
    Status.UNDELIVERED: 5,
    Status.EXPIRED: 6,
    Status.FAILED: 13,
    Status.CANCELED: 13,
}


def statuses_for_codes(codes: set[int]) -> set[str]:
    """Our statuses shown as one of ``codes`` (for the ``StatusCode`` filter)."""
    return {status for status, code in STATUS_CODES.items() if code in codes}


def timestamp(value: datetime | None) -> int | str:
    """Unix seconds, or "" for a time not reached yet (Mailjet's ``SentTS`` while pending)."""
    return int(value.timestamp()) if value is not None else ""


def charged(message: AbstractMessage) -> Decimal:
    """What the wallet is charged for ``message`` now: held or captured money, else 0."""
    if message.charge_status in (ChargeStatus.HELD, ChargeStatus.CAPTURED):
        return message.price or Decimal(0)
    return Decimal(0)


#: Mailjet's codes of a message the provider has not taken (yet): no ``SentTS``.
NOT_SENT_CODES = frozenset({0, 1})


def sent_ts(message: AbstractMessage, code: int) -> int | str:
    """Mailjet's ``SentTS``: "" while the message is pending (``sent_pending``, or ``unknown``),
    as Mailjet answers, and never earlier than ``CreationTS``, whatever the provider's clock
    said."""
    # A provider that reports "delivered" at once never stamps sent_at.
    sent = message.sent_at or message.delivered_at
    if code in NOT_SENT_CODES or sent is None:
        return ""
    return timestamp(max(sent, message.created_at))


def _common(message: AbstractMessage) -> dict[str, Any]:
    status = MAILJET_STATUSES[STATUS_CODES.get(message.status, 0)]
    return {
        "From": message.sender,
        "To": message.to,
        "MessageId": str(message.reference),
        "SmsCount": message.segments,
        "CreationTS": timestamp(message.created_at),
        "SentTS": sent_ts(message, status.code),
        "Cost": {"Value": float(charged(message)), "Currency": message.price_currency},
        "Status": {"Code": status.code, "Name": status.name, "Description": status.description},
    }


def send_response(message: AbstractMessage) -> dict[str, Any]:
    """The body of a ``POST /v4/sms-send`` answer, keys exactly as Mailjet's example."""
    body = _common(message)
    return {"From": body["From"], "To": body["To"], "Text": message.text, **body}


def message_item(message: AbstractMessage) -> dict[str, Any]:
    """One message as ``GET /v4/sms`` and ``GET /v4/sms/{id}`` show it.

    Mailjet's own documents and live answers spell two keys differently (``MessageId`` /
    ``ID``, ``SmsCount`` / ``SMSCount``); both spellings are given so clients written against
    either keep working.
    """
    body = _common(message)
    body["ID"] = body["MessageId"]
    body["SMSCount"] = body["SmsCount"]
    return body


# -- schema ------------------------------------------------------------------------------------


class MailjetStringField(serializers.CharField):
    """A required JSON string. DRF's ``CharField`` turns numbers into text; Mailjet answers
    ``mj-0004 Type mismatch`` for them, so anything but a string is ``invalid`` here."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def e164_prefix(value: str) -> None:
    """Mailjet takes numbers in E.164 only: a national number is an unsupported country."""
    if not value.startswith("+"):
        raise serializers.ValidationError(
            "To must be in E.164 format: '+', the country code, then the number (+33600000000).",
            code="unsupported_country",
        )


class SendSMSSerializer(serializers.Serializer):
    """The body of ``POST v4/sms-send``: its shape and lengths. What the values mean (a
    valid mobile number, an allowed sender ID, a text that fits) is checked by the pipeline.
    """

    From = MailjetStringField(
        min_length=3,
        max_length=11,
        trim_whitespace=False,
        help_text="Sender ID: 3-11 letters, digits, spaces or . - _ &, with a letter; or a number.",
    )
    To = MailjetStringField(
        min_length=1,
        max_length=20,
        trim_whitespace=False,
        validators=[e164_prefix],
        help_text="Recipient in E.164 format: '+', country code, number (+33600000000).",
    )
    Text = MailjetStringField(
        min_length=1,
        # Far above 5 parts: refused before the text is even analysed.
        max_length=10000,
        trim_whitespace=False,
        help_text="The message: at most MAX_SEGMENTS parts (5: 765 GSM-7 or 335 UCS-2 characters).",
    )


#: DRF's error codes, grouped as Mailjet reports them: the first group any property falls in
#: decides the answer, and every property in that group is named in ``ErrorRelatedTo``.
#: Mailjet: "A mandatory property is missing or with null value" is mj-0003.
_MISSING = {"required", "null"}
_WRONG_TYPE = {
    "invalid",
    "null_characters_not_allowed",
    "surrogate_characters_not_allowed",
}
_TOO_SHORT = {"blank", "min_length"}
_TOO_LONG = {"max_length"}
_COUNTRY = {"unsupported_country"}
_DATETIME = {"invalid_datetime"}


def validated_send(data: Any) -> dict[str, str]:
    """The body of ``POST v4/sms-send`` validated, or the :class:`MailjetError` Mailjet
    would answer."""
    return validated(SendSMSSerializer(data=data), "SendSMSPayload")


def validated(serializer: serializers.Serializer, payload_type: str) -> dict[str, Any]:
    """``serializer``'s validated data, or the :class:`MailjetError` Mailjet would answer:
    missing properties first, then wrong types, then lengths, then formats."""
    if serializer.is_valid():
        return dict(serializer.validated_data)
    codes: dict[str, set[str]] = {
        name: {str(detail.code) for detail in details}
        for name, details in serializer.errors.items()
    }
    if api_settings.NON_FIELD_ERRORS_KEY in codes:
        raise MailjetError(
            400, errors.TYPE_MISMATCH, f'Type mismatch. Expected type "{payload_type}".'
        )
    fields = serializer.fields

    def named(group: set[str]) -> list[str]:
        # In the serializer's field order, which is the errors' order.
        return [name for name, found in codes.items() if found & group]

    def first_message(names: list[str]) -> str:
        return str(serializer.errors[names[0]][0])

    if missing := named(_MISSING):
        raise MailjetError(400, errors.MISSING_PROPERTY, "Missing mandatory property.", missing)
    if wrong := named(_WRONG_TYPE):
        expected = getattr(fields[wrong[0]], "mailjet_type", "string")
        reasons = sorted(
            {
                "it contains a NUL character"
                for name in wrong
                if "null_characters_not_allowed" in codes[name]
            }
            | {
                "it contains an unpaired UTF-16 surrogate"
                for name in wrong
                if "surrogate_characters_not_allowed" in codes[name]
            }
        )
        why = f": {'; '.join(reasons)}" if reasons else ""
        raise MailjetError(
            400, errors.TYPE_MISMATCH, f'Type mismatch. Expected type "{expected}"{why}.', wrong
        )
    if short := named(_TOO_SHORT):
        minimum = getattr(fields[short[0]], "min_length", None) or 1
        raise MailjetError(
            400,
            errors.TOO_SHORT,
            f"Characters limit below the minimum for the property. Min allowed - {minimum}.",
            short,
        )
    if long := named(_TOO_LONG):
        maximum = getattr(fields[long[0]], "max_length", None)
        raise MailjetError(
            400,
            errors.TOO_LONG,
            f"Characters limit exceeded for the property. Max allowed - {maximum}.",
            long,
        )
    if country := named(_COUNTRY):
        raise MailjetError(
            400,
            errors.UNSUPPORTED_COUNTRY,
            f"Unsupported country code. {first_message(country)}",
            country,
        )
    if dates := named(_DATETIME):
        raise MailjetError(400, errors.INVALID_DATETIME, first_message(dates), dates)
    # A code this mapping does not know (a validator added later): still Mailjet's shape.
    name = next(iter(codes))
    raise MailjetError(400, errors.BAD_REQUEST, first_message([name]), [name])


@schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0, "maximum": int(LATEST.timestamp())},
            {"type": "string", "format": "date-time"},
        ],
        "description": "Unix seconds or an RFC 3339 date-time (without an offset: UTC).",
    }
)
class TimestampField(serializers.Field):
    """Unix seconds (a JSON integer) or an RFC 3339 date-time string, as a UTC datetime."""

    mailjet_type = "timestamp"
    default_error_messages = {
        "invalid": "Expected Unix seconds (an integer) or an RFC 3339 date-time (a string)."
    }

    def to_internal_value(self, data: Any) -> datetime:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        try:
            return parse_timestamp(data, self.field_name or "timestamp")
        except MailjetError as exc:
            raise serializers.ValidationError(exc.error_message, code="invalid_datetime") from None

    def to_representation(self, value: datetime) -> int:
        return int(value.timestamp())


class ExportRequestSerializer(serializers.Serializer):
    """The body of ``POST v4/sms/export``: the period to export."""

    FromTS = TimestampField(help_text="Start of the period (at most one year ago).")
    ToTS = TimestampField(help_text="End of the period (after FromTS).")


def validated_export(data: Any) -> dict[str, datetime]:
    return validated(ExportRequestSerializer(data=data), "SMSExportPayload")


class CostSerializer(serializers.Serializer):
    Value = serializers.FloatField(help_text="What the wallet was charged for this message.")
    Currency = serializers.CharField(allow_blank=True)


class StatusSerializer(serializers.Serializer):
    Code = serializers.IntegerField(min_value=0, max_value=16)
    Name = serializers.CharField()
    Description = serializers.CharField()


@schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "enum": [""]}],
        "description": "Unix seconds; an empty string until the provider took the message.",
    }
)
class SentTSField(serializers.Field):
    pass


class _MessageBase(serializers.Serializer):
    From = serializers.CharField(allow_blank=True)
    To = serializers.CharField()
    MessageId = serializers.CharField(help_text="The message's id (a UUID).")
    SmsCount = serializers.IntegerField(help_text="Number of SMS parts.")
    CreationTS = serializers.IntegerField(help_text="Unix seconds.")
    SentTS = SentTSField()
    Cost = CostSerializer()
    Status = StatusSerializer()


class SendSMSResponseSerializer(_MessageBase):
    Text = serializers.CharField()


class MessageSerializer(_MessageBase):
    ID = serializers.CharField(help_text="Same as MessageId (Mailjet's live spelling).")
    SMSCount = serializers.IntegerField(help_text="Same as SmsCount.")


class MessageListSerializer(serializers.Serializer):
    Data = MessageSerializer(many=True)


class CountSerializer(serializers.Serializer):
    Count = serializers.IntegerField(min_value=0)


class ErrorSerializer(serializers.Serializer):
    ErrorIdentifier = serializers.UUIDField()
    ErrorCode = serializers.CharField(
        help_text="mj-00xx / sms-00xx (Mailjet's), djsms-00xx (ours)."
    )
    StatusCode = serializers.IntegerField()
    ErrorMessage = serializers.CharField()
    ErrorRelatedTo = serializers.ListField(child=serializers.CharField())


#: Mailjet's export status table (Code -> Name, Description).
EXPORT_STATUSES: dict[int, tuple[str, str]] = {
    1: ("PENDING", "The request is accepted."),
    2: ("IN_PROGRESS", "The export is in progress."),
    3: ("COMPLETED", "The export completed without errors."),
    4: ("ERROR", "The export is in error state."),
}


class ExportStatusSerializer(serializers.Serializer):
    Code = serializers.IntegerField(min_value=1, max_value=4)
    Name = serializers.ChoiceField(choices=[name for name, _ in EXPORT_STATUSES.values()])
    Description = serializers.CharField()


class ExportSerializer(serializers.Serializer):
    ID = serializers.IntegerField(help_text="The export's id, for GET v4/sms/export/{ID}.")
    CreationTS = serializers.IntegerField(
        allow_null=True, help_text="Unix seconds when the CSV was made; null until then."
    )
    ExpirationTS = serializers.IntegerField(
        allow_null=True, help_text="Unix seconds until which URL works (7 days); null until then."
    )
    Status = ExportStatusSerializer()
    URL = serializers.URLField(
        allow_null=True, help_text="Where to download the CSV (no token needed) once completed."
    )
    FromTs = serializers.IntegerField(help_text="Start of the period, Unix seconds.")
    ToTs = serializers.IntegerField(help_text="End of the period, Unix seconds.")
    FromTS = serializers.IntegerField(help_text="Same as FromTs.")
    ToTS = serializers.IntegerField(help_text="Same as ToTs.")
