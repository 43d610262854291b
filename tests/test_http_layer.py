"""The shared requests layer (django_sms.backends.http) over real HTTP on 127.0.0.1.

A tiny "acme" provider is plugged both into HttpBackend (the two hooks) and into the sandbox
(a ProviderHandler), which also proves the two extension points work for a new provider.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import urllib3

from django_sms.backends.base import SendResult
from django_sms.backends.http import (
    ErrorDetails,
    HttpBackend,
    HttpRequest,
    parse_retry_after,
    user_agent,
)
from django_sms.exceptions import (
    AmbiguousProviderError,
    PermanentProviderError,
    TransientProviderError,
)
from django_sms.message import SMS
from django_sms.status import Status
from django_sms.testing.sandbox import Sandbox, faults
from django_sms.testing.sandbox.providers.base import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)
from django_sms.testing.sandbox.tls import make_self_signed_certificate, server_context

TOKEN = "acme-secret-token-123"


class AcmeHandler(ProviderHandler):
    """A minimal provider: POST /acme/send {to, text} -> {"id"}; GET /acme/status/<id>."""

    name = "acme"
    prefixes = ("/acme/",)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.auth_rejection(request)
        if request.path == "/acme/send" and request.method == "POST":
            payload = request.json or {}
            if not str(payload.get("to", "")).startswith("+"):
                return SandboxResponse.json_body(
                    400, {"code": "BAD_NUMBER", "message": "'to' must start with +"}
                )
            with self.lock:
                message_id = f"acme-{len(self.sandbox.messages) + 1}"
                self.accept(message_id=message_id, to=payload["to"], sender="Acme",
                            text=payload.get("text", ""))
            return SandboxResponse.json_body(200, {"id": message_id, "parts": 1})
        if request.path.startswith("/acme/status/") and request.method == "GET":
            message = self.sandbox.messages.get(request.path.rsplit("/", 1)[1])
            if message is None:
                return SandboxResponse.json_body(404, {"code": "NOT_FOUND", "message": "no"})
            return SandboxResponse.json_body(200, {"id": message.id, "status": message.status})
        if request.path == "/acme/moved":
            return SandboxResponse(301, b"", {"Location": "https://elsewhere.example/acme/send"})
        return SandboxResponse.json_body(404, {"code": "NO_ROUTE", "message": request.path})

    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json_body(401, {"code": "AUTH", "message": "bad token"})


class AcmeBackend(HttpBackend):
    provider_name = "acme"
    known_options = (*HttpBackend.http_options, "token", "path")
    secret_options = ("token",)

    def build_request(self, sms: SMS) -> HttpRequest:
        return HttpRequest(
            "POST",
            self.options.get("path", "/acme/send"),
            json={"to": sms.to, "text": sms.text},
            headers={"Authorization": f"Bearer {self.options['token']}"},
        )

    def parse_send_response(self, sms: SMS, response: requests.Response) -> SendResult:
        data = self.json_body(response)
        return SendResult(status=Status.ACCEPTED, provider_message_id=data["id"],
                          segments=data["parts"])

    def fetch(self, message_id: str) -> str:
        response = self.request(HttpRequest(
            "GET", f"/acme/status/{message_id}",
            headers={"Authorization": f"Bearer {self.options['token']}"},
        ))
        return str(self.json_body(response)["status"])


def sms(to: str = "+33612345678", text: str = "Your code is 123456") -> SMS:
    return SMS(text=text, to=to, sender="MyBrand", reference="abc", encoding="GSM-7", segments=1)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(providers=[AcmeHandler]) as running:
        yield running


def backend_for(url: str, **options: Any) -> AcmeBackend:
    return AcmeBackend(alias="acme", token=TOKEN, base_url=url, **options)


def send_error(backend: HttpBackend, message: SMS | None = None) -> Any:
    (result,) = backend.send_messages([message or sms()])
    assert result.error is not None, result
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- success path ----------------------------------------------------------------------------
def test_send_success_goes_over_http_with_our_user_agent(sandbox: Sandbox) -> None:
    backend = backend_for(sandbox.url)

    (result,) = backend.send_messages([sms()])

    assert result.error is None
    assert result.provider_message_id == "acme-1"
    recorded = sandbox.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/acme/send")
    assert recorded.headers["User-Agent"] == user_agent()
    assert user_agent().startswith("django-transactional-sms/")
    assert f"python-requests/{requests.__version__}" in user_agent()
    assert recorded.headers["Content-Type"] == "application/json"
    assert recorded.body == b'{"to":"+33612345678","text":"Your code is 123456"}'


def test_fetch_helper_uses_the_same_session_and_classification(sandbox: Sandbox) -> None:
    backend = backend_for(sandbox.url)
    backend.send_messages([sms()])

    assert backend.fetch("acme-1") == "accepted"
    with pytest.raises(PermanentProviderError) as caught:
        backend.fetch("acme-999")
    assert caught.value.status_code == 404
    assert caught.value.code == "NOT_FOUND"
    assert sandbox.connection_count == 1


# -- failures before anything was sent: transient ------------------------------------------------
def test_connection_refused_is_transient() -> None:
    backend = backend_for(f"http://127.0.0.1:{free_port()}")

    result = send_error(backend)

    assert isinstance(result.error, TransientProviderError)
    assert result.status == Status.QUEUED
    assert "could not connect" in str(result.error)
    assert "nothing was sent" in str(result.error)


def test_dns_failure_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(urllib3.util.connection.socket, "getaddrinfo", no_dns)
    backend = backend_for("http://sms-provider.invalid")

    result = send_error(backend)

    assert isinstance(result.error, TransientProviderError)
    assert "NameResolutionError" in str(result.error)


def test_connect_timeout_is_transient() -> None:
    # A listening socket whose accept queue is full drops new SYNs: connect() times out.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        backend = backend_for(f"http://127.0.0.1:{port}", connect_timeout=0.3, read_timeout=5)

        result = send_error(backend)

        assert isinstance(result.error, TransientProviderError)
        assert "could not connect" in str(result.error)
    finally:
        for filler in fillers:
            filler.close()
        server.close()


class _RawServer:
    """Accepts TCP connections and does ``behaviour(conn)`` with each: for failures the
    sandbox's HTTP server cannot produce (a peer that is not TLS at all)."""

    def __init__(self, behaviour: Any) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.port = self.socket.getsockname()[1]
        self.behaviour = behaviour
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:  # closed by close()
                return
            self.behaviour(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.socket.close()
        self.thread.join(timeout=5)


def test_tls_handshake_failure_is_transient() -> None:
    # The peer answers the TLS ClientHello with plain HTTP garbage and closes.
    def not_tls(conn: socket.socket) -> None:
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    server = _RawServer(not_tls)
    try:
        result = send_error(backend_for(f"https://127.0.0.1:{server.port}"))
    finally:
        server.close()

    assert isinstance(result.error, TransientProviderError)
    assert "before the request was sent" in str(result.error)


def test_reset_during_tls_handshake_is_transient() -> None:
    def reset(conn: socket.socket) -> None:
        conn.recv(1024)  # the ClientHello
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    server = _RawServer(reset)
    try:
        result = send_error(backend_for(f"https://127.0.0.1:{server.port}"))
    finally:
        server.close()

    assert isinstance(result.error, TransientProviderError), result.error


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_http_statuses_are_transient(sandbox: Sandbox, status: int) -> None:
    sandbox.inject(faults.status(status))

    result = send_error(backend_for(sandbox.url))

    assert isinstance(result.error, TransientProviderError)
    assert result.error.status_code == status
    assert result.error.retry_after is None
    assert len(sandbox.messages) == 0


def test_429_retry_after_seconds(sandbox: Sandbox) -> None:
    sandbox.inject(faults.status(429, retry_after=2))

    result = send_error(backend_for(sandbox.url))

    assert isinstance(result.error, TransientProviderError)
    assert result.error.retry_after == 2.0
    assert "retry after 2 s" in str(result.error)
    assert "(HTTP 429)" in str(result.error)


def test_503_retry_after_http_date(sandbox: Sandbox) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    sandbox.inject(faults.status(503, retry_after=when))

    result = send_error(backend_for(sandbox.url))

    assert isinstance(result.error, TransientProviderError)
    assert result.error.retry_after is not None
    assert 60 < result.error.retry_after <= 120


def test_provider_module_can_make_500_permanent(sandbox: Sandbox) -> None:
    class Strict500(AcmeBackend):
        transient_status_codes = AcmeBackend.transient_status_codes - {500}

    sandbox.inject(faults.status(500))

    result = send_error(Strict500(alias="acme", token=TOKEN, base_url=sandbox.url))

    assert isinstance(result.error, PermanentProviderError)


def test_provider_error_details_can_declare_transient(sandbox: Sandbox) -> None:
    class BadNumberMeansLater(AcmeBackend):
        def parse_error(self, response: requests.Response) -> ErrorDetails:
            details = super().parse_error(response)
            details.transient = details.code == "BAD_NUMBER"
            return details

    result = send_error(BadNumberMeansLater(alias="acme", token=TOKEN, base_url=sandbox.url),
                        sms(to="0612345678"))

    assert isinstance(result.error, TransientProviderError)
    assert result.error.code == "BAD_NUMBER"


# -- failures after the request was written: ambiguous ---------------------------------------
def test_read_timeout_after_sending_is_ambiguous(sandbox: Sandbox) -> None:
    sandbox.inject(faults.hang(3, accept=True))
    backend = backend_for(sandbox.url, read_timeout=0.3)

    result = send_error(backend)

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert "no answer within 0.3 s" in str(result.error)
    # It really was ambiguous: the provider did accept the message.
    assert len(sandbox.messages) == 1


def test_read_timeout_on_a_safe_request_is_transient(sandbox: Sandbox) -> None:
    backend = backend_for(sandbox.url, read_timeout=0.3)
    backend.send_messages([sms()])
    sandbox.inject(faults.hang(3), path="/acme/status/*")

    with pytest.raises(TransientProviderError):
        backend.fetch("acme-1")


@pytest.mark.parametrize("accept", [False, True])
def test_connection_reset_after_sending_is_ambiguous(sandbox: Sandbox, accept: bool) -> None:
    sandbox.inject(faults.reset(accept=accept))

    result = send_error(backend_for(sandbox.url))

    assert isinstance(result.error, AmbiguousProviderError)
    assert "after the request was sent" in str(result.error)
    assert len(sandbox.messages) == (1 if accept else 0)
    assert sandbox.requests[-1].status is None


def test_connection_closed_without_answer_is_ambiguous() -> None:
    def read_then_close(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.close()

    server = _RawServer(read_then_close)
    try:
        result = send_error(backend_for(f"http://127.0.0.1:{server.port}"))
    finally:
        server.close()

    assert isinstance(result.error, AmbiguousProviderError)
    assert "RemoteDisconnected" in str(result.error)


def test_malformed_json_success_is_ambiguous(sandbox: Sandbox) -> None:
    sandbox.inject(faults.malformed_json())

    result = send_error(backend_for(sandbox.url))

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.error.status_code == 200
    assert "could not be understood" in str(result.error)
    assert result.error.response_body  # what the provider said is kept
    assert len(sandbox.messages) == 1


# -- permanent -------------------------------------------------------------------------------
def test_4xx_is_permanent_with_the_providers_code_and_text(sandbox: Sandbox) -> None:
    result = send_error(backend_for(sandbox.url), sms(to="0612345678"))

    assert isinstance(result.error, PermanentProviderError)
    assert result.status == Status.FAILED
    assert result.error.status_code == 400
    assert (result.error.code, result.error.text) == ("BAD_NUMBER", "'to' must start with +")
    text = str(result.error)
    assert text.startswith("[acme] POST http://127.0.0.1:")
    assert "(HTTP 400) provider said: BAD_NUMBER 'to' must start with +" in text


def test_auth_rejection_is_permanent(sandbox: Sandbox) -> None:
    result = send_error(AcmeBackend(alias="acme", token="wrong", base_url=sandbox.url))

    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.status_code, result.error.code) == (401, "AUTH")


def test_redirects_are_not_followed(sandbox: Sandbox) -> None:
    result = send_error(backend_for(sandbox.url, path="/acme/moved"))

    assert isinstance(result.error, PermanentProviderError)
    assert "redirected to https://elsewhere.example/acme/send" in str(result.error)
    assert "base_url" in str(result.error)
    assert len(sandbox.requests) == 1


# -- debug logging ----------------------------------------------------------------------------
def test_debug_logs_mask_secrets(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    backend = backend_for(sandbox.url, debug=True)
    caplog.set_level(logging.DEBUG, logger="django_sms.http")

    backend.send_messages([sms()])
    backend.request(HttpRequest("GET", "/acme/status/acme-1", params={"api_secret": "s3cr3t!!",
                                                                      "token": TOKEN},
                                headers={"Authorization": f"Bearer {TOKEN}"}))
    backend.request(HttpRequest("POST", "/acme/nothing", form={"api_key": "key-1234",
                                                               "text": "hi"},
                                headers={"X-Ovh-Signature": "$1$abcdef"}), check=False)
    backend.request(HttpRequest("POST", "/acme/nothing", json={"password": "hunter22"},
                                headers={"Authorization": f"Bearer {TOKEN}"}), check=False)

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "django_sms.http")
    assert "-> POST http://127.0.0.1" in logged
    assert "<- HTTP 200" in logged
    assert '"to":"+33612345678"' in logged.replace(" ", "")
    for secret in (TOKEN, "s3cr3t!!", "key-1234", "$1$abcdef", "hunter22"):
        assert secret not in logged
    assert "'Authorization': 'Bearer ***'" in logged
    assert "'X-Ovh-Signature': '***'" in logged
    assert "api_secret=***" in logged
    assert "api_key=***" in logged


def test_no_request_logs_without_debug(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="django_sms.http")

    backend_for(sandbox.url).send_messages([sms()])

    assert not [r for r in caplog.records if r.name == "django_sms.http"]


def test_secrets_are_scrubbed_from_error_messages(sandbox: Sandbox) -> None:
    backend = backend_for(sandbox.url)

    with pytest.raises(PermanentProviderError) as caught:
        backend.request(HttpRequest("GET", f"/acme/{TOKEN}",
                                    headers={"Authorization": f"Bearer {TOKEN}"}))

    assert caught.value.code == "NO_ROUTE"
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caught.value.response_body
    assert "GET http://127.0.0.1" in str(caught.value)
    assert "/acme/***" in str(caught.value)


# -- connections -----------------------------------------------------------------------------
def test_keep_alive_200_sends_through_one_alias_use_one_connection(settings: Any) -> None:
    from django_sms.backends.handler import sms_backends

    with Sandbox() as sandbox:
        settings.SMS_BACKENDS = {
            "mj": {"BACKEND": "django_sms.backends.mailjet.SmsBackend",
                   "OPTIONS": {"token": sandbox.credentials.mailjet_token,
                               "base_url": sandbox.url}},
        }
        try:
            for i in range(200):
                (result,) = sms_backends["mj"].send_messages([sms(text=f"Code {i}")])
                assert result.error is None, result.error
        finally:
            sms_backends.close_all()

        assert len(sandbox.messages) == 200
        assert sandbox.connection_count == 1
        assert {r.connection_id for r in sandbox.requests} == {1}


def test_server_closed_idle_connection_is_replaced_not_an_error() -> None:
    """urllib3 sees a connection the server closed while idle and opens a new one."""
    with Sandbox(providers=[AcmeHandler], keepalive_timeout=0.2) as sandbox:
        backend = backend_for(sandbox.url)
        assert backend.send_messages([sms()])[0].error is None
        deadline = time.monotonic() + 10
        while sandbox.open_connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sandbox.open_connections == 0

        (result,) = backend.send_messages([sms()])

        assert result.error is None
        assert sandbox.connection_count == 2


def test_session_lifecycle(sandbox: Sandbox) -> None:
    backend = backend_for(sandbox.url, pool_size=3)
    assert backend.session is None

    assert backend.open() is True
    assert backend.open() is False
    adapter = backend.session.get_adapter("http://127.0.0.1")  # type: ignore[union-attr]
    assert adapter._pool_maxsize == 3  # type: ignore[attr-defined]
    assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
    backend.send_messages([sms()])
    backend.close()
    assert backend.session is None

    with backend:
        backend.send_messages([sms()])
    assert sandbox.connection_count == 2


def test_pool_size_defaults_to_bulk_concurrency(settings: Any) -> None:
    settings.DJANGO_SMS = {"BULK_CONCURRENCY": 13}
    assert AcmeBackend(token=TOKEN, base_url="http://127.0.0.1").pool_size == 13


# -- TLS verification -------------------------------------------------------------------------
@pytest.fixture
def https_sandbox(tmp_path: Any) -> Iterator[tuple[Sandbox, str]]:
    cert, key = make_self_signed_certificate(tmp_path)
    with Sandbox(providers=[AcmeHandler], ssl_context=server_context(cert, key)) as sandbox:
        yield sandbox, str(cert)


def test_verify_option_is_passed_per_request_and_beats_the_environment(
    https_sandbox: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, cert = https_sandbox
    # A system CA bundle in the environment would override a Session.verify attribute.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())

    (result,) = backend_for(sandbox.url, verify=cert).send_messages([sms()])

    assert sandbox.url.startswith("https://")
    assert result.error is None, result.error


def test_untrusted_certificate_is_transient_and_nothing_is_sent(
    https_sandbox: tuple[Sandbox, str],
) -> None:
    sandbox, _ = https_sandbox

    result = send_error(backend_for(sandbox.url))

    assert isinstance(result.error, TransientProviderError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(result.error)
    assert sandbox.requests == []


def test_ssl_verification_can_be_disabled(https_sandbox: tuple[Sandbox, str]) -> None:
    sandbox, _ = https_sandbox
    with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
        (result,) = backend_for(sandbox.url, verify=False).send_messages([sms()])
    assert result.error is None


# -- configuration ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (5.0, 30.0)),
        ({"timeout": 10}, (10.0, 10.0)),
        ({"timeout": (2, 7.5)}, (2.0, 7.5)),
        ({"timeout": [2, 7]}, (2.0, 7.0)),
        ({"timeout": 10, "read_timeout": 3}, (10.0, 3.0)),
        ({"connect_timeout": 1}, (1.0, 30.0)),
    ],
)
def test_timeouts(options: dict[str, Any], expected: tuple[float, float]) -> None:
    assert AcmeBackend(token=TOKEN, **options).timeout == expected


@pytest.mark.parametrize(
    ("options", "error_id", "fragment"),
    [
        ({"timeout": -1}, "django_sms.E020", "'timeout' must be a positive number"),
        ({"timeout": (1, 2, 3)}, "django_sms.E020", "(connect, read) pair"),
        ({"read_timeout": "30"}, "django_sms.E020", "'read_timeout' must be a positive"),
        ({"pool_size": 0}, "django_sms.E020", "'pool_size' must be a positive integer"),
        ({"base_url": "api.example.com"}, "django_sms.E021", "not an http(s) URL"),
        ({"base_url": ""}, "django_sms.E021", "has no base URL"),
        ({"base_url": "https://api.example.com/?x=1"}, "django_sms.E021", "query string"),
        ({"base_url": "http://api.example.com"}, "django_sms.W021", "clear text"),
        ({"bogus": 1}, "django_sms.W010", "unknown OPTION 'bogus'"),
    ],
)
def test_check_reports_bad_options(options: dict[str, Any], error_id: str, fragment: str) -> None:
    options = {"token": TOKEN, "base_url": "https://api.example.com", **options}
    messages = list(AcmeBackend(alias="acme", **options).check())

    assert [m.id for m in messages] == [error_id]
    assert fragment in messages[0].msg


def test_check_accepts_good_options() -> None:
    backend = AcmeBackend(alias="acme", token=TOKEN, base_url="http://127.0.0.1:8025",
                          timeout=(3, 10), pool_size=4, debug=True, verify="/etc/ssl/ca.pem")
    assert list(backend.check()) == []


def test_bad_timeout_fails_the_send_with_a_clear_error(sandbox: Sandbox) -> None:
    from django_sms.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="'timeout' must be a positive number"):
        backend_for(sandbox.url, timeout=0).send_messages([sms()])


