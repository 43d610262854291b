"""OVHcloud SMS: everything that knows OVH's wire format.

Every call to ``{endpoint}`` (``https://eu.api.ovh.com/1.0``...) is signed as OVH's own
clients sign it: ``X-Ovh-Application``, ``X-Ovh-Consumer``, ``X-Ovh-Timestamp`` (the server's
clock, from ``GET /auth/time``) and ``X-Ovh-Signature``::

    "$1$" + sha1(application_secret + "+" + consumer_key + "+" + METHOD + "+" + full URL
                 + "+" + body + "+" + timestamp)

over the exact URL and body bytes that go on the wire. Send: ``POST /sms/{service}/jobs``
with ``{"message", "receivers": ["+33..."], "sender", "noStopClause", "priority", "tag",
"charset"}``; answer ``{"ids", "validReceivers", "invalidReceivers", "totalCreditsRemoved",
"creditsLeft"}``. Delivery: a callback URL that OVH calls with ``id, ptt, date, description
(DLR), descriptionDlr`` in the query string (unsigned: protected by a secret in the URL), or
polling ``GET /sms/{service}/outgoing/{id}``. Details, sources and the UNCONFIRMED points:
docs/providers/ovh.rst.

Settings::

    SMS_BACKENDS = {"fr": {"BACKEND": "django_sms.backends.ovh.SmsBackend",
                           "OPTIONS": {"application_key": env("OVH_APPLICATION_KEY"),
                                       "application_secret": env("OVH_APPLICATION_SECRET"),
                                       "consumer_key": env("OVH_CONSUMER_KEY"),
                                       "webhook_secret": env("OVH_WEBHOOK_SECRET")}}}
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from django.core import checks
from requests.auth import AuthBase

from django_sms.backends.base import InboundSMS, SendResult, StatusUpdate, WebhookRequest
from django_sms.backends.http import ErrorDetails, HttpBackend, HttpRequest
from django_sms.backends.values import as_datetime, as_decimal, as_int, as_text
from django_sms.backends.webhook_validators import SharedSecretValidator, ValidatedWebhooksMixin
from django_sms.exceptions import (
    ConfigurationError,
    InvalidRecipient,
    MalformedResponse,
    PermanentProviderError,
    WebhookPayloadError,
)
from django_sms.phone import e164_digits, plus_e164
from django_sms.status import FINAL_STATUSES, Status

if TYPE_CHECKING:
    from django_sms.message import SMS
    from django_sms.models import AbstractMessage

#: API roots by ``endpoint`` name, as in python-ovh's ``ovh.client.ENDPOINTS``.
ENDPOINTS: dict[str, str] = {
    "ovh-eu": "https://eu.api.ovh.com/1.0",
    "ovh-ca": "https://ca.api.ovh.com/1.0",
    "ovh-us": "https://api.us.ovhcloud.com/1.0",
}
#: The API version path every OVH endpoint URL ends with.
API_ROOT = "/1.0"

PRIORITIES = ("high", "medium", "low", "veryLow")

#: OVH bills in SMS credits, not money. ``cost_currency`` is stored in a 3-character column,
#: so credits are written "CRD" (not an ISO 4217 code: never mistaken for money).
CREDITS = "CRD"

#: Longest ``tag`` OVH accepts: 20 characters (OVH's http2sms guide; the REST limit is not
#: documented, so the documented one is kept). Our references are 36-character UUIDs, so the
#: tag is the first 20 hex digits of the reference (80 bits, 76 of them random): unique in
#: practice, and a prefix the database can look up with its index (django_sms.events).
MAX_TAG_LENGTH = 20
#: Tags of messages sent before the 20-character tag: the whole reference, dashes included.
#: Reports about them are still read for as long as such messages are in flight.
LEGACY_TAG_LENGTH = 36

#: OVH's auth-layer ``errorCode`` values: the credentials or their rights are wrong. They
#: fail the message (nothing about the message itself was wrong).
AUTH_ERROR_CODES = frozenset({
    "INVALID_SIGNATURE",
    "INVALID_CREDENTIAL",
    "INVALID_KEY",
    "NOT_CREDENTIAL",
    "NOT_GRANTED_CALL",
    "NOT_AUTHENTICATED",
    "FORBIDDEN",
})
#: The timestamp was outside OVH's window (UNCONFIRMED code name): our cached clock
#: difference is stale. Nothing was done, so the request is retried with a fresh one.
TIME_ERROR_CODES = frozenset({"QUERY_TIME_OUT"})

#: The timezone of datetimes OVH writes without an offset (callback ``date``): OVH's
#: servers are French; the format is UNCONFIRMED (option ``callback_timezone``).
DEFAULT_CALLBACK_TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class DeliveryReceipt:
    """One DLR id (``deliveryReceipt`` of ``/outgoing``, ``description`` of a callback)."""

    code: int
    name: str
    status: str
    description: str


#: OVH's DLR ids (shared/reference/providers.md §3.6). 16 means OVH did not bill the message:
#: it never reached a handset's network, hence ``rejected`` (a wallet hold is released).
DLR_TABLE: dict[int, DeliveryReceipt] = {
    r.code: r
    for r in (
        DeliveryReceipt(0, "pending", Status.ACCEPTED, "Pending (being created at OVH)"),
        DeliveryReceipt(1, "success", Status.DELIVERED, "Delivered"),
        DeliveryReceipt(2, "failure", Status.UNDELIVERED, "Not delivered"),
        DeliveryReceipt(4, "pending", Status.SENT, "Sent, waiting for the delivery report"),
        DeliveryReceipt(8, "buffered", Status.SENT, "Buffered by the operator, being retried"),
        DeliveryReceipt(16, "error", Status.REJECTED, "Error, not billed"),
    )
}


@dataclass(frozen=True)
class PttCode:
    """One PTT ("premium transaction tracking") code: the precise state of a message."""

    code: int
    status: str
    description: str


#: OVH's PTT table (non-exhaustive on OVH's side too, §3.6). The status is used only when a
#: report has no DLR id; otherwise the DLR decides and the PTT gives the reason (and turns a
#: DLR 2 into ``expired`` for PTT 8). PTT 6 ("final state unknown") stays ``sent``: calling
#: it delivered or failed would be a guess.
PTT_TABLE: dict[int, PttCode] = {
    p.code: p
    for p in (
        PttCode(1, Status.SENT, "Not delivered yet (handset problem), being retried"),
        PttCode(2, Status.SENT, "Not delivered yet (operator problem), being retried"),
        PttCode(3, Status.SENT, "Accepted by the operator"),
        PttCode(4, Status.DELIVERED, "Delivered"),
        PttCode(5, Status.UNDELIVERED, "Undelivered, no detail given"),
        PttCode(6, Status.SENT, "Final state unknown (no report from the operator)"),
        PttCode(8, Status.EXPIRED, "Expired in the SMSC"),
        PttCode(20, Status.UNDELIVERED, "Undeliverable as is"),
        PttCode(21, Status.UNDELIVERED, "Subscriber credit problem"),
        PttCode(23, Status.REJECTED, "Invalid or barred number"),
        PttCode(24, Status.UNDELIVERED, "Subscriber absent"),
        PttCode(25, Status.UNDELIVERED, "Temporary network failure"),
        PttCode(26, Status.UNDELIVERED, "Temporary handset error"),
        PttCode(27, Status.UNDELIVERED, "Handset incompatible"),
        PttCode(28, Status.REJECTED, "Refused: spam suspicion"),
        PttCode(29, Status.REJECTED, "Refused: content not permitted"),
        PttCode(33, Status.REJECTED, "Refused: parental lock"),
        PttCode(39, Status.UNDELIVERED, "Failure at the new operator (ported number)"),
        PttCode(73, Status.UNDELIVERED, "Ported, roaming or blocked number (PTT 73)"),
        PttCode(74, Status.UNDELIVERED, "Ported, roaming or blocked number (PTT 74)"),
        PttCode(76, Status.UNDELIVERED, "Ported, roaming or blocked number (PTT 76)"),
        PttCode(202, Status.UNDELIVERED, "Ported, roaming or blocked number (PTT 202)"),
    )
}


def status_for(dlr: int | None, ptt: int | None) -> str:
    """Our status for a DLR id and a PTT code (either may be missing).

    >>> status_for(1, 4), status_for(2, 24), status_for(2, 8), status_for(None, 5)
    ('delivered', 'undelivered', 'expired', 'undelivered')
    """
    receipt = DLR_TABLE.get(dlr) if dlr is not None else None
    detail = PTT_TABLE.get(ptt) if ptt is not None else None
    if receipt is None:
        return detail.status if detail is not None else Status.ACCEPTED
    if receipt.code == 2 and detail is not None and detail.status == Status.EXPIRED:
        return Status.EXPIRED
    if receipt.code == 0 and detail is not None and detail.status == Status.SENT:
        return Status.SENT  # still "creating" at OVH, but the operator already has it
    return receipt.status


def describe(dlr: int | None, ptt: int | None, dlr_text: str = "") -> str:
    """A human reason: ``"Not delivered (DLR 2); PTT 24: Subscriber absent"``."""
    parts = []
    if dlr is not None:
        receipt = DLR_TABLE.get(dlr)
        label = dlr_text or (receipt.description if receipt else "")
        parts.append(f"{label} (DLR {dlr})" if label else f"DLR {dlr}")
    elif dlr_text:
        parts.append(dlr_text)
    if ptt is not None:
        detail = PTT_TABLE.get(ptt)
        parts.append(f"PTT {ptt}: {detail.description}" if detail else f"PTT {ptt}")
    return "; ".join(parts)


def provider_status(dlr: int | None, ptt: int | None) -> str:
    """The compact form stored as ``provider_status``: ``"dlr-2/ptt-24"``."""
    parts = [f"dlr-{dlr}" if dlr is not None else "", f"ptt-{ptt}" if ptt is not None else ""]
    return "/".join(p for p in parts if p)


def signature(application_secret: str, consumer_key: str, method: str, url: str,
              body: bytes | str, timestamp: str | int) -> str:
    """OVH's request signature, as python-ovh's ``Client.raw_call`` computes it.

    ``url`` is the full URL (query string included) and ``body`` the exact bytes sent (``""``
    without a body), e.g. ``signature("AS", "CK", "POST",
    "http://127.0.0.1:18765/1.0/sms/sms-ab12345-1/jobs", b'{"message":"Hello",...}',
    1700000000)`` is ``"$1$a06c524e231f67a11850af795db3863ab711e11e"`` for the request of
    shared/reference/providers.md §3.2 (checked in tests/test_ovh.py).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    parts = [application_secret, consumer_key, method.upper(), url]
    signed = "+".join(parts).encode("utf-8") + b"+" + raw + b"+" + str(timestamp).encode()
    return "$1$" + hashlib.sha1(signed).hexdigest()  # noqa: S324 - OVH's algorithm


