"""Twilio Programmable Messaging, as the sandbox plays it
(shared/reference/providers-twilio-aws.md §1).

Serves the Messages resource under ``/2010-04-01/Accounts/{AccountSid}/``:

* ``POST Messages.json``: HTTP Basic ``AccountSid:AuthToken`` or ``ApiKeySid:ApiKeySecret``
  (the account SID of the path must be the sandbox's), a form body with ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``, optional ``StatusCallback`` / ``ValidityPeriod``.
  Answer 201 with the Message resource (``status`` ``queued``, or ``accepted`` through a
  Messaging Service; counts as strings; ``price`` null until the message is sent);
* ``GET Messages/{Sid}.json``: the resource as it is now, price included once sent.

Refusals are Twilio's ``{"code", "message", "more_info", "status"}``: 401/20003 for bad
credentials, 400 with 21604/21602/21603/21211/21212/21617/21609 for bad fields, and the magic
``To`` numbers of Twilio's test credentials (+15005550001 → 21211, ...0002 → 21612, ...0003
→ 21408, ...0004 → 21610, ...0009 → 21614). A number that replied STOP (see
:meth:`TwilioHandler.inbound_callback`) is refused with 21610, as Twilio does.

Status callbacks go to the message's ``StatusCallback`` (else the sandbox's callback URL for
``twilio``): form POSTs for ``sending``, ``sent`` then the final status (never for the initial
status), with ``ErrorCode`` on failures and ``RawDlrDoneDate`` on delivery receipts, signed
with ``X-Twilio-Signature`` over the exact URL called. The signing code is written here from
Twilio's documentation, independently of the backend's; the tests check both against the
``twilio`` package's ``RequestValidator``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from django_sms.testing.sandbox import gsm
from django_sms.testing.sandbox.callbacks import CallbackRequest
from django_sms.testing.sandbox.messages import Outcome, SandboxMessage
from django_sms.testing.sandbox.providers import register
from django_sms.testing.sandbox.providers.base import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

API_VERSION = "2010-04-01"
ERRORS = "https://www.twilio.com/docs/errors"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/]+))?\.json$")

#: Magic ``To`` numbers of Twilio's test credentials -> error code.
MAGIC_TO: dict[str, int] = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}

MESSAGES: dict[int, str] = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number {to} is not a valid phone number.",
    21212: "The 'From' number {sender} is not a valid phone number, shortcode, or "
           "alphanumeric sender ID.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
           "'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
           "number via SMS.",
    21614: "'To' number {to} is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}

#: Neutral final status -> (Twilio status, default ErrorCode).
FINAL_STATUSES: dict[str, tuple[str, int | None]] = {
    "delivered": ("delivered", None),
    "undelivered": ("undelivered", 30003),
    "expired": ("failed", 30001),
    "rejected": ("undelivered", 30007),
    "failed": ("failed", 30008),
}
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"}
OPT_IN_WORDS = {"START", "YES", "UNSTOP"}


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL followed by each field
    name and value, names sorted, the distinct values of a name sorted."""
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    data = url
    for name in sorted(by_name):
        for value in sorted(by_name[name]):
            data += name + value
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def error(status: int, code: int, **details: str) -> SandboxResponse:
    message = MESSAGES.get(code, f"Error {code}")
    return SandboxResponse.json_body(status, {
        "code": code,
        "message": message.format(**details) if details else message,
        "more_info": f"{ERRORS}/{code}",
        "status": status,
    })


def rfc2822(when: float) -> str:
    return format_datetime(datetime.fromtimestamp(when, UTC), usegmt=False)


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


