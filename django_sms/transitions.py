"""Applying status changes to messages: the one place that writes ``status`` and events.

Everything that changes a message's status — the send pipeline, webhooks, polling, the
admin — goes through :func:`apply_status`, so the rules of ``django_sms.status`` (forward
only, finals are final) are enforced once, every change leaves a :class:`StatusEvent`, and
``status_changed`` fires exactly once per real change, after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from django_sms import wallets
from django_sms.models import AbstractMessage, StatusEvent
from django_sms.signals import status_changed
from django_sms.status import Status, can_transition
from django_sms.transactions import after_commit, atomic_for

logger = logging.getLogger("django_sms")


@dataclass
class Change:
    """One status change of one message, announced by ``status_changed`` after commit.

    ``old`` and ``new`` are always plain ``str`` values of :class:`~django_sms.status.Status`
    (``"queued"``, never ``Status.QUEUED``), whichever code path made the change.
    """

    message: AbstractMessage
    old: str
    new: str
    event: StatusEvent

    def __post_init__(self) -> None:
        # str() of a TextChoices member is its plain value.
        self.old, self.new = str(self.old), str(self.new)


def timestamp_fields(new: str, when: Any) -> dict[str, Any]:
    """Fields stamped when a message reaches ``new``."""
    if new in (Status.ACCEPTED, Status.SENT):
        return {"sent_at": when}
    if new == Status.DELIVERED:
        return {"delivered_at": when}
    return {}


def apply_status(
    message: AbstractMessage,
    new: str,
    *,
    event: StatusEvent,
    fields: dict[str, Any] | None = None,
    change_fields: dict[str, Any] | None = None,
    batch: bool = False,
) -> Change | None:
    """Move ``message`` to ``new`` if the rules allow it; always store ``event``.

    ``fields`` are other columns to store together with the change (provider id, cost...);
    they are stored even when the status does not change (a late report can still carry
    the cost). ``change_fields`` describe the new status itself (provider status, error
    code and text): they are stored only with the change, so an answer that turns out to be
    stale never overwrites what the report that moved the message on said. The update is
    conditional on the status read earlier, so two concurrent reports cannot both "win":
    the loser re-reads the row and tries again once.

    The UPDATE, the event's INSERT and the wallet's settlement (``wallets.settle``: capture,
    release, refund, a new segment count) are one transaction on the message's database, and
    ``status_changed`` is sent after it commits. With ``batch=True`` the caller stores the
    event and announces the change itself, inside a transaction of its own (the send
    pipeline writes all events of a batch in one INSERT, then signals in order).
    Returns the :class:`Change`, or None when the status did not change.
    """
    if batch:
        return _apply(message, new, event, fields, change_fields)
    with atomic_for(message):
        change = _apply(message, new, event, fields, change_fields)
        event.save()
    if change is not None:
        schedule_signals([change])
    return change


def _apply(
    message: AbstractMessage,
    new: str,
    event: StatusEvent,
    fields: dict[str, Any] | None,
    change_fields: dict[str, Any] | None,
) -> Change | None:
    model = type(message)
    event.message = message  # type: ignore[assignment]  # the swappable model
    for _attempt in range(2):
        old = message.status
        changes, update = planned_update(
            message, new, event=event, fields=fields, change_fields=change_fields
        )
        event.applied = changes
        if not update:
            return None
        if model._default_manager.filter(pk=message.pk, status=old).update(**update):
            for name, value in update.items():
                setattr(message, name, value)
            recounted = "segments" in update
            if changes or recounted:
                # The wallet follows in the same transaction: a capture, release, refund or
                # new segment count is stored with the change that causes it, or not at all.
                wallets.settle(message, new if changes else message.status, recounted=recounted)
            return Change(message, old, new, event) if changes else None
        message.refresh_from_db(fields=["status"])
    # Lost the race twice: store the report, leave the status to whoever won.
    event.applied = False
    return None


def apply_stored_event(
    message: AbstractMessage,
    new: str,
    event: StatusEvent,
    fields: dict[str, Any],
    change_fields: dict[str, Any] | None = None,
) -> Change | None:
    """:func:`apply_status` for an ``event`` already stored (``batch=True``: the caller
    announces the change), inside the caller's transaction. When a concurrent change means
    the event is not applied as it was stored, its ``applied`` flag is corrected."""
    stored_as = event.applied
    change = apply_status(
        message, new, event=event, fields=fields, change_fields=change_fields, batch=True
    )
    if event.applied != stored_as:
        StatusEvent._default_manager.filter(pk=event.pk).update(applied=event.applied)
    return change


def planned_update(
    message: AbstractMessage,
    new: str,
    *,
    event: StatusEvent,
    fields: dict[str, Any] | None = None,
    change_fields: dict[str, Any] | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Whether ``message`` may move to ``new`` now, and the columns to write for it (see
    :func:`apply_status`; empty when there is nothing to write, else ``updated_at`` too).

    The caller writes them with an UPDATE conditional on ``message.status`` being unchanged.
    """
    changes = can_transition(message.status, new)
    update = dict(fields or {})
    if changes:
        update.update(change_fields or {})
        update["status"] = new
        stamp = event.occurred_at or event.received_at or timezone.now()
        if message.created_at is not None:
            # The provider's clock (often whole seconds) may read earlier than ours: the
            # event keeps its time, the message never claims to be sent before it existed.
            stamp = max(stamp, message.created_at)
        for name, value in timestamp_fields(new, stamp).items():
            if getattr(message, name) is None:
                update[name] = value
    if update:
        update["updated_at"] = timezone.now()
    return changes, update


def schedule_signals(changes: Iterable[Change]) -> None:
    """Send ``status_changed`` for each change once the current transaction commits."""
    changes = list(changes)
    if not changes:
        return

    def send() -> None:
        for change in changes:
            results = status_changed.send_robust(
                sender=type(change.message),
                message=change.message,
                old=change.old,
                new=change.new,
                event=change.event,
            )
            for receiver, result in results:
                if isinstance(result, Exception):
                    logger.error(
                        "status_changed receiver %r failed for message %s",
                        receiver,
                        change.message.pk,
                        exc_info=result,
                    )

    after_commit(changes[0].message, send)