def _now() -> float:
    """The clock of this module (a function, so tests can move it)."""
    return time.time()


class OvhSignature(AuthBase):
    """Signs a prepared request: ``requests`` calls it with the final URL and body bytes."""

    def __init__(self, application_key: str, application_secret: str, consumer_key: str,
                 time_delta: int) -> None:
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.time_delta = time_delta

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        timestamp = str(int(_now()) + self.time_delta)
        body = request.body or b""
        request.headers["X-Ovh-Application"] = self.application_key
        request.headers["X-Ovh-Consumer"] = self.consumer_key
        request.headers["X-Ovh-Timestamp"] = timestamp
        request.headers["X-Ovh-Signature"] = signature(
            self.application_secret, self.consumer_key, request.method or "GET",
            request.url or "", body, timestamp,
        )
        return request


def tag_for(reference: str) -> str:
    """The ``tag`` sent for a message: the first 20 hex digits of its reference (a UUID).

    >>> tag_for("6f1c7a52-3a4b-4c1e-9d63-2f0e5b8a9c10")
    '6f1c7a523a4b4c1e9d63'

    A reference that is not a UUID (an ``SMS`` built by hand) is sent as it is when it fits,
    and not at all otherwise (reports are then matched by OVH's id).
    """
    try:
        return uuid.UUID(str(reference)).hex[:MAX_TAG_LENGTH]
    except ValueError:
        return reference if 0 < len(reference) <= MAX_TAG_LENGTH else ""


