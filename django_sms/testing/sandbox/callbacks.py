"""Delivery reports: the sandbox's generic scheduler of status changes and HTTP callbacks.

When a provider handler accepts a message, :meth:`CallbackScheduler.schedule_message` plans
its lifecycle from the message's :class:`~django_sms.testing.sandbox.messages.Outcome`:

1. one store transition per stage (``sent`` after ``outcome.sent_after``, the final status
   after ``outcome.final_after``), so polling endpoints (Mailjet ``GET /v4/sms/{id}``, OVH
   ``/outgoing/{id}``) show progress;
2. the provider's callbacks, built once by the handler's
   ``build_status_callbacks(message, outcome)`` hook: one :class:`CallbackRequest` per report
   the real provider would send, each tagged with the ``stage`` it reports. The scheduler
   times each one with its stage, and applies the generic distortions: ``duplicates`` extra
   copies of the final report, ``out_of_order`` (reports delivered in reverse order).

Callbacks are sent with ``urllib`` from one background thread, one at a time in due order;
each attempt is recorded in :attr:`CallbackScheduler.attempts`. A non-2xx answer or a
connection error is retried ``retries`` times, ``retry_delay`` seconds apart, like providers
do. Tests that must not wait call :meth:`CallbackScheduler.flush` (run everything now, in
order) or :meth:`CallbackScheduler.wait_idle`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

logger = logging.getLogger("django_sms.sandbox")

if TYPE_CHECKING:
    from django_sms.testing.sandbox.messages import MessageStore, Outcome, SandboxMessage
    from django_sms.testing.sandbox.providers.base import ProviderHandler


@dataclass
class CallbackRequest:
    """One HTTP request the sandbox sends to a webhook, as a provider would.

    ``query`` is added to ``url``'s query string; ``body`` is sent as is (set the
    ``Content-Type`` in ``headers``). ``stage`` is the neutral status the report carries
    ("sent", "delivered", ...): the scheduler sends it when the message reaches that stage.
    ``prepare``, if set, is called with the request just before each attempt, for values that
    must be fresh (a signed JWT's ``iat``) and returns the request to send.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)
    stage: str = ""
    message_id: str = ""
    prepare: Callable[[CallbackRequest], CallbackRequest] | None = None

    @property
    def full_url(self) -> str:
        if not self.query:
            return self.url
        parts = urlsplit(self.url)
        query = "&".join(filter(None, [parts.query, urlencode(self.query)]))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass
class CallbackAttempt:
    """One delivery attempt of a :class:`CallbackRequest` and what the receiver answered."""

    request: CallbackRequest
    status_code: int | None
    response_body: bytes = b""
    error: str = ""
    sent_at: float = field(default_factory=time.time)
    attempt: int = 1

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class CallbackScheduler:
    """Runs timed actions (status transitions, HTTP callbacks) on one background thread."""

    def __init__(
        self,
        store: MessageStore,
        *,
        retries: int = 0,
        retry_delay: float = 1.0,
        timeout: float = 5.0,
        on_attempt: Callable[[CallbackAttempt], None] | None = None,
    ) -> None:
        self.store = store
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.on_attempt = on_attempt
        #: (due, sequence, action, message id or "").
        self._heap: list[tuple[float, int, Callable[[], None], str]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._running = 0
        # Actions run one at a time, in due order, whether from the thread or from flush().
        self._run_lock = threading.RLock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._attempts: list[CallbackAttempt] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._stopped.clear()
        self._thread = threading.Thread(target=self._loop, name="sms-sandbox-callbacks",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self._wakeup.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None

    def clear(self) -> None:
        """Forget pending actions and recorded attempts."""
        with self._lock:
            self._heap.clear()
            self._attempts.clear()
            self._wakeup.notify_all()

    # -- planning ------------------------------------------------------------------------------
    def schedule(self, delay: float, action: Callable[[], None], *, message_id: str = "") -> None:
        """Run ``action`` ``delay`` seconds from now; ``message_id`` names the message it
        concerns, for :meth:`flush` ``(message_ids=...)``."""
        with self._lock:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq),
                                        action, message_id))
            self._wakeup.notify_all()

    def schedule_callback(self, callback: CallbackRequest, delay: float = 0.0) -> None:
        """Send ``callback`` after ``delay`` seconds (with retries)."""
        self.schedule(delay, functools.partial(self._deliver, callback, 1),
                      message_id=callback.message_id)

    def schedule_message(self, message: SandboxMessage, outcome: Outcome,
                         handler: ProviderHandler) -> None:
        """Plan ``message``'s status changes and its provider's delivery reports."""
        stages = outcome.stages
        for status, delay in stages:
            self.schedule(delay, functools.partial(self._advance, message.id, status),
                          message_id=message.id)
        callbacks = handler.build_status_callbacks(message, outcome)
        if not callbacks:
            return
        times = dict(stages)
        delays = [times.get(c.stage, stages[-1][1]) for c in callbacks]
        final = callbacks[-1]
        if outcome.out_of_order:
            # Same moments, reversed order: the final report arrives first, "sent" last
            # (reports reversed one by one, for providers with several per stage).
            callbacks, delays = callbacks[::-1], sorted(delays)
        final_delay = delays[0] if outcome.out_of_order else delays[-1]
        for index in range(1, outcome.duplicates + 1):
            callbacks.append(replace(final))
            delays.append(final_delay + 0.01 * index)
        for callback, delay in zip(callbacks, delays, strict=True):
            # The small offset puts each report just after the store transition it reports.
            self.schedule(delay + 0.001, functools.partial(self._deliver, callback, 1),
                          message_id=message.id)

    # -- running -----------------------------------------------------------------------------
    def flush(self, message_ids: Iterable[str] | None = None) -> None:
        """Run every pending action now, in due order (retries included), then return.

        With ``message_ids``, only the actions about those messages (their status changes
        and reports); the others stay scheduled.
        """
        wanted = None if message_ids is None else set(message_ids)
        while True:
            with self._run_lock:
                with self._lock:
                    action = self._pop_first(wanted)
                    if action is None:
                        return
                    self._running += 1
                try:
                    action()
                finally:
                    self._done()

    def _pop_first(self, wanted: set[str] | None) -> Callable[[], None] | None:
        """Remove and return the first pending action (about ``wanted`` messages, if set).
        Called with ``self._lock`` held."""
        if wanted is None:
            return heapq.heappop(self._heap)[2] if self._heap else None
        for entry in sorted(self._heap):
            if entry[3] in wanted:
                self._heap.remove(entry)
                heapq.heapify(self._heap)
                return entry[2]
        return None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._heap or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wakeup.wait(min(remaining, 0.05))
            return True

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._heap)

    @property
    def attempts(self) -> list[CallbackAttempt]:
        """Every callback attempt so far, in order (a snapshot)."""
        with self._lock:
            return list(self._attempts)

    def send_now(self, callback: CallbackRequest) -> CallbackAttempt:
        """Send one callback synchronously (no retry) and return the attempt."""
        return self._send(callback, 1)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                if not self._heap:
                    self._wakeup.wait(0.5)
                    continue
                due = self._heap[0][0]
                now = time.monotonic()
                if due > now:
                    self._wakeup.wait(min(due - now, 0.5))
                    continue
            with self._run_lock:
                with self._lock:
                    if not self._heap or self._heap[0][0] > time.monotonic():
                        continue
                    _, _, action, _ = heapq.heappop(self._heap)
                    self._running += 1
                try:
                    action()
                except Exception:  # a broken action must not kill the thread
                    logger.exception("SMS sandbox: scheduled action failed")
                finally:
                    self._done()

    def _advance(self, message_id: str, status: str) -> None:
        self.store.advance(message_id, status)

    def _done(self) -> None:
        with self._lock:
            self._running -= 1
            self._wakeup.notify_all()

    def _deliver(self, callback: CallbackRequest, attempt: int) -> None:
        result = self._send(callback, attempt)
        if not result.ok and attempt <= self.retries and not self._stopped.is_set():
            self.schedule(self.retry_delay, functools.partial(self._deliver, callback, attempt + 1),
                          message_id=callback.message_id)

    def _send(self, callback: CallbackRequest, attempt: int) -> CallbackAttempt:
        request = callback.prepare(callback) if callback.prepare else callback
        http_request = urllib.request.Request(  # noqa: S310 - URLs are the test's own
            request.full_url,
            data=request.body if request.method.upper() not in ("GET", "HEAD") else None,
            headers=request.headers,
            method=request.method.upper(),
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:  # noqa: S310
                result = CallbackAttempt(request, response.status, response.read(),
                                         attempt=attempt)
        except urllib.error.HTTPError as exc:
            result = CallbackAttempt(request, exc.code, exc.read(), attempt=attempt)
        except (OSError, ValueError) as exc:
            result = CallbackAttempt(request, None, error=f"{type(exc).__name__}: {exc}",
                                     attempt=attempt)
        with self._lock:
            self._attempts.append(result)
        if self.on_attempt is not None:
            self.on_attempt(result)
        return result
