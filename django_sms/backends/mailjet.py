"""Mailjet SMS API v4: everything that knows Mailjet's wire format.

Send: ``POST {base_url}/v4/sms-send`` with ``Authorization: Bearer <token>`` and exactly
``{"From", "To", "Text"}`` (``To`` as ``+E.164``). Answer: HTTP 200 with ``MessageId``,
``SmsCount``, ``Cost{Value,Currency}``, ``Status{Code,Name,Description}``, ``CreationTS`` and
``SentTS``. Mailjet has no delivery webhook: status comes from polling ``GET /v4/sms/{id}``.
Details and sources: docs/providers/mailjet.rst.

Settings::

    SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.mailjet.SmsBackend",
                                "OPTIONS": {"token": env("MAILJET_SMS_TOKEN")}}}
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from django_sms.backends.base import SendResult, StatusUpdate
from django_sms.backends.http import ErrorDetails, HttpBackend, HttpRequest
from django_sms.backends.values import as_decimal, as_int, from_epoch
from django_sms.exceptions import MalformedResponse, PermanentProviderError
from django_sms.phone import plus_e164
from django_sms.status import Status

if TYPE_CHECKING:
    from django_sms.message import SMS
    from django_sms.models import AbstractMessage


@dataclass(frozen=True)
class MailjetStatus:
    """One row of Mailjet's status table (``Status.Code`` -> our status)."""

    code: int
    name: str
    status: str
    description: str
    #: The recipient asked not to receive messages (feeds the opt-out list).
    opted_out: bool = False


#: Mailjet's 17 status codes (guides-sms ``_sms-stats.md``), mapped to our statuses.
#: 0 means "the carrier reported something Mailjet has no record for": Mailjet holds the
#: message (it has an id), so it is ``accepted`` and keeps being polled, not ``unknown``
#: (which in this app means "we do not know whether the provider got it").
#: 4-16 are final. "rejected" = refused before reaching the handset's network (the hold is
#: released); "undelivered"/"expired" = handed to the operator, then lost.
STATUS_TABLE: dict[int, MailjetStatus] = {
    s.code: s
    for s in (
        MailjetStatus(0, "unknown", Status.ACCEPTED, "Unknown status"),
        MailjetStatus(1, "sent_pending", Status.ACCEPTED, "Message is being sent"),
        MailjetStatus(2, "sent", Status.SENT, "Message sent"),
        MailjetStatus(3, "delivered", Status.DELIVERED, "Message delivered"),
        MailjetStatus(4, "rejected_operator", Status.REJECTED, "Message rejected by the operator"),
        MailjetStatus(5, "rejected_undelivered", Status.UNDELIVERED,
                      "Operator declared the message undelivered"),
        MailjetStatus(6, "rejected_expired", Status.EXPIRED,
                      "Message sent to the operator but expired"),
        MailjetStatus(7, "rejected_incorrect_delivery", Status.UNDELIVERED,
                      "Message sent to the operator, delivery report not correct"),
        MailjetStatus(8, "rejected_network", Status.UNDELIVERED,
                      "Message sent to the operator, network or setup issue"),
        MailjetStatus(9, "rejected_dnd", Status.REJECTED,
                      "Recipient is on a Do-Not-Disturb service"),
        MailjetStatus(10, "rejected_from_blacklist", Status.REJECTED, "Sender is blacklisted"),
        MailjetStatus(11, "rejected_to_blacklist", Status.REJECTED, "Recipient is blacklisted",
                      opted_out=True),
        MailjetStatus(12, "rejected_anti_flood", Status.REJECTED,
                      "Message rejected by the anti-flooding mechanism"),
        MailjetStatus(13, "rejected_system_error", Status.FAILED,
                      "Message rejected due to an unexpected system error"),
        MailjetStatus(14, "invalid_phone_number", Status.REJECTED, "Invalid phone number"),
        MailjetStatus(15, "rejected_insufficent_funds", Status.REJECTED,
                      "Not enough funds in the SMS wallet"),
        MailjetStatus(16, "rejected_daily_limit_reached", Status.REJECTED,
                      "Daily sending limit reached"),
    )
}

