"""OVHcloud SMS API, as the sandbox plays it (shared/reference/providers.md §3).

Serves, under ``/1.0``:

* ``GET /auth/time`` — the server's clock as a bare JSON integer (no authentication);
* ``GET /sms`` — the SMS accounts (``handler.service_names``);
* ``GET /sms/{service}`` — the account (``creditsLeft``, ``callBack``...), ``PUT`` sets
  ``callBack`` (and a few other fields);
* ``POST /sms/{service}/jobs`` — send; ``GET /sms/{service}/jobs[/{id}]`` — jobs not sent yet;
* ``GET /sms/{service}/outgoing[/{id}]`` — sent messages, with their DLR id and PTT code.

Authentication exactly as OVH does it: ``X-Ovh-Application`` must be
``SandboxCredentials.ovh_application_key`` (else 403 ``INVALID_KEY``), ``X-Ovh-Consumer``
``ovh_consumer_key`` (else 403 ``INVALID_CREDENTIAL``; absent: 401 ``NOT_AUTHENTICATED``),
``X-Ovh-Timestamp`` within ``timestamp_window`` seconds of the server clock (else 400
``QUERY_TIME_OUT``), and ``X-Ovh-Signature`` equal to ``"$1$" + sha1(AS+CK+METHOD+URL+BODY+TS)``
recomputed here over the URL (scheme, ``Host`` header, raw path and query) and the body bytes
received (else 400 ``INVALID_SIGNATURE``). The consumer key's access rules are modelled too
(``handler.access_rules``, OVH's ``*`` wildcard): a call outside them gets 403
``NOT_GRANTED_CALL``. The reason of an authentication refusal is also given in an
``X-Sandbox-Reason`` header (OVH would not say; a test may). Every answer carries an
``X-OVH-QueryID``.

Accepted messages are stored per receiver (one id each), are listed in ``/jobs`` until they
are sent, then in ``/outgoing`` with ``deliveryReceipt``/``ptt`` following the outcome:
``sent`` = DLR 4 / PTT 3, ``delivered`` = DLR 1 / PTT 4, ``undelivered`` = DLR 2 / PTT 5,
``expired`` = DLR 2 / PTT 8, ``rejected`` and ``failed`` = DLR 16 (not billed) / PTT 23 and 5;
an outcome's ``provider_code`` is the PTT of its final report. Delivery reports are OVH's: a
``GET`` of the account's ``callBack`` URL (``PUT /sms/{service}``), else
``Sandbox(callback_urls={"ovh": ...})``, with ``id, ptt, date, description, descriptionDlr``
added to its query string, one per status change.

Where OVH is UNCONFIRMED the sandbox takes the strict side: receivers must be ``+`` and 7 to
15 digits (``0033...`` goes to ``invalidReceivers``, as do ``+999...`` and the numbers in
``handler.refused_receivers``), unknown body parameters are refused,
``sender`` and ``senderForResponse`` together are refused, ``tag`` is at most 20 characters
(the limit of OVH's http2sms guide; the REST API documents none),
a text above 6 parts is refused, callback dates are ``YYYY-MM-DD HH:MM:SS`` in Paris time.
Error texts for refused senders, long texts and missing credits are the sandbox's own.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import itertools
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django_sms.testing.sandbox import gsm
from django_sms.testing.sandbox.callbacks import CallbackRequest
from django_sms.testing.sandbox.messages import Outcome, SandboxMessage
from django_sms.testing.sandbox.providers import register
from django_sms.testing.sandbox.providers.base import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

API_ROOT = "/1.0"
PARIS = ZoneInfo("Europe/Paris")

RECEIVER = re.compile(r"^\+[1-9]\d{6,14}$")
UNSUPPORTED_PREFIXES = ("+999",)
ALPHANUMERIC_SENDER = re.compile(r"^[A-Za-z0-9 ._-]{1,11}$")
NUMERIC_SENDER = re.compile(r"^\+?\d{3,15}$")
MAX_PARTS = 6
#: OVH documents ``tag`` as at most 20 characters (http2sms guide).
MAX_TAG = 20
PRIORITIES = ("high", "medium", "low", "veryLow")
JOB_FIELDS = frozenset({
    "message", "receivers", "receiversDocumentUrl", "receiversSlotId", "sender",
    "senderForResponse", "noStopClause", "priority", "validityPeriod", "differedPeriod", "tag",
    "charset", "coding", "class",
})
ACCOUNT_FIELDS = frozenset({"callBack", "stopCallBack", "description", "name",
                            "automaticRecreditAmount", "creditThresholdForAutomaticRecredit",
                            "smsResponse", "templates"})

#: The access rules of the sandbox's consumer key, as documented in docs/providers/ovh.rst.
DEFAULT_ACCESS_RULES: tuple[tuple[str, str], ...] = (
    ("GET", "/sms"),
    ("GET", "/sms/*"),
    ("PUT", "/sms/*"),
    ("POST", "/sms/*/jobs"),
)

#: DLR texts (``descriptionDlr``), written independently of the backend's table.
DLR_TEXTS = {0: "Pending", 1: "Success", 2: "Failure", 4: "Pending", 8: "Buffered",
             16: "Error (not billed)"}

#: Neutral sandbox status -> (DLR id, default PTT).
NATIVE: dict[str, tuple[int, int]] = {
    "accepted": (0, 0),
    "sent": (4, 3),
    "delivered": (1, 4),
    "undelivered": (2, 5),
    "expired": (2, 8),
    "rejected": (16, 23),
    "failed": (16, 5),
}


def ovh_error(status: int, message: str, *, code: str = "", error_class: str = "",
              headers: dict[str, str] | None = None) -> SandboxResponse:
    """OVH's error bodies: ``{errorCode, httpCode, message}`` from the auth layer,
    ``{class, message}`` from the API."""
    body: dict[str, Any] = {}
    if code:
        reason = _REASONS.get(status, "Error")
        body = {"errorCode": code, "httpCode": f"{status} {reason}", "message": message}
    else:
        body = {"class": error_class or "Client::BadRequest", "message": message}
    return SandboxResponse.json_body(status, body, headers)


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 429: "Too Many Requests"}


def ovh_datetime(when: float | None) -> str | None:
    """``2024-05-17T10:21:34+02:00``: OVH's API datetimes (Paris time, with the offset)."""
    if when is None:
        return None
    return datetime.fromtimestamp(when, PARIS).isoformat(timespec="seconds")


