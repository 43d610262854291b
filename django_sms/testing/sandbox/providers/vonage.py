"""Vonage Messages API (SMS channel), as the sandbox plays it (shared/reference/providers.md §2).

Serves ``POST /v1/messages``. Authentication as Vonage does it:

* ``Authorization: Bearer <JWT>``: RS256 only, signature checked against the application's
  public key (``SandboxCredentials.vonage_public_key``), claims ``application_id`` (must be
  ``vonage_application_id``), ``iat``, ``jti`` and ``exp`` required, ``exp`` not past,
  ``iat`` not in the future, ``nbf`` honoured, lifetime at most 24 hours;
* or ``Authorization: Basic base64(vonage_api_key:vonage_api_secret)``.

Refusals are RFC 7807 problem documents (``application/problem+json``): 401 ``#unauthorized``
(``#jwt-expired`` for an expired token), 400 ``#invalid-json``, 422 ``messages#1150`` "Invalid
params" with ``invalid_parameters`` for payload errors. The reason of an authentication
refusal is also given in an ``X-Sandbox-Reason`` header (Vonage would not say; a test may).

Accepted messages get 202 ``{"message_uuid"}``. Their delivery reports are Vonage's v1 status
webhooks (``submitted``, then ``delivered`` or the injected failure: ``rejected`` with an
``error`` such as ``#1240``, ``undeliverable``...), with ``usage`` and ``sms.count_total``,
signed exactly as Vonage signs them: ``Authorization: Bearer`` HS256 JWT with ``iat``,
``jti``, ``iss: "Vonage"``, ``api_key``, ``application_id`` and ``payload_hash`` (SHA-256 of
the exact body bytes), keyed with ``SandboxCredentials.vonage_signature_secret``. They go to
the message's ``webhook_url``, else to ``Sandbox(callback_urls={"vonage": ...})``.

Where Vonage's behaviour is UNCONFIRMED the sandbox takes the strict side: ``text`` at most
1000 characters (not the SDK's 3200), unknown parameters refused, ``encoding_type: "text"``
refused for characters outside GSM-7 (the real API would garble or re-encode them).

The JWT code here is written from the JWT/JWS specifications with the standard library and
``cryptography`` only, independently of PyJWT (which the backend uses), so that the two
check each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from django_sms.testing.sandbox import gsm
from django_sms.testing.sandbox.callbacks import CallbackRequest
from django_sms.testing.sandbox.messages import Outcome, SandboxMessage
from django_sms.testing.sandbox.providers import register
from django_sms.testing.sandbox.providers.base import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

API_ERRORS = "https://developer.vonage.com/api-errors"
MESSAGES_ERRORS = "https://developer.vonage.com/api-errors/messages"

TO = re.compile(r"^[1-9]\d{6,14}$")
NUMERIC_FROM = re.compile(r"^\d{3,15}$")
ALPHANUMERIC_FROM = re.compile(r"^[A-Za-z0-9 ._&-]{1,11}$")
MAX_TEXT = 1000
MAX_CLIENT_REF = 100
TOP_LEVEL_FIELDS = frozenset({
    "message_type", "channel", "to", "from", "text", "client_ref", "webhook_url",
    "webhook_version", "ttl", "sms", "trusted_recipient",
})
SMS_FIELDS = frozenset({"encoding_type", "content_id", "entity_id", "pool_id",
                        "trusted_recipient"})
ENCODING_TYPES = ("text", "unicode", "auto")
#: Seconds of clock difference tolerated on ``iat`` / ``exp`` / ``nbf``.
CLOCK_SKEW = 60
MAX_TOKEN_LIFETIME = 24 * 3600

#: Titles of the error codes the sandbox reports in status webhooks (written independently
#: of the backend's table).
ERROR_TITLES: dict[int, str] = {
    1000: "Throttled",
    1020: "Invalid params",
    1050: "Number barred",
    1170: "Invalid or missing MSISDN",
    1180: "Absent subscriber temporary",
    1190: "Absent subscriber permanent",
    1210: "Anti-spam rejection",
    1220: "Handset busy",
    1230: "Network error",
    1240: "Illegal number",
    1250: "Unroutable",
    1260: "Destination unreachable",
    1280: "Blocked by carrier",
    1330: "Unknown",
    1360: "TTL activated",
}

#: Neutral final status -> (Vonage webhook status, default error code).
FINAL_REPORTS: dict[str, tuple[str, int | None]] = {
    "delivered": ("delivered", None),
    "rejected": ("rejected", 1250),
    "undelivered": ("undeliverable", 1260),
    "expired": ("rejected", 1360),
    "failed": ("rejected", 1330),
}


def problem(status: int, type_: str, title: str, detail: str = "",
            invalid_parameters: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> SandboxResponse:
    """An RFC 7807 problem document as Vonage writes them."""
    body: dict[str, Any] = {"type": type_, "title": title}
    if detail:
        body["detail"] = detail
    body["instance"] = str(uuid.uuid4())
    if invalid_parameters:
        body["invalid_parameters"] = invalid_parameters
    return SandboxResponse.json_body(status, body, headers,
                                     content_type="application/problem+json")


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    """A compact JWS, ``{"alg": "HS256", "typ": "JWT"}``, as Vonage signs its webhooks."""
    header = b64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"},
                                      separators=(",", ":")).encode())
    payload = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


def vonage_timestamp(when: float) -> str:
    """``2020-01-01T14:00:03.010Z``: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(when, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ucs2_parts(text: str) -> int:
    """Parts of ``text`` sent as UCS-2 (``encoding_type: "unicode"``), GSM-7 or not."""
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    if sum(units) <= 70:
        return 1
    parts = current = 0
    for unit in units:
        if parts == 0 or current + unit > 67:
            parts, current = parts + 1, 0
        current += unit
    return parts


class AuthFailure(Exception):
    def __init__(self, reason: str, problem_type: str = "unauthorized") -> None:
        super().__init__(reason)
        self.reason = reason
        self.problem_type = problem_type


@register
class VonageHandler(ProviderHandler):
    name = "vonage"
    prefixes = ("/v1/messages",)
    named_errors: ClassVar[dict[str, str]] = {
        "low_balance": "403 #low-balance Low balance (HTTP status UNCONFIRMED)",
        "forbidden": "403 #forbidden Your account does not have permission",
        "unprovisioned": "403 #unprovisioned The credentials do not have access to Messages",
        "throttled": "422 messages#1000 Throttled",
        "opted_out": "422 messages#1240 Illegal number (the recipient opted out)",
        "invalid_sender": "422 messages#1420 Invalid sender",
        "not_whitelisted": "422 messages#1160 Non white-listed destination (demo account)",
    }

    #: Price of one part, reported in ``usage.price`` (a string, as Vonage sends it).
    price_per_part = Decimal("0.0333")
    currency = "EUR"
    #: Mobile network code reported in ``destination.network_code``.
    network_code = "20801"

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        self.reset()

    def reset(self) -> None:
        #: False sends status webhooks without the Authorization header (Vonage says rare
        #: internal errors can do that).
        self.sign_callbacks = True
        #: The ``jti`` of every accepted application JWT, in order (reuse is visible here).
        self.seen_jtis: list[str] = []

    # -- routing ---------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.rstrip("/")
        if path != "/v1/messages":
            return problem(404, f"{API_ERRORS}#not-found", "Not Found",
                           "The requested resource does not exist, or you do not have access "
                           "to it.")
        if request.method != "POST":
            return problem(405, f"{API_ERRORS}#method-not-allowed", "Method Not Allowed",
                           f"{request.method} is not allowed on /v1/messages.")
        try:
            auth = self.authenticate(request)
        except AuthFailure as exc:
            return self._unauthorized(exc)
        return self._send(request, auth)

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, request: SandboxRequest) -> str:
        """``"jwt"`` or ``"basic"``; raises AuthFailure with the reason otherwise."""
        scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            claims = self.verify_application_jwt(value.strip())
            with self.lock:
                self.seen_jtis.append(str(claims["jti"]))
            return "jwt"
        if scheme.lower() == "basic" and value.strip():
            try:
                key, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(
                    ":")
            except (ValueError, UnicodeDecodeError):
                raise AuthFailure("the Basic credentials are not base64 'key:secret'") from None
            creds = self.credentials
            if not (hmac.compare_digest(key, creds.vonage_api_key)
                    and hmac.compare_digest(secret, creds.vonage_api_secret)):
                raise AuthFailure("wrong api_key or api_secret")
            return "basic"
        raise AuthFailure("no 'Authorization: Bearer <JWT>' or 'Basic' header")

    def verify_application_jwt(self, token: str) -> dict[str, Any]:
        """Check an application JWT as Vonage does; return its claims."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        parts = token.split(".")
        if len(parts) != 3:
            raise AuthFailure("the bearer token is not a compact JWS (three dot-separated parts)")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise AuthFailure("the bearer token is not valid base64url JSON") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AuthFailure("the JWT header or payload is not a JSON object")
        if header.get("alg") != "RS256":
            raise AuthFailure(f"JWT algorithm {header.get('alg')!r}; Vonage requires RS256")
        public_key = load_pem_public_key(self.credentials.vonage_public_key.encode())
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"),
                              padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise AuthFailure("the JWT signature does not verify with the application's "
                              "public key") from None
        for name in ("application_id", "iat", "jti", "exp"):
            if claims.get(name) in (None, ""):
                raise AuthFailure(f"the JWT has no {name!r} claim")
        if claims["application_id"] != self.credentials.vonage_application_id:
            raise AuthFailure(f"unknown application_id {claims['application_id']!r}")
        numbers = {n: claims.get(n) for n in ("iat", "exp", "nbf") if n in claims}
        for name, value in numbers.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AuthFailure(f"the JWT claim {name!r} is not a number")
        now = time.time()
        if claims["exp"] <= now - CLOCK_SKEW:
            raise AuthFailure("the JWT has expired", problem_type="jwt-expired")
        if claims["iat"] > now + CLOCK_SKEW:
            raise AuthFailure("the JWT was issued in the future")
        if "nbf" in claims and claims["nbf"] > now + CLOCK_SKEW:
            raise AuthFailure("the JWT is not valid yet ('nbf')")
        if claims["exp"] - claims["iat"] > MAX_TOKEN_LIFETIME:
            raise AuthFailure("the JWT lives longer than 24 hours")
        return claims

    def _unauthorized(self, exc: AuthFailure) -> SandboxResponse:
        if exc.problem_type == "jwt-expired":
            return problem(401, f"{API_ERRORS}#jwt-expired", "Unauthorized",
                           "The JWT provided has expired.",
                           headers={"X-Sandbox-Reason": exc.reason})
        return problem(401, f"{API_ERRORS}#unauthorized", "Unauthorized",
                       "You did not provide correct credentials.",
                       headers={"X-Sandbox-Reason": exc.reason})

    # -- faults ------------------------------------------------------------------------------
    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        return self._unauthorized(AuthFailure("injected auth_rejection fault"))

    def error_response(self, request: SandboxRequest, status: int) -> SandboxResponse:
        if status == 429:
            return problem(429, f"{API_ERRORS}#rate-limit", "Rate Limit Hit",
                           "Please wait, then retry your request")
        if status == 500:
            return problem(500, API_ERRORS, "Internal Server Error")
        if status in (502, 503, 504):
            # What a load balancer in front of the API answers: not a problem document.
            return SandboxResponse.text(
                status, f"<html><body><h1>{status}</h1>Service unavailable</body></html>",
                content_type="text/html",
            )
        titles = {401: ("unauthorized", "Unauthorized"), 403: ("forbidden", "Forbidden"),
                  404: ("not-found", "Not Found")}
        fragment, title = titles.get(status, ("", f"HTTP {status}"))
        return problem(status, f"{API_ERRORS}#{fragment}" if fragment else API_ERRORS, title)

    def named_error(self, request: SandboxRequest, name: str) -> SandboxResponse:
        if name not in self.named_errors:
            return super().named_error(request, name)
        status, where, title = self.named_errors[name].split(" ", 2)
        base = MESSAGES_ERRORS if where.startswith("messages") else API_ERRORS
        fragment = where.split("#", 1)[1]
        details = {
            "low-balance": "This request could not be performed due to your account balance "
                           "being low.",
            "1240": "The number you are trying to send to has opted out (STOP).",
        }
        return problem(int(status), f"{base}#{fragment}", title.split(" (")[0],
                       details.get(fragment, title))

    # -- POST /v1/messages -----------------------------------------------------------------------
    def _send(self, request: SandboxRequest, auth: str) -> SandboxResponse:
        content_type = request.headers.get("Content-Type", "")
        if not content_type.lower().startswith("application/json"):
            return problem(415, f"{API_ERRORS}#unsupported-media-type", "Unsupported Media Type",
                           f"Content-Type must be application/json, not {content_type!r}.")
        payload = request.json
        if not isinstance(payload, dict):
            return problem(400, f"{API_ERRORS}#invalid-json", "Invalid JSON",
                           "The request body did not contain a valid JSON object.")
        invalid = self.validate(payload)
        if invalid:
            return problem(422, f"{MESSAGES_ERRORS}#1150", "Invalid params",
                           "The value of one or more parameters is invalid.",
                           invalid_parameters=invalid)
        text = payload["text"]
        encoding_type = payload.get("sms", {}).get("encoding_type", "auto")
        if encoding_type == "unicode":
            encoding, parts = "UCS-2", ucs2_parts(text)
        else:
            encoding, _, parts = gsm.segments(text)
        message_uuid = str(uuid.uuid4())
        cost = self.price_per_part * parts
        self.accept(
            message_id=message_uuid, to=payload["to"], sender=payload["from"], text=text,
            reference=payload.get("client_ref", ""), segments=parts, encoding=encoding,
            cost=cost, currency=self.currency, callback_url=payload.get("webhook_url", ""),
            extra={"payload": payload, "auth": auth},
        )
        return SandboxResponse.json_body(202, {"message_uuid": message_uuid})

    def validate(self, payload: dict[str, Any]) -> list[dict[str, str]]:
        """``invalid_parameters`` for ``payload``; empty when Vonage would accept it."""
        invalid: list[dict[str, str]] = []

        def bad(name: str, reason: str) -> None:
            invalid.append({"name": name, "reason": reason})

        for name in sorted(set(payload) - TOP_LEVEL_FIELDS):
            bad(name, "Unknown parameter")
        if payload.get("message_type") != "text":
            bad("message_type", "must be 'text' for the SMS channel")
        if payload.get("channel") != "sms":
            bad("channel", "must be 'sms'")
        to = payload.get("to")
        if not isinstance(to, str) or not TO.match(to):
            bad("to", "must be an E.164 number without '+' or '00' (7 to 15 digits)")
        sender = payload.get("from")
        if not isinstance(sender, str) or not (
            NUMERIC_FROM.match(sender)
            or (ALPHANUMERIC_FROM.match(sender) and re.search("[A-Za-z]", sender))
        ):
            bad("from", "must be a number without '+' or an alphanumeric sender ID of 1 to "
                        "11 characters")
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            bad("text", "is required")
        elif len(text) > MAX_TEXT:
            bad("text", f"must be at most {MAX_TEXT} characters")
        client_ref = payload.get("client_ref", "")
        if not isinstance(client_ref, str) or len(client_ref) > MAX_CLIENT_REF:
            bad("client_ref", f"must be a string of at most {MAX_CLIENT_REF} characters")
        if "ttl" in payload and (
            isinstance(payload["ttl"], bool) or not isinstance(payload["ttl"], int)
            or not 20 <= payload["ttl"] <= 604800
        ):
            bad("ttl", "must be a whole number of seconds between 20 and 604800")
        if "webhook_url" in payload and not (
            isinstance(payload["webhook_url"], str)
            and payload["webhook_url"].startswith(("http://", "https://"))
        ):
            bad("webhook_url", "must be an http(s) URL")
        if payload.get("webhook_version", "v1") not in ("v0.1", "v1"):
            bad("webhook_version", "must be 'v0.1' or 'v1'")
        sms = payload.get("sms", {})
        if not isinstance(sms, dict):
            bad("sms", "must be an object")
            return invalid
        for name in sorted(set(sms) - SMS_FIELDS):
            bad(f"sms.{name}", "Unknown parameter")
        encoding_type = sms.get("encoding_type", "auto")
        if encoding_type not in ENCODING_TYPES:
            bad("sms.encoding_type", f"must be one of {', '.join(ENCODING_TYPES)}")
        elif encoding_type == "text" and isinstance(text, str) and not gsm.is_gsm7(text):
            bad("sms.encoding_type", "'text' cannot carry characters outside GSM-7; use "
                                     "'unicode'")
        return invalid

    # -- status webhooks -----------------------------------------------------------------------
    def build_status_callbacks(self, message: SandboxMessage,
                               outcome: Outcome) -> list[CallbackRequest]:
        url = self.callback_url_for(message)
        if not url:
            return []
        stages = outcome.stages
        charged = any(stage == "sent" for stage, _ in stages)
        return [
            CallbackRequest(
                "POST",
                url,
                headers={"Content-Type": "application/json"},
                body=json.dumps(
                    self.status_body(message, stage, outcome, message.created_at + delay,
                                     charged=charged),
                    separators=(",", ":"),
                ).encode(),
                stage=stage,
                message_id=message.id,
                prepare=self.sign_callback,
            )
            for stage, delay in stages
        ]

    def status_body(self, message: SandboxMessage, stage: str, outcome: Outcome, when: float,
                    *, charged: bool = True) -> dict[str, Any]:
        """The v1 status webhook Vonage sends when ``message`` reaches ``stage``."""
        if stage == "sent":
            status, code = "submitted", None
        else:
            status, code = FINAL_REPORTS[stage]
            if outcome.provider_code is not None and stage != "delivered":
                code = int(outcome.provider_code)
        body: dict[str, Any] = {
            "message_uuid": message.id,
            "to": message.to,
            "from": message.sender,
            "timestamp": vonage_timestamp(when),
            "status": status,
            "channel": "sms",
        }
        if message.reference:
            body["client_ref"] = message.reference
        if code is not None:
            title = ERROR_TITLES.get(code, f"Error {code}")
            body["error"] = {
                "type": f"{MESSAGES_ERRORS}#{code}",
                "title": code,  # a number, as Vonage sends it
                "detail": f"{title} - the message was not delivered",
                "instance": str(uuid.uuid4()),
            }
        if charged:
            body["usage"] = {"currency": message.currency, "price": str(message.cost)}
        body["sms"] = {"count_total": str(message.segments)}
        body["destination"] = {"network_code": self.network_code}
        return body

    def sign_callback(self, callback: CallbackRequest) -> CallbackRequest:
        """``callback`` with a fresh Vonage signature (new ``iat`` and ``jti`` per attempt)."""
        if not self.sign_callbacks:
            return callback
        token = self.signature(callback.body)
        return replace(callback, headers={**callback.headers, "Authorization": f"Bearer {token}"})

    def signature(self, body: bytes, *, issued_at: float | None = None,
                  secret: str | None = None) -> str:
        """The HS256 JWT Vonage puts on a webhook whose body is ``body``."""
        creds = self.credentials
        claims = {
            "iat": int(time.time() if issued_at is None else issued_at),
            "jti": str(uuid.uuid4()),
            "iss": "Vonage",
            "payload_hash": hashlib.sha256(body).hexdigest(),
            "api_key": creds.vonage_api_key,
            "application_id": creds.vonage_application_id,
        }
        return sign_hs256(claims, creds.vonage_signature_secret if secret is None else secret)

    # -- inbound webhooks -----------------------------------------------------------------------
    def inbound_callback(self, url: str, *, from_number: str, text: str,
                         to_number: str = "447700900000", keyword: str | None = None,
                         ) -> CallbackRequest:
        """A signed v1 inbound-SMS webhook, as Vonage posts it when a handset texts
        ``to_number``; send it with ``sandbox.callbacks.send_now(...)`` (it is signed at
        sending time, like every callback of this handler)."""
        _, _, parts = gsm.segments(text)
        first_word = text.strip().split(" ", 1)[0].upper() if text.strip() else ""
        body = {
            "channel": "sms",
            "message_uuid": str(uuid.uuid4()),
            "to": to_number.removeprefix("+"),
            "from": from_number.removeprefix("+"),
            "timestamp": vonage_timestamp(time.time()),
            "message_type": "text",
            "text": text,
            "sms": {"num_messages": str(parts), "keyword": keyword or first_word},
            "usage": {"currency": self.currency, "price": "0.0000"},
        }
        return CallbackRequest(
            "POST", url, headers={"Content-Type": "application/json"},
            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
            prepare=self.sign_callback,
        )
