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

from django.db import transaction
from django.utils import timezone

from django_sms.models import AbstractMessage, StatusEvent
from django_sms.one_statement import Written, insert_events_and_update
from django_sms.signals import status_changed
from django_sms.status import Status, can_transition

logger = logging.getLogger("django_sms")


@dataclass
class Change:
    message: AbstractMessage
    old: str
    new: str
    event: StatusEvent


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
    With ``batch=True`` the caller stores the event and announces the change itself (the
    send pipeline writes all events of a batch in one INSERT, then signals in order).
    Returns the :class:`Change`, or None when the status did not change.
    """
    model = type(message)
    for _attempt in range(2):
        old = message.status
        changes, update = planned_update(
            message, new, event=event, fields=fields, change_fields=change_fields
        )
        event.message = message  # type: ignore[assignment]
        event.applied = changes
        if not update:
            if not batch:
                event.save()
            return None
        rows = model._default_manager.filter(pk=message.pk, status=old).update(**update)
        if rows:
            for name, value in update.items():
                setattr(message, name, value)
            if not batch:
                event.save()
            if changes:
                change = Change(message, old, new, event)
                if not batch:
                    schedule_signals([change])
                return change
            return None
        message.refresh_from_db(fields=["status"])
    # Lost the race twice: store the report, leave the status to whoever won.
    event.applied = False
    if not batch:
        event.save()
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
        StatusEvent.objects.filter(pk=event.pk).update(applied=event.applied)
    return change


@dataclass
class OneStatement:
    """What :func:`apply_status_in_one_statement` wrote: the statement's answer, the status
    change (None when the status did not change), and whether the message moved between the
    read and the write (``raced``: the events are stored, the message was not touched)."""

    written: Written
    change: Change | None
    raced: bool


def apply_status_in_one_statement(
    message: AbstractMessage,
    new: str,
    *,
    event: StatusEvent,
    events: list[StatusEvent],
    fields: dict[str, Any] | None = None,
    change_fields: dict[str, Any] | None = None,
) -> OneStatement | None:
    """:func:`apply_status` with ``batch=True``, and the INSERT of ``events`` (``event``,
    the one that says the new status, among them), in one SQL statement where the database
    allows it (:mod:`django_sms.one_statement`). Returns None, having written nothing,
    where it does not: the caller then uses a transaction.

    The UPDATE is conditional on the status read earlier. When another change got there
    first (``raced``), the events are stored and the message is untouched: the caller
    applies ``event`` again against the message as it now is (:func:`apply_stored_event`).
    The caller announces the change.
    """
    old = message.status
    changes, values = planned_update(
        message, new, event=event, fields=fields, change_fields=change_fields
    )
    event.message = message  # type: ignore[assignment]  # the swappable model
    event.applied = changes
    written = insert_events_and_update(events, message, old, values)
    if written is None:
        return None
    change = None
    if written.changed:
        for name, value in values.items():
            setattr(message, name, value)
        if changes:
            change = Change(message, old, new, event)
    raced = bool(values) and bool(written.event_pks) and not written.changed
    return OneStatement(written, change, raced)


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
        for name, value in timestamp_fields(new, stamp).items():
            if getattr(message, name) is None:
                update[name] = value
    if update:
        update["updated_at"] = timezone.now()
    return changes, update


def in_transaction() -> bool:
    """Whether the caller is inside a transaction of its own.

    Atomic blocks opened by Django's ``TestCase`` don't count (Django applies the same rule
    to ``durable`` blocks): inside a test, a send outside any ``atomic()`` of the code under
    test is delivered at once, exactly as it would be in production.
    """
    connection = transaction.get_connection()
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


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

    if in_transaction():
        transaction.on_commit(send, robust=True)
    else:
        send()
