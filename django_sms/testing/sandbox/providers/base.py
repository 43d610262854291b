"""The contract of a sandbox provider handler: one class per provider wire format.

A handler is instantiated once per :class:`~django_sms.testing.sandbox.Sandbox`; the sandbox
routes to it every request whose path starts with one of its ``prefixes``, from many server
threads at once (keep mutable state behind ``self.lock``). It must:

* check authentication exactly as the provider does and answer with the provider's own error
  bodies (:meth:`ProviderHandler.handle`, :meth:`ProviderHandler.auth_rejection`);
* validate payloads like the provider (required fields, number formats, lengths, sender
  rules) and answer like it;
* store accepted messages with :meth:`ProviderHandler.accept`, which also schedules their
  lifecycle (status changes, delivery reports);
* serve the provider's polling endpoints from the store;
* build the provider's delivery-report callbacks (:meth:`build_status_callbacks`).

Fault injection (``sandbox.inject``) is generic: the server decides when a fault applies and
asks the handler only for the provider-specific bodies (:meth:`error_response`,
:meth:`auth_rejection`, :meth:`named_error`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from django_sms.testing.sandbox.callbacks import CallbackRequest
    from django_sms.testing.sandbox.credentials import SandboxCredentials
    from django_sms.testing.sandbox.messages import Outcome, SandboxMessage
    from django_sms.testing.sandbox.server import Sandbox


class Headers(Mapping[str, str]):
    """Received HTTP headers: case-insensitive lookup, original spelling kept."""

    def __init__(self, items: Any = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


@dataclass
class SandboxRequest:
    """One HTTP request as a provider handler sees it."""

    method: str
    path: str
    query_string: str
    headers: Headers
    body: bytes
    connection_id: int = 0

    @property
    def query(self) -> dict[str, str]:
        """The query string as a dict (the last value wins for repeated names)."""
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    @property
    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body as a dict."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def json(self) -> Any:
        """The body parsed as JSON; None when empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class SandboxResponse:
    """What a handler answers. Build JSON answers with :meth:`json_body`."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json_body(cls, status: int, data: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> SandboxResponse:
        return cls(status, json.dumps(data, default=_json_default).encode(),
                   {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8",
             headers: dict[str, str] | None = None) -> SandboxResponse:
        return cls(status, text.encode(), {"Content-Type": content_type, **(headers or {})})


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class ProviderHandler:
    """Base class of the sandbox's provider handlers (register them with ``@register``)."""

    #: The provider's name, as in ``sandbox.handler("mailjet")`` and the request log.
    name: ClassVar[str] = ""
    #: Path prefixes this handler serves ("/v4/" for Mailjet). Longest prefix wins.
    prefixes: ClassVar[tuple[str, ...]] = ()
    #: Names accepted by ``faults.error(name)``, with a one-line description each.
    named_errors: ClassVar[dict[str, str]] = {}
    #: The backend OPTION to set to ``sandbox.url`` (OVH's backend calls it ``endpoint``);
    #: ``smssandbox`` prints it.
    url_option: ClassVar[str] = "base_url"
    #: Appended to ``sandbox.url`` for that OPTION (AWS's API is served at ``/aws``).
    url_path: ClassVar[str] = ""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.lock = threading.Lock()

    @property
    def credentials(self) -> SandboxCredentials:
        return self.sandbox.credentials

    def reset(self) -> None:
        """Forget per-provider state (called by ``sandbox.reset()``)."""

    # -- the provider's behaviour ----------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request exactly as the provider would."""
        raise NotImplementedError

    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        """The provider's own answer to bad credentials."""
        return SandboxResponse.json_body(401, {"error": "Unauthorized"})

    def error_response(self, request: SandboxRequest, status: int) -> SandboxResponse:
        """The provider's body for an HTTP error status (``faults.status``). The server adds
        ``Retry-After`` itself when the fault has one."""
        return SandboxResponse.json_body(status, {"error": f"HTTP {status}"})

    def named_error(self, request: SandboxRequest, name: str) -> SandboxResponse:
        """The provider-specific refusal ``name`` (``faults.error(name)``)."""
        raise ValueError(
            f"The {self.name} sandbox has no error named {name!r}; known: "
            f"{sorted(self.named_errors)}"
        )

    # -- messages and delivery reports ----------------------------------------------------------
    def accept(self, *, message_id: str, to: str, sender: str, text: str, reference: str = "",
               segments: int = 1, encoding: str = "GSM-7", cost: Decimal | None = None,
               currency: str = "", callback_url: str = "",
               extra: dict[str, Any] | None = None) -> SandboxMessage:
        """Store an accepted message and schedule its lifecycle; return it."""
        from django_sms.testing.sandbox.messages import SandboxMessage

        outcome = self.sandbox.outcome_for(self.name, to)
        message = SandboxMessage(
            id=message_id, provider=self.name, to=to, sender=sender, text=text,
            outcome=outcome, reference=reference, segments=segments, encoding=encoding,
            cost=cost, currency=currency, callback_url=callback_url, extra=extra or {},
        )
        self.sandbox.messages.add(message)
        self.sandbox.callbacks.schedule_message(message, outcome, self)
        self.sandbox._message_accepted(message.id)
        return message

    def callback_url_for(self, message: SandboxMessage) -> str:
        """Where ``message``'s reports go: its own URL, else the sandbox's URL for this
        provider (``Sandbox(callback_urls={"vonage": ...})``), else "" (no reports)."""
        return message.callback_url or self.sandbox.callback_urls.get(self.name, "")

    def build_status_callbacks(self, message: SandboxMessage,
                               outcome: Outcome) -> list[CallbackRequest]:
        """The delivery reports the provider sends for ``message``, in lifecycle order.

        One :class:`CallbackRequest` per report, ``stage`` set to the neutral status it
        reports (see ``outcome.stages``); the scheduler does the timing, duplicates and
        reordering. Return ``[]`` when the provider has no webhooks or no URL is configured.
        """
        return []
