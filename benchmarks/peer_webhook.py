"""The hand-written peer of the app's Vonage status webhook: what a developer writes without
this app, as a Django REST framework view.

It checks what the app checks for a Vonage report — the ``Authorization: Bearer`` HS256 JWT
verified with PyJWT against the signature secret, ``iat`` present and not too old, and
``payload_hash`` equal to the SHA-256 of the body — then finds the message by Vonage's id,
creates the event and updates the message's status with the ORM, on the app's own tables.

What it leaves out, and the app does not: deduplication of a retried report, the status
rules (a late report never moves a message backwards), reports that arrive before the send
answer, inbound messages and opt-outs, the other providers, the ``status_changed`` signal,
the error bodies a provider can act on.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import jwt
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmarks.providers import CREDENTIALS
from django_sms.models import EventSource, Message, StatusEvent
from django_sms.status import Status

#: The signature secret (a project would read it from its settings) and the oldest report
#: accepted, in seconds: the app's own settings in the benchmark (``WEBHOOK_MAX_AGE``).
SIGNATURE_SECRET = CREDENTIALS.vonage_signature_secret
MAX_AGE = 3600

#: Vonage's status names -> ours.
STATUSES = {
    "submitted": Status.SENT,
    "delivered": Status.DELIVERED,
    "rejected": Status.REJECTED,
    "undeliverable": Status.UNDELIVERED,
}


class VonageStatusView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def post(self, request: Request) -> Response:
        body = request.body  # read before request.data parses it: the hash is of these bytes
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, SIGNATURE_SECRET, algorithms=["HS256"],
                options={"require": ["iat", "payload_hash"]},
            )
        except jwt.InvalidTokenError as exc:
            return Response({"detail": f"bad signature: {exc}"}, status=401)
        if not hmac.compare_digest(str(claims["payload_hash"]),
                                   hashlib.sha256(body).hexdigest()):
            return Response({"detail": "payload_hash does not match the body"}, status=401)
        if time.time() - float(claims["iat"]) > MAX_AGE:
            return Response({"detail": "the report is too old"}, status=401)

        data = request.data
        if not isinstance(data, dict):
            return Response({"detail": "expected a JSON object"}, status=400)
        status = STATUSES.get(str(data.get("status")))
        if status is None:
            return Response({"detail": f"unknown status {data.get('status')!r}"}, status=400)
        message = Message.objects.filter(
            provider="vonage", provider_message_id=data.get("message_uuid", "")
        ).first()
        if message is None:
            return Response(status=204)  # not ours: Vonage must not retry it
        now = timezone.now()
        StatusEvent.objects.create(
            message=message,
            status=status,
            source=EventSource.WEBHOOK,
            backend_alias=message.backend_alias,
            provider="vonage",
            provider_message_id=message.provider_message_id,
            provider_status=str(data["status"]),
            received_at=now,
            raw=data,
        )
        message.status = status
        fields = ["status", "updated_at"]
        if status == Status.DELIVERED:
            message.delivered_at = now
            fields.append("delivered_at")
        message.save(update_fields=fields)
        return Response(status=200)