def callback_date(when: float) -> str:
    """``2024-05-17 10:21:34``: the callback's ``date`` (Paris time, no offset)."""
    return datetime.fromtimestamp(when, PARIS).strftime("%Y-%m-%d %H:%M:%S")


class AuthFailure(Exception):
    def __init__(self, response: SandboxResponse, reason: str) -> None:
        super().__init__(reason)
        response.headers["X-Sandbox-Reason"] = reason
        self.response = response


@register
class OvhHandler(ProviderHandler):
    name = "ovh"
    prefixes = (f"{API_ROOT}/",)
    url_option = "endpoint"  # the OVH backend's option (a URL without a path gets /1.0)
    named_errors: ClassVar[dict[str, str]] = {
        "invalid_signature": "400 INVALID_SIGNATURE Invalid signature",
        "query_time_out": "400 QUERY_TIME_OUT Query out of time (code UNCONFIRMED)",
        "invalid_key": "403 INVALID_KEY This application key is invalid",
        "invalid_credential": "403 INVALID_CREDENTIAL This credential is not valid",
        "not_granted_call": "403 NOT_GRANTED_CALL This call has not been granted",
        "service_not_found": "404 Client::NotFound This service does not exist",
        "invalid_sender": "400 Client::BadRequest Invalid sender (text UNCONFIRMED)",
        "not_enough_credits": "403 Client::Forbidden Not enough credits (text UNCONFIRMED)",
    }

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        self._ids = itertools.count(264_000_001)
        self._queries = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        #: The SMS accounts ``GET /sms`` lists.
        self.service_names: list[str] = [self.credentials.ovh_service_name]
        #: Seconds the server's clock is ahead of the real one (``GET /auth/time``).
        self.clock_offset: float = 0.0
        #: The server clock before ``clock_offset`` (a test may freeze it).
        self.clock: Callable[[], float] = time.time
        #: Seconds a request's ``X-Ovh-Timestamp`` may differ from the server clock.
        self.timestamp_window: float = 180.0
        #: ``(method, path pattern)`` pairs the consumer key was granted.
        self.access_rules: list[tuple[str, str]] = list(DEFAULT_ACCESS_RULES)
        #: Credits of each account; each part sent costs ``credits_per_part``.
        self.credits: dict[str, Decimal] = {}
        self.initial_credits = Decimal("1000")
        self.credits_per_part = Decimal("1")
        #: Sender -> status (``enable``, ``waitingValidation``, ``refused``, ``disable``).
        #: Senders not listed are accepted unless ``require_validated_senders`` is set.
        self.senders: dict[str, str] = {"Unvalidated": "waitingValidation",
                                        "Refused": "refused", "Disabled": "disable"}
        self.require_validated_senders = False
        #: Well-formed numbers OVH still lists in ``invalidReceivers`` (a test's choice).
        self.refused_receivers: set[str] = set()
        #: Account fields changed with ``PUT /sms/{service}`` (``callBack``...).
        self.accounts: dict[str, dict[str, Any]] = {}

    def now(self) -> float:
        """The server's clock."""
        return self.clock() + self.clock_offset

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        response = self._route(request)
        response.headers.setdefault("X-OVH-QueryID", self.query_id())
        return response

    def query_id(self) -> str:
        return f"EU.ext-sandbox.{uuid.uuid4().hex[:8]}.{next(self._queries)}"

    def _route(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.removeprefix(API_ROOT).rstrip("/") or "/"
        method = request.method
        if path == "/auth/time":
            return self._only(method, "GET") or SandboxResponse.json_body(200, int(self.now()))
        try:
            self.authenticate(request)
        except AuthFailure as failure:
            return failure.response
        if not self.granted(method, path):
            return ovh_error(403, "This call has not been granted", code="NOT_GRANTED_CALL",
                             headers={"X-Sandbox-Reason": f"no access rule for {method} {path}"})
        parts = path.strip("/").split("/")
        if parts[0] != "sms":
            return self._not_found("The requested object does not exist")
        if len(parts) == 1:
            return self._only(method, "GET") or SandboxResponse.json_body(
                200, list(self.service_names))
        service = parts[1]
        if service not in self.service_names:
            return self._not_found("This service does not exist")
        rest = parts[2:]
        if not rest:
            if method == "PUT":
                return self._update_account(request, service)
            return self._only(method, "GET") or SandboxResponse.json_body(
                200, self.account(service))
        if rest[0] == "jobs" and len(rest) == 1:
            if method == "POST":
                return self._send(request, service)
            return self._only(method, "GET") or SandboxResponse.json_body(
                200, [int(m.id) for m in self._messages(service) if m.status == "accepted"])
        if rest[0] == "outgoing" and len(rest) == 1:
            return self._only(method, "GET") or self._outgoing_list(request, service)
        if rest[0] in ("jobs", "outgoing") and len(rest) == 2:
            return self._only(method, "GET") or self._get(service, rest[0], rest[1])
        return self._not_found("The requested object does not exist")

    @staticmethod
    def _only(method: str, allowed: str) -> SandboxResponse | None:
        if method == allowed:
            return None
        return ovh_error(405, f"Method {method} not allowed here",
                         error_class="Client::MethodNotAllowed")

    @staticmethod
    def _not_found(message: str) -> SandboxResponse:
        return ovh_error(404, message, error_class="Client::NotFound")

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, request: SandboxRequest) -> None:
        """Check the four X-Ovh-* headers as OVH does; raise AuthFailure otherwise."""
        creds = self.credentials
        headers = request.headers
        application = headers.get("X-Ovh-Application", "")
        if not hmac.compare_digest(application.encode(), creds.ovh_application_key.encode()):
            raise AuthFailure(ovh_error(403, "This application key is invalid",
                                        code="INVALID_KEY"),
                              "missing or unknown X-Ovh-Application")
        consumer = headers.get("X-Ovh-Consumer", "")
        if not consumer:
            raise AuthFailure(ovh_error(401, "You must login first", code="NOT_AUTHENTICATED"),
                              "no X-Ovh-Consumer header")
        if not hmac.compare_digest(consumer.encode(), creds.ovh_consumer_key.encode()):
            raise AuthFailure(ovh_error(403, "This credential is not valid",
                                        code="INVALID_CREDENTIAL"),
                              "unknown X-Ovh-Consumer")
        timestamp = headers.get("X-Ovh-Timestamp", "")
        if not timestamp.isdigit():
            raise AuthFailure(ovh_error(400, "Query out of time", code="QUERY_TIME_OUT"),
                              f"X-Ovh-Timestamp {timestamp!r} is not an epoch time")
        skew = int(timestamp) - self.now()
        if abs(skew) > self.timestamp_window:
            raise AuthFailure(ovh_error(400, "Query out of time", code="QUERY_TIME_OUT"),
                              f"X-Ovh-Timestamp is {skew:+.0f} s from the server clock")
        expected = self.expected_signature(request, timestamp)
        given = headers.get("X-Ovh-Signature", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise AuthFailure(ovh_error(400, "Invalid signature", code="INVALID_SIGNATURE"),
                              f"signature over {self.signed_url(request)!r} and "
                              f"{len(request.body)} body bytes does not match")

    def signed_url(self, request: SandboxRequest) -> str:
        """The URL the client called, as OVH rebuilds it: scheme, ``Host``, raw path, query."""
        scheme = "https" if self.sandbox.ssl_context is not None else "http"
        host = request.headers.get("Host", f"{self.sandbox.host}:{self.sandbox.port}")
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{scheme}://{host}{request.path}{query}"

    def expected_signature(self, request: SandboxRequest, timestamp: str) -> str:
        creds = self.credentials
        signed = b"+".join([
            creds.ovh_application_secret.encode(), creds.ovh_consumer_key.encode(),
            request.method.upper().encode(), self.signed_url(request).encode(), request.body,
            timestamp.encode(),
        ])
        return "$1$" + hashlib.sha1(signed).hexdigest()  # noqa: S324 - OVH's algorithm

    def granted(self, method: str, path: str) -> bool:
        """Whether an access rule covers the call (OVH's ``*`` matches anything, ``/`` too)."""
        return any(method == rule_method and fnmatch.fnmatchcase(path, pattern)
                   for rule_method, pattern in self.access_rules)

    # -- faults ------------------------------------------------------------------------------
    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        return self._with_query_id(ovh_error(403, "This credential is not valid",
                                             code="INVALID_CREDENTIAL"))

    def error_response(self, request: SandboxRequest, status: int) -> SandboxResponse:
        if status == 429:
            response = ovh_error(429, "Too many requests, retry later",
                                 error_class="Client::TooManyRequests")
        elif status == 500:
            response = ovh_error(500, "Internal server error",
                                 error_class="Server::InternalServerError")
        elif status in (502, 503, 504):
            # What the load balancer in front of the API answers: not OVH JSON.
            response = SandboxResponse.text(
                status, f"<html><body><h1>{status}</h1>Service unavailable</body></html>",
                content_type="text/html")
        elif status in _REASONS:
            response = ovh_error(status, _REASONS[status],
                                 error_class=f"Client::{_REASONS[status].replace(' ', '')}")
        else:
            response = ovh_error(status, f"HTTP {status}", error_class="Server::Error")
        return self._with_query_id(response)

    def named_error(self, request: SandboxRequest, name: str) -> SandboxResponse:
        if name not in self.named_errors:
            return super().named_error(request, name)
        status, code, message = self.named_errors[name].split(" ", 2)
        message = message.split(" (")[0]
        if "::" in code:
            return self._with_query_id(ovh_error(int(status), message, error_class=code))
        return self._with_query_id(ovh_error(int(status), message, code=code))

    def _with_query_id(self, response: SandboxResponse) -> SandboxResponse:
        response.headers.setdefault("X-OVH-QueryID", self.query_id())
        return response

    # -- the account ---------------------------------------------------------------------------
    def credits_left(self, service: str) -> Decimal:
        return self.credits.setdefault(service, self.initial_credits)

    def account(self, service: str) -> dict[str, Any]:
        """``sms.Account`` for ``service``."""
        changed = self.accounts.get(service, {})
        return {
            "name": service,
            "description": changed.get("description", ""),
            "status": "enable",
            "channel": "both",
            "creditsLeft": float(self.credits_left(service)),
            "creditsHoldByQuota": 0.0,
            "callBack": changed.get("callBack", ""),
            "stopCallBack": changed.get("stopCallBack", ""),
            "smsResponse": changed.get("smsResponse", {
                "responseType": "none", "cgiUrl": "", "text": "",
                "trackingDefaultSmsSender": "", "trackingOptions": []}),
            "userQuantityWithQuota": 0,
        }

    def _update_account(self, request: SandboxRequest, service: str) -> SandboxResponse:
        payload = request.json
        if not isinstance(payload, dict):
            return ovh_error(400, "Invalid JSON in the request body")
        unknown = sorted(set(payload) - ACCOUNT_FIELDS)
        if unknown:
            return ovh_error(400, f"Invalid property: {', '.join(unknown)}")
        for name in ("callBack", "stopCallBack"):
            value = payload.get(name)
            if value not in (None, "") and not (
                isinstance(value, str) and value.startswith(("http://", "https://"))
            ):
                return ovh_error(400, f"Invalid {name}: not an http(s) URL")
        with self.lock:
            self.accounts.setdefault(service, {}).update(payload)
        return SandboxResponse.json_body(200, None)

    def callback_url(self, service: str) -> str:
        """The account's ``callBack`` (``PUT /sms/{service}``), if set."""
        return str(self.accounts.get(service, {}).get("callBack") or "")

    # -- POST /sms/{service}/jobs ---------------------------------------------------------------
    def _send(self, request: SandboxRequest, service: str) -> SandboxResponse:
        payload = request.json
        if not isinstance(payload, dict):
            return ovh_error(400, "Invalid JSON in the request body")
        error = self.validate(payload)
        if error is not None:
            return error
        sender = payload.get("sender", "")
        text = payload["message"]
        if not payload.get("noStopClause", False) and sender:
            # OVH's marketing rule: a custom sender without noStopClause gets the STOP mention.
            text = f"{text}\nSTOP 36111"
        encoding, _, parts = gsm.segments(text)
        if parts > MAX_PARTS:
            return ovh_error(400, f"Message too long: {parts} SMS parts, at most {MAX_PARTS} "
                                  f"({gsm.max_units(encoding, MAX_PARTS)} {encoding} characters)")
        valid = [r for r in payload["receivers"] if self.valid_receiver(r)]
        invalid = [r for r in payload["receivers"] if r not in valid]
        cost = self.credits_per_part * parts
        with self.lock:
            left = self.credits_left(service)
            if left < cost * len(valid):
                return self.named_error(request, "not_enough_credits")
            self.credits[service] = left - cost * len(valid)
            ids = [next(self._ids) for _ in valid]
            left = self.credits[service]
        tag = payload.get("tag", "")
        for receiver, message_id in zip(valid, ids, strict=True):
            self.accept(
                message_id=str(message_id), to=receiver, sender=sender, text=text,
                reference=tag, segments=parts, encoding=encoding, cost=cost,
                currency="credits", callback_url=self.callback_url(service),
                extra={"payload": payload, "service": service,
                       "senderForResponse": bool(payload.get("senderForResponse"))},
            )
        body: dict[str, Any] = {
            "totalCreditsRemoved": float(cost * len(valid)),
            "invalidReceivers": invalid,
            "ids": ids,
            "validReceivers": valid,
            "creditsLeft": float(left),
        }
        if tag:
            body["tag"] = tag
        return SandboxResponse.json_body(200, body)

    def validate(self, payload: dict[str, Any]) -> SandboxResponse | None:
        """OVH's answer to an invalid job, or None."""
        unknown = sorted(set(payload) - JOB_FIELDS)
        if unknown:
            return ovh_error(400, f"Invalid parameter: {', '.join(unknown)}")
        message = payload.get("message")
        if not isinstance(message, str) or not message:
            return ovh_error(400, "Missing parameter: message")
        if "receiversDocumentUrl" in payload or "receiversSlotId" in payload:
            return ovh_error(400, "receiversDocumentUrl and receiversSlotId are not supported "
                                  "by the sandbox: give receivers")
        receivers = payload.get("receivers")
        if not isinstance(receivers, list) or not receivers or not all(
                isinstance(r, str) for r in receivers):
            return ovh_error(400, "Missing parameter: receivers (a list of numbers)")
        for name in ("noStopClause", "senderForResponse"):
            if name in payload and not isinstance(payload[name], bool):
                return ovh_error(400, f"Invalid parameter {name}: expected a boolean")
        for name in ("validityPeriod", "differedPeriod"):
            value = payload.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < (1 if name == "validityPeriod" else 0)):
                return ovh_error(400, f"Invalid parameter {name}: expected minutes")
        if payload.get("priority", "high") not in PRIORITIES:
            return ovh_error(400, f"Invalid parameter priority: one of {', '.join(PRIORITIES)}")
        if payload.get("charset", "UTF-8") != "UTF-8":
            return ovh_error(400, "Invalid parameter charset: only UTF-8 is supported")
        if payload.get("coding", "7bit") not in ("7bit", "8bit"):
            return ovh_error(400, "Invalid parameter coding: 7bit or 8bit")
        if payload.get("class", "phoneDisplay") not in ("flash", "phoneDisplay", "sim",
                                                       "toolkit"):
            return ovh_error(400, "Invalid parameter class")
        tag = payload.get("tag", "")
        if not isinstance(tag, str) or len(tag) > MAX_TAG:
            return ovh_error(400, f"Invalid parameter tag: at most {MAX_TAG} characters")
        sender = payload.get("sender")
        if sender is not None:
            if payload.get("senderForResponse"):
                return ovh_error(400, "sender and senderForResponse cannot be used together")
            return self.check_sender(sender)
        return None

    def check_sender(self, sender: Any) -> SandboxResponse | None:
        """Refuse a sender that is malformed or not validated on the account."""
        if not isinstance(sender, str) or not (
            NUMERIC_SENDER.match(sender)
            or (ALPHANUMERIC_SENDER.match(sender) and re.search("[A-Za-z]", sender))
        ):
            return ovh_error(400, f"Invalid sender {sender!r}: at most 11 letters and digits, "
                                  "or a phone number")
        status = self.senders.get(sender)
        if status is None and self.require_validated_senders:
            status = "unknown"
        if status not in (None, "enable"):
            return ovh_error(400, f"Invalid sender {sender!r}: it is {status}, not a "
                                  "validated sender of this account")
        return None

    def valid_receiver(self, receiver: str) -> bool:
        return (bool(RECEIVER.match(receiver)) and not receiver.startswith(UNSUPPORTED_PREFIXES)
                and receiver not in self.refused_receivers)

    # -- GET endpoints ---------------------------------------------------------------------------
    def _messages(self, service: str) -> list[SandboxMessage]:
        return [m for m in self.sandbox.messages.all()
                if m.provider == self.name and m.extra.get("service") == service]

    def _get(self, service: str, kind: str, message_id: str) -> SandboxResponse:
        message = self.sandbox.messages.get(message_id)
        if (message is None or message.provider != self.name
                or message.extra.get("service") != service
                or (kind == "jobs") != (message.status == "accepted")):
            # A job moves from /jobs to /outgoing once it is sent.
            return self._not_found(f"The requested object (id = {message_id}) does not exist")
        if kind == "jobs":
            return SandboxResponse.json_body(200, self.job(message))
        return SandboxResponse.json_body(200, self.outgoing(message))

    def _outgoing_list(self, request: SandboxRequest, service: str) -> SandboxResponse:
        query = request.query
        messages = [m for m in self._messages(service) if m.status != "accepted"]
        for field, attribute in (("tag", "reference"), ("receiver", "to"),
                                 ("sender", "sender")):
            if field in query:
                messages = [m for m in messages if getattr(m, attribute) == query[field]]
        return SandboxResponse.json_body(200, [int(m.id) for m in messages])

    def native(self, message: SandboxMessage) -> tuple[int, int]:
        """``(deliveryReceipt, ptt)`` of a stored message right now."""
        dlr, ptt = NATIVE[message.status]
        if message.is_final and message.outcome.provider_code is not None:
            ptt = int(message.outcome.provider_code)
        return dlr, ptt

    def job(self, message: SandboxMessage) -> dict[str, Any]:
        """``sms.Job``: a message not sent yet."""
        return {
            "id": int(message.id),
            "creationDatetime": ovh_datetime(message.created_at),
            "credits": float(message.cost or 0),
            "deliveredAt": None,
            "deliveryReceipt": 0,
            "differedDelivery": 0,
            "message": message.text,
            "messageLength": len(message.text),
            "numberOfSms": message.segments,
            "ptt": 0,
            "receiver": message.to,
            "sender": message.sender,
            "sentAt": None,
        }

    def outgoing(self, message: SandboxMessage) -> dict[str, Any]:
        """``sms.Outgoing``: a sent message with its delivery state."""
        dlr, ptt = self.native(message)
        sent_at = next((at for at, status in message.history if status != "accepted"), None)
        delivered_at = message.updated_at if message.status == "delivered" else None
        return {
            "id": int(message.id),
            "batchID": None,
            "creationDatetime": ovh_datetime(message.created_at),
            "credits": float(message.cost or 0) if dlr != 16 else 0.0,
            "deliveredAt": ovh_datetime(delivered_at),
            "deliveryReceipt": dlr,
            "differedDelivery": 0,
            "message": message.text,
            "messageID": str(uuid.uuid5(uuid.NAMESPACE_OID, message.id)),
            "messageLength": len(message.text),
            "numberOfSms": message.segments,
            "ptt": ptt,
            "receiver": message.to,
            "sender": message.sender,
            "sentAt": ovh_datetime(sent_at),
            "tag": message.reference or None,
            "tariffCode": None,
        }

    # -- delivery reports ----------------------------------------------------------------------
    def build_status_callbacks(self, message: SandboxMessage,
                               outcome: Outcome) -> list[CallbackRequest]:
        url = self.callback_url_for(message)
        if not url:
            return []
        callbacks = []
        for stage, delay in outcome.stages:
            dlr, ptt = NATIVE[stage]
            if stage != "sent" and outcome.provider_code is not None:
                ptt = int(outcome.provider_code)
            callbacks.append(CallbackRequest(
                "GET", url,
                query={
                    "id": message.id,
                    "ptt": str(ptt),
                    "date": callback_date(message.created_at + delay),
                    "description": str(dlr),
                    "descriptionDlr": DLR_TEXTS[dlr],
                },
                stage=stage,
                message_id=message.id,
            ))
        return callbacks

    def inbound_callback(self, url: str, *, from_number: str, text: str,
                         when: float | None = None) -> CallbackRequest:
        """An SMS received on the account, as the sandbox assumes OVH's ``cgi`` callback makes
        it (UNCONFIRMED: a GET with the fields of ``/incoming/{id}``); send it with
        ``sandbox.callbacks.send_now(...)``."""
        moment = time.time() if when is None else when
        return CallbackRequest("GET", url, query={
            "id": str(next(self._ids)),
            "sender": from_number,
            "message": text,
            "creationDatetime": ovh_datetime(moment) or "",
        })
