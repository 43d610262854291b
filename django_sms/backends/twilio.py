"""Twilio Programmable Messaging: everything that knows Twilio's wire format.

Send: ``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP Basic
(``AccountSid:AuthToken``, or ``ApiKeySid:ApiKeySecret`` with the account SID still in the
path), form-encoded ``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``,
``ValidityPeriod``. Answer: HTTP 201 with the Message resource (``sid``, ``status``,
``num_segments`` and ``price`` as *strings*, ``price`` negative or null). Errors: HTTP 4xx/5xx
``{"code", "message", "more_info", "status"}``, classified by ``code`` (see
:data:`ERROR_CODES`). Polling: ``GET .../Messages/{Sid}.json``.

Status callbacks and inbound messages are form POSTs signed with ``X-Twilio-Signature`` =
base64(HMAC-SHA1(auth token, URL + every form field name and value, sorted)), computed here
exactly as the official ``twilio`` package's ``RequestValidator`` does (the test suite uses
that package as the oracle). The URL is the *public* URL Twilio called: rebuilt by Django's
``request.build_absolute_uri()`` (so ``SECURE_PROXY_SSL_HEADER`` / ``USE_X_FORWARDED_HOST``
/ ``USE_X_FORWARDED_PORT`` apply), or from the ``public_base_url`` OPTION; with and without
the scheme's default port, as Twilio's validator tries. Details, sources and the
UNCONFIRMED points: docs/providers/twilio.rst.

Settings::

    SMS_BACKENDS = {"twilio": {"BACKEND": "django_sms.backends.twilio.SmsBackend",
                               "OPTIONS": {"account_sid": env("TWILIO_ACCOUNT_SID"),
                                           "auth_token": env("TWILIO_AUTH_TOKEN"),
                                           "public_base_url": "https://shop.example.com"}}}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from django.core import checks
from django.urls import NoReverseMatch, reverse

from django_sms.backends.base import (
    BaseSmsBackend,
    InboundSMS,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
from django_sms.backends.http import ErrorDetails, HttpBackend, HttpRequest
from django_sms.backends.values import as_decimal, as_int, as_text
from django_sms.backends.webhook_validators import (
    SharedSecretValidator,
    ValidatedWebhooksMixin,
    WebhookValidator,
    header,
    secret_list,
)
from django_sms.exceptions import (
    ConfigurationError,
    MalformedResponse,
    PermanentProviderError,
    WebhookAuthenticationError,
    WebhookPayloadError,
)
from django_sms.status import Status

if TYPE_CHECKING:
    from datetime import datetime

    from django_sms.message import SMS
    from django_sms.models import AbstractMessage

logger = logging.getLogger("django_sms.webhooks")

API_VERSION = "2010-04-01"
#: Twilio's limit for ``Body`` (error 21617 above it).
MAX_BODY_LENGTH = 1600
#: ``ValidityPeriod`` bounds, in seconds.
MIN_VALIDITY, MAX_VALIDITY = 1, 36000
#: The query parameter of our status-callback URL that carries our message reference, so a
#: report that beats the send answer still finds its message.
REFERENCE_PARAMETER = "sms_ref"
#: The empty TwiML document inbound webhooks are answered with (no reply is sent).
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response />'

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class TwilioError:
    """One Twilio error code: what it means for a message refused with it.

    ``status`` is the message's status when the send call is refused with this code;
    ``transient`` says the same request may succeed later; ``opted_out`` that the
    recipient replied STOP (the number joins our opt-out list); ``configuration`` that
    the account or the backend's OPTIONS must be fixed (nothing about the message was wrong).
    """

    code: int
    title: str
    status: str = Status.REJECTED
    transient: bool = False
    opted_out: bool = False
    configuration: bool = False


#: Twilio error codes (shared/reference/providers-twilio-aws.md §1.5). Codes not listed
#: fall back on the HTTP status: 429 and 5xx transient, anything else permanent.
ERROR_CODES: dict[int, TwilioError] = {
    e.code: e
    for e in (
        TwilioError(20003, "Permission denied (wrong account SID, auth token or API key)",
                    Status.FAILED, configuration=True),
        TwilioError(20404, "The requested resource was not found", Status.FAILED,
                    configuration=True),
        TwilioError(20429, "Too many requests", transient=True),
        TwilioError(20500, "Internal server error", transient=True),
        TwilioError(20503, "Service unavailable", transient=True),
        TwilioError(21211, "Invalid 'To' phone number"),
        TwilioError(21212, "Invalid 'From' phone number", Status.FAILED, configuration=True),
        TwilioError(21408, "Permission to send an SMS has not been enabled for the region "
                           "of the 'To' number"),
        TwilioError(21602, "Message body is required"),
        TwilioError(21604, "'To' phone number is required"),
        TwilioError(21606, "The 'From' phone number is not a valid, SMS-capable Twilio "
                           "number", Status.FAILED, configuration=True),
        TwilioError(21608, "The 'To' number is not verified (trial account)"),
        TwilioError(21610, "Attempt to send to an unsubscribed recipient (STOP)",
                    opted_out=True),
        TwilioError(21611, "The 'From' number has exceeded its queue of messages",
                    transient=True),
        TwilioError(21612, "Cannot route to this 'To' number"),
        TwilioError(21614, "The 'To' number is not a valid mobile number"),
        TwilioError(21617, "The message body exceeds the 1600 character limit"),
        TwilioError(21635, "The 'To' number cannot be a landline"),
        TwilioError(21659, "The 'From' number is not owned by the account", Status.FAILED,
                    configuration=True),
        # Delivery errors, reported in callbacks' ErrorCode and polled ``error_code``.
        TwilioError(30001, "Queue overflow", Status.FAILED),
        TwilioError(30002, "Account suspended", Status.FAILED, configuration=True),
        TwilioError(30003, "Unreachable destination handset", Status.UNDELIVERED),
        TwilioError(30004, "Message blocked", Status.UNDELIVERED),
        TwilioError(30005, "Unknown destination handset", Status.UNDELIVERED),
        TwilioError(30006, "Landline or unreachable carrier", Status.UNDELIVERED),
        TwilioError(30007, "Message filtered by the carrier", Status.UNDELIVERED),
        TwilioError(30008, "Unknown error", Status.UNDELIVERED),
        TwilioError(30009, "Missing segment", Status.UNDELIVERED),
        TwilioError(30032, "Toll-free number not verified", Status.FAILED, configuration=True),
        TwilioError(30034, "Message from an unregistered number (US A2P 10DLC)", Status.FAILED,
                    configuration=True),
    )
}

#: Twilio message statuses -> ours. ``queued``/``accepted``/``scheduled`` are the initial
#: statuses (Twilio sends no callback for them); ``sending`` means Twilio is handing it to
#: the carrier: still only accepted for us. ``read`` (RCS/WhatsApp) implies delivery.
#: ``partially_delivered`` is undocumented (UNCONFIRMED): not final, so ``sent``.
STATUSES: dict[str, str] = {
    "accepted": Status.ACCEPTED,
    "queued": Status.ACCEPTED,
    "scheduled": Status.ACCEPTED,
    "sending": Status.ACCEPTED,
    "sent": Status.SENT,
    "partially_delivered": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.CANCELED,
}

_DEFAULT_PORTS = {"https": 443, "http": 80}


# -- the signature ---------------------------------------------------------------------------
def compute_signature(token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``X-Twilio-Signature`` of a request to ``url`` with the form fields ``params``.

    As Twilio's ``RequestValidator.compute_signature``: the URL, then for each field name in
    sorted order each of its distinct values in sorted order, appended as ``name + value``
    with no separator; HMAC-SHA1 keyed with the auth token; base64.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """``url`` with the scheme's default port written out, and without any port.

    Twilio signs "the URL as configured", and its own validator accepts either form because
    the port it signs is inconsistent; the scheme, host, path and query are never changed.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}")) if port else url
    without_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    return list(dict.fromkeys([with_port, without_port]))