#: Send-time error codes (``_error-codes.md``) that give the message a specific status.
#: All Mailjet 4xx errors are permanent: resending the same request fails the same way.
#: ``sms-0001`` (insufficient funds) and ``sms-0003`` (daily limit) only clear after a
#: wallet top-up or the next day; an operator resends the message then.
ERROR_STATUSES: dict[str, str] = {
    "sms-0001": Status.REJECTED,  # Insufficient funds.
    "sms-0002": Status.REJECTED,  # Unsupported country code.
    "sms-0003": Status.REJECTED,  # SMS per day limit reached.
}


def status_for_code(code: int) -> MailjetStatus:
    """The table row for a ``Status.Code``; unknown future codes count as accepted."""
    return STATUS_TABLE.get(code) or MailjetStatus(code, f"code_{code}", Status.ACCEPTED, "")


class SmsBackend(HttpBackend):
    """Sends through Mailjet's SMS API v4 and polls ``GET /v4/sms/{id}`` for status.

    OPTIONS: ``token`` (required: the SMS API token from Mailjet's SMS dashboard, not the
    e-mail API key pair), ``base_url`` (default ``https://api.mailjet.com``) and the common
    HTTP options of :class:`~django_sms.backends.http.HttpBackend`.
    """

    provider_name = "mailjet"
    default_base_url = "https://api.mailjet.com"
    required_options = ("token",)
    known_options = (*HttpBackend.http_options, "token")
    secret_options = ("token",)
    supports_status_polling = True
    max_segments = 5

    # -- sending ------------------------------------------------------------------------------
    def build_request(self, sms: SMS) -> HttpRequest:
        if not sms.sender:
            raise PermanentProviderError(
                "Mailjet needs a sender ID ('From'): pass sender= or set "
                "DJANGO_SMS['DEFAULT_SENDER'].",
                provider=self.provider_name,
            )
        return HttpRequest(
            "POST",
            "/v4/sms-send",
            json={"From": sms.sender, "To": plus_e164(sms.to), "Text": sms.text},
            headers=self._auth_headers(),
        )

    def parse_send_response(self, sms: SMS, response: requests.Response) -> SendResult:
        data = self.json_body(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(data).__name__}")
        message_id = _message_id(data)
        if not message_id:
            raise MalformedResponse("no MessageId in the answer")
        row = _status_row(data)
        cost, currency = _cost(data)
        result = SendResult(
            status=row.status,
            provider_message_id=message_id,
            segments=_segments(data),
            cost=cost,
            cost_currency=currency,
            provider_status=row.name,
            provider_status_text=_description(data) or row.description,
            occurred_at=from_epoch(_get(data, "CreationTS")),
            raw=data,
        )
        if row.status in (Status.REJECTED, Status.FAILED):
            # Refused at send time with a 200 answer: report it like an error, keeping the id.
            result.error = PermanentProviderError(
                "Mailjet refused the message",
                code=row.name,
                text=result.provider_status_text,
                status_code=response.status_code,
                response_body=self.scrub(response.text),
                provider=self.provider_name,
                status=row.status,
            )
        return result

    def parse_error(self, response: requests.Response) -> ErrorDetails:
        """Mailjet's ``{ErrorIdentifier?, ErrorCode, StatusCode, ErrorMessage, ErrorRelatedTo}``.

        429 and 5xx bodies are not documented and may not be JSON; the HTTP status decides.
        """
        data = self.try_json(response)
        if isinstance(data, list) and data and isinstance(data[0], dict):
            data = data[0]
        if isinstance(data, dict) and isinstance(data.get("Errors"), list) and data["Errors"]:
            data = data["Errors"][0]
        if not isinstance(data, dict):
            return ErrorDetails()
        code = str(_get(data, "ErrorCode") or "")
        text = str(_get(data, "ErrorMessage") or _get(data, "ErrorInfo") or "")
        related = _get(data, "ErrorRelatedTo")
        if isinstance(related, list) and related:
            text += f" (related to: {', '.join(map(str, related))})"
        identifier = _get(data, "ErrorIdentifier")
        if identifier:
            text += f" [ErrorIdentifier {identifier}]"
        return ErrorDetails(code=code, text=text.strip(), status=ERROR_STATUSES.get(code))

    # -- status polling ---------------------------------------------------------------------
    def fetch_status(self, message: AbstractMessage) -> StatusUpdate | None:
        """``GET /v4/sms/{id}``; accepts ``{"Data": [{...}]}`` and a bare object."""
        message_id = str(getattr(message, "provider_message_id", "") or "")
        if not message_id:
            return None
        request = HttpRequest("GET", f"/v4/sms/{quote(message_id, safe='')}",
                              headers=self._auth_headers())
        response = self.request(request)
        data = self.json_body(response)
        if isinstance(data, dict) and isinstance(data.get("Data"), list):
            if not data["Data"]:
                raise PermanentProviderError(
                    f"Mailjet has no SMS with id {message_id!r}",
                    status_code=response.status_code,
                    response_body=self.scrub(response.text),
                    provider=self.provider_name,
                )
            data = data["Data"][0]
        if not isinstance(data, dict) or not isinstance(_get(data, "Status"), dict):
            raise MalformedResponse("no Status object in the answer",
                                    status_code=response.status_code,
                                    response_body=self.scrub(response.text))
        return self.status_update(data, fallback_id=message_id)

    def status_update(self, data: dict[str, Any], *, fallback_id: str = "") -> StatusUpdate:
        """A :class:`StatusUpdate` from one Mailjet SMS object (GET /v4/sms[/{id}])."""
        row = _status_row(data)
        message_id = _message_id(data) or fallback_id
        description = _description(data) or row.description
        failed = row.status in (Status.REJECTED, Status.FAILED, Status.UNDELIVERED,
                                Status.EXPIRED)
        cost, currency = _cost(data)
        occurred = None
        if row.code == 2:
            occurred = from_epoch(_get(data, "SentTS"))
        elif row.code in (0, 1):
            occurred = from_epoch(_get(data, "CreationTS"))
        return StatusUpdate(
            status=row.status,
            provider_message_id=message_id,
            provider_status=row.name,
            provider_status_text=description,
            occurred_at=occurred,
            # Polling returns the same state again and again: one event per state.
            dedupe_key=f"mailjet:{message_id}:{row.code}",
            error_code=row.name if failed else "",
            error_message=description if failed else "",
            segments=_segments(data),
            cost=cost,
            cost_currency=currency,
            opted_out=row.opted_out,
            raw=data,
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.options.get('token', '')}"}


