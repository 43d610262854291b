"""The transport under ``HttpBackend``: an ``HTTPAdapter`` that knows whether a request was
written, and helpers that read urllib3's nested exceptions.

Why it matters: after a failure, "nothing was written" (TCP connect or TLS handshake failed,
even on a fresh connection that was reset) is safe to retry, while "the request was written"
(then a reset, a timeout, a truncated answer) may have reached the provider and must not be
resent blindly. urllib3 does not say which; its exceptions look the same (``ProtocolError
('Connection aborted.', ...)``) in both cases. So the pools mounted by :class:`SmsHTTPAdapter`
use connection classes that flag, in a thread-local, the moment ``request()`` starts writing.
``requests`` and urllib3 write on the calling thread, and each backend instance is used by
one thread at a time, so the flag read right after a failure belongs to that request.

Stale keep-alive connections need nothing special here: before reusing a pooled connection
urllib3 checks whether the peer closed it and silently opens a new one; the remaining race
(closed while our request is in flight) is, correctly, "written".
"""

from __future__ import annotations

import re
import threading
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

# threading.local is enough: requests and urllib3 write the request on the calling thread.
_wire = threading.local()


def request_written_state() -> bool | None:
    """True: the request started being written; False: it did not; None: not tracked."""
    return getattr(_wire, "started", None)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _wire.started = True
        super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _wire.started = True
        super().request(*args, **kwargs)


class _TrackedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection

    def urlopen(self, *args: Any, **kwargs: Any) -> Any:
        _wire.started = False
        return super().urlopen(*args, **kwargs)


class _TrackedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection

    def urlopen(self, *args: Any, **kwargs: Any) -> Any:
        _wire.started = False
        return super().urlopen(*args, **kwargs)


class SmsHTTPAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose pools record when a request starts being written.

    Requests through a proxy use urllib3's own pools and stay untracked (state ``None``),
    which the classification treats as "maybe written": the safe side.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPConnectionPool,
            "https": _TrackedHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        _wire.started = None
        return super().send(request, *args, **kwargs)


def is_connect_failure(exc: BaseException) -> bool:
    """Refused, DNS failure, unreachable: urllib3 wraps them in NewConnectionError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        if isinstance(current, urllib3.exceptions.MaxRetryError):
            return isinstance(current.reason, NewConnectionError)
        first = current.args[0] if current.args else None
        nested = first if isinstance(first, BaseException) else None
        current = nested or current.__cause__ or current.__context__
    return False


_ADDRESS = re.compile(r"<urllib3\.[\w.]+ object at 0x[0-9a-f]+>: ?")


def root_cause(exc: BaseException) -> str:
    """The innermost error message, without urllib3's object reprs."""
    current: BaseException = exc
    for _ in range(10):
        nested: BaseException | None = None
        if isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason:
            nested = current.reason
        elif current.args and isinstance(current.args[0], BaseException):
            nested = current.args[0]
        elif len(current.args) > 1 and isinstance(current.args[1], BaseException):
            nested = current.args[1]
        if nested is None:
            break
        current = nested
    text = _ADDRESS.sub("", str(current)) or type(current).__name__
    return f"{type(current).__name__}: {text}" if type(current).__name__ not in text else text