def signature_matches(tokens: Sequence[str], url: str, params: Sequence[tuple[str, str]],
                      signature: str) -> bool:
    """Whether ``signature`` is Twilio's signature of ``url`` (either port form) and
    ``params`` with one of ``tokens``; constant-time comparisons, every token tried."""
    matched = False
    for token in tokens:
        for candidate in url_variants(url):
            expected = compute_signature(token, candidate, params)
            matched |= hmac.compare_digest(expected.encode(), signature.encode())
    return matched


class TwilioSignature(WebhookValidator):
    """``X-Twilio-Signature``, checked with every auth token of the ``auth_token`` OPTION
    (several during a rotation) over the URL Twilio called: ``public_base_url`` + the path
    and query when that OPTION is set, else the URL Django rebuilt from the request (its
    proxy settings applied); with and without the default port. A refusal logs the URL
    checked: when it differs from the one configured at Twilio, the proxy settings are what
    to fix (docs/providers/twilio.rst, "Troubleshooting a signature mismatch")."""

    option = "auth_token"
    hint = "Set 'auth_token' to the account's auth token (Twilio signs webhooks with it)."

    def validate(self, backend: BaseSmsBackend, request: WebhookRequest, kind: str) -> None:
        signature = header(request, "X-Twilio-Signature").strip()
        if not signature:
            raise WebhookAuthenticationError("missing X-Twilio-Signature header")
        rule = header(request, "X-Twilio-Webhooks-Signature-Settings")
        if rule:
            raise WebhookAuthenticationError(
                f"the request was signed by a Twilio Webhooks Rule ({rule!r}); only "
                "auth-token signatures are supported"
            )
        urls = webhook_urls(backend, request)
        params = signed_params(request)
        if any(signature_matches(self.secrets(backend), url, params, signature)
               for url in urls):
            return
        logger.warning(
            "Twilio %s webhook for SMS backend %r: the signature does not match the URL "
            "checked, %s (with and without the default port). If Twilio called another URL, "
            "fix the proxy settings (SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST, "
            "USE_X_FORWARDED_PORT) or set the 'public_base_url' OPTION.",
            kind, backend.alias, " or ".join(urls) or "(none)",
        )
        raise WebhookAuthenticationError(
            f"bad X-Twilio-Signature for {' or '.join(urls) or 'this request'}: not signed "
            "with a configured auth_token for this URL"
        )

    def describe(self, backend: BaseSmsBackend) -> str:
        return (f"Twilio X-Twilio-Signature (HMAC-SHA1 over the URL, "
                f"{len(self.secrets(backend))} auth token(s))")


