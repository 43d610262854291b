"""The provider sandbox: a real threaded HTTP/1.1 server on 127.0.0.1 speaking the providers'
wire formats, with a request log, a message store, fault injection and delivery reports.

Standard library only (``http.server.ThreadingHTTPServer``), keep-alive included, so clients
are exercised with real sockets: connection reuse, timeouts, resets.

::

    from django_sms.testing.sandbox import Sandbox, faults

    with Sandbox() as sandbox:
        backend = SmsBackend(token=sandbox.credentials.mailjet_token, base_url=sandbox.url)
        sandbox.inject(faults.status(503))
        ...
        assert sandbox.requests[-1].json == {"From": ..., "To": ..., "Text": ...}
        assert sandbox.connection_count == 1
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from django_sms.testing.sandbox import faults as fault_kinds
from django_sms.testing.sandbox.callbacks import CallbackAttempt, CallbackScheduler
from django_sms.testing.sandbox.credentials import SandboxCredentials
from django_sms.testing.sandbox.faults import Fault
from django_sms.testing.sandbox.messages import MessageStore, Outcome
from django_sms.testing.sandbox.providers import handler_classes
from django_sms.testing.sandbox.providers.base import (
    Headers,
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

MAX_BODY = 2 * 1024 * 1024

logger = logging.getLogger("django_sms.sandbox")


@dataclass
class RecordedRequest:
    """One request the sandbox received, and what it did about it."""

    method: str
    path: str
    query_string: str
    headers: Headers
    body: bytes
    provider: str
    connection_id: int
    timestamp: float = field(default_factory=time.time)
    #: The HTTP status answered; None when the connection was reset or closed unanswered.
    status: int | None = None
    response_body: bytes = b""
    #: The injected fault applied to this request, as text ("" for none).
    fault: str = ""

    @property
    def query(self) -> dict[str, str]:
        return SandboxRequest("", "", self.query_string, self.headers, b"").query

    @property
    def json(self) -> Any:
        """The body parsed as JSON; None when empty or not JSON."""
        return SandboxRequest("", "", "", self.headers, self.body).json


@dataclass
class _FaultRule:
    fault: Fault
    provider: str | None
    path: str | None
    remaining: int

    def matches(self, provider: str, path: str) -> bool:
        return (self.provider is None or self.provider == provider) and (
            self.path is None or fnmatch.fnmatchcase(path, self.path)
        )


class Sandbox:
    """A local fake of the SMS providers. See docs/sandbox.rst.

    ``latency_ms`` delays every answer; ``fail_rate`` (0..1) makes that fraction of provider
    requests fail with a fault drawn from ``random_faults`` (default: failures before
    processing, safe to retry) using a ``random.Random(seed)``; ``outcome`` is what happens to
    accepted messages unless :meth:`set_outcome` says otherwise for a number;
    ``callback_urls`` maps a provider name to the URL its delivery reports go to;
    ``keepalive_timeout`` closes connections idle that long (seconds); ``callback_retries`` /
    ``callback_retry_delay`` retry callbacks that did not get a 2xx; ``ssl_context`` (a
    server-side ``ssl.SSLContext``) serves HTTPS, for clients that hard-code ``https://``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: float = 0,
        fail_rate: float = 0.0,
        seed: int | None = None,
        credentials: SandboxCredentials | None = None,
        outcome: Outcome | None = None,
        callback_urls: dict[str, str] | None = None,
        providers: Iterable[type[ProviderHandler]] | None = None,
        random_faults: Iterable[Fault] | None = None,
        keepalive_timeout: float = 30.0,
        callback_retries: int = 0,
        callback_retry_delay: float = 1.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, not {fail_rate!r}.")
        self.host = host
        self.requested_port = port
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.seed = seed
        self.credentials = credentials or SandboxCredentials()
        self.default_outcome = outcome or Outcome()
        self.callback_urls: dict[str, str] = dict(callback_urls or {})
        self.random_faults = tuple(random_faults or fault_kinds.DEFAULT_RANDOM_FAULTS)
        self.keepalive_timeout = keepalive_timeout
        #: Serve HTTPS with this server-side context (see ``sandbox.tls``); None: plain HTTP.
        self.ssl_context = ssl_context
        #: Called with each :class:`RecordedRequest` once answered (the command logs them).
        self.on_request: Callable[[RecordedRequest], None] | None = None
        #: Called with each :class:`CallbackAttempt`.
        self.on_callback: Callable[[CallbackAttempt], None] | None = None

        self.messages = MessageStore()
        self.callbacks = CallbackScheduler(
            self.messages,
            retries=callback_retries,
            retry_delay=callback_retry_delay,
            on_attempt=self._callback_attempted,
        )
        classes = list(providers) if providers is not None else handler_classes().values()
        self.handlers: dict[str, ProviderHandler] = {cls.name: cls(self) for cls in classes}
        self._routes = sorted(
            ((prefix, handler)
             for handler in self.handlers.values()
             for prefix in handler.prefixes),
            key=lambda route: len(route[0]),
            reverse=True,
        )

        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[_FaultRule] = []
        self._outcomes: dict[tuple[str | None, str], Outcome] = {}
        self._random = random.Random(seed)  # fault injection, not security
        self._connection_count = 0
        self._connection_seq = 0
        self._open: dict[int, tuple[socket.socket, threading.Thread]] = {}
        self._stopping = threading.Event()
        #: Per server thread: ids of the messages accepted by the request being handled,
        #: while a ``reports_first`` fault is collecting them (else unset).
        self._accepting = threading.local()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="sms-sandbox", daemon=True,
        )
        self._thread.start()
        self.callbacks.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection, stop the callback thread."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            open_connections = list(self._open.values())
        for sock, _ in open_connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in open_connections:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.callbacks.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The sandbox is not running: call start() first.")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https`` with ``ssl_context``): the backend's
        ``base_url``."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    # -- observation --------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since start or :meth:`reset`, in order (a snapshot)."""
        with self._lock:
            return list(self._requests)

    @property
    def connection_count(self) -> int:
        """TCP connections accepted since start or :meth:`reset`."""
        with self._lock:
            return self._connection_count

    @property
    def open_connections(self) -> int:
        """TCP connections currently open."""
        with self._lock:
            return len(self._open)

    def handler(self, name: str) -> ProviderHandler:
        """The handler instance of provider ``name`` (to tweak its settings in a test)."""
        try:
            return self.handlers[name]
        except KeyError:
            known = sorted(self.handlers)
            raise KeyError(f"No sandbox provider {name!r}; known: {known}") from None

    def reset(self) -> None:
        """Forget requests, messages, pending faults, outcomes, pending callbacks and the
        connection counter (connections already open stay open and are not counted again)."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._outcomes.clear()
            self._connection_count = 0
        self.messages.clear()
        self.callbacks.clear()
        for handler in self.handlers.values():
            handler.reset()

    # -- configuration --------------------------------------------------------------------------
    def inject(self, fault: Fault | str, *, provider: str | None = None, path: str | None = None,
               count: int = 1) -> None:
        """Apply ``fault`` to the next ``count`` requests for ``provider`` (a name) whose path
        matches ``path`` (exact, or a glob such as ``"/v4/sms/*"``); None matches any."""
        if count < 1:
            raise ValueError("count must be at least 1.")
        if provider is not None and provider not in self.handlers:
            raise ValueError(f"No sandbox provider {provider!r}; known: {sorted(self.handlers)}")
        fault = fault_kinds.coerce(fault)
        if fault.kind == "error":
            targets = [self.handlers[provider]] if provider else list(self.handlers.values())
            if not any(fault.error in handler.named_errors for handler in targets):
                known = {h.name: sorted(h.named_errors) for h in targets}
                raise ValueError(f"No provider error named {fault.error!r}; known: {known}")
        with self._lock:
            self._faults.append(_FaultRule(fault, provider, path, count))

    def set_outcome(self, outcome: Outcome, *, to: str, provider: str | None = None) -> None:
        """What happens to messages sent to ``to`` (exactly as the provider receives the
        number), for one provider or all."""
        with self._lock:
            self._outcomes[(provider, to)] = outcome

    def outcome_for(self, provider: str, to: str) -> Outcome:
        with self._lock:
            return (self._outcomes.get((provider, to)) or self._outcomes.get((None, to))
                    or self.default_outcome)

    def set_callback_url(self, provider: str, url: str) -> None:
        """Send ``provider``'s delivery reports to ``url`` ("" to stop)."""
        self.callback_urls[provider] = url

    # -- serving (called from the server's threads) ---------------------------------------------
    def _connection_opened(self, sock: socket.socket) -> int:
        with self._lock:
            self._connection_count += 1
            self._connection_seq += 1
            self._open[self._connection_seq] = (sock, threading.current_thread())
            return self._connection_seq

    def _connection_wrapped(self, connection_id: int, sock: socket.socket) -> None:
        with self._lock:
            if connection_id in self._open:
                self._open[connection_id] = (sock, self._open[connection_id][1])

    def _connection_closed(self, connection_id: int) -> None:
        with self._lock:
            self._open.pop(connection_id, None)

    def _route(self, path: str) -> ProviderHandler | None:
        for prefix, handler in self._routes:
            if path.startswith(prefix):
                return handler
        return None

    def _message_accepted(self, message_id: str) -> None:
        """A handler accepted ``message_id`` (noted for a ``reports_first`` fault)."""
        ids = getattr(self._accepting, "ids", None)
        if ids is not None:
            ids.append(message_id)

    def _take_fault(self, provider: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._faults:
                if rule.matches(provider, path):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._faults.remove(rule)
                    return rule.fault
            if self.fail_rate and self._random.random() < self.fail_rate:
                return self._random.choice(self.random_faults)
        return None

    def _process(self, request: SandboxRequest) -> _Reply:
        handler = self._route(request.path)
        record = RecordedRequest(
            method=request.method, path=request.path, query_string=request.query_string,
            headers=request.headers, body=request.body,
            provider=handler.name if handler else "", connection_id=request.connection_id,
        )
        with self._lock:
            self._requests.append(record)
        if self.latency_ms:
            self._stopping.wait(self.latency_ms / 1000)
        if handler is None:
            reply = _Reply(SandboxResponse.json_body(404, {
                "error": f"No sandbox provider serves {request.path}",
                "providers": {h.name: list(h.prefixes) for h in self.handlers.values()},
            }))
        else:
            fault = self._take_fault(handler.name, request.path)
            record.fault = str(fault) if fault else ""
            reply = self._apply(handler, request, fault)
        if reply.response is not None:
            record.status = reply.response.status
            record.response_body = reply.response.body
        reply.record = record
        return reply

    def _apply(self, handler: ProviderHandler, request: SandboxRequest,
               fault: Fault | None) -> _Reply:
        if fault is None:
            return _Reply(self._safe_handle(handler, request))
        try:
            return self._apply_fault(handler, request, fault)
        except Exception as exc:  # a handler bug must show up as a 500, not a dead socket
            return _Reply(_handler_error(exc))

    def _apply_fault(self, handler: ProviderHandler, request: SandboxRequest,
                     fault: Fault) -> _Reply:
        kind = fault.kind
        if kind == "latency":
            self._stopping.wait(fault.seconds)
            return _Reply(self._safe_handle(handler, request))
        if kind == "status":
            response = handler.error_response(request, fault.status)
            if fault.retry_after is not None:
                value = fault.retry_after
                response.headers["Retry-After"] = (
                    f"{value:g}" if isinstance(value, int | float) else str(value)
                )
            return _Reply(response)
        if kind == "auth_rejection":
            return _Reply(handler.auth_rejection(request))
        if kind == "error":
            return _Reply(handler.named_error(request, fault.error))
        if kind == "reports_first":
            self._accepting.ids = []
            try:
                response = self._safe_handle(handler, request)
                accepted = self._accepting.ids
            finally:
                self._accepting.ids = None
            if accepted:
                self.callbacks.flush(message_ids=accepted)
            return _Reply(response)
        if kind == "malformed_json":
            response = self._safe_handle(handler, request)
            body = response.body[: max(1, len(response.body) // 2)]
            return _Reply(SandboxResponse(200, body, dict(response.headers)))
        if kind == "reset":
            if fault.accept:
                self._safe_handle(handler, request)
            return _Reply(None, "reset")
        if kind == "hang":
            late = self._safe_handle(handler, request) if fault.accept else None
            return _Reply(late, "hang", delay=fault.seconds)
        raise ValueError(f"Unknown fault kind {kind!r}")

    @staticmethod
    def _safe_handle(handler: ProviderHandler, request: SandboxRequest) -> SandboxResponse:
        try:
            return handler.handle(request)
        except Exception as exc:  # a handler bug must show up as a 500, not a dead socket
            return _handler_error(exc)

    def _answered(self, record: RecordedRequest) -> None:
        if self.on_request is not None:
            try:
                self.on_request(record)
            except Exception:  # a logging hook must never break the server
                logger.exception("SMS sandbox: on_request hook failed")

    def _callback_attempted(self, attempt: CallbackAttempt) -> None:
        if self.on_callback is not None:
            self.on_callback(attempt)


def _handler_error(exc: Exception) -> SandboxResponse:
    logger.warning("SMS sandbox: provider handler failed", exc_info=exc)
    return SandboxResponse.json_body(
        500, {"error": f"sandbox handler error: {type(exc).__name__}: {exc}"}
    )


@dataclass
class _Reply:
    """What the connection handler must do: answer, reset, or hang then maybe answer."""

    response: SandboxResponse | None
    action: str = "respond"
    record: RecordedRequest | None = None
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _ConnectionHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that fails the TLS handshake or vanishes is normal here: no traceback.
        logger.debug("SMS sandbox: connection from %s failed", client_address, exc_info=True)


class _ConnectionHandler(BaseHTTPRequestHandler):
    """One TCP connection; serves requests on it until the client or the idle timeout
    closes it (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "django-sms-sandbox/1.0"
    server: _Server

    def setup(self) -> None:
        sandbox = self.server.sandbox
        # Counted before the TLS handshake: a TCP connection was accepted either way.
        self.connection_id = sandbox._connection_opened(self.request)
        # Answers are written as headers then body: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK would add ~40 ms to every keep-alive exchange.
        with contextlib.suppress(OSError):
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if sandbox.ssl_context is not None:
            # Handshake in this connection's thread, never in the accept loop.
            try:
                self.request.settimeout(sandbox.keepalive_timeout)
                self.request = sandbox.ssl_context.wrap_socket(self.request, server_side=True)
            except OSError:
                sandbox._connection_closed(self.connection_id)
                raise
            sandbox._connection_wrapped(self.connection_id, self.request)
        # StreamRequestHandler.setup() applies ``timeout`` to the socket: the idle limit.
        self.timeout = sandbox.keepalive_timeout  # type: ignore[misc]
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
            # A TLS socket replaced the accepted one, which the server closes: close ours.
            self.request.close()
        except OSError:
            pass
        finally:
            self.server.sandbox._connection_closed(self.connection_id)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the sandbox keeps its own request log (``Sandbox.on_request``)."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        request = SandboxRequest(
            method=self.command, path=parts.path, query_string=parts.query,
            headers=Headers(self.headers.items()), body=body, connection_id=self.connection_id,
        )
        reply = sandbox._process(request)
        if reply.action == "reset":
            self._reset()
        elif reply.action == "hang":
            sandbox._stopping.wait(reply.delay)
            if reply.response is None:
                self.close_connection = True
            else:
                self._write(reply.response)
        else:
            assert reply.response is not None
            self._write(reply.response)
        if reply.record is not None:
            sandbox._answered(reply.record)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413, "Request body too large for the sandbox")
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _write(self, response: SandboxResponse) -> None:
        try:
            self.send_response(response.status)
            headers = {"Content-Type": "application/json", **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. after a hang): nothing to do
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the connection: with SO_LINGER 0, closing sends a RST instead of a FIN.

        The socket object is closed here; the descriptor itself is released (and the RST
        sent) when ``finish()`` closes the stream wrappers, right after this request.
        """
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
