"""Vonage (formerly Nexmo) Messages API, SMS channel: everything that knows Vonage's wire format.

Send: ``POST {base_url}/v1/messages`` with ``Authorization: Bearer <RS256 application JWT>``
(or ``Basic base64(api_key:api_secret)``) and the JSON body::

    {"message_type": "text", "channel": "sms", "to": "447700900000", "from": "MyBrand",
     "text": "...", "client_ref": "<our message reference>", "sms": {"encoding_type": "text"}}

Answer: HTTP 202 ``{"message_uuid": "..."}``; errors are RFC 7807 problem documents whose
``type`` ends with ``#<code>`` (``#unauthorized``, ``#low-balance``, ``#1150``...). Delivery
reports and inbound texts arrive as JSON webhooks signed with an HS256 JWT (``payload_hash`` =
SHA-256 of the body). The Messages API has no status polling. Details, sources and the
UNCONFIRMED points: docs/providers/vonage.rst.

Settings::

    SMS_BACKENDS = {"vonage": {"BACKEND": "django_sms.backends.vonage.SmsBackend",
                               "OPTIONS": {"application_id": env("VONAGE_APPLICATION_ID"),
                                           "private_key": "/run/secrets/vonage_private.key",
                                           "signature_secret": env("VONAGE_SIGNATURE_SECRET")}}}

PyJWT and cryptography (the ``[vonage]`` extra) are imported lazily, so this module imports
without them; ``manage.py check`` explains what to install (``django_sms.E011``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from django.core import checks

from django_sms.backends.base import (
    BaseSmsBackend,
    InboundSMS,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
from django_sms.backends.http import (
    ErrorDetails,
    HttpBackend,
    HttpRequest,
    has_value,
    missing_options_message,
)
from django_sms.backends.values import as_datetime, as_decimal, as_int, as_text, json_object
from django_sms.backends.webhook_validators import (
    SharedSecretValidator,
    ValidatedWebhooksMixin,
    WebhookValidator,
    bearer_token,
)
from django_sms.exceptions import (
    ConfigurationError,
    InvalidRecipient,
    MalformedResponse,
    PermanentProviderError,
    WebhookAuthenticationError,
    WebhookPayloadError,
)
from django_sms.status import Status

if TYPE_CHECKING:
    from django_sms.message import SMS

#: Hosts of the Messages API per ``region`` OPTION (the SDKs' ``*.vonage.com`` names).
REGION_URLS: dict[str, str] = {
    "eu": "https://api-eu.vonage.com",
    "us": "https://api-us.vonage.com",
    "ap": "https://api-ap.vonage.com",
}

#: The Messages API refuses longer texts ("limited to 1000 characters" in the API reference;
#: the Python SDK allows 3200: UNCONFIRMED which one the server enforces, so the lower one).
MAX_TEXT_LENGTH = 1000

#: Default lifetime of the application JWT, in seconds (vonage-jwt's default, 15 minutes).
DEFAULT_JWT_LIFETIME = 900
#: Longest lifetime accepted by the ``jwt_lifetime`` OPTION. Vonage does not document a
#: maximum (UNCONFIRMED); a day bounds the damage of a leaked token.
MAX_JWT_LIFETIME = 24 * 3600

#: Seconds a webhook's ``iat`` may lie in the future (clocks are never perfectly in sync).
WEBHOOK_CLOCK_SKEW = 60

INSTALL_HINT = 'pip install "django-transactional-sms[vonage]"'


@dataclass(frozen=True)
class VonageError:
    """One Messages API error code (``#1xxx`` in a problem ``type`` or a status webhook).

    ``status`` is what the code means for the message when the send call is refused with it;
    ``transient`` says that the same request may succeed later (throttling, internal
    errors); ``opted_out`` that the recipient asked not to receive messages (STOP).
    """

    code: int
    title: str
    status: str
    transient: bool = False
    opted_out: bool = False


#: The Messages API error codes (shared/reference/providers.md §2.1; the public list may have
#: grown since: unknown codes fall back on the HTTP status / webhook status).
ERROR_CODES: dict[int, VonageError] = {
    e.code: e
    for e in (
        VonageError(1000, "Throttled", Status.REJECTED, transient=True),
        VonageError(1010, "Missing params", Status.REJECTED),
        VonageError(1020, "Invalid params", Status.REJECTED),
        VonageError(1021, "Invalid tag", Status.REJECTED),
        VonageError(1022, "Invalid template", Status.REJECTED),
        VonageError(1030, "Internal error", Status.FAILED, transient=True),
        VonageError(1040, "Invalid message", Status.REJECTED),
        VonageError(1050, "Number barred", Status.REJECTED),
        VonageError(1060, "Partner account barred", Status.FAILED),
        VonageError(1070, "Partner quota exceeded", Status.REJECTED),
        VonageError(1080, "Account not enabled for REST", Status.FAILED),
        VonageError(1090, "Message too long", Status.REJECTED),
        VonageError(1100, "Communication failed", Status.FAILED, transient=True),
        VonageError(1120, "Illegal sender address", Status.REJECTED),
        VonageError(1130, "Invalid TTL", Status.REJECTED),
        VonageError(1140, "Facility not allowed", Status.REJECTED),
        VonageError(1150, "Invalid message class", Status.REJECTED),
        VonageError(1160, "Non white-listed destination", Status.REJECTED),
        VonageError(1170, "Invalid or missing MSISDN", Status.REJECTED),
        VonageError(1180, "Absent subscriber (temporary)", Status.UNDELIVERED),
        VonageError(1190, "Absent subscriber (permanent)", Status.UNDELIVERED),
        VonageError(1200, "Portability error", Status.UNDELIVERED),
        VonageError(1210, "Anti-spam rejection", Status.REJECTED),
        VonageError(1220, "Handset busy", Status.UNDELIVERED),
        VonageError(1230, "Network error", Status.UNDELIVERED),
        VonageError(1240, "Illegal number (opted out)", Status.REJECTED, opted_out=True),
        VonageError(1241, "Too many send requests", Status.REJECTED, transient=True),
        VonageError(1250, "Unroutable", Status.REJECTED),
        VonageError(1260, "Destination unreachable", Status.UNDELIVERED),
        VonageError(1270, "Age restriction", Status.REJECTED),
        VonageError(1280, "Blocked by carrier", Status.REJECTED),
        VonageError(1290, "Prepaid insufficient funds", Status.UNDELIVERED),
        VonageError(1300, "Not part of provider network", Status.REJECTED),
        VonageError(1310, "Not suitable device", Status.UNDELIVERED),
        VonageError(1320, "Already sent", Status.REJECTED),
        VonageError(1330, "Unknown", Status.FAILED),
        VonageError(1331, "Provider error", Status.FAILED),
        VonageError(1340, "Outside allowed window", Status.REJECTED),
        VonageError(1360, "TTL activated", Status.EXPIRED),
        VonageError(1400, "Unsupported channel", Status.REJECTED),
        VonageError(1410, "Invalid channel parameters", Status.REJECTED),
        VonageError(1420, "Invalid sender", Status.REJECTED),
        VonageError(1430, "Invalid recipient", Status.REJECTED),
        VonageError(1440, "Invalid message type", Status.REJECTED),
        VonageError(1450, "Invalid client reference", Status.REJECTED),
    )
}

#: Generic (non-numeric) problem types of Vonage's APIs -> (status, transient).
#: Authentication and account problems fail the message (nothing about it was wrong);
#: a low balance is a refusal like Mailjet's "insufficient funds".
GENERIC_ERRORS: dict[str, tuple[str, bool]] = {
    "unauthorized": (Status.FAILED, False),
    "forbidden": (Status.FAILED, False),
    "not-found": (Status.FAILED, False),
    "unprovisioned": (Status.FAILED, False),
    "account-suspended": (Status.FAILED, False),
    "jwt-expired": (Status.FAILED, False),
    "jwt-revoked": (Status.FAILED, False),
    "invalid-api-key": (Status.FAILED, False),
    "invalid-signature": (Status.FAILED, False),
    "invalid-ip": (Status.FAILED, False),
    "low-balance": (Status.REJECTED, False),
    "invalid-params": (Status.REJECTED, False),
    "invalid-json": (Status.REJECTED, False),
    "rate-limit": (Status.REJECTED, True),
    "throttled": (Status.REJECTED, True),
}

#: Status webhook ``status`` values -> our statuses. ``submitted`` means Vonage handed the
#: message to the carrier (and charged it): our ``sent``. ``rejected`` covers refusals by
#: Vonage or the carrier, TTL expiry included (error 1360, mapped to ``expired``);
#: ``undeliverable`` means the carrier could not reach the handset. ``read`` exists for OTT
#: channels only; the others are tolerated in case Vonage starts sending them.
WEBHOOK_STATUSES: dict[str, str] = {
    "submitted": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "rejected": Status.REJECTED,
    "undeliverable": Status.UNDELIVERED,
    "expired": Status.EXPIRED,
    "failed": Status.FAILED,
    "accepted": Status.ACCEPTED,
}


def _now() -> float:
    """The clock of this module (a function, so tests can move it)."""
    return time.time()


class VonageSignature(WebhookValidator):
    """The ``Authorization: Bearer`` HS256 JWT Vonage puts on every Messages API webhook,
    checked with PyJWT against the ``signature_secret`` OPTION (several during a rotation).

    The signature must verify with one of the secrets (HS256 only: ``none`` and RS256 tokens
    are refused before any key is tried), ``payload_hash`` must be the SHA-256 of the raw
    body, ``iat`` a finite number at most ``DJANGO_SMS["WEBHOOK_MAX_AGE"]`` seconds old (and
    at most a minute in the future); ``exp`` and ``nbf`` are honoured when present.
    """

    option = "signature_secret"
    hint = "Set 'signature_secret' to the signature secret of your Vonage account settings."

    def validate(self, backend: BaseSmsBackend, request: WebhookRequest, kind: str) -> None:
        token = bearer_token(request)
        if token is None:
            raise WebhookAuthenticationError(
                "missing 'Authorization: Bearer <JWT>' header: Vonage signs every Messages "
                "API webhook (is the account's SMS setting on 'Messages API'?)"
            )
        claims = verify_signed_token(token, self.secrets(backend))
        payload_hash = claims.get("payload_hash")
        if not isinstance(payload_hash, str) or not payload_hash:
            raise WebhookAuthenticationError("the token has no 'payload_hash' claim")
        if not hmac.compare_digest(payload_hash.lower(), hashlib.sha256(request.body).hexdigest()):
            raise WebhookAuthenticationError(
                "the body does not match the token's payload_hash: it was altered after "
                "Vonage signed it"
            )
        check_issued_at(claims.get("iat"))

    def describe(self, backend: BaseSmsBackend) -> str:
        return ("Vonage signed webhook (HS256 JWT with payload_hash, checked against "
                f"{len(self.secrets(backend))} signature secret(s))")

    def check(self, backend: BaseSmsBackend) -> list[checks.CheckMessage]:
        errors = super().check(backend)
        if backend.options.get(self.option) and not jwt_available():
            errors.append(_missing_jwt_error(backend.alias, "verify Vonage's signed webhooks"))
        return errors


class SmsBackend(ValidatedWebhooksMixin, HttpBackend):
    """Sends through Vonage's Messages API; verifies and parses its signed webhooks.

    OPTIONS (see docs/providers/vonage.rst):

    ``application_id`` + ``private_key``
        The Vonage Application and its private key (PEM text, or the path of the PEM file):
        requests carry an RS256 JWT, regenerated shortly before it expires.
    ``api_key`` + ``api_secret``
        HTTP Basic authentication instead (used only when no application is configured).
    ``signature_secret``
        The account's signature secret, or a list of them during a rotation: verifies the
        HS256 JWT of every webhook (:class:`VonageSignature`).
    ``webhook_secret``
        Optional, stacked on the signature: a secret the callback URL must carry too
        (:class:`~django_sms.backends.webhook_validators.SharedSecretValidator`).
    ``webhook_insecure``
        ``True`` accepts *unsigned* webhooks when no secret is set. Anyone who knows the URL
        can then forge delivery reports: never in production.
    ``region``
        ``"eu"``, ``"us"`` or ``"ap"``: the regional API host. ``base_url`` wins over it.
    ``jwt_lifetime``
        Seconds an application JWT stays valid (default 900).

    plus the common HTTP options of :class:`~django_sms.backends.http.HttpBackend`
    (``base_url``, default ``https://api.nexmo.com``, timeouts, ``pool_size``...).
    """

    provider_name = "vonage"
    default_base_url = "https://api.nexmo.com"
    known_options = (
        *HttpBackend.http_options,
        "application_id",
        "private_key",
        "api_key",
        "api_secret",
        "region",
        "jwt_lifetime",
    )
    secret_options = ("private_key", "api_secret")
    #: Every configured check must pass: Vonage's signature, then the URL secret if set.
    webhook_validators = (VonageSignature(), SharedSecretValidator())
    supports_status_polling = False
    supports_status_webhooks = True
    #: Every send sets ``client_ref`` to our reference and Vonage echoes it in its reports.
    status_reports_carry_reference = True
    supports_inbound = True
    #: 6 GSM-7 parts hold at most 918 characters, 6 UCS-2 parts 402: always within the
    #: Messages API's 1000-character limit, whatever Vonage counts as a character.
    max_segments = 6

    def __init__(self, alias: str = "default", **options: Any):
        super().__init__(alias, **options)
        self._jwt_lock = threading.Lock()
        self._jwt: str = ""
        self._jwt_expires_at: float = 0.0
        self._private_key: Any = None

    # -- configuration --------------------------------------------------------------------------
    def validate_credentials(self) -> None:
        """An application (``application_id`` + ``private_key``) or a key pair (``api_key``
        + ``api_secret``), complete: ConfigurationError naming what is missing otherwise."""
        opts = self.options
        use_key_pair = not self.uses_application and any(
            has_value(opts, name) for name in ("api_key", "api_secret")
        )
        pair = ("api_key", "api_secret") if use_key_pair else ("application_id", "private_key")
        missing = [name for name in pair if not has_value(opts, name)]
        if missing:
            raise ConfigurationError(missing_options_message(
                self, missing,
                "Vonage authenticates with an application ('application_id' and "
                "'private_key') or, without one, with 'api_key' and 'api_secret'.",
            ))

    @property
    def base_url(self) -> str:
        url = self.options.get("base_url") or REGION_URLS.get(
            str(self.options.get("region") or "").lower(), self.default_base_url
        )
        return str(url).rstrip("/")

    @property
    def uses_application(self) -> bool:
        """True when requests are authenticated with an application JWT (else Basic)."""
        return bool(self.options.get("application_id") or self.options.get("private_key"))

    @property
    def jwt_lifetime(self) -> int:
        value = self.options.get("jwt_lifetime", DEFAULT_JWT_LIFETIME)
        if isinstance(value, bool) or not isinstance(value, int) or not (
            30 <= value <= MAX_JWT_LIFETIME
        ):
            raise ConfigurationError(
                f"SMS backend {self.alias!r}: 'jwt_lifetime' must be a whole number of seconds "
                f"between 30 and {MAX_JWT_LIFETIME}, not {value!r}."
            )
        return value

    # -- authentication of our requests ------------------------------------------------------------
    def private_key(self) -> Any:
        """The application's RSA private key, loaded once (ConfigurationError if unusable)."""
        if self._private_key is None:
            self._private_key = load_private_key(self.options.get("private_key"), self.alias)
        return self._private_key

    def application_jwt(self) -> str:
        """The RS256 application JWT, reused until shortly before it expires.

        Claims as vonage-jwt makes them: ``application_id``, ``iat``, ``jti`` (a random
        UUID4), ``exp`` = ``iat`` + ``jwt_lifetime``. A new token is made when less than a
        quarter of its lifetime (at most 60 s) remains, so a request never leaves with a
        token about to expire in flight.
        """
        application_id = self.options["application_id"]  # validate_credentials: present
        lifetime = self.jwt_lifetime
        margin = min(60.0, lifetime / 4)
        now = _now()
        with self._jwt_lock:
            if self._jwt and now < self._jwt_expires_at - margin:
                return self._jwt
            jwt = import_jwt()
            issued = int(now)
            claims = {
                "application_id": str(application_id),
                "iat": issued,
                "jti": str(uuid.uuid4()),
                "exp": issued + lifetime,
            }
            self._jwt = jwt.encode(claims, self.private_key(), algorithm="RS256",
                                   headers={"typ": "JWT"})
            self._jwt_expires_at = float(issued + lifetime)
            return self._jwt

    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` for one request; PermanentProviderError when it cannot be made.

        The credentials are there (``validate_credentials``), but a private key that cannot
        be read or PyJWT missing only shows now: that fails the message (recorded, not
        raised through the pipeline); ``manage.py check`` reports it before any send.
        """
        try:
            if self.uses_application:
                return {"Authorization": f"Bearer {self.application_jwt()}"}
        except ConfigurationError as exc:
            raise PermanentProviderError(
                f"cannot authenticate to Vonage: {exc}", provider=self.provider_name,
                status=Status.FAILED,
            ) from exc
        key, secret = self.options["api_key"], self.options["api_secret"]
        token = _b64(f"{key}:{secret}")
        return {"Authorization": f"Basic {token}"}

    # -- sending --------------------------------------------------------------------------------
    def build_request(self, sms: SMS) -> HttpRequest:
        return HttpRequest("POST", "/v1/messages", json=self.build_payload(sms),
                           headers={"Accept": "application/json", **self.auth_headers()})

    def build_payload(self, sms: SMS) -> dict[str, Any]:
        """The Messages API body for ``sms`` (numbers without ``+``, our reference as
        ``client_ref``, the encoding we analysed, optional ``ttl`` / ``webhook_url``)."""
        from django_sms.encoding import GSM7, analyze
        from django_sms.phone import e164_digits

        if not sms.sender:
            raise PermanentProviderError(
                "Vonage needs a sender ('from'): pass sender= or set "
                "DJANGO_SMS['DEFAULT_SENDER'].",
                provider=self.provider_name,
            )
        if len(sms.text) > MAX_TEXT_LENGTH:
            raise PermanentProviderError(
                f"Vonage's Messages API accepts at most {MAX_TEXT_LENGTH} characters; this "
                f"text has {len(sms.text)}.",
                provider=self.provider_name,
                status=Status.REJECTED,
            )
        sender = sms.sender.replace(" ", "")
        if not sender.removeprefix("+").isdigit():
            sender = sms.sender  # alphanumeric sender IDs are sent as they are
        encoding = sms.encoding or analyze(sms.text).encoding
        try:
            to = e164_digits(sms.to)
        except InvalidRecipient as exc:  # only reachable when the pipeline is bypassed
            raise PermanentProviderError(str(exc), provider=self.provider_name,
                                         status=Status.REJECTED) from exc
        payload: dict[str, Any] = {
            "message_type": "text",
            "channel": "sms",
            "to": to,
            "from": sender.removeprefix("+"),
            "text": sms.text,
        }
        if sms.reference:
            payload["client_ref"] = sms.reference
        options = sms.options or {}
        ttl = options.get("ttl")
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
                raise PermanentProviderError(
                    f"SMS option 'ttl' must be a positive number of seconds, not {ttl!r}.",
                    provider=self.provider_name, status=Status.REJECTED,
                )
            payload["ttl"] = ttl
        if options.get("webhook_url"):
            payload["webhook_url"] = str(options["webhook_url"])
            # Our parser reads the v1 shape; an application left on v0.1 would not match.
            payload["webhook_version"] = "v1"
        # "auto" would let Vonage decide; we analysed the text, so say what it is.
        sms_options: dict[str, Any] = {"encoding_type": "text" if encoding == GSM7 else "unicode"}
        for name in ("content_id", "entity_id"):  # regulatory ids (India DLT)
            if options.get(name):
                sms_options[name] = str(options[name])
        payload["sms"] = sms_options
        return payload

    def parse_send_response(self, sms: SMS, response: requests.Response) -> SendResult:
        data = self.json_body(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"expected a JSON object, got {type(data).__name__}")
        message_uuid = data.get("message_uuid")
        if not isinstance(message_uuid, str) or not message_uuid:
            raise MalformedResponse("no message_uuid in the answer")
        return SendResult(
            status=Status.ACCEPTED,
            provider_message_id=message_uuid,
            provider_status="accepted",
            raw=data,
        )

    def parse_error(self, response: requests.Response) -> ErrorDetails:
        """An RFC 7807 problem: the code is the ``#fragment`` of ``type`` (``1150``,
        ``unauthorized``, ``low-balance``...); ``invalid_parameters`` are added to the text.
        Bodies that are not JSON (a proxy's HTML) leave the HTTP status in charge."""
        data = self.try_json(response)
        if not isinstance(data, dict):
            return ErrorDetails()
        code = problem_code(data.get("type"))
        if not code and isinstance(data.get("title"), int | str) and str(data["title"]).isdigit():
            code = str(data["title"])
        text = ": ".join(str(data[k]) for k in ("title", "detail") if data.get(k))
        invalid = data.get("invalid_parameters")
        if isinstance(invalid, list) and invalid:
            reasons = [
                f"{p.get('name', '?')}: {p.get('reason', '?')}" if isinstance(p, dict) else str(p)
                for p in invalid
            ]
            text += f" (invalid parameters: {'; '.join(reasons)})"
        if data.get("instance"):
            text += f" [instance {data['instance']}]"
        status, transient = _error_meaning(code)
        return ErrorDetails(code=code, text=text.strip(), status=status, transient=transient)

    # -- webhooks (verified by webhook_validators) ------------------------------------------------
    def parse_status_webhook(self, request: WebhookRequest) -> list[StatusUpdate]:
        data = json_object(request)
        message_uuid = _required_str(data, "message_uuid")
        provider_status = _required_str(data, "status").lower()
        timestamp = data.get("timestamp")
        error = _webhook_error(data.get("error"))
        code = ERROR_CODES.get(int(error[0])) if error[0].isdigit() else None
        status = WEBHOOK_STATUSES.get(provider_status, Status.ACCEPTED)
        if code is not None and code.status == Status.EXPIRED and status in (
            Status.REJECTED, Status.UNDELIVERED, Status.FAILED
        ):
            status = Status.EXPIRED
        usage = _object(data, "usage")
        sms = _object(data, "sms")
        return [
            StatusUpdate(
                status=status,
                provider_message_id=message_uuid,
                message_ref=as_text(data.get("client_ref")),
                provider_status=provider_status,
                provider_status_text=error[1] or provider_status,
                occurred_at=as_datetime(timestamp),
                dedupe_key=f"vonage:{message_uuid}:{provider_status}:{as_text(timestamp)}",
                error_code=error[0],
                error_message=error[1],
                segments=as_int(sms.get("count_total")),
                cost=as_decimal(usage.get("price")),
                cost_currency=as_text(usage.get("currency")),
                opted_out=bool(code and code.opted_out),
                raw=data,
            )
        ]

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundSMS]:
        data = json_object(request)
        channel = data.get("channel")
        if channel not in (None, "sms"):
            raise WebhookPayloadError(f"not an SMS: channel is {channel!r}")
        sms = _object(data, "sms")
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise WebhookPayloadError(f"'text' must be a string, not {type(text).__name__}")
        return [
            InboundSMS(
                provider_message_id=_required_str(data, "message_uuid"),
                from_number=_number(data, "from", required=True),
                to_number=_number(data, "to", required=False),
                text=text or "",
                occurred_at=as_datetime(data.get("timestamp")),
                keyword=as_text(sms.get("keyword")),
                raw=data,
            )
        ]

    # -- checks ---------------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        errors += self._check_credentials()
        option = f"SMS_BACKENDS[{self.alias!r}]['OPTIONS']"
        region = self.options.get("region")
        if region and str(region).lower() not in REGION_URLS:
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: unknown Vonage region {region!r}.",
                hint=f"Use one of {sorted(REGION_URLS)} in {option}['region'], or set 'base_url'.",
                id="django_sms.E012",
            ))
        try:
            _ = self.jwt_lifetime
        except ConfigurationError as exc:
            errors.append(checks.Error(str(exc), id="django_sms.E012"))
        return errors

    def _check_credentials(self) -> list[checks.CheckMessage]:
        """What makes an application unusable (a missing credential stops the backend from
        being created at all: ``validate_credentials``, reported as django_sms.E010)."""
        if not self.uses_application:
            return []
        if not jwt_available():
            return [_missing_jwt_error(self.alias, "sign Vonage application JWTs")]
        try:
            self.private_key()
        except ConfigurationError as exc:
            return [checks.Error(
                str(exc),
                hint="Download the private key when you create the Vonage Application "
                     "(or generate a new key pair in the dashboard).",
                id="django_sms.E012",
            )]
        return []


# -- JWT helpers ---------------------------------------------------------------------------------
def jwt_available() -> bool:
    """Whether PyJWT and cryptography (the ``[vonage]`` extra) are importable."""
    try:
        import_jwt()
    except ConfigurationError:
        return False
    return True


def import_jwt() -> Any:
    """The ``jwt`` module (PyJWT with its RSA support); ConfigurationError when missing."""
    try:
        import cryptography  # noqa: F401 - PyJWT needs it for RS256
        import jwt
    except ImportError as exc:
        raise ConfigurationError(
            f"The Vonage backend needs PyJWT and cryptography ({exc}): {INSTALL_HINT}"
        ) from exc
    return jwt


def _missing_jwt_error(alias: str, purpose: str) -> checks.Error:
    return checks.Error(
        f"SMS backend {alias!r} needs PyJWT and cryptography to {purpose}, and they are not "
        "installed.",
        hint=INSTALL_HINT,
        id="django_sms.E011",
    )


def load_private_key(value: Any, alias: str = "default") -> Any:
    """An RSA private key from PEM text (or bytes) or from the path of a PEM file.

    Tolerates PEM text whose newlines were flattened to literal ``\\n`` (a common result of
    putting the key in an environment variable). Raises ConfigurationError saying what is
    wrong: missing, unreadable file, not PEM, encrypted, not RSA.
    """
    where = f"SMS backend {alias!r}: 'private_key'"
    if not value:
        raise ConfigurationError(f"{where} is not set.")
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str) and "-----BEGIN" in value:
        text = value.strip()
        if "\\n" in text and "\n" not in text:
            text = text.replace("\\n", "\n")
        data = text.encode()
    elif isinstance(value, str | Path):
        path = Path(value).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"{where} is neither PEM text nor a readable file: cannot read {str(path)!r} "
                f"({exc.strerror or exc})."
            ) from exc
    else:
        raise ConfigurationError(f"{where} must be PEM text or a file path, "
                                 f"not {type(value).__name__}.")
    import_jwt()
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted key, no password given
        raise ConfigurationError(f"{where} is encrypted; give the unencrypted key.") from exc
    except ValueError as exc:
        raise ConfigurationError(
            f"{where} is not a valid PEM private key ('-----BEGIN PRIVATE KEY-----' ...)."
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{where} is not an RSA key (Vonage signs with RS256).")
    return key


def verify_signed_token(token: str, secrets: Iterable[str]) -> dict[str, Any]:
    """The claims of a Vonage webhook JWT signed with one of ``secrets``, checked by PyJWT.

    The algorithm is pinned to HS256 and checked before any key is tried, so neither the
    "none" trick nor RS/HS key confusion can pass. ``exp`` and ``nbf`` are honoured when
    present (with a minute of clock skew); ``iat`` is checked by :func:`check_issued_at`,
    which also knows the replay window. Raises :class:`WebhookAuthenticationError` with the
    reason.
    """
    jwt = import_jwt()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise WebhookAuthenticationError(f"the bearer token is not a JWT ({exc})") from exc
    algorithm = header.get("alg")
    if algorithm != "HS256":
        raise WebhookAuthenticationError(
            f"the token's algorithm is {algorithm!r}; Vonage signs webhooks with HS256 only"
        )
    for secret in secrets:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=["HS256"], leeway=WEBHOOK_CLOCK_SKEW,
                options={"verify_iat": False, "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            continue  # maybe the next secret of a rotation
        except jwt.ExpiredSignatureError as exc:
            raise WebhookAuthenticationError("the token has expired ('exp' claim)") from exc
        except jwt.ImmatureSignatureError as exc:
            raise WebhookAuthenticationError("the token is not valid yet ('nbf' claim)") from exc
        except jwt.InvalidTokenError as exc:
            raise WebhookAuthenticationError(f"invalid token ({exc})") from exc
        return claims
    raise WebhookAuthenticationError(
        "bad signature: the token was not signed with any configured signature_secret"
    )


def check_issued_at(issued: Any) -> None:
    """Refuse a token whose ``iat`` is missing, not a finite number, older than
    ``DJANGO_SMS["WEBHOOK_MAX_AGE"]`` (a replayed callback) or from the future.

    Finite matters: JSON parsers accept ``NaN``, and every comparison with NaN is false, so
    a NaN ``iat`` would pass both age tests.
    """
    from django_sms.conf import sms_settings

    if isinstance(issued, bool) or not isinstance(issued, int | float):
        raise WebhookAuthenticationError("the token has no numeric 'iat' claim")
    if not math.isfinite(issued):
        raise WebhookAuthenticationError(f"the token's 'iat' claim is not a finite number "
                                         f"({issued!r})")
    now = _now()
    max_age = float(sms_settings.WEBHOOK_MAX_AGE)
    if now - issued > max_age:
        raise WebhookAuthenticationError(
            f"stale token: issued {now - issued:.0f} s ago, more than "
            f"DJANGO_SMS['WEBHOOK_MAX_AGE'] = {max_age:g} s (a replayed callback?)"
        )
    if issued - now > WEBHOOK_CLOCK_SKEW:
        raise WebhookAuthenticationError(
            f"the token was issued {issued - now:.0f} s in the future (check the clock)"
        )


# -- parsing helpers ----------------------------------------------------------------------------
def problem_code(problem_type: Any) -> str:
    """``"1150"`` from ``".../api-errors/messages#1150"``; ``""`` when there is no fragment."""
    if not isinstance(problem_type, str) or "#" not in problem_type:
        return ""
    return problem_type.rsplit("#", 1)[1].strip()


def _error_meaning(code: str) -> tuple[str | None, bool | None]:
    """(status, transient) for a problem code; (None, None) leaves it to the HTTP status."""
    if code.isdigit():
        known = ERROR_CODES.get(int(code))
        if known is None:
            return None, None
        if known.transient:
            # Retried by the pipeline: no final status for the message yet.
            return None, True
        # A code that only means something for a delivery (absent subscriber...) can still
        # refuse a send: the message was not sent, so it is rejected.
        return (known.status if known.status != Status.UNDELIVERED else Status.REJECTED), None
    generic = GENERIC_ERRORS.get(code.lower())
    if generic is None:
        return None, None
    status, transient = generic
    return (None, True) if transient else (status, None)


def _webhook_error(error: Any) -> tuple[str, str]:
    """(code, text) of a status webhook's ``error``: v1 ``{type, title, detail}`` (title may
    be the numeric code) or v0.1 ``{code, reason}``."""
    if not isinstance(error, dict):
        return "", ""
    code = problem_code(error.get("type"))
    title = error.get("title")
    if not code and title is not None and str(title).strip().isdigit():
        code = str(title).strip()
    if not code and error.get("code") is not None:
        code = str(error["code"]).strip()
    detail = as_text(error.get("detail") or error.get("reason"))
    if not detail and title is not None and not str(title).strip().isdigit():
        detail = str(title)
    if not detail and code.isdigit() and int(code) in ERROR_CODES:
        detail = ERROR_CODES[int(code)].title
    return code, detail


def _required_str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise WebhookPayloadError(f"missing or empty {name!r}")
    return str(value).strip()


def _number(data: Mapping[str, Any], name: str, *, required: bool) -> str:
    """A phone number of an inbound webhook as ``+digits``; accepts the v0.1 object shape
    ``{"type": "sms", "number": "..."}``. Alphanumeric senders are kept as they are."""
    value = data.get(name)
    if isinstance(value, dict):
        value = value.get("number")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        if required:
            raise WebhookPayloadError(f"missing or empty {name!r}")
        return ""
    value = value.strip()
    digits = value.removeprefix("+")
    return f"+{digits}" if digits.isdigit() else value


def _object(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """An optional nested object (``usage``, ``sms``); {} when absent or not an object."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")