def webhook_urls(backend: BaseSmsBackend, request: WebhookRequest) -> list[str]:
    """The URL(s) Twilio may have signed: the ``public_base_url`` OPTION + the request's path
    and query when it is set, else the URL Django rebuilt from the request."""
    public = str(backend.options.get("public_base_url") or "").rstrip("/")
    if public:
        return [public + request.full_path]
    return [request.url] if request.url else []


def signed_params(request: WebhookRequest) -> list[tuple[str, str]]:
    """The form fields Twilio signs: every field of a form POST, as received (the query
    string is part of the URL); none for a JSON body (``bodySHA256``) or a GET."""
    if request.method.upper() != "POST":
        return []
    content_type = header(request, "Content-Type").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        if "bodySHA256" in request.query:
            expected = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(expected, request.query["bodySHA256"].lower()):
                raise WebhookAuthenticationError("the body does not match bodySHA256")
            return []
        raise WebhookAuthenticationError(
            f"Twilio webhooks are form-encoded; got {content_type or 'no content type'!r}"
        )
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise WebhookAuthenticationError("the form body is not UTF-8") from exc


class SmsBackend(ValidatedWebhooksMixin, HttpBackend):
    """Sends through Twilio's Messages resource; verifies and parses its signed webhooks.

    OPTIONS (see docs/providers/twilio.rst):

    ``account_sid``
        The account (``AC...``): in every API path.
    ``auth_token``
        The account's auth token, or a list of them: the first one authenticates API calls
        (unless an API key is set); every one is accepted on webhook signatures, so both the
        old and the new token verify while you rotate (Twilio's secondary token).
    ``api_key_sid`` + ``api_key_secret``
        An API key (``SK...``) for the API calls instead of the auth token. Webhooks are
        still signed with the auth token, which stays required to receive them.
    ``messaging_service_sid``
        Send through a Messaging Service (``MG...``): ``From`` is then omitted and Twilio
        picks the sender from the service's pool.
    ``status_callback``
        The absolute URL of the status webhook. Default: ``public_base_url`` + the path of
        this alias's status webhook; without either, no per-message callback is requested.
    ``public_base_url``
        ``https://host[:port]`` as Twilio reaches this site. When set, webhook signatures are
        checked against it + the request's path and query instead of the URL Django rebuilds
        from the request (``build_absolute_uri()``), for proxies Django does not trust.
    ``validity_period``
        Seconds (1 to 36000) a message may wait in Twilio's queue; per message with the
        ``ttl`` option of ``send_sms(options=...)``.
    ``webhook_secret``
        Optional, stacked on the signature: a secret the webhook URL must carry too
        (:class:`~django_sms.backends.webhook_validators.SharedSecretValidator`).

    plus the common HTTP options (``base_url``, default ``https://api.twilio.com``,
    timeouts, ``pool_size``...).
    """

    provider_name = "twilio"
    default_base_url = "https://api.twilio.com"
    known_options = (
        *HttpBackend.http_options,
        "account_sid",
        "auth_token",
        "api_key_sid",
        "api_key_secret",
        "messaging_service_sid",
        "status_callback",
        "public_base_url",
        "validity_period",
    )
    secret_options = ("auth_token", "api_key_secret")
    secret_headers = frozenset({"x-twilio-signature"})
    webhook_validators = (TwilioSignature(), SharedSecretValidator())
    supports_status_polling = True
    supports_status_webhooks = True
    supports_inbound = True
    webhook_auth_scheme: ClassVar[str] = "X-Twilio-Signature"
    #: 1600 characters: 10 GSM-7 parts of 153 hold 1530, so 10 parts always fit.
    max_segments = 10

    # -- configuration -------------------------------------------------------------------------
    @property
    def account_sid(self) -> str:
        return str(self.options.get("account_sid") or "")

    @property
    def auth_tokens(self) -> list[str]:
        """The configured auth tokens (several during a rotation), first = primary."""
        return secret_list(self, "auth_token")

    @property
    def public_base_url(self) -> str:
        return str(self.options.get("public_base_url") or "").rstrip("/")

    def credentials(self) -> tuple[str, str]:
        """``(username, password)`` of HTTP Basic for API calls."""
        key, secret = self.options.get("api_key_sid"), self.options.get("api_key_secret")
        if key or secret:
            if not (key and secret):
                raise ConfigurationError(
                    f"SMS backend {self.alias!r} needs both 'api_key_sid' and 'api_key_secret'."
                )
            return str(key), str(secret)
        tokens = self.auth_tokens
        if not tokens:
            raise ConfigurationError(
                f"SMS backend {self.alias!r} has no Twilio credentials: set 'auth_token' (or "
                "'api_key_sid' and 'api_key_secret')."
            )
        return self.account_sid, tokens[0]

    def resource(self, suffix: str = "") -> str:
        """The path of the account's Messages resource (``.../Messages{suffix}.json``)."""
        account = quote(self.account_sid, safe="")
        return f"/{API_VERSION}/Accounts/{account}/Messages{suffix}.json"

    def _api_request(self, method: str, path: str, **kwargs: Any) -> HttpRequest:
        try:
            auth = self.credentials()
        except ConfigurationError as exc:
            raise PermanentProviderError(str(exc), provider=self.provider_name,
                                         status=Status.FAILED) from exc
        if not self.account_sid:
            raise PermanentProviderError(
                f"SMS backend {self.alias!r} needs the 'account_sid' OPTION.",
                provider=self.provider_name, status=Status.FAILED,
            )
        return HttpRequest(method, path, auth=auth, headers={"Accept": "application/json"},
                           **kwargs)

    # -- sending -------------------------------------------------------------------------------
    def build_request(self, sms: SMS) -> HttpRequest:
        return self._api_request("POST", self.resource(), form=self.build_form(sms))

    def build_form(self, sms: SMS) -> dict[str, str]:
        """The form fields of the create-Message call for ``sms``."""
        if len(sms.text) > MAX_BODY_LENGTH:
            raise PermanentProviderError(
                f"Twilio accepts at most {MAX_BODY_LENGTH} characters; this text has "
                f"{len(sms.text)}.",
                provider=self.provider_name, status=Status.REJECTED,
            )
        form: dict[str, str] = {"To": sms.to, "Body": sms.text}
        service = self.options.get("messaging_service_sid")
        if service:
            form["MessagingServiceSid"] = str(service)
        elif sms.sender:
            form["From"] = sms.sender
        else:
            raise PermanentProviderError(
                "Twilio needs a sender: pass sender= (a Twilio number or an alphanumeric "
                "sender ID), set DJANGO_SMS['DEFAULT_SENDER'], or set the "
                "'messaging_service_sid' OPTION.",
                provider=self.provider_name, status=Status.FAILED,
            )
        callback = self.status_callback_url(sms.reference)
        if callback:
            form["StatusCallback"] = callback
        validity = (sms.options or {}).get("ttl", self.options.get("validity_period"))
        if validity is not None:
            if isinstance(validity, bool) or not isinstance(validity, int) or not (
                MIN_VALIDITY <= validity <= MAX_VALIDITY
            ):
                raise PermanentProviderError(
                    f"Twilio's ValidityPeriod must be a whole number of seconds between "
                    f"{MIN_VALIDITY} and {MAX_VALIDITY}, not {validity!r}.",
                    provider=self.provider_name, status=Status.REJECTED,
                )
            form["ValidityPeriod"] = str(validity)
        return form

    def status_callback_url(self, reference: str = "") -> str:
        """The ``StatusCallback`` URL for a message (with our reference), or ""."""
        url = str(self.options.get("status_callback") or "")
        if not url and self.public_base_url:
            try:
                path = reverse("django_sms:webhook-status", kwargs={"alias": self.alias})
            except NoReverseMatch:
                return ""
            url = self.public_base_url + path
        if not url or not reference:
            return url
        parts = urlsplit(url)
        query = "&".join(filter(None, [parts.query, urlencode({REFERENCE_PARAMETER: reference})]))
        return urlunsplit(parts._replace(query=query))

    def parse_send_response(self, sms: SMS, response: requests.Response) -> SendResult:
        data = self.json_body(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(data).__name__}")
        sid = data.get("sid")
        if not isinstance(sid, str) or not sid:
            raise MalformedResponse("no 'sid' in the answer")
        provider_status = str(data.get("status") or "queued")
        cost, currency = _price(data)
        return SendResult(
            status=STATUSES.get(provider_status, Status.ACCEPTED),
            provider_message_id=sid,
            segments=_positive_int(data.get("num_segments")),
            cost=cost,
            cost_currency=currency,
            provider_status=provider_status,
            occurred_at=_rfc2822(data.get("date_created")),
            raw=data,
        )

    def parse_error(self, response: requests.Response) -> ErrorDetails:
        """``{"code", "message", "more_info", "status"}`` (or the RFC 9457 shape newer APIs
        use); the code decides, the HTTP status only when the code is unknown."""
        data = self.try_json(response)
        if not isinstance(data, dict):
            return ErrorDetails()
        code = data.get("code")
        code_text = str(code) if isinstance(code, int | str) and not isinstance(code, bool) else ""
        text = str(data.get("message") or data.get("detail") or data.get("title") or "")
        known = ERROR_CODES.get(int(code_text)) if code_text.isdigit() else None
        if known is None:
            return ErrorDetails(code=code_text, text=text)
        if known.transient:
            return ErrorDetails(code=code_text, text=text or known.title, transient=True)
        return ErrorDetails(code=code_text, text=text or known.title, status=known.status,
                            transient=False, opted_out=known.opted_out)

    # -- polling -------------------------------------------------------------------------------
    def fetch_status(self, message: AbstractMessage) -> StatusUpdate | None:
        """``GET .../Messages/{Sid}.json``: the Message resource as it is now."""
        sid = str(getattr(message, "provider_message_id", "") or "")
        if not sid:
            return None
        request = self._api_request("GET", self.resource(f"/{quote(sid, safe='')}"))
        data = self.json_body(self.request(request))
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise MalformedResponse("no 'status' in the Message resource")
        provider_status = data["status"]
        error_code = _code(data.get("error_code"))
        cost, currency = _price(data)
        return StatusUpdate(
            status=self._status(provider_status),
            provider_message_id=str(data.get("sid") or sid),
            provider_status=provider_status,
            provider_status_text=str(data.get("error_message") or "") or provider_status,
            occurred_at=_rfc2822(data.get("date_updated")),
            dedupe_key=f"twilio:{sid}:{provider_status}",
            error_code=error_code,
            error_message=str(data.get("error_message") or "") or _title(error_code),
            segments=_positive_int(data.get("num_segments")),
            cost=cost,
            cost_currency=currency,
            raw=data,
        )

    @staticmethod
    def _status(provider_status: str) -> str:
        status = STATUSES.get(provider_status.lower())
        if status is None:
            raise WebhookPayloadError(f"unknown Twilio message status {provider_status!r}")
        return status

    # -- webhooks (verified by webhook_validators) ----------------------------------------------
    def parse_status_webhook(self, request: WebhookRequest) -> list[StatusUpdate]:
        data = _form(request)
        sid = _required(data, "MessageSid", "SmsSid")
        provider_status = _required(data, "MessageStatus", "SmsStatus").lower()
        error_code = _code(data.get("ErrorCode"))
        message = str(data.get("ErrorMessage") or "") or _title(error_code)
        return [
            StatusUpdate(
                status=self._status(provider_status),
                provider_message_id=sid,
                message_ref=request.query.get(REFERENCE_PARAMETER, ""),
                provider_status=provider_status,
                provider_status_text=message or provider_status,
                # Twilio gives no event time; RawDlrDoneDate has no time zone (it varies
                # by carrier), so the time received is the better one.
                dedupe_key=f"twilio:{sid}:{provider_status}",
                error_code=error_code,
                error_message=message,
                segments=_positive_int(data.get("NumSegments")),
                opted_out=error_code == "21610",
                raw=data,
            )
        ]

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundSMS]:
        data = _form(request)
        opt_out_type = str(data.get("OptOutType") or "").upper()
        return [
            InboundSMS(
                provider_message_id=_required(data, "MessageSid", "SmsMessageSid", "SmsSid"),
                from_number=_required(data, "From"),
                to_number=str(data.get("To") or ""),
                text=str(data.get("Body") or ""),
                keyword=opt_out_type,
                opt_out={"STOP": "opt-out", "START": "opt-in"}.get(opt_out_type, ""),
                raw=data,
            )
        ]

    def webhook_answer(self, kind: str) -> tuple[bytes, str] | None:
        """Inbound messages are answered with empty TwiML: no automatic reply."""
        if kind == "inbound":
            return EMPTY_TWIML, "text/xml; charset=utf-8"
        return None

    # -- checks --------------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        option = f"SMS_BACKENDS[{self.alias!r}]['OPTIONS']"
        if not ACCOUNT_SID.match(self.account_sid):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r} needs a Twilio 'account_sid' (AC + 32 hex "
                f"digits), not {self.account_sid!r}.",
                hint=f"Set {option}['account_sid'] (Twilio Console, Account Info).",
                id="django_sms.E010",
            ))
        try:
            tokens: list[str] | None = self.auth_tokens
        except ConfigurationError:
            tokens = None  # malformed: reported by TwilioSignature's check (E012)
        if tokens is not None:
            try:
                self.credentials()
            except ConfigurationError as exc:
                errors.append(checks.Error(str(exc), hint=f"Set {option}['auth_token'].",
                                           id="django_sms.E010"))
            else:
                if not tokens:
                    errors.append(checks.Warning(
                        f"SMS backend {self.alias!r} has no 'auth_token': Twilio signs its "
                        "webhooks with it, so every status and inbound webhook will be "
                        "refused.",
                        hint=f"Set {option}['auth_token'] (it may be a list during a "
                             "rotation).",
                        id="django_sms.W015",
                    ))
        key = self.options.get("api_key_sid")
        if key and not API_KEY_SID.match(str(key)):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'api_key_sid' must be SK + 32 hex digits.",
                id="django_sms.E012",
            ))
        service = self.options.get("messaging_service_sid")
        if service and not MESSAGING_SERVICE_SID.match(str(service)):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'messaging_service_sid' must be MG + 32 hex "
                "digits.",
                id="django_sms.E012",
            ))
        for name in ("public_base_url", "status_callback"):
            value = str(self.options.get(name) or "")
            parts = urlsplit(value)
            if value and (parts.scheme not in ("http", "https") or not parts.hostname):
                errors.append(checks.Error(
                    f"SMS backend {self.alias!r}: {name!r} must be an absolute http(s) URL, "
                    f"not {value!r}.",
                    id="django_sms.E012",
                ))
        base = urlsplit(self.public_base_url)
        if base.scheme in ("http", "https") and base.path not in ("", "/"):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'public_base_url' is scheme://host[:port] only; "
                "the path comes from the request.",
                id="django_sms.E012",
            ))
        return errors