@register
class TwilioHandler(ProviderHandler):
    name = "twilio"
    prefixes = (f"/{API_VERSION}/",)
    named_errors: ClassVar[dict[str, str]] = {
        "opted_out": "400 21610 Attempt to send to unsubscribed recipient",
        "invalid_number": "400 21211 Invalid 'To' phone number",
        "not_mobile": "400 21614 'To' number is not a valid mobile number",
        "queue_full": "400 21611 'From' number has exceeded its queue of messages",
        "too_many_requests": "429 20429 Too Many Requests",
        "permission_denied": "401 20003 Authenticate",
    }
    #: Price of one segment, reported negative (a debit) once the message is sent.
    price_per_segment = Decimal("0.0079")
    currency = "USD"

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        self.reset()

    def reset(self) -> None:
        #: False sends callbacks without X-Twilio-Signature.
        self.sign_callbacks = True
        #: Numbers that replied STOP: sends to them are refused with 21610.
        self.opted_out: set[str] = set()
        #: Add ``OptOutType`` to keyword messages (a Messaging Service with Advanced Opt-Out).
        self.advanced_opt_out = True

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        match = PATH.match(request.path)
        if match is None:
            return error(404, 20404)
        failure = self.authenticate(request, match["account"])
        if failure is not None:
            return failure
        if match["sid"] is None and request.method == "POST":
            return self._create(request)
        if match["sid"] is not None and request.method == "GET":
            return self._fetch(match["sid"])
        return error(405 if match["sid"] is None else 404, 20404)

    def authenticate(self, request: SandboxRequest, account: str) -> SandboxResponse | None:
        """None when the Basic credentials are valid for ``account``; else Twilio's 401."""
        creds = self.credentials
        scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user = password = ""
        valid = scheme.lower() == "basic" and (
            (user == creds.twilio_account_sid
             and hmac.compare_digest(password, creds.twilio_auth_token))
            or (user == creds.twilio_api_key_sid
                and hmac.compare_digest(password, creds.twilio_api_key_secret))
        )
        if not valid:
            return self.auth_rejection(request)
        if account != creds.twilio_account_sid:
            return error(404, 20404)
        return None

    # -- faults ------------------------------------------------------------------------------
    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        response = error(401, 20003)
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response

    def error_response(self, request: SandboxRequest, status: int) -> SandboxResponse:
        if status == 429:
            return error(429, 20429)
        if status in (502, 503, 504):
            return SandboxResponse.text(
                status, f"<html><body><h1>{status}</h1>Service unavailable</body></html>",
                content_type="text/html",
            )
        if status >= 500:
            return error(status, 20500)
        return error(status, 20001)

    def named_error(self, request: SandboxRequest, name: str) -> SandboxResponse:
        if name not in self.named_errors:
            return super().named_error(request, name)
        status, code, _ = self.named_errors[name].split(" ", 2)
        to = request.form.get("To", "")
        sender = request.form.get("From", "")
        return error(int(status), int(code), to=to, sender=sender)

    # -- POST Messages.json ---------------------------------------------------------------------
    def _create(self, request: SandboxRequest) -> SandboxResponse:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            # What Twilio answers a JSON body: it finds no field at all.
            return error(400, 21604)
        form = request.form
        to, sender = form.get("To", ""), form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        refusal = self.validate(form)
        if refusal is not None:
            return refusal
        with self.lock:
            opted_out = to in self.opted_out
        if opted_out or MAGIC_TO.get(to) == 21610:
            return error(400, 21610)
        if to in MAGIC_TO:
            return error(400, MAGIC_TO[to], to=to)
        encoding, _, parts = gsm.segments(body)
        sid = new_sid()
        now = time.time()
        message = self.accept(
            message_id=sid, to=to, sender=sender or service, text=body, segments=parts,
            encoding=encoding, cost=self.price_per_segment * parts, currency=self.currency,
            callback_url=form.get("StatusCallback", ""),
            extra={"form": form, "service": service, "created": now},
        )
        return SandboxResponse.json_body(201, self.resource(message))

    def validate(self, form: dict[str, str]) -> SandboxResponse | None:
        to, sender = form.get("To", ""), form.get("From", "")
        service, body = form.get("MessagingServiceSid", ""), form.get("Body", "")
        if not to:
            return error(400, 21604)
        if not E164.match(to):
            return error(400, 21211, to=to)
        if not sender and not service:
            return error(400, 21603)
        if sender and not (E164.match(sender) or ALPHANUMERIC.match(sender)
                           or SHORT_CODE.match(sender)):
            return error(400, 21212, sender=sender)
        if not body:
            return error(400, 21602)
        if len(body) > 1600:
            return error(400, 21617)
        callback = form.get("StatusCallback", "")
        if callback:
            parts = urlsplit(callback)
            if parts.scheme not in ("http", "https") or not parts.hostname or "_" in (
                parts.hostname or ""
            ):
                return error(400, 21609)
        validity = form.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            return error(400, 20001)
        return None

    def resource(self, message: SandboxMessage) -> dict[str, Any]:
        """The Message resource of ``message`` as Twilio shows it now."""
        twilio_status, error_code = self.twilio_status(message, message.status)
        created = float(message.extra.get("created", message.created_at))
        sent = message.status != "accepted"
        account = self.credentials.twilio_account_sid
        service = message.extra.get("service") or None
        return {
            "account_sid": account,
            "api_version": API_VERSION,
            "body": message.text,
            "date_created": rfc2822(created),
            "date_sent": rfc2822(message.updated_at) if sent else None,
            "date_updated": rfc2822(message.updated_at),
            "direction": "outbound-api",
            "error_code": error_code,
            "error_message": None,
            "from": message.extra.get("form", {}).get("From") or None,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(message.segments),
            "price": f"-{message.cost}" if sent and message.cost is not None else None,
            "price_unit": self.currency,
            "sid": message.id,
            "status": twilio_status,
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{account}/Messages/{message.id}/Media.json"
            },
            "to": message.to,
            "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{message.id}.json",
        }

    def twilio_status(self, message: SandboxMessage, stage: str) -> tuple[str, int | None]:
        """Twilio's status (and ErrorCode) for a neutral ``stage`` of ``message``."""
        if stage == "accepted":
            return ("accepted" if message.extra.get("service") else "queued"), None
        if stage == "sent":
            return "sent", None
        status, code = FINAL_STATUSES[stage]
        provider_code = message.outcome.provider_code
        if provider_code is not None and stage != "delivered":
            code = int(provider_code)
        return status, code

    # -- GET Messages/{Sid}.json ----------------------------------------------------------------
    def _fetch(self, sid: str) -> SandboxResponse:
        message = self.sandbox.messages.get(sid)
        if message is None or message.provider != self.name:
            return error(404, 20404)
        return SandboxResponse.json_body(200, self.resource(message))

    # -- status callbacks -------------------------------------------------------------------------
    def build_status_callbacks(self, message: SandboxMessage,
                               outcome: Outcome) -> list[CallbackRequest]:
        url = self.callback_url_for(message)
        if not url:
            return []
        callbacks: list[CallbackRequest] = []
        for stage, _ in outcome.stages:
            # "sending" precedes the first report after acceptance ("sent", or a failure).
            first = stage == "sent" or not callbacks
            reported: list[tuple[str, int | None]] = [("sending", None)] if first else []
            reported.append(self.twilio_status(message, stage))
            for status, code in reported:
                callbacks.append(self._callback(url, message, status, code, stage))
        return callbacks

    def _callback(self, url: str, message: SandboxMessage, status: str, code: int | None,
                  stage: str) -> CallbackRequest:
        fields = [
            ("AccountSid", self.credentials.twilio_account_sid),
            ("ApiVersion", API_VERSION),
            ("From", message.extra.get("form", {}).get("From") or message.sender),
            ("MessageSid", message.id),
            ("MessageStatus", status),
            ("SmsSid", message.id),
            ("SmsStatus", status),
            ("To", message.to),
        ]
        if message.extra.get("service"):
            fields.append(("MessagingServiceSid", message.extra["service"]))
        if code is not None:
            fields.append(("ErrorCode", str(code)))
        if status in ("delivered", "undelivered"):
            fields.append(("RawDlrDoneDate", datetime.now(UTC).strftime("%y%m%d%H%M")))
        return CallbackRequest(
            "POST", url,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "User-Agent": "TwilioProxy/1.1"},
            body=urlencode(fields).encode(),
            stage=stage, message_id=message.id, prepare=self.sign_callback,
        )

    def sign_callback(self, callback: CallbackRequest) -> CallbackRequest:
        """``callback`` with ``X-Twilio-Signature`` over the URL it is sent to."""
        if not self.sign_callbacks:
            return callback
        params = parse_qsl(callback.body.decode(), keep_blank_values=True)
        signature = twilio_signature(self.credentials.twilio_auth_token, callback.full_url,
                                     params)
        return replace(callback, headers={**callback.headers, "X-Twilio-Signature": signature})

    # -- inbound ----------------------------------------------------------------------------------
    def inbound_callback(self, url: str, *, from_number: str, text: str,
                         to_number: str = "+15017122661") -> CallbackRequest:
        """A signed "message comes in" webhook, as Twilio posts it when ``from_number``
        texts ``to_number``; send it with ``sandbox.callbacks.send_now(...)``. A STOP/START
        keyword (whole body) also updates the sandbox's block list, as Twilio does, and
        carries ``OptOutType`` when ``advanced_opt_out`` is on."""
        sid = new_sid()
        word = text.strip().upper()
        _, _, parts = gsm.segments(text)
        fields = [
            ("AccountSid", self.credentials.twilio_account_sid),
            ("ApiVersion", API_VERSION),
            ("Body", text),
            ("From", from_number),
            ("MessageSid", sid),
            ("NumMedia", "0"),
            ("NumSegments", str(parts)),
            ("SmsMessageSid", sid),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("To", to_number),
        ]
        opt_out_type = ""
        with self.lock:
            if word in OPT_OUT_WORDS:
                self.opted_out.add(from_number)
                opt_out_type = "STOP"
            elif word in OPT_IN_WORDS:
                self.opted_out.discard(from_number)
                opt_out_type = "START"
        if opt_out_type and self.advanced_opt_out:
            fields.append(("OptOutType", opt_out_type))
        return CallbackRequest(
            "POST", url, headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(fields).encode(), prepare=self.sign_callback,
        )
