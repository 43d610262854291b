"""A test-only provider backend with the simplest possible webhook protocol.

It exists to test the generic webhook views and storage without any real provider:

* sending: like locmem, but the message is reported ``accepted`` (a webhook then tells the
  rest), with provider id ``"th-<reference>"``;
* verification: the ``X-Test-Secret`` header, or the secret URL segment, must equal one of
  ``OPTIONS["secrets"]`` (constant-time comparison, several secrets for rotation);
* status payload: a JSON object or form/query fields ``{"id", "ref", "event_id", "status",
  "cost", "currency", "segments", "error", "error_text", "opted_out", "at"}``, or
  ``{"events": [...]}`` for several; ``status`` is one of the provider words in
  ``STATUSES``, anything else is a ``KeyError`` (as a careless real parser would raise);
* inbound payload: ``{"id", "from", "to", "text"}``.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any

from django_sms.backends.base import (
    InboundSMS,
    LocalBackend,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
from django_sms.exceptions import WebhookAuthenticationError, WebhookPayloadError
from django_sms.message import SMS

STATUSES = {
    "submitted": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "failed": "undelivered",
    "rejected": "rejected",
    "expired": "expired",
}


class SmsBackend(LocalBackend):
    provider_name = "testhook"
    supports_status_webhooks = True
    supports_inbound = True
    known_options = ("status", "secrets", "per_sender")

    @property
    def opt_out_per_sender(self) -> bool:
        return bool(self.options.get("per_sender"))

    def send_one(self, sms: SMS) -> SendResult:
        return SendResult(
            status=self.options.get("status", "accepted"),
            provider_message_id=f"th-{sms.reference}",
            segments=sms.segments,
        )

    def deliver_locally(self, sms: SMS) -> None:  # pragma: no cover - send_one overrides
        raise AssertionError

    def webhook_protection(self, kind: str) -> str:
        return "shared secret header" if self.options.get("secrets") else ""

    def verify_webhook(self, request: WebhookRequest, kind: str) -> None:
        if request.headers.get("X-Test-Challenge"):
            error = WebhookAuthenticationError("Custom challenge.")
            error.www_authenticate = request.headers["X-Test-Challenge"]  # type: ignore[attr-defined]
            raise error
        secrets = self.options.get("secrets") or []
        if not secrets:
            raise WebhookAuthenticationError("No webhook secret is configured (fail closed).")
        given = request.headers.get("X-Test-Secret") or request.url_secret
        if not given:
            raise WebhookAuthenticationError("Missing X-Test-Secret header.")
        if not any(hmac.compare_digest(given.encode(), s.encode()) for s in secrets):
            raise WebhookAuthenticationError("Wrong webhook secret.")

    def payload(self, request: WebhookRequest) -> dict[str, Any]:
        data = request.data if request.method == "POST" else request.query
        if not isinstance(data, dict):
            raise WebhookPayloadError("Expected a JSON object or form fields.")
        return data

    def parse_status_webhook(self, request: WebhookRequest) -> list[StatusUpdate]:
        data = self.payload(request)
        items = data.get("events", [data])
        return [self.status_update(item) for item in items]

    def status_update(self, item: dict[str, Any]) -> StatusUpdate:
        cost = item.get("cost")
        return StatusUpdate(
            status=STATUSES[item["status"]],  # KeyError on anything else: the view's 400
            provider_message_id=item.get("id", ""),
            message_ref=item.get("ref", ""),
            dedupe_key=item.get("event_id", ""),
            provider_status=item["status"],
            occurred_at=datetime.fromisoformat(item["at"]) if item.get("at") else None,
            cost=Decimal(cost) if cost is not None else None,
            cost_currency=item.get("currency", ""),
            segments=int(item["segments"]) if item.get("segments") else None,
            error_code=str(item.get("error", "")),
            error_message=item.get("error_text", ""),
            opted_out=bool(item.get("opted_out")),
            raw=item,
        )

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundSMS]:
        data = self.payload(request)
        return [
            InboundSMS(
                provider_message_id=data.get("id", ""),
                from_number=data["from"],
                to_number=data.get("to", ""),
                text=data.get("text", ""),
                raw=data,
            )
        ]
