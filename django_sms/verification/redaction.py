"""Keeping codes out of the message history and the logs, with the pipeline's public signals.

- ``pre_send``: the stored message's text has the code masked (``******``); just before the
  backend is called, :func:`put_code_in` unseals the code and writes it into the ``SMS``
  value the backend receives (this runs in the worker in ``ASYNC`` mode, and again on every
  retry). A message whose verification is no longer pending is canceled instead: a stale
  code is never sent, and an admin "resend" of a code message sends nothing.
- While the provider is called, the code is masked in the log records that show request
  bodies (:class:`CodeLogFilter` on the ``django_sms.http`` logger and boto3's).
- ``post_send`` / ``status_changed``: a provider that echoes the text (Mailjet does, in its
  send and status answers) would put the code into the stored events' raw payloads; those
  strings are replaced by the masked text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models.signals import post_save
from django.utils import timezone

import django_sms.verification.codes as codes
from django_sms.exceptions import SendCanceled
from django_sms.models import StatusEvent, Verification, VerificationStatus
from django_sms.signals import post_send, pre_send, status_changed
from django_sms.status import Status

#: Metadata key of the messages that carry a code.
METADATA_KEY = "verification_id"

#: The codes being handed to a provider right now, by verification id, masked in the HTTP
#: layer's log records. Keyed so that a send that ends forgets its own code only: the
#: codes of sends still in flight in other threads stay masked.
_in_flight: dict[str, str] = {}
_in_flight_lock = threading.Lock()
#: The code handed from ``start_verification()`` to a delivery in the same thread (the
#: synchronous path): the receiver then needs no query. Other paths unseal the stored copy.
_handover = threading.local()


@contextmanager
def handing_over(verification_id: Any, code: str) -> Iterator[None]:
    _handover.value = (str(verification_id), code)
    try:
        yield
    finally:
        _handover.value = None


def _verification_id(message: Any) -> str | None:
    value = (getattr(message, "metadata", None) or {}).get(METADATA_KEY)
    return str(value) if value else None


def put_code_in(sender: Any, message: Any, sms: Any, **kwargs: Any) -> None:
    verification_id = _verification_id(message)
    if verification_id is None:
        return
    handed = getattr(_handover, "value", None)
    if handed is not None and handed[0] == verification_id:
        # Delivered by the thread that created the verification, before returning from it:
        # still pending, and nothing else can have been sent for it.
        code = handed[1]
        _handover.value = None
        _handover.delivered = verification_id  # the caller erases the sealed copy
        _send_with(sms, code, verification_id)
        return
    verification = Verification.objects.filter(pk=verification_id).first()
    if (
        verification is None
        or verification.status != VerificationStatus.PENDING
        or not verification.sealed_code
        or verification.expires_at <= timezone.now()
        or verification.message_id not in (None, message.pk)
    ):
        raise SendCanceled("The phone verification of this code is no longer pending.")
    _send_with(sms, codes.unseal(verification.sealed_code, verification.pk), verification_id)


def _send_with(sms: Any, code: str, verification_id: str) -> None:
    sms.text = sms.text.replace(codes.mask(len(code)), code)
    with _in_flight_lock:
        _in_flight[verification_id] = code


def forget_code(sender: Any, message: Any, result: Any = None, **kwargs: Any) -> None:
    verification_id = _verification_id(message)
    if verification_id is None:
        return
    masked = message.text
    if getattr(_handover, "delivered", None) == verification_id:
        _handover.delivered = None
    elif message.status != Status.QUEUED:
        # Sent (or finally refused): no attempt will need the code again, a retry after a
        # transient failure (back to "queued") would.
        Verification.objects.filter(pk=verification_id).update(sealed_code="")
    with _in_flight_lock:
        _in_flight.pop(verification_id, None)
    # Only a provider that echoed the text (its answer holds it) needs its events scrubbed.
    raw = getattr(result, "raw", None)
    if raw is not None and scrub(raw, masked) != raw:
        for event in StatusEvent.objects.filter(message=message, raw__isnull=False):
            _scrub_event(event, masked)


def scrub_stored_event(sender: Any, instance: StatusEvent, created: bool, **kwargs: Any) -> None:
    """Status events stored later (polling answers echo the text too)."""
    if not created or instance.raw is None or instance.message_id is None:
        return
    message = instance.message
    if message is not None and _verification_id(message) is not None:
        _scrub_event(instance, message.text)


def scrub_changed_event(sender: Any, message: Any, event: Any = None, **kwargs: Any) -> None:
    """Status events stored in bulk (no ``post_save``): scrubbed when they change the status."""
    if (
        event is not None
        and getattr(event, "pk", None)
        and event.raw is not None
        and _verification_id(message) is not None
    ):
        _scrub_event(event, message.text)


def _scrub_event(event: StatusEvent, masked: str) -> None:
    cleaned = scrub(event.raw, masked)
    if cleaned != event.raw:
        event.raw = cleaned
        StatusEvent.objects.filter(pk=event.pk).update(raw=cleaned)


def _is_unmasked(value: str, masked: str) -> bool:
    if len(value) != len(masked) or value == masked:
        return False
    return all(
        a == b or (b == codes.MASK_CHARACTER and a.isdigit())
        for a, b in zip(value, masked, strict=True)
    )


def scrub(data: Any, masked: str) -> Any:
    """``data`` (decoded JSON) with every string that is ``masked`` with the code filled in
    replaced by ``masked``."""
    if isinstance(data, dict):
        return {k: scrub(v, masked) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v, masked) for v in data]
    if isinstance(data, str) and _is_unmasked(data, masked):
        return masked
    return data


#: The loggers that write request or response bodies at DEBUG: the app's HTTP layer, and
#: botocore's (the AWS backend sends through boto3, which logs each request's body).
CODE_LOGGERS = ("django_sms.http", "botocore.endpoint", "botocore.parsers")


class CodeLogFilter(logging.Filter):
    """Masks the codes being sent in the log records of :data:`CODE_LOGGERS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _in_flight_lock:
            in_flight = list(_in_flight.values())
        if in_flight:
            text = record.getMessage()
            for code in in_flight:
                text = text.replace(code, codes.mask(len(code)))
            record.msg, record.args = text, ()
        return True


def connect() -> None:
    """Connect the receivers (called once by the app's ``ready()``)."""
    pre_send.connect(put_code_in, dispatch_uid="django_sms.verification.put_code_in")
    post_send.connect(forget_code, dispatch_uid="django_sms.verification.forget_code")
    post_save.connect(
        scrub_stored_event, sender=StatusEvent, dispatch_uid="django_sms.verification.scrub"
    )
    status_changed.connect(
        scrub_changed_event, dispatch_uid="django_sms.verification.scrub_changed"
    )
    for name in CODE_LOGGERS:
        http_logger = logging.getLogger(name)
        if not any(isinstance(f, CodeLogFilter) for f in http_logger.filters):
            http_logger.addFilter(CodeLogFilter())