def test_parse_retry_after() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("later") is None
    assert parse_retry_after("") is None


def test_default_parse_error_shapes() -> None:
    def response(body: bytes, status: int = 400) -> requests.Response:
        r = requests.Response()
        r.status_code, r._content = status, body
        return r

    backend = AcmeBackend(token=TOKEN)
    assert backend.parse_error(response(b'{"code": 7, "message": "no"}')) == ErrorDetails("7", "no")
    assert backend.parse_error(response(b'{"error": {"code": "X", "message": "y"}}')) == \
        ErrorDetails("X", "y")
    assert backend.parse_error(response(b'{"error": "quota"}')) == ErrorDetails(text="quota")
    assert backend.parse_error(response(b'{"title": "Bad", "detail": "d"}')) == \
        ErrorDetails(text="d")
    assert backend.parse_error(response(b"<html>502</html>")) == ErrorDetails()


def test_http_request_body_kinds(sandbox: Sandbox) -> None:
    backend = backend_for(sandbox.url)
    backend.request(HttpRequest("POST", "/acme/x", form={"a": "1", "b": "é"}), check=False)
    backend.request(HttpRequest("POST", sandbox.url + "/acme/y", body=b"\x00raw",
                                headers={"Content-Type": "application/octet-stream"}),
                    check=False)
    form, raw = sandbox.requests

    assert form.body == b"a=1&b=%C3%A9"
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (raw.path, raw.body) == ("/acme/y", b"\x00raw")
    with pytest.raises(ValueError, match="only one of json, form and body"):
        backend.request(HttpRequest("POST", "/acme/x", json={}, body=b""))

