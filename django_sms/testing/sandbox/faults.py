"""Faults the sandbox can inject, to exercise a client's failure handling over real HTTP.

::

    from django_sms.testing.sandbox import faults
    sandbox.inject(faults.status(429, retry_after=2))           # next request
    sandbox.inject(faults.hang(3, accept=True), path="/v4/sms-send", count=2)
    sandbox.inject(faults.reset(), provider="mailjet")

``accept`` says whether the provider processes the request (stores the message, schedules its
delivery reports) before misbehaving. ``accept=False`` models a failure in front of the
provider (load balancer, network); ``accept=True`` the nasty case of a provider that took the
message and then failed to answer: the client cannot tell them apart, which is exactly why it
must treat both as ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One kind of misbehaviour. Build them with the functions below."""

    kind: str
    status: int = 0
    retry_after: float | str | None = None
    seconds: float = 0.0
    accept: bool = False
    error: str = ""

    def __str__(self) -> str:
        if self.kind == "status":
            return f"status({self.status})"
        if self.kind == "latency":
            return f"latency({self.seconds * 1000:g}ms)"
        if self.kind in ("hang", "reset"):
            return f"{self.kind}(accept={self.accept})"
        if self.kind == "error":
            return f"error({self.error})"
        return self.kind


def latency(ms: float) -> Fault:
    """Answer normally after an extra delay of ``ms`` milliseconds."""
    return Fault("latency", seconds=ms / 1000)


def status(code: int, *, retry_after: float | str | None = None) -> Fault:
    """Answer ``code`` with the provider's own error body for it, without processing the
    request. ``retry_after`` (seconds, or an HTTP-date string) sets ``Retry-After``."""
    return Fault("status", status=code, retry_after=retry_after)


def hang(seconds: float, *, accept: bool = False) -> Fault:
    """Wait ``seconds`` (longer than the client's read timeout), then: with ``accept=False``
    close the connection without answering, nothing stored; with ``accept=True`` the message
    was stored before the wait and the (late) answer is written if the client still listens."""
    return Fault("hang", seconds=seconds, accept=accept)


def reset(*, accept: bool = False) -> Fault:
    """Abort the TCP connection (RST) after reading the request, without any answer.
    ``accept=True`` processes the request (stores the message) first."""
    return Fault("reset", accept=accept)


def malformed_json() -> Fault:
    """Process the request normally (the message is accepted), then answer 200 with the
    provider's body cut in half: invalid JSON."""
    return Fault("malformed_json", accept=True)


def reports_first() -> Fault:
    """Process the request normally, then send the delivery reports of the message(s) it
    accepted — every stage, in order, at once — and only then answer. The provider's
    callbacks beat its own answer: the client receives reports about a message whose
    provider id it has not stored yet (a race real providers win now and then). Reports go
    only where a callback URL is configured; for a provider without delivery reports the
    message's status simply reaches its final value before the answer."""
    return Fault("reports_first", accept=True)


def auth_rejection() -> Fault:
    """Answer with the provider's own authentication error (e.g. Mailjet's 401 mj-0015),
    whatever credentials the request carried."""
    return Fault("auth_rejection")


def error(name: str) -> Fault:
    """A provider-specific refusal by name, e.g. ``error("insufficient_funds")`` for Mailjet's
    ``sms-0001``. Each provider handler documents its names (``named_errors``)."""
    return Fault("error", error=name)


#: What ``fail_rate`` draws from by default: failures that happen before the provider
#: processed anything, so a correct client retries them safely.
DEFAULT_RANDOM_FAULTS: tuple[Fault, ...] = (
    status(500),
    status(503),
    status(429, retry_after=1),
    reset(accept=False),
)

_BY_NAME = {
    "reset": reset,
    "malformed_json": malformed_json,
    "auth_rejection": auth_rejection,
    "reports_first": reports_first,
}


def coerce(fault: Fault | str) -> Fault:
    """Accept a :class:`Fault` or the name of a fault that takes no argument."""
    if isinstance(fault, Fault):
        return fault
    try:
        return _BY_NAME[fault]()
    except KeyError:
        raise ValueError(
            f"Unknown fault {fault!r}: use a django_sms.testing.sandbox.faults function "
            f"or one of {sorted(_BY_NAME)}."
        ) from None