# -- parsing helpers: Mailjet's key casing varies between endpoints and SDKs ------------------
def _get(data: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``data``, compared case-insensitively."""
    lowered = {str(k).lower(): v for k, v in data.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _message_id(data: dict[str, Any]) -> str:
    value = _get(data, "MessageId", "MessageID", "ID")
    return "" if value is None else str(value)


def _segments(data: dict[str, Any]) -> int | None:
    return as_int(_get(data, "SmsCount", "SMSCount"))


def _status_row(data: dict[str, Any]) -> MailjetStatus:
    status = _get(data, "Status")
    if not isinstance(status, dict):
        raise MalformedResponse("no Status object in the answer")
    code = _get(status, "Code")
    try:
        return status_for_code(int(code))
    except (TypeError, ValueError):
        # A name without a usable code: look it up by name.
        name = str(_get(status, "Name") or "")
        for row in STATUS_TABLE.values():
            if row.name == name:
                return row
        raise MalformedResponse(f"unreadable Status {status!r}") from None


def _description(data: dict[str, Any]) -> str:
    status = _get(data, "Status")
    return str(_get(status, "Description") or "") if isinstance(status, dict) else ""


def _cost(data: dict[str, Any]) -> tuple[Decimal | None, str]:
    cost = _get(data, "Cost")
    if not isinstance(cost, dict):
        return None, ""
    return as_decimal(_get(cost, "Value")), str(_get(cost, "Currency") or "")