def resolve_endpoint(value: str) -> str:
    """The API root for an ``endpoint`` name or URL; ``""`` when it is neither.

    A URL without a path gets OVH's ``/1.0`` (``http://127.0.0.1:8025`` ->
    ``http://127.0.0.1:8025/1.0``), so the sandbox's URL can be used as it is printed.
    """
    value = str(value or "").strip()
    if value.lower() in ENDPOINTS:
        return ENDPOINTS[value.lower()]
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    value = value.rstrip("/")
    return value if parts.path.strip("/") else value + API_ROOT


class SmsBackend(ValidatedWebhooksMixin, HttpBackend):
    """Sends through OVHcloud's SMS API; polls ``/outgoing``; reads its callbacks.

    OPTIONS (see docs/providers/ovh.rst):

    ``application_key``, ``application_secret``, ``consumer_key`` (required)
        The application's keys and a consumer key validated with the access rules the
        backend needs.
    ``endpoint``
        ``"ovh-eu"`` (default), ``"ovh-ca"``, ``"ovh-us"`` or an API root URL (a URL without
        a path gets ``/1.0``). ``base_url`` is a synonym and wins over it.
    ``service_name``
        The SMS account (``sms-ab12345-1``); discovered with ``GET /sms`` when there is one.
    ``sender_for_response``
        Send from an OVH short number that accepts replies (France), instead of ``sender``.
    ``no_stop_clause``
        Default ``True``: transactional messages, no "STOP 36111" appended.
    ``priority``
        ``"high"`` (default), ``"medium"``, ``"low"`` or ``"veryLow"``.
    ``validity_period``
        Minutes OVH keeps trying to deliver (OVH's default: 2880).
    ``webhook_secret``
        The secret of the callback URL (or HTTP Basic password); a list during a rotation.
    ``webhook_insecure``
        ``True`` accepts callbacks without any secret when none is configured (never in
        production).
    ``callback_timezone``
        Timezone of callback dates written without an offset (default ``Europe/Paris``).

    plus the common HTTP options of :class:`~django_sms.backends.http.HttpBackend`.
    """

    provider_name = "ovh"
    default_base_url = ENDPOINTS["ovh-eu"]
    required_options = ("application_key", "application_secret", "consumer_key")
    known_options = (
        *HttpBackend.http_options,
        "endpoint",
        "application_key",
        "application_secret",
        "consumer_key",
        "service_name",
        "sender_for_response",
        "no_stop_clause",
        "priority",
        "validity_period",
        "callback_timezone",
    )
    secret_options = ("application_secret", "consumer_key")
    #: OVH signs nothing: callbacks carry a secret in their URL (or as a Basic password).
    webhook_validators = (SharedSecretValidator(),)
    supports_status_polling = True
    supports_status_webhooks = True
    supports_inbound = True
    #: OVH concatenates at most 6 parts (918 GSM-7 / 402 UCS-2 characters).
    max_segments = 6

    def __init__(self, alias: str = "default", **options: Any):
        super().__init__(alias, **options)
        self._clock_lock = threading.Lock()
        self._time_delta: int | None = None
        self._service_lock = threading.Lock()
        self._service_name: str = ""

    # -- configuration --------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        value = self.options.get("base_url") or self.options.get("endpoint") or "ovh-eu"
        return resolve_endpoint(str(value)) or str(value).rstrip("/")

    @property
    def callback_timezone(self) -> tzinfo:
        name = self.options.get("callback_timezone") or DEFAULT_CALLBACK_TIMEZONE
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(
                f"SMS backend {self.alias!r}: unknown 'callback_timezone' {name!r}."
            ) from exc

    def _send_option_errors(self) -> list[str]:
        """What is wrong with the OPTIONS that shape a send (checked before each send too)."""
        opts = self.options
        errors = []
        for name in ("sender_for_response", "no_stop_clause"):
            if name in opts and not isinstance(opts[name], bool):
                errors.append(f"'{name}' must be True or False, not {opts[name]!r}.")
        if "priority" in opts and opts["priority"] not in PRIORITIES:
            errors.append(f"'priority' must be one of {', '.join(PRIORITIES)}, "
                          f"not {opts['priority']!r}.")
        if "validity_period" in opts and _positive_int(opts["validity_period"]) is None:
            errors.append("'validity_period' must be a positive whole number of minutes, "
                          f"not {opts['validity_period']!r}.")
        service = opts.get("service_name")
        if service is not None and (not isinstance(service, str) or "/" in service):
            errors.append("'service_name' must be the name of an SMS account "
                          f"('sms-ab12345-1'), not {service!r}.")
        return errors

    def _option_errors(self) -> list[str]:
        """Everything wrong with the OPTIONS (``manage.py check``)."""
        errors = self._send_option_errors()
        try:
            _ = self.callback_timezone
        except ConfigurationError as exc:
            errors.append(str(exc).removeprefix(f"SMS backend {self.alias!r}: "))
        return errors

    # -- signing ------------------------------------------------------------------------------
    def time_delta(self) -> int:
        """Seconds between OVH's clock and ours, fetched once (``GET /auth/time``) and cached.

        OVH refuses timestamps outside a short window, so requests carry the server's time.
        """
        with self._clock_lock:
            if self._time_delta is None:
                response = self.request(HttpRequest(
                    "GET", "/auth/time",
                    headers={"X-Ovh-Application": str(self.options.get("application_key", ""))},
                ))
                server_time = self.json_body(response)
                if isinstance(server_time, bool) or not isinstance(server_time, int | float):
                    raise MalformedResponse(
                        f"GET /auth/time answered {server_time!r}, not an epoch time",
                        status_code=response.status_code,
                        response_body=self.scrub(response.text),
                    )
                self._time_delta = int(server_time) - int(_now())
            return self._time_delta

    def forget_time_delta(self) -> None:
        """Drop the cached clock difference: the next signed request fetches it again."""
        with self._clock_lock:
            self._time_delta = None

    def signed(self, request: HttpRequest) -> HttpRequest:
        """``request`` with OVH's signature attached (computed when it is prepared). The keys
        are there: the backend is not created without them (``validate_credentials``)."""
        opts = self.options
        request.auth = OvhSignature(str(opts["application_key"]),
                                    str(opts["application_secret"]),
                                    str(opts["consumer_key"]), self.time_delta())
        return request

    # -- the SMS account --------------------------------------------------------------------------
    def service_name(self) -> str:
        """The SMS account: the ``service_name`` OPTION, else the only one ``GET /sms`` lists."""
        configured = self.options.get("service_name")
        if configured:
            return str(configured)
        with self._service_lock:
            if not self._service_name:
                response = self.request(self.signed(HttpRequest("GET", "/sms")))
                names = self.json_body(response)
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise MalformedResponse(f"GET /sms answered {names!r}, not a list of names",
                                            status_code=response.status_code,
                                            response_body=self.scrub(response.text))
                if not names:
                    raise PermanentProviderError(
                        f"SMS backend {self.alias!r}: these OVH credentials see no SMS "
                        "account (GET /sms is empty): order one, or check that the consumer "
                        "key was granted GET /sms on the right OVH account.",
                        provider=self.provider_name, status=Status.FAILED,
                    )
                if len(names) > 1:
                    raise PermanentProviderError(
                        f"SMS backend {self.alias!r}: these OVH credentials see "
                        f"{len(names)} SMS accounts ({', '.join(sorted(names))}); set the "
                        "'service_name' OPTION to the one to use.",
                        provider=self.provider_name, status=Status.FAILED,
                    )
                self._service_name = names[0]
            return self._service_name

    def service_path(self, *parts: str) -> str:
        """``/sms/{service}/...`` with every segment URL-quoted."""
        segments = [self.service_name(), *parts]
        return "/sms/" + "/".join(quote(str(s), safe="") for s in segments)

    def account(self) -> dict[str, Any]:
        """The SMS account as OVH describes it (``GET /sms/{service}``: ``creditsLeft``,
        ``callBack``, ``status``, ``channel``...)."""
        response = self.request(self.signed(HttpRequest("GET", self.service_path())))
        data = self.json_body(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(data).__name__}",
                                    status_code=response.status_code,
                                    response_body=self.scrub(response.text))
        return data

    def credits_left(self) -> Decimal:
        """The SMS credits left on the account (``creditsLeft``)."""
        value = as_decimal(self.account().get("creditsLeft"))
        if value is None:
            raise MalformedResponse("the account has no readable 'creditsLeft'")
        return value

    def set_callback_url(self, url: str) -> None:
        """Make OVH report deliveries to ``url`` (``PUT /sms/{service}`` ``{"callBack"}``).

        Needs the access rule ``PUT /sms/*``.
        """
        self.request(self.signed(HttpRequest("PUT", self.service_path(),
                                             json={"callBack": url}, idempotent=True)))

    # -- sending --------------------------------------------------------------------------------
    def build_request(self, sms: SMS) -> HttpRequest:
        payload = self.build_payload(sms)
        return self.signed(HttpRequest("POST", self.service_path("jobs"), json=payload))

    def build_payload(self, sms: SMS) -> dict[str, Any]:
        """The ``POST /sms/{service}/jobs`` body for ``sms``."""
        opts = self.options
        errors = self._send_option_errors()
        if errors:
            raise PermanentProviderError(
                f"SMS backend {self.alias!r} is misconfigured: {' '.join(errors)}",
                provider=self.provider_name, status=Status.FAILED,
            )
        options = sms.options or {}
        payload: dict[str, Any] = {"message": sms.text, "receivers": [self.receiver(sms.to)]}
        if opts.get("sender_for_response"):
            # An OVH short number that accepts replies; a named sender cannot go with it.
            payload["senderForResponse"] = True
        elif sms.sender:
            payload["sender"] = sms.sender
        payload["noStopClause"] = bool(opts.get("no_stop_clause", True))
        priority = options.get("priority", opts.get("priority", "high"))
        if priority not in PRIORITIES:
            raise PermanentProviderError(
                f"SMS option 'priority' must be one of {', '.join(PRIORITIES)}, "
                f"not {priority!r}.", provider=self.provider_name, status=Status.REJECTED,
            )
        payload["priority"] = priority
        validity = options.get("validity_period", opts.get("validity_period"))
        if validity is not None:
            minutes = _positive_int(validity)
            if minutes is None:
                raise PermanentProviderError(
                    f"SMS option 'validity_period' must be a positive number of minutes, "
                    f"not {validity!r}.", provider=self.provider_name, status=Status.REJECTED,
                )
            payload["validityPeriod"] = minutes
        tag = tag_for(sms.reference)
        if tag:
            payload["tag"] = tag
        payload["charset"] = "UTF-8"
        return payload

    def receiver(self, number: str) -> str:
        """``+33612345678``: OVH wants international numbers with ``+``."""
        try:
            return "+" + e164_digits(number)
        except InvalidRecipient as exc:  # only reachable when the pipeline is bypassed
            raise PermanentProviderError(str(exc), provider=self.provider_name,
                                         status=Status.REJECTED) from exc

    def parse_send_response(self, sms: SMS, response: requests.Response) -> SendResult:
        """Success only when our receiver is in ``validReceivers`` and an id came back."""
        data = self.json_body(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(data).__name__}")
        receiver = self.receiver(sms.to)
        if _listed(data.get("invalidReceivers"), receiver):
            raise PermanentProviderError(
                f"OVH refused the recipient {receiver} (invalidReceivers)",
                code="invalidReceivers",
                text=f"{receiver} is not a valid receiver for OVH",
                status_code=response.status_code,
                response_body=self.scrub(response.text),
                provider=self.provider_name,
                status=Status.REJECTED,
            )
        ids = data.get("ids")
        if not isinstance(ids, list) or not ids or not _is_id(ids[0]):
            raise MalformedResponse("no message id in 'ids'")
        if not _listed(data.get("validReceivers"), receiver):
            raise MalformedResponse(f"{receiver} is in neither validReceivers nor "
                                    "invalidReceivers")
        credits = data.get("creditsLeft")
        return SendResult(
            status=Status.ACCEPTED,
            provider_message_id=str(ids[0]),
            cost=as_decimal(data.get("totalCreditsRemoved")),
            cost_currency=CREDITS,
            provider_status="accepted",
            provider_status_text="Job accepted by OVH" + (
                f" ({credits} credits left)" if credits is not None else ""),
            raw=data,
        )

    def parse_error(self, response: requests.Response) -> ErrorDetails:
        """OVH's ``{errorCode, httpCode, message}`` (auth layer) or ``{class, message}``.

        The ``X-OVH-QueryID`` response header (what OVH support asks for) is kept in the text.
        """
        data = self.try_json(response)
        query_id = response.headers.get("X-OVH-QueryID", "")
        suffix = f" [X-OVH-QueryID {query_id}]" if query_id else ""
        if not isinstance(data, dict):
            return ErrorDetails(text=suffix.strip())
        error_code = str(data.get("errorCode") or "")
        error_class = str(data.get("class") or "")
        text = str(data.get("message") or "") + suffix
        if error_code:
            # An auth-layer refusal may come from a stale clock difference (a clock jumped;
            # OVH's code for it is UNCONFIRMED): the next signed request fetches it again.
            self.forget_time_delta()
        if error_code in TIME_ERROR_CODES:
            return ErrorDetails(code=error_code, text=text, transient=True)
        if error_code in AUTH_ERROR_CODES:
            return ErrorDetails(code=error_code, text=text, status=Status.FAILED)
        if error_class.startswith(("Client::BadRequest", "Client::Forbidden")):
            # The message (sender, text, receivers) or the account (credits) refused it.
            return ErrorDetails(code=error_class, text=text, status=Status.REJECTED)
        if error_class.startswith("Client::NotFound"):
            return ErrorDetails(code=error_class, text=text, status=Status.FAILED)
        return ErrorDetails(code=error_code or error_class, text=text)

    # -- status polling ---------------------------------------------------------------------
    def fetch_status(self, message: AbstractMessage) -> StatusUpdate | None:
        """``GET /sms/{service}/outgoing/{id}``; a job not sent yet is still in
        ``/jobs/{id}`` (OVH moves it to ``/outgoing`` once sent)."""
        message_id = str(getattr(message, "provider_message_id", "") or "")
        if not message_id:
            return None
        outgoing = self.signed(HttpRequest("GET", self.service_path("outgoing", message_id)))
        response = self.request(outgoing, check=False)
        if response.status_code == 404:
            job = self.signed(HttpRequest("GET", self.service_path("jobs", message_id)))
            response = self.request(job, check=False)
            if response.status_code == 404:
                raise PermanentProviderError(
                    f"OVH has no SMS with id {message_id!r} (neither sent nor pending)",
                    status_code=404,
                    response_body=self.scrub(response.text),
                    provider=self.provider_name,
                )
            self.raise_for_error(response, job)
        else:
            self.raise_for_error(response, outgoing)
        data = self.json_body(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(data).__name__}",
                                    status_code=response.status_code,
                                    response_body=self.scrub(response.text))
        return self.status_update(data, fallback_id=message_id)

    def status_update(self, data: Mapping[str, Any], *, fallback_id: str = "") -> StatusUpdate:
        """A :class:`StatusUpdate` from an ``sms.Outgoing`` or ``sms.Job`` object."""
        message_id = as_text(data.get("id")) or fallback_id
        dlr, ptt = _code(data.get("deliveryReceipt")), _ptt(data.get("ptt"))
        status = status_for(dlr, ptt)
        tz = self._callback_timezone_or_utc()
        if status == Status.DELIVERED:
            when = data.get("deliveredAt") or data.get("sentAt")
        elif status == Status.ACCEPTED:
            when = data.get("creationDatetime")
        else:
            when = data.get("sentAt") or data.get("creationDatetime")
        return self._update(
            status, message_id, dlr, ptt, "",
            occurred_at=parse_datetime(when, tz),
            dedupe_key=f"ovh:{message_id}:{as_text(dlr)}:{as_text(ptt)}",
            message_ref=_tag(as_text(data.get("tag"))),
            segments=as_int(data.get("numberOfSms")),
            cost=as_decimal(data.get("credits")),
            raw=dict(data),
        )

    def _update(self, status: str, message_id: str, dlr: int | None, ptt: int | None,
                dlr_text: str, **fields: Any) -> StatusUpdate:
        text = describe(dlr, ptt, dlr_text)
        failed = status in FINAL_STATUSES and status != Status.DELIVERED
        code = f"ptt-{ptt}" if ptt is not None else (f"dlr-{dlr}" if dlr is not None else "")
        detail = PTT_TABLE.get(ptt) if ptt is not None else None
        return StatusUpdate(
            status=status,
            provider_message_id=message_id,
            provider_status=provider_status(dlr, ptt),
            provider_status_text=text,
            error_code=code if failed else "",
            error_message=(detail.description if detail else text) if failed else "",
            cost_currency=CREDITS if fields.get("cost") is not None else "",
            **fields,
        )

    def _callback_timezone_or_utc(self) -> tzinfo:
        try:
            return self.callback_timezone
        except ConfigurationError:
            return UTC

    # -- webhooks (verified by webhook_validators) ------------------------------------------------
    def parse_status_webhook(self, request: WebhookRequest) -> list[StatusUpdate]:
        """OVH's delivery report: ``id, ptt, date, description (DLR id), descriptionDlr`` in
        the query string (a GET), or the same fields as a POST form or JSON object. ``dlr``
        is read as an alias of ``description`` (UNCONFIRMED, seen in RaspiSMS); ``tag`` and
        ``numberOfSms`` (the part count) are read when present (UNCONFIRMED)."""
        params = _params(request)
        message_id = _required(params, "id")
        description = _first(params, "description")
        dlr = _code(description)
        if dlr is None:
            dlr = _code(_first(params, "dlr"))
        ptt_raw = _first(params, "ptt")
        ptt = _ptt(ptt_raw)
        if dlr is None and _code(ptt_raw) is None:
            raise WebhookPayloadError(
                "neither a DLR id ('description' or 'dlr') nor a 'ptt' code is a number "
                f"(description={description!r}, ptt={ptt_raw!r})"
            )
        date = _first(params, "date")
        # A "description" that is text rather than a DLR id is kept as the reason.
        dlr_text = _first(params, "descriptionDlr", "descriptiondlr") or (
            description if _code(description) is None else "")[:200]
        return [
            self._update(
                status_for(dlr, ptt), message_id, dlr, ptt, dlr_text,
                occurred_at=parse_datetime(date, self._callback_timezone_or_utc()),
                dedupe_key=f"ovh:{message_id}:{as_text(dlr)}:{as_text(ptt)}:{date}"[:255],
                message_ref=_tag(_first(params, "tag")),
                # Not among the callback's documented fields (UNCONFIRMED): read when OVH
                # sends the part count as in /outgoing, so what is charged follows OVH's.
                segments=as_int(_first(params, "numberOfSms")),
                raw=params,
            )
        ]

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundSMS]:
        """An SMS received on the account (``smsResponse`` of type ``cgi``).

        OVH does not document the parameters of this call (UNCONFIRMED): the fields of
        ``GET /sms/{service}/incoming/{id}`` are read — ``id``, ``sender`` (or ``from``),
        ``message`` (or ``text``), ``creationDatetime`` (or ``date``) — plus ``receiver`` /
        ``to`` when present, from the query string, a form or a JSON object.
        """
        params = _params(request)
        sender = _first(params, "sender", "from")
        if not sender:
            raise WebhookPayloadError("missing or empty 'sender'")
        text = _first(params, "message", "text")
        date = _first(params, "creationDatetime", "date")
        message_id = _first(params, "id")
        if len(message_id) > 100:
            raise WebhookPayloadError("'id' is too long to be an OVH id")
        if not message_id:
            # No id given: one derived from the content still makes a retried call a duplicate.
            content = f"{sender}|{date}|{text}".encode("utf-8", "surrogatepass")
            digest = hashlib.sha256(content).hexdigest()[:24]
            message_id = f"ovh-in-{digest}"
        return [
            InboundSMS(
                provider_message_id=message_id,
                from_number=plus_e164(sender),
                to_number=plus_e164(_first(params, "receiver", "to")),
                text=text,
                occurred_at=parse_datetime(date, self._callback_timezone_or_utc()),
                raw=params,
            )
        ]

    # -- checks ---------------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        option = f"SMS_BACKENDS[{self.alias!r}]['OPTIONS']"
        for message in self._option_errors():
            errors.append(checks.Error(f"SMS backend {self.alias!r}: {message}",
                                       hint=f"Fix {option}; see docs/providers/ovh.",
                                       id="django_sms.E012"))
        if self.options.get("no_stop_clause") is False:
            errors.append(checks.Warning(
                f"SMS backend {self.alias!r} sends with noStopClause false: OVH appends "
                "\"STOP 36111\" to every text and defers sends outside weekdays 8h-22h "
                "(marketing rules).",
                hint="Leave 'no_stop_clause' at True for transactional messages.",
                id="django_sms.W012",
            ))
        return errors

    def _check_base_url(self) -> list[checks.CheckMessage]:
        value = self.options.get("base_url") or self.options.get("endpoint") or "ovh-eu"
        if not resolve_endpoint(str(value)):
            name = "base_url" if self.options.get("base_url") else "endpoint"
            return [checks.Error(
                f"SMS backend {self.alias!r}: {name} {value!r} is neither an OVH endpoint "
                "name nor an http(s) URL.",
                hint=f"Use one of {', '.join(ENDPOINTS)} or the API root URL "
                     "(https://eu.api.ovh.com/1.0).",
                id="django_sms.E012",
            )]
        return super()._check_base_url()


