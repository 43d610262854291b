"""Mailjet SMS API v4, as the sandbox plays it (shared/reference/providers.md §1).

Serves ``POST /v4/sms-send``, ``GET /v4/sms`` (list with filters), ``GET /v4/sms/count`` and
``GET /v4/sms/{id}``, all with ``Authorization: Bearer <SandboxCredentials.mailjet_token>``.
Mailjet has no delivery webhook: the scheduler advances stored messages (sent_pending ->
sent -> delivered, or the outcome's failure) and the polling endpoints show it.

Where Mailjet's behaviour is not documented (UNCONFIRMED in the reference) the sandbox picks
the strict side, so a client that passes here does not depend on leniency:

* unknown properties in the send payload are refused (400 ``mj-0004``, ``Expected type
  "SendSMSPayload"``, the message seen in mailjet-apiv3-php#161);
* ``From`` must be 3-11 letters or digits (``mj-0020`` / ``mj-0006`` for the lengths,
  ``mj-0004`` for other characters), or a number (optional ``+``, 3-15 digits);
* ``To`` must be ``+`` followed by 7-15 digits (``mj-0004`` otherwise); ``+999...`` is an
  unsupported country (``sms-0002``);
* ``Text`` above 5 parts (765 GSM-7 / 335 UCS-2 units) gets ``mj-0006``;
* error bodies carry an ``ErrorIdentifier``; 429 and 5xx bodies are not Mailjet JSON
  (a load balancer's text/HTML), since clients must not rely on them.

``GET /v4/sms/{id}`` answers ``{"Data": [{...}]}`` (as the guide shows, keys ``MessageId``,
``SMSCount``) or, with ``handler.single_shape = "bare"``, a bare object with ``ID`` and
``SmsCount`` (as captured from the live API in mailjet-apiv3-nodejs#223).
"""

from __future__ import annotations

import itertools
import re
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django_sms.testing.sandbox import gsm
from django_sms.testing.sandbox.messages import SandboxMessage
from django_sms.testing.sandbox.providers import register
from django_sms.testing.sandbox.providers.base import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

#: Mailjet's status table (code, name, description), written independently of the backend's.
STATUSES: dict[int, tuple[str, str]] = {
    0: ("unknown", "Unknown status"),
    1: ("sent_pending", "Message is being sent"),
    2: ("sent", "Message sent"),
    3: ("delivered", "Message delivered"),
    4: ("rejected_operator", "Message rejected by the operator"),
    5: ("rejected_undelivered", "Operator declared the message undelivered"),
    6: ("rejected_expired", "Message sent to operator but expired"),
    7: ("rejected_incorrect_delivery", "Sent to operator, delivery report not correct"),
    8: ("rejected_network", "Sent to operator, network or setup issue"),
    9: ("rejected_dnd", "Recipient is on a Do-Not-Disturb service"),
    10: ("rejected_from_blacklist", "Sender is blacklisted"),
    11: ("rejected_to_blacklist", "Recipient is blacklisted"),
    12: ("rejected_anti_flood", "Rejected by the anti-flooding mechanism"),
    13: ("rejected_system_error", "Message rejected due to an unexpected system error"),
    14: ("invalid_phone_number", "Invalid phone number"),
    15: ("rejected_insufficent_funds", "Insufficient funds"),
    16: ("rejected_daily_limit_reached", "Daily limit reached"),
}

#: Neutral sandbox status -> Mailjet code, when the outcome gives no ``provider_code``.
NEUTRAL_CODES = {"accepted": 1, "sent": 2, "delivered": 3, "undelivered": 5, "expired": 6,
                 "rejected": 4, "failed": 13}

SEND_FIELDS = ("From", "To", "Text")
SENDER = re.compile(r"^[A-Za-z0-9]+$")
NUMERIC_SENDER = re.compile(r"^\+?\d{3,15}$")
RECIPIENT = re.compile(r"^\+[1-9]\d{6,14}$")
UNSUPPORTED_PREFIXES = ("+999",)
MAX_PARTS = 5


def mailjet_error(status: int, code: str, message: str, related: list[str] | None = None,
                  ) -> SandboxResponse:
    """Mailjet's error object ``{ErrorIdentifier, ErrorCode, StatusCode, ErrorMessage,
    ErrorRelatedTo}``."""
    body: dict[str, Any] = {"ErrorIdentifier": str(uuid.uuid4())}
    if code:
        body["ErrorCode"] = code
    body.update({"StatusCode": status, "ErrorMessage": message,
                 "ErrorRelatedTo": related or []})
    return SandboxResponse.json_body(status, body)


