"""Build and post provider callbacks in tests: correctly signed, or deliberately broken.

A project tests its own ``status_changed`` / ``inbound_received`` receivers, or its webhook
configuration, by posting what the provider would post::

    from django_sms.testing.webhooks import post_callback, vonage_status_callback

    def test_delivery_is_announced(client):
        message = send_sms("hi", to="+447700900000")
        response = post_callback(client, vonage_status_callback(message, status="delivered"))
        assert response.status_code == 200

Each builder returns a :class:`Callback` (method, path with query string, headers, body).
Vonage callbacks are signed the way Vonage signs them — an HS256 JWT in ``Authorization:
Bearer`` with the claims ``iat``, ``jti``, ``iss: "Vonage"``, ``payload_hash`` (SHA-256 hex
of the body) and ``api_key`` — with PyJWT, independently of the backend's verification code,
so a test using them checks the backend rather than agreeing with it. Options break them on
purpose: another ``signature_secret``, an old ``iat``, ``tamper=True`` (the body changes
after signing), ``sign=False`` (no header) or ``algorithm="none"``.

Twilio callbacks (:func:`twilio_status_callback`, :func:`twilio_inbound_callback`) are form
posts with ``X-Twilio-Signature`` over the URL, computed by the sandbox's signing code (not
the backend's); the URL signed is the alias's ``public_base_url`` (else
``http://testserver``, Django's test client) + the path.

Secrets default to the ones configured for the alias in ``SMS_BACKENDS`` (the first, when
several are listed for rotation). Signing needs PyJWT (``pip install
django-transactional-sms[vonage]``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django_sms.backends.handler import configured_backends
from django_sms.exceptions import ConfigurationError
from django_sms.testing.sandbox.providers.twilio import twilio_signature
from django_sms.webhooks import webhook_path

__all__ = [
    "Callback",
    "ovh_status_callback",
    "post_callback",
    "send_callback",
    "twilio_inbound_callback",
    "twilio_status_callback",
    "vonage_inbound_callback",
    "vonage_signature",
    "vonage_status_callback",
]

#: Option names under which the OVH backend may keep its callback URL secret(s).
OVH_SECRET_OPTIONS = ("webhook_secret",)  # the OVH backend's OPTION (a string or a list)


@dataclass(frozen=True)
class Callback:
    """One HTTP request a provider would make to a webhook endpoint.

    ``path`` includes the query string; ``body`` is the exact bytes to send (a signature
    covers them); ``headers`` holds ``Authorization`` when the callback is authenticated.
    """

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = ""

    def url(self, base_url: str) -> str:
        """The absolute URL on a server at ``base_url`` (``live_server.url``)."""
        return base_url.rstrip("/") + self.path


def post_callback(client: Any, callback: Callback, **extra: Any) -> Any:
    """Make ``callback`` with Django's test client (or DRF's ``APIClient``); return the response.

    ``extra`` is passed to the client (``follow=True``...).
    """
    if callback.method == "GET" and not callback.body:
        return client.get(callback.path, headers=callback.headers, **extra)
    return client.generic(
        callback.method,
        callback.path,
        data=callback.body,
        content_type=callback.content_type or "application/octet-stream",
        headers=callback.headers,
        **extra,
    )


def send_callback(base_url: str, callback: Callback, *, timeout: float = 10) -> Any:
    """Make ``callback`` over real HTTP (with ``requests``) to a server at ``base_url``."""
    import requests

    headers = dict(callback.headers)
    if callback.content_type:
        headers["Content-Type"] = callback.content_type
    return requests.request(
        callback.method,
        callback.url(base_url),
        data=callback.body or None,
        headers=headers,
        timeout=timeout,
    )


# -- Vonage -------------------------------------------------------------------------------------


def vonage_signature(
    body: bytes,
    secret: str,
    *,
    api_key: str = "abcd1234",
    iat: float | datetime | None = None,
    algorithm: str = "HS256",
    application_id: str | None = None,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """The JWT Vonage puts in ``Authorization: Bearer`` for a webhook with ``body``.

    ``iat`` defaults to now; ``claims`` adds or overrides claims. ``algorithm="none"``
    builds an unsigned token (which a verifier must refuse).
    """
    jwt = _pyjwt()
    if isinstance(iat, datetime):
        iat = iat.timestamp()
    payload: dict[str, Any] = {
        "iat": int(time.time() if iat is None else iat),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": api_key,
    }
    if application_id:
        payload["application_id"] = application_id
    payload.update(claims or {})
    key = None if algorithm.lower() == "none" else secret
    with warnings.catch_warnings():
        # Vonage chooses the secret's length, not the project: PyJWT's advice is noise here.
        warnings.simplefilter("ignore", getattr(jwt, "InsecureKeyLengthWarning", Warning))
        token: str = jwt.encode(payload, key, algorithm=algorithm)
    return token


def vonage_status_callback(
    message: Any = None,
    *,
    status: str = "delivered",
    message_uuid: str | None = None,
    client_ref: str | None = None,
    to: str | None = None,
    from_: str = "",
    timestamp: datetime | str | None = None,
    error: tuple[int | str, str] | None = None,
    price: Decimal | str | None = None,
    currency: str = "EUR",
    count_total: int | None = None,
    extra: Mapping[str, Any] | None = None,
    alias: str = "default",
    path: str | None = None,
    signature_secret: str | None = None,
    api_key: str | None = None,
    iat: float | datetime | None = None,
    algorithm: str = "HS256",
    sign: bool = True,
    tamper: bool = False,
) -> Callback:
    """A Messages API status webhook (v1), as Vonage posts it to the status URL.

    With ``message`` (a stored message), ``message_uuid``, ``client_ref`` (its reference)
    and ``to`` come from it. ``status`` is Vonage's word (``submitted``, ``delivered``,
    ``rejected``, ``undeliverable``); ``error=(1250, "Unroutable")`` adds an ``error``
    object; ``price`` adds ``usage``; ``count_total`` adds ``sms.count_total``; ``extra``
    adds or overrides top-level fields. Signing options: see the module docstring.
    """
    if message is not None:
        message_uuid = message_uuid or message.provider_message_id
        client_ref = str(message.reference) if client_ref is None else client_ref
        to = to or message.to
    data: dict[str, Any] = {
        "message_uuid": message_uuid or str(uuid.uuid4()),
        "to": _vonage_number(to or "447700900000"),
        "from": from_ or "MyBrand",
        "timestamp": _vonage_timestamp(timestamp),
        "status": status,
        "channel": "sms",
    }
    if client_ref:
        data["client_ref"] = client_ref
    if error is not None:
        code, text = error
        data["error"] = {
            "type": f"https://developer.nexmo.com/api-errors/messages-olympus#{code}",
            "title": code,
            "detail": text,
            "instance": str(uuid.uuid4()),
        }
    if price is not None:
        data["usage"] = {"currency": currency, "price": str(price)}
    if count_total is not None:
        data["sms"] = {"count_total": str(count_total)}
    data.update(extra or {})
    tampered = {**data, "status": "rejected" if status != "rejected" else "delivered"}
    return _vonage_callback(
        "status", data, tampered, alias, path, signature_secret, api_key, iat, algorithm,
        sign, tamper,
    )


def vonage_inbound_callback(
    text: str = "STOP",
    *,
    from_: str = "447700900001",
    to: str = "447700900000",
    message_uuid: str | None = None,
    timestamp: datetime | str | None = None,
    keyword: str | None = None,
    num_messages: int = 1,
    price: Decimal | str | None = None,
    currency: str = "EUR",
    extra: Mapping[str, Any] | None = None,
    alias: str = "default",
    path: str | None = None,
    signature_secret: str | None = None,
    api_key: str | None = None,
    iat: float | datetime | None = None,
    algorithm: str = "HS256",
    sign: bool = True,
    tamper: bool = False,
) -> Callback:
    """A Messages API inbound SMS webhook (v1), as Vonage posts it to the inbound URL.

    ``from_`` is the handset, ``to`` your Vonage number (digits without ``+``, as Vonage
    writes them). ``keyword`` defaults to the first word of ``text`` in capitals, like
    Vonage's ``sms.keyword``. Signing options: see the module docstring.
    """
    words = text.split()
    data: dict[str, Any] = {
        "channel": "sms",
        "message_uuid": message_uuid or str(uuid.uuid4()),
        "to": _vonage_number(to),
        "from": _vonage_number(from_),
        "timestamp": _vonage_timestamp(timestamp),
        "message_type": "text",
        "text": text,
        "sms": {
            "num_messages": str(num_messages),
            "keyword": keyword if keyword is not None else (words[0].upper() if words else ""),
        },
    }
    if price is not None:
        data["usage"] = {"currency": currency, "price": str(price)}
    data.update(extra or {})
    tampered = {**data, "text": text + " (altered)"}
    return _vonage_callback(
        "inbound", data, tampered, alias, path, signature_secret, api_key, iat, algorithm,
        sign, tamper,
    )


def _vonage_callback(
    kind: str,
    data: dict[str, Any],
    tampered: dict[str, Any],
    alias: str,
    path: str | None,
    signature_secret: str | None,
    api_key: str | None,
    iat: float | datetime | None,
    algorithm: str,
    sign: bool,
    tamper: bool,
) -> Callback:
    body = _json_body(data)
    headers: dict[str, str] = {}
    if sign:
        options = _options(alias)
        secret = signature_secret if signature_secret is not None else _first(
            options.get("signature_secret")
        )
        if not secret and algorithm.lower() != "none":
            raise ConfigurationError(
                f"No signature secret to sign a Vonage callback for alias {alias!r}: pass "
                f"signature_secret=... or set SMS_BACKENDS[{alias!r}]['OPTIONS']"
                "['signature_secret']."
            )
        token = vonage_signature(
            body,
            secret or "",
            api_key=api_key or str(options.get("api_key") or "abcd1234"),
            iat=iat,
            algorithm=algorithm,
            application_id=options.get("application_id") or None,
        )
        headers["Authorization"] = f"Bearer {token}"
    if tamper:
        body = _json_body(tampered)  # signed above, altered now: payload_hash no longer matches
    # A URL secret stacked on the signature (the alias's 'webhook_secret') goes in the path.
    url_secret = _first(_options(alias).get("webhook_secret"))
    return Callback(
        method="POST",
        path=path or webhook_path(alias, kind, url_secret),
        headers=headers,
        body=body,
        content_type="application/json",
    )


def _vonage_number(number: str) -> str:
    """Vonage writes numbers as digits without ``+`` (E.164 otherwise)."""
    return str(number).removeprefix("+")


def _vonage_timestamp(value: datetime | str | None) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as Vonage writes it."""
    if isinstance(value, str):
        return value
    moment = (value or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- OVH ----------------------------------------------------------------------------------------

#: OVH's DLR codes (``description``) and a text for each (``descriptionDlr``).
OVH_DLR_TEXTS = {
    0: "Pending",
    1: "Success",
    2: "Failure",
    4: "Pending",
    8: "Buffered",
    16: "Error (not billed)",
}


def ovh_status_callback(
    message: Any = None,
    *,
    id: str | int | None = None,  # OVH's parameter name
    ptt: int = 4,
    description: int = 1,
    description_dlr: str | None = None,
    date: datetime | str | None = None,
    extra: Mapping[str, Any] | None = None,
    method: str = "GET",
    alias: str = "default",
    path: str | None = None,
    secret: str | None = None,
    basic_auth: tuple[str, str] | None = None,
) -> Callback:
    """An OVH delivery-report callback: a GET with ``id, ptt, date, description,
    descriptionDlr`` in the query string (``method="POST"`` sends them as a form instead).

    ``id`` defaults to ``message.provider_message_id``. The callback URL carries the alias's
    URL secret (``secret``, default: the one configured in its OPTIONS); ``secret=""``
    leaves it out, to test that such a callback is refused. ``basic_auth=(user, password)``
    adds HTTP Basic credentials instead of (or besides) the URL secret. Defaults describe a
    delivered message (PTT 4, DLR 1).
    """
    if id is None:
        id = message.provider_message_id if message is not None else "1234567890"
    if date is None or isinstance(date, datetime):
        date = (date or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")
    params: dict[str, Any] = {
        "id": str(id),
        "ptt": str(ptt),
        "date": date,
        "description": str(description),
        "descriptionDlr": description_dlr
        if description_dlr is not None
        else OVH_DLR_TEXTS.get(description, ""),
    }
    params.update(extra or {})
    if secret is None:
        options = _options(alias)
        secret = next((_first(options[n]) for n in OVH_SECRET_OPTIONS if options.get(n)), "")
    base = path or webhook_path(alias, "status", secret or "")
    headers: dict[str, str] = {}
    if basic_auth is not None:
        credentials = base64.b64encode(":".join(basic_auth).encode()).decode()
        headers["Authorization"] = f"Basic {credentials}"
    if method.upper() == "GET":
        return Callback("GET", f"{base}?{urlencode(params)}", headers)
    return Callback(
        method.upper(),
        base,
        headers,
        urlencode(params).encode(),
        "application/x-www-form-urlencoded",
    )


# -- Twilio -------------------------------------------------------------------------------------


def twilio_status_callback(
    message: Any = None,
    *,
    status: str = "delivered",
    message_sid: str | None = None,
    error_code: str = "",
    to: str | None = None,
    from_: str = "+15017122661",
    extra: Mapping[str, str] | None = None,
    alias: str = "default",
    path: str | None = None,
    base_url: str | None = None,
    auth_token: str | None = None,
    sign: bool = True,
    tamper: bool = False,
) -> Callback:
    """A status callback as Twilio posts it: form fields, ``X-Twilio-Signature`` over the URL.

    With ``message`` (a stored message), ``MessageSid`` and ``To`` come from it and our
    reference is in the URL's query string (``?sms_ref=``), as the backend asks Twilio.
    ``status`` is Twilio's word (``sent``, ``delivered``, ``undelivered``...). The URL
    signed is ``base_url`` + the path: default the alias's ``public_base_url``, else
    ``http://testserver`` (what Django's test client is). ``auth_token`` defaults to the
    alias's (the first, during a rotation); ``sign=False`` leaves the signature out,
    ``tamper=True`` changes the status after signing.
    """
    sid = message_sid or (message.provider_message_id if message is not None else "") or (
        "SM" + uuid.uuid4().hex)
    fields = {
        "AccountSid": str(_options(alias).get("account_sid") or "AC" + "0" * 32),
        "ApiVersion": "2010-04-01",
        "From": from_,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to or (message.to if message is not None else "+15558675310"),
    }
    if error_code:
        fields["ErrorCode"] = error_code
    fields.update(extra or {})
    if path is None:
        path = webhook_path(alias, "status")
        if message is not None:
            path += "?" + urlencode({"sms_ref": str(message.reference)})
    tampered = {**fields, "MessageStatus": "failed" if status != "failed" else "delivered"}
    return _twilio_callback(fields, tampered, alias, path, base_url, auth_token, sign, tamper)


def twilio_inbound_callback(
    from_number: str,
    text: str,
    *,
    to_number: str = "+15017122661",
    opt_out_type: str = "",
    message_sid: str | None = None,
    alias: str = "default",
    path: str | None = None,
    base_url: str | None = None,
    auth_token: str | None = None,
    sign: bool = True,
    tamper: bool = False,
) -> Callback:
    """An incoming message as Twilio posts it ("A message comes in"), signed as above;
    ``opt_out_type="STOP"`` adds ``OptOutType`` (Advanced Opt-Out)."""
    sid = message_sid or "SM" + uuid.uuid4().hex
    fields = {
        "AccountSid": str(_options(alias).get("account_sid") or "AC" + "0" * 32),
        "ApiVersion": "2010-04-01",
        "Body": text,
        "From": from_number,
        "MessageSid": sid,
        "NumMedia": "0",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": to_number,
    }
    if opt_out_type:
        fields["OptOutType"] = opt_out_type
    tampered = {**fields, "Body": text + "!"}
    return _twilio_callback(fields, tampered, alias, path or webhook_path(alias, "inbound"),
                            base_url, auth_token, sign, tamper)


def _twilio_callback(
    fields: dict[str, str],
    tampered: dict[str, str],
    alias: str,
    path: str,
    base_url: str | None,
    auth_token: str | None,
    sign: bool,
    tamper: bool,
) -> Callback:
    options = _options(alias)
    origin = (base_url or str(options.get("public_base_url") or "") or "http://testserver")
    headers: dict[str, str] = {}
    if sign:
        token = auth_token or _first(options.get("auth_token"))
        if not token:
            raise ConfigurationError(
                f"SMS backend {alias!r} has no 'auth_token': pass auth_token= to sign."
            )
        url = origin.rstrip("/") + path
        headers["X-Twilio-Signature"] = twilio_signature(token, url, list(fields.items()))
    return Callback(
        method="POST",
        path=path,
        headers=headers,
        body=urlencode(tampered if tamper else fields).encode(),
        content_type="application/x-www-form-urlencoded",
    )


# -- helpers ------------------------------------------------------------------------------------


def _options(alias: str) -> dict[str, Any]:
    conf = configured_backends().get(alias) or {}
    options = conf.get("OPTIONS") or {}
    return dict(options) if isinstance(options, Mapping) else {}


def _first(value: Any) -> str:
    """The current secret: the value itself, or the first of a rotation list."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    return str(value) if value else ""


def _json_body(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _pyjwt() -> Any:
    try:
        import jwt
    except ImportError as exc:  # pragma: no cover - PyJWT is in the [vonage] and [test] extras
        raise ConfigurationError(
            "Signing Vonage callbacks needs PyJWT: pip install 'django-transactional-sms[vonage]'."
        ) from exc
    return jwt