# -- parsing helpers -----------------------------------------------------------------------------
def parse_datetime(value: Any, default_tz: tzinfo = UTC) -> datetime | None:
    """An aware datetime from what OVH writes: ISO 8601 with an offset (the API),
    ``2024-05-17 10:21:34`` without one (callbacks: read in ``default_tz``), ``17/05/2024
    10:21:34``, or epoch seconds. None when absent or unreadable."""
    parsed = as_datetime(value, default_tz)
    if parsed is not None or not isinstance(value, str):
        return parsed
    for pattern in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=default_tz)
        except ValueError:
            continue
    return None


def _params(request: WebhookRequest) -> dict[str, str]:
    """The callback's fields: the query string, then a form or JSON object body on top."""
    params = {str(k): as_text(v) for k, v in (request.query or {}).items()}
    if isinstance(request.data, Mapping):
        params.update({str(k): as_text(v) for k, v in request.data.items()})
    elif request.data is not None:
        raise WebhookPayloadError(f"expected form fields or a JSON object, got "
                                  f"{type(request.data).__name__}")
    return params


def _first(params: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = params.get(name, "").strip()
        if value:
            return value
    return ""


def _required(params: Mapping[str, str], name: str) -> str:
    value = _first(params, name)
    if not value:
        raise WebhookPayloadError(f"missing or empty {name!r}")
    if len(value) > 100:
        raise WebhookPayloadError(f"{name!r} is too long to be an OVH id")
    return value


def _listed(values: Any, receiver: str) -> bool:
    """Whether ``receiver`` is in an OVH receivers list, whatever prefix OVH echoes."""
    if not isinstance(values, list):
        return False
    return any(isinstance(v, str) and plus_e164(v) == receiver for v in values)


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def _code(value: Any) -> int | None:
    """A DLR id or PTT code: a small non-negative number, else None (junk is not a code)."""
    code = as_int(value)
    return code if code is not None and 0 <= code < 1_000_000 else None


def _ptt(value: Any) -> int | None:
    """A PTT code; 0 (what a job not sent yet carries) means "no code yet"."""
    code = _code(value)
    return code if code else None


def _tag(value: str) -> str:
    """Our reference (or its 20-digit prefix) from a ``tag``; a longer value cannot be ours."""
    return value if len(value) <= max(MAX_TAG_LENGTH, LEGACY_TAG_LENGTH) else ""