@register
class MailjetHandler(ProviderHandler):
    name = "mailjet"
    prefixes = ("/v4/",)
    named_errors: ClassVar[dict[str, str]] = {
        "insufficient_funds": "400 sms-0001 Insufficient funds.",
        "unsupported_country": "400 sms-0002 Unsupported country code.",
        "daily_limit": "400 sms-0003 SMS per day limit reached.",
        "no_account": "400 sms-0004 No account.",
        "payload_too_large": "400 mj-0011 Input payload must be less than 1MB.",
        "forbidden": "403 mj-0021 You do not have access to this resource.",
    }

    #: Price of one part, charged in ``Cost`` (and from ``balance`` when set).
    price_per_part = Decimal("0.0350")
    currency = "EUR"

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        self._ids = itertools.count(2034075536371630429)
        self.reset()

    def reset(self) -> None:
        #: "data" (``{"Data": [...]}``) or "bare" for ``GET /v4/sms/{id}``.
        self.single_shape = "data"
        #: Wallet balance; None = unlimited. Sending beyond it gives sms-0001.
        self.balance: Decimal | None = None
        #: Parts allowed per day; None = unlimited (Mailjet's default account cap is 200).
        self.daily_limit: int | None = None
        self._parts_sent = 0

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if not self._authorised(request):
            return self.auth_rejection(request)
        path = request.path.rstrip("/")
        if path == "/v4/sms-send":
            if request.method != "POST":
                return mailjet_error(405, "", f"Method {request.method} not allowed.")
            return self._send(request)
        if request.method != "GET":
            return mailjet_error(405, "", f"Method {request.method} not allowed.")
        if path == "/v4/sms":
            return self._list(request)
        if path == "/v4/sms/count":
            return SandboxResponse.json_body(200, {"Count": len(self._filtered(request))})
        if path.startswith("/v4/sms/") and path.count("/") == 3:
            return self._get(path.rsplit("/", 1)[1])
        return mailjet_error(404, "", "Object not found", [])

    def _authorised(self, request: SandboxRequest) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token == self.credentials.mailjet_token

    # -- faults ------------------------------------------------------------------------------
    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        return mailjet_error(401, "mj-0015", "Not authorised.")

    def error_response(self, request: SandboxRequest, status: int) -> SandboxResponse:
        if status == 429:
            return SandboxResponse.text(429, "Too Many Requests")
        if status >= 500:
            return SandboxResponse.text(
                status, f"<html><body><h1>{status} Service Error</h1></body></html>",
                content_type="text/html",
            )
        return mailjet_error(status, "", f"HTTP {status}")

    def named_error(self, request: SandboxRequest, name: str) -> SandboxResponse:
        if name not in self.named_errors:
            return super().named_error(request, name)
        status, code, message = self.named_errors[name].split(" ", 2)
        related = ["To"] if code == "sms-0002" else []
        return mailjet_error(int(status), code, message, related)

    # -- POST /v4/sms-send ---------------------------------------------------------------------
    def _send(self, request: SandboxRequest) -> SandboxResponse:
        if len(request.body) > 1024 * 1024:
            return self.named_error(request, "payload_too_large")
        payload = request.json
        if payload is None:
            return mailjet_error(400, "mj-0002",
                                 "Malformed JSON, please review the syntax and properties types.")
        if not isinstance(payload, dict) or set(payload) - set(SEND_FIELDS):
            return mailjet_error(400, "mj-0004", 'Type mismatch. Expected type "SendSMSPayload".',
                                 sorted(set(payload) - set(SEND_FIELDS))
                                 if isinstance(payload, dict) else [])
        missing = [name for name in SEND_FIELDS if name not in payload]
        if missing:
            return mailjet_error(400, "mj-0003", "Missing mandatory property.", missing)
        for name in SEND_FIELDS:
            if not isinstance(payload[name], str):
                return mailjet_error(400, "mj-0004", 'Type mismatch. Expected type "string".',
                                     [name])
        sender, to, text = payload["From"], payload["To"], payload["Text"]
        error = self._validate(sender, to, text)
        if error is not None:
            return error
        encoding, _, parts = gsm.segments(text)
        cost = self.price_per_part * parts
        with self.lock:
            if self.balance is not None:
                if self.balance < cost:
                    return self.named_error(request, "insufficient_funds")
                self.balance -= cost
            if self.daily_limit is not None:
                if self._parts_sent + parts > self.daily_limit:
                    return self.named_error(request, "daily_limit")
                self._parts_sent += parts
            message_id = str(next(self._ids))
        message = self.accept(message_id=message_id, to=to, sender=sender, text=text,
                              segments=parts, encoding=encoding, cost=cost,
                              currency=self.currency, extra={"payload": payload})
        # The send answer has the send-request keys (guide example): MessageId + SmsCount.
        return SandboxResponse.json_body(200, {
            "From": sender,
            "To": to,
            "Text": text,
            **self._item(message, id_key="MessageId", count_key="SmsCount"),
        })

    def _validate(self, sender: str, to: str, text: str) -> SandboxResponse | None:
        if NUMERIC_SENDER.match(sender):
            sender = "numeric"  # a phone number or short code: Mailjet may replace it
        if len(sender) < 3:
            return mailjet_error(400, "mj-0020",
                                 "Characters limit below the minimum for the property. "
                                 "Min allowed - 3.", ["From"])
        if len(sender) > 11:
            return mailjet_error(400, "mj-0006",
                                 "Characters limit exceeded for the property. Max allowed - 11.",
                                 ["From"])
        if not SENDER.match(sender):
            return mailjet_error(400, "mj-0004", 'Type mismatch. Expected type "alphanumeric".',
                                 ["From"])
        digits = to[1:] if to.startswith("+") else to
        if to.startswith("+") and digits.isdigit() and len(digits) < 7:
            return mailjet_error(400, "mj-0020",
                                 "Characters limit below the minimum for the property. "
                                 "Min allowed - 8.", ["To"])
        if to.startswith("+") and digits.isdigit() and len(digits) > 15:
            return mailjet_error(400, "mj-0006",
                                 "Characters limit exceeded for the property. Max allowed - 16.",
                                 ["To"])
        if not RECIPIENT.match(to):
            return mailjet_error(400, "mj-0004",
                                 'Type mismatch. Expected type "E.164 phone number with +".',
                                 ["To"])
        if to.startswith(UNSUPPORTED_PREFIXES):
            return mailjet_error(400, "sms-0002", "Unsupported country code.", ["To"])
        if not text:
            return mailjet_error(400, "mj-0020",
                                 "Characters limit below the minimum for the property. "
                                 "Min allowed - 1.", ["Text"])
        encoding, _, parts = gsm.segments(text)
        if parts > MAX_PARTS:
            return mailjet_error(400, "mj-0006",
                                 "Characters limit exceeded for the property. Max allowed - "
                                 f"{gsm.max_units(encoding, MAX_PARTS)}.", ["Text"])
        return None

    # -- GET endpoints ---------------------------------------------------------------------------
    def _get(self, message_id: str) -> SandboxResponse:
        message = self.sandbox.messages.get(message_id)
        if message is None or message.provider != self.name:
            return mailjet_error(404, "", "Object not found", ["ID"])
        if self.single_shape == "bare":
            return SandboxResponse.json_body(200, {
                "From": message.sender, "To": message.to,
                **self._item(message, id_key="ID", count_key="SmsCount"),
            })
        return SandboxResponse.json_body(200, {"Data": [self._list_item(message)]})

    def _list(self, request: SandboxRequest) -> SandboxResponse:
        query = request.query
        try:
            limit = int(query.get("Limit", 10))
            offset = int(query.get("Offset", 0))
        except ValueError:
            return mailjet_error(400, "mj-0004", 'Type mismatch. Expected type "int".',
                                 ["Limit", "Offset"])
        if limit > 1000:
            return mailjet_error(400, "mj-0025", "Limit max exceeded. Max allowed - 1000.",
                                 ["Limit"])
        limit = limit or 1000
        messages = self._filtered(request)
        return SandboxResponse.json_body(
            200, {"Data": [self._list_item(m) for m in messages[offset:offset + limit]]}
        )

    def _filtered(self, request: SandboxRequest) -> list[SandboxMessage]:
        query = request.query
        messages = [m for m in self.sandbox.messages.all() if m.provider == self.name]
        if query.get("To"):
            messages = [m for m in messages if m.to == query["To"]]
        if query.get("StatusCode"):
            wanted = {int(c) for c in query["StatusCode"].split(",") if c.strip().isdigit()}
            messages = [m for m in messages if self.native_status(m)[0] in wanted]
        if query.get("FromTS", "").isdigit():
            messages = [m for m in messages if m.created_at >= int(query["FromTS"])]
        if query.get("ToTS", "").isdigit():
            messages = [m for m in messages if m.created_at <= int(query["ToTS"])]
        return sorted(messages, key=lambda m: m.created_at, reverse=True)

    def _list_item(self, message: SandboxMessage) -> dict[str, Any]:
        # The list example of the guide: MessageId + SMSCount.
        return {"From": message.sender, "To": message.to,
                **self._item(message, id_key="MessageId", count_key="SMSCount")}

    def _item(self, message: SandboxMessage, *, id_key: str, count_key: str) -> dict[str, Any]:
        code, name, description = self.native_status(message)
        sent_at = next((at for at, status in message.history if status != "accepted"), None)
        return {
            id_key: message.id,
            count_key: message.segments,
            "CreationTS": int(message.created_at),
            "SentTS": int(sent_at) if sent_at is not None else "",
            "Cost": {"Value": float(message.cost or 0), "Currency": message.currency},
            "Status": {"Code": code, "Name": name, "Description": description},
        }

    @staticmethod
    def native_status(message: SandboxMessage) -> tuple[int, str, str]:
        """``(Code, Name, Description)`` of a stored message right now."""
        code = NEUTRAL_CODES[message.status]
        if message.is_final and message.outcome.provider_code is not None:
            code = int(message.outcome.provider_code)
        name, description = STATUSES[code]
        return code, name, description