# -- parsing helpers -------------------------------------------------------------------------
def _form(request: WebhookRequest) -> dict[str, str]:
    if isinstance(request.data, dict):
        return {str(k): str(v) for k, v in request.data.items()}
    if request.method.upper() == "GET":
        return dict(request.query)
    raise WebhookPayloadError("expected a form-encoded body")


def _required(data: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = str(data.get(name) or "").strip()
        if value:
            return value
    raise WebhookPayloadError(f"missing or empty {names[0]!r}")


def _code(value: Any) -> str:
    """An error code as text ("" for none, 0 or null)."""
    text = "" if isinstance(value, bool) else as_text(value).strip()
    return "" if text in ("", "0") else text


def _title(code: str) -> str:
    known = ERROR_CODES.get(int(code)) if code.isdigit() else None
    return known.title if known else ""


def _positive_int(value: Any) -> int | None:
    """Twilio sends counts as strings; "0" (not yet known with a Messaging Service) is None."""
    number = as_int(value)
    return number if number is not None and number > 0 else None


def _price(data: Mapping[str, Any]) -> tuple[Decimal | None, str]:
    """The cost (Twilio writes it negative, as a debit) and its currency."""
    price = as_decimal(data.get("price"))
    if price is None:
        return None, ""
    return abs(price), as_text(data.get("price_unit")).upper()[:3]


def _rfc2822(value: Any) -> datetime | None:
    """``"Thu, 30 Jul 2015 20:12:31 +0000"`` as an aware datetime; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
