"""The shared ``requests`` layer of every HTTP provider backend.

A provider module subclasses :class:`HttpBackend` and fills in two hooks::

    class SmsBackend(HttpBackend):
        provider_name = "acme"
        default_base_url = "https://api.acme.example"
        required_options = ("token",)
        known_options = HttpBackend.http_options + ("token",)
        secret_options = ("token",)

        def build_request(self, sms):
            return HttpRequest("POST", "/v1/sms", json={"to": sms.to, "text": sms.text},
                               headers={"Authorization": f"Bearer {self.options['token']}"})

        def parse_send_response(self, sms, response):
            data = self.json_body(response)          # MalformedResponse if not JSON
            return SendResult(status=Status.ACCEPTED, provider_message_id=str(data["id"]))

and may override :meth:`HttpBackend.parse_error` (read the provider's error body into
:class:`ErrorDetails`) or :meth:`HttpBackend.raise_for_error` (for providers that report
errors inside a 2xx body). Everything else lives here, once:

* one ``requests.Session`` per backend instance, created by :meth:`open` (lazily, on first
  use) and closed by :meth:`close`. ``sms_backends[alias]`` gives one instance per thread, so
  each thread keeps its own keep-alive connections; an ``HTTPAdapter`` with
  ``pool_maxsize = pool_size`` and ``max_retries=0`` is mounted (the app retries by itself,
  with knowledge of what is safe to retry);
* explicit ``(connect, read)`` timeouts, TLS verification passed per request, a User-Agent;
* failure classification (:meth:`HttpBackend.send`), see below;
* debug logging of requests and responses with secrets masked (logger ``django_sms.http``,
  OPTION ``debug``).

Failure classification
----------------------
============================================  ========================================
what happened                                 exception
============================================  ========================================
connection refused, DNS failure, connect      :class:`TransientProviderError`
timeout, TLS handshake failure, reset before
any byte of the request was written
HTTP 408/429/500/502/503/504                  :class:`TransientProviderError`
                                              (``retry_after`` from ``Retry-After``)
read timeout after the request was written    :class:`AmbiguousProviderError`
connection reset/closed after the request     :class:`AmbiguousProviderError`
was written, truncated response body
other 3xx/4xx/5xx, provider-declared errors   :class:`PermanentProviderError`
2xx whose body cannot be parsed (send)        :class:`AmbiguousProviderError`
============================================  ========================================

"Ambiguous" only applies to requests that change something at the provider (a send). For
safe requests (``GET``/``HEAD``/``OPTIONS``, e.g. status polling) a lost answer is simply
transient: asking again changes nothing. :class:`HttpRequest` ``idempotent`` overrides this.

Stale keep-alive connections. A provider (or a load balancer in front of it) closes idle
keep-alive connections after some time. Before reusing a pooled connection urllib3 checks
whether it was dropped (``is_connection_dropped()``: a zero-timeout ``select`` that sees the
peer's FIN or RST) and silently opens a new connection; that case never reaches us. What
remains is a race: the peer closes the connection just after that check, while our request is
in flight. From the client side that is indistinguishable from a provider that received the
request, acted on it and then lost the connection: in both cases the request was written and
no response came back. HTTP (RFC 9110 §9.2.2) forbids retrying a non-idempotent request
automatically in this situation, so we classify it as ambiguous and let status polling or an
operator reconcile it, rather than risk sending the same SMS twice. To tell "nothing was
written" from "the request was written", the adapter mounted on the session
(``django_sms.backends.http_transport``) records when the request starts being written: a
reset during the TCP connect or the TLS handshake of a fresh connection is safe to retry,
anything later is not. Credentials are masked by ``django_sms.backends.redaction``.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests
from django.core import checks

from django_sms.backends.base import BaseSmsBackend, SendResult
from django_sms.backends.http_transport import (
    SmsHTTPAdapter,
    is_connect_failure,
    request_written_state,
    root_cause,
)
from django_sms.backends.redaction import Redactor
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    MalformedResponse,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)

if TYPE_CHECKING:
    from django_sms.message import SMS

logger = logging.getLogger("django_sms.http")

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0

#: Statuses after which the same request may be sent again.
TRANSIENT_STATUS_CODES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

def user_agent() -> str:
    from django_sms import __version__

    return f"django-transactional-sms/{__version__} python-requests/{requests.__version__}"


@dataclass
class HttpRequest:
    """One HTTP call, as a provider module describes it.

    ``url`` is a path joined to the backend's ``base_url`` (``"/v4/sms-send"``) or an absolute
    URL. Give at most one body: ``json`` (serialised compactly as UTF-8 with ASCII escapes, and
    ``Content-Type: application/json`` unless ``headers`` says otherwise), ``form`` (urlencoded)
    or ``body`` (raw bytes, sent exactly; set the content type in ``headers``). ``auth`` is
    anything ``requests`` accepts: a ``(user, password)`` tuple for HTTP Basic, or a
    ``requests.auth.AuthBase`` whose ``__call__`` receives the final ``PreparedRequest`` (full
    URL and body bytes), which is where request-signing schemes belong. ``timeout`` overrides
    the backend's timeouts for this call. ``idempotent`` says whether sending it twice is
    harmless; by default only GET/HEAD/OPTIONS are.
    """

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    form: Mapping[str, Any] | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: Any = None
    timeout: float | tuple[float, float] | None = None
    idempotent: bool | None = None

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method.upper() in SAFE_METHODS


@dataclass
class ErrorDetails:
    """A provider's error answer, read by :meth:`HttpBackend.parse_error`.

    ``code`` and ``text`` are the provider's own error code and description; ``status`` the
    normalised :class:`~django_sms.status.Status` the error gives the message (None: let the
    pipeline decide, i.e. ``failed``); ``transient`` overrides the HTTP-status rule when the
    provider says so explicitly (None: decide from the HTTP status).
    """

    code: str = ""
    text: str = ""
    status: str | None = None
    transient: bool | None = None
    #: True when the error means the recipient opted out (Twilio 21610): the pipeline adds
    #: the number to the opt-out list.
    opted_out: bool = False


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date.

    >>> parse_retry_after("2"), parse_retry_after(None), parse_retry_after("soon")
    (2.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpBackend(BaseSmsBackend):
    """Base class of the backends that talk to a provider's HTTP API with ``requests``.

    OPTIONS (all optional) understood by every HTTP backend:

    ``base_url``
        The provider's API root; defaults to ``default_base_url``. Point it at the sandbox
        (``django_sms.testing.sandbox``) in development and tests.
    ``timeout``
        Seconds, a number or a ``(connect, read)`` pair. Default ``(5, 30)``.
    ``connect_timeout`` / ``read_timeout``
        Override one half of ``timeout``.
    ``pool_size``
        Keep-alive connections kept per host (``HTTPAdapter(pool_maxsize=...)``). Default
        ``DJANGO_SMS["BULK_CONCURRENCY"]``.
    ``verify``
        TLS verification: ``True`` (default), ``False``, or the path of a CA bundle. Passed
        with every request, so it wins over ``REQUESTS_CA_BUNDLE``.
    ``debug``
        Log every request and response at DEBUG level on the ``django_sms.http`` logger,
        with credentials masked.
    """

    #: The options above; provider modules add theirs: ``http_options + ("token",)``.
    http_options: ClassVar[tuple[str, ...]] = (
        "base_url",
        "timeout",
        "connect_timeout",
        "read_timeout",
        "pool_size",
        "verify",
        "debug",
    )
    known_options = http_options
    #: Used when the ``base_url`` OPTION is not set.
    default_base_url: ClassVar[str] = ""
    #: OPTIONS holding credentials: their values are masked wherever they appear in logs.
    secret_options: ClassVar[tuple[str, ...]] = ()
    #: Extra header names (lower case) and body/query fields to mask in logs.
    secret_headers: ClassVar[frozenset[str]] = frozenset()
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    #: HTTP statuses after which resending is safe. A provider whose 500 means "maybe
    #: accepted" removes 500 here (``TRANSIENT_STATUS_CODES - {500}``).
    transient_status_codes: ClassVar[frozenset[int]] = TRANSIENT_STATUS_CODES

    def __init__(self, alias: str = "default", **options: Any):
        super().__init__(alias, **options)
        self.session: requests.Session | None = None
        self._session_lock = threading.Lock()
        self.validate_credentials()

    # -- configuration -----------------------------------------------------------------------
    def validate_credentials(self) -> None:
        """Raise ConfigurationError, naming the alias and the OPTION, when a credential in
        ``required_options`` is missing or empty.

        Called when the backend is created, which the pipeline does before it stores
        anything: a server that never ran ``manage.py check`` (gunicorn runs none) fails on
        the first ``send_sms()`` with this error, instead of sending an unauthenticated
        request and storing the provider's refusal. Providers with alternative credentials
        (Vonage) override it.
        """
        missing = [name for name in self.required_options if not has_value(self.options, name)]
        if missing:
            raise ConfigurationError(missing_options_message(self, missing))

    @property
    def base_url(self) -> str:
        return str(self.options.get("base_url") or self.default_base_url).rstrip("/")

    @property
    def timeout(self) -> tuple[float, float]:
        """The ``(connect, read)`` timeouts; ConfigurationError if the OPTIONS are invalid."""
        connect, read = DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
        value = self.options.get("timeout")
        if value is not None:
            if isinstance(value, list | tuple):
                if len(value) != 2:
                    raise ConfigurationError(
                        f"SMS backend {self.alias!r}: 'timeout' must be a number or a "
                        f"(connect, read) pair, not {value!r}."
                    )
                connect, read = (_positive(self.alias, "timeout", v) for v in value)
            else:
                connect = read = _positive(self.alias, "timeout", value)
        if self.options.get("connect_timeout") is not None:
            connect = _positive(self.alias, "connect_timeout", self.options["connect_timeout"])
        if self.options.get("read_timeout") is not None:
            read = _positive(self.alias, "read_timeout", self.options["read_timeout"])
        return connect, read

    @property
    def pool_size(self) -> int:
        value = self.options.get("pool_size")
        if value is None:
            from django_sms.conf import sms_settings

            value = sms_settings.BULK_CONCURRENCY
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(
                f"SMS backend {self.alias!r}: 'pool_size' must be a positive integer, "
                f"not {value!r}."
            )
        return value

    # -- connection lifecycle -------------------------------------------------------------------
    def open(self) -> bool:
        """Create the ``requests.Session``; return True if a new one was created."""
        with self._session_lock:
            if self.session is not None:
                return False
            session = requests.Session()
            adapter = SmsHTTPAdapter(pool_maxsize=self.pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers["User-Agent"] = user_agent()
            self.session = session
            return True

    def close(self) -> None:
        """Close the session and its pooled connections (a later send opens a new one)."""
        with self._session_lock:
            session, self.session = self.session, None
        if session is not None:
            session.close()

    # -- the provider hooks ---------------------------------------------------------------------
    def build_request(self, sms: SMS) -> HttpRequest:
        """The HTTP call that sends ``sms``."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_request().")

    def parse_send_response(self, sms: SMS, response: requests.Response) -> SendResult:
        """Read the provider's 2xx answer to the send call.

        Raise :class:`MalformedResponse` when the body cannot be understood (it becomes an
        ambiguous error) and :class:`PermanentProviderError` when the provider reports a
        refusal inside a 2xx body.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement parse_send_response().")

    def parse_error(self, response: requests.Response) -> ErrorDetails:
        """Read the provider's error code and text from a non-2xx response.

        The default understands the common JSON shapes (``{"code", "message"}``,
        ``{"error": ...}``, RFC 7807 ``{"title", "detail"}``); provider modules override it.
        It must not raise: error bodies are often HTML from a proxy.
        """
        data = self.try_json(response)
        if not isinstance(data, dict):
            return ErrorDetails()
        error = data.get("error")
        if isinstance(error, dict):
            data = error
        elif isinstance(error, str) and not data.get("message"):
            return ErrorDetails(text=error)
        code = data.get("code") or data.get("error_code") or data.get("errorCode") or ""
        text = data.get("message") or data.get("detail") or data.get("title") or ""
        return ErrorDetails(code=str(code), text=str(text))

    def raise_for_error(self, response: requests.Response, request: HttpRequest) -> None:
        """Raise the right :class:`ProviderError` unless ``response`` is a success.

        2xx passes; redirects are refused (they are never followed: a redirected POST turns
        into a GET in ``requests``, so they mean a wrong ``base_url``); the statuses in
        ``transient_status_codes`` are transient with ``Retry-After`` honoured; everything
        else is permanent, carrying what :meth:`parse_error` found.
        """
        status = response.status_code
        if 200 <= status < 300:
            return
        where = self.describe(request, response.url)
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            raise PermanentProviderError(
                f"{where} was redirected to {location or '(no Location)'}; "
                f"check the 'base_url' OPTION of SMS backend {self.alias!r}.",
                status_code=status,
                response_body=self.scrub(response.text),
                provider=self.provider_name,
            )
        details = self.parse_error(response)
        transient = details.transient
        if transient is None:
            transient = status in self.transient_status_codes
        common: dict[str, Any] = {
            "code": self.scrub(details.code),
            "text": self.scrub(details.text),
            "status_code": status,
            "response_body": self.scrub(response.text),
            "provider": self.provider_name,
            "status": details.status,
            "opted_out": details.opted_out,
        }
        if transient:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            hint = f", retry after {retry_after:g} s" if retry_after is not None else ""
            raise TransientProviderError(
                f"{where} failed temporarily{hint}", retry_after=retry_after, **common
            )
        raise PermanentProviderError(f"{where} was refused", **common)

    # -- sending --------------------------------------------------------------------------------
    def send_one(self, sms: SMS) -> SendResult:
        """Build the request, send it, classify failures, parse the answer."""
        request = self.build_request(sms)
        response = self.request(request)
        try:
            return self.parse_send_response(sms, response)
        except MalformedResponse as exc:
            raise AmbiguousProviderError(
                f"{self.describe(request, response.url)} answered HTTP {response.status_code} "
                f"with a body that could not be understood ({exc.message}); the message may "
                "have been accepted",
                status_code=response.status_code,
                response_body=self.scrub(response.text),
                provider=self.provider_name,
            ) from exc

    def request(self, request: HttpRequest, *, check: bool = True) -> requests.Response:
        """Send ``request``; return the response, or raise a classified ProviderError.

        The helper provider modules use for every call (``fetch_status()`` included). With
        ``check=False`` a non-2xx response is returned instead of raised.
        """
        response = self.send(request)
        if check:
            self.raise_for_error(response, request)
        return response

    def send(self, request: HttpRequest) -> requests.Response:
        """Perform the HTTP exchange; turn transport failures into ProviderErrors."""
        self.open()
        session = self.session
        assert session is not None
        url = self.url_for(request.url)
        prepared = session.prepare_request(
            requests.Request(
                method=request.method.upper(),
                url=url,
                params=dict(request.params) if request.params else None,
                headers=self._headers_for(request),
                data=self._body_for(request),
                auth=request.auth,
            )
        )
        settings = session.merge_environment_settings(
            prepared.url or url, {}, None, self.options.get("verify", True), None
        )
        timeout = request.timeout if request.timeout is not None else self.timeout
        debug = bool(self.options.get("debug"))
        if debug:
            self._log_request(prepared)
        started = time.monotonic()
        try:
            response = session.send(prepared, timeout=timeout, allow_redirects=False, **settings)
        except requests.RequestException as exc:
            if debug:
                logger.debug("[%s] -> %s %s failed: %s: %s", self.alias, prepared.method,
                             self.redactor.url(prepared.url), type(exc).__name__,
                             self.scrub(str(exc)))
            raise self.classify_exception(exc, request, timeout) from exc
        if debug:
            self._log_response(response, time.monotonic() - started)
        return response

    def classify_exception(
        self,
        exc: requests.RequestException,
        request: HttpRequest,
        timeout: float | tuple[float, float],
    ) -> ProviderError:
        """The ProviderError for a transport failure (see the module docstring)."""
        where = self.describe(request)
        reason = self.scrub(root_cause(exc))
        common: dict[str, Any] = {"provider": self.provider_name}
        if isinstance(exc, requests.ConnectTimeout) or is_connect_failure(exc):
            return TransientProviderError(
                f"{where}: could not connect ({reason}); nothing was sent", **common
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema
                      | requests.exceptions.InvalidSchema):
            return PermanentProviderError(
                f"{where}: invalid URL ({reason}); check the 'base_url' OPTION of SMS backend "
                f"{self.alias!r}",
                **common,
            )
        written = request_written_state()
        if written is False:
            # Failed before the first byte of the request was written: TLS handshake errors,
            # a reset during the handshake of a fresh connection.
            return TransientProviderError(
                f"{where}: connection failed before the request was sent ({reason})", **common
            )
        if request.is_idempotent:
            return TransientProviderError(f"{where}: no usable answer ({reason})", **common)
        if isinstance(exc, requests.ReadTimeout):
            read = timeout[1] if isinstance(timeout, tuple) else timeout
            return AmbiguousProviderError(
                f"{where}: no answer within {read:g} s after the request was sent; the "
                "message may have been accepted",
                **common,
            )
        return AmbiguousProviderError(
            f"{where}: the connection failed after the request was sent ({reason}); the "
            "message may have been accepted",
            **common,
        )

    # -- helpers for provider modules ------------------------------------------------------------
    def url_for(self, url: str) -> str:
        """``url`` if absolute, else joined to ``base_url``."""
        if urlsplit(url).scheme:
            return url
        if not self.base_url:
            raise ConfigurationError(f"SMS backend {self.alias!r} needs the 'base_url' OPTION.")
        return f"{self.base_url}/{url.lstrip('/')}"

    @staticmethod
    def try_json(response: requests.Response) -> Any:
        """The parsed JSON body, or None when it is not JSON."""
        try:
            return response.json()
        except ValueError:
            return None

    def json_body(self, response: requests.Response) -> Any:
        """The parsed JSON body; :class:`MalformedResponse` when it is not valid JSON."""
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponse(
                f"invalid JSON: {exc}",
                status_code=response.status_code,
                response_body=self.scrub(response.text),
            ) from exc

    def describe(self, request: HttpRequest, url: str | None = None) -> str:
        """``"POST https://host/path"`` for messages (query strings left out: secrets)."""
        parts = urlsplit(url or self.url_for(request.url))
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return self.scrub(f"{request.method.upper()} {bare}")

    # -- request building -----------------------------------------------------------------------
    @staticmethod
    def _headers_for(request: HttpRequest) -> dict[str, str]:
        headers = dict(request.headers)
        lower = {name.lower() for name in headers}
        if request.json is not None and "content-type" not in lower:
            headers["Content-Type"] = "application/json"
        return headers

    @staticmethod
    def _body_for(request: HttpRequest) -> Any:
        given = [x is not None for x in (request.json, request.form, request.body)]
        if sum(given) > 1:
            raise ValueError("HttpRequest takes only one of json, form and body.")
        if request.json is not None:
            return jsonlib.dumps(request.json, separators=(",", ":")).encode()
        if request.form is not None:
            return dict(request.form)  # requests urlencodes it and sets the content type
        return request.body

    # -- debug logging ------------------------------------------------------------------------
    def secret_values(self) -> list[str]:
        """Credential values (from ``secret_options``) to mask wherever they appear."""
        values: list[str] = []
        for name in self.secret_options:
            value = self.options.get(name)
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, list | tuple):  # several secrets, for rotation
                values.extend(v for v in value if isinstance(v, str))
        return values

    @property
    def redactor(self) -> Redactor:
        """Masks this backend's credentials in logs and error texts."""
        return Redactor.for_values(self.secret_values(), headers=self.secret_headers,
                                   fields=self.secret_fields)

    def scrub(self, text: str) -> str:
        """``text`` with this backend's credential values replaced by ``***``."""
        return self.redactor.text(text)

    def _log_request(self, prepared: requests.PreparedRequest) -> None:
        redactor = self.redactor
        logger.debug(
            "[%s] -> %s %s headers=%s body=%s",
            self.alias,
            prepared.method,
            redactor.url(prepared.url),
            redactor.header_map(prepared.headers),
            redactor.body(prepared.body, prepared.headers.get("Content-Type", "")),
        )

    def _log_response(self, response: requests.Response, elapsed: float) -> None:
        redactor = self.redactor
        logger.debug(
            "[%s] <- HTTP %s in %.0f ms headers=%s body=%s",
            self.alias,
            response.status_code,
            elapsed * 1000,
            redactor.header_map(response.headers),
            redactor.body(response.content, response.headers.get("Content-Type", "")),
        )

    # -- checks ---------------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        for attribute in ("timeout", "pool_size"):
            try:
                getattr(self, attribute)
            except ConfigurationError as exc:
                errors.append(checks.Error(str(exc), id="django_sms.E020"))
        errors.extend(self._check_base_url())
        return errors

    def _check_base_url(self) -> list[checks.CheckMessage]:
        url = self.base_url
        option = f"SMS_BACKENDS[{self.alias!r}]['OPTIONS']['base_url']"
        if not url:
            return [checks.Error(f"SMS backend {self.alias!r} has no base URL.",
                                 hint=f"Set {option}.", id="django_sms.E021")]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return [checks.Error(
                f"SMS backend {self.alias!r}: base_url {url!r} is not an http(s) URL with a host.",
                hint=f"Fix {option}, e.g. {self.default_base_url or 'https://api.example.com'!r}.",
                id="django_sms.E021",
            )]
        if parts.query or parts.fragment:
            return [checks.Error(
                f"SMS backend {self.alias!r}: base_url {url!r} must not have a query string "
                "or fragment.",
                id="django_sms.E021",
            )]
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            return [checks.Warning(
                f"SMS backend {self.alias!r} sends credentials in clear text to {url!r}.",
                hint="Use https:// for any host that is not this machine.",
                id="django_sms.W021",
            )]
        return []


def has_value(options: Mapping[str, Any], name: str) -> bool:
    """Whether OPTION ``name`` is set to something other than None or a blank string."""
    value = options.get(name)
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value != b""


def missing_options_message(backend: BaseSmsBackend, missing: Iterable[str],
                            alternative: str = "") -> str:
    """``SMS backend 'mj' (django_sms.backends.mailjet) needs the 'token' OPTION, missing or
    empty in SMS_BACKENDS['mj']['OPTIONS'].`` plus ``alternative`` when there is one."""
    names = [repr(n) for n in missing]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    plural = "S" if len(names) > 1 else ""
    message = (
        f"SMS backend {backend.alias!r} ({type(backend).__module__}) needs the {listed} "
        f"OPTION{plural}, missing or empty in SMS_BACKENDS[{backend.alias!r}]['OPTIONS']."
    )
    return f"{message} {alternative}" if alternative else message


def _positive(alias: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(
            f"SMS backend {alias!r}: {name!r} must be a positive number of seconds, "
            f"not {value!r}."
        )
    return float(value)
