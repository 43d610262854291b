"""Delivery: the back of the send pipeline (DESIGN §5, steps 5-6).

A message reaches this module stored and ``queued`` (its ``queued`` event written), or stored
already claimed by the thread that delivers it at once (``sending``, its ``queued`` and
``sending`` events written in the same transaction as the row). From there:

1. **claim** — ``queued`` → ``sending``, ``attempts + 1``, and the ``sending`` event of the
   attempt, in one transaction, so two workers never send one message. The opt-out list is
   checked again for the claimed rows: a message whose number opted out while it waited (for
   a worker, for a retry) ends ``canceled``, its hold released, and is never sent;
2. **pre_send** receivers run (``SendCanceled`` ends the message ``canceled``);
3. **call the backend**, moving on to the ``FAILOVER`` aliases after a transient error
   (no database access: this runs in any thread);
4. **record the answer** — the message's UPDATE and the events of the attempt (failover hops,
   the outcome) in one transaction; the wallet hold is captured, adjusted or released;
5. **retry decision** — a transient failure puts the message back to ``queued`` with a due
   time (``next_attempt_at``) until ``MAX_ATTEMPTS``.

Because the claim and its events are committed before the provider is called, a process that
dies at any point leaves a message whose events say how far it got: ``queued`` (never
claimed), ``sending`` with a ``sending`` event (claimed; the provider may or may not have it:
the sweeper marks it ``unknown`` after ``SENDING_LEASE``), or its answer.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from django_sms import wallets
from django_sms.backends.base import SendResult
from django_sms.backends.handler import sms_backends
from django_sms.claims import claim_for_delivery
from django_sms.conf import sms_settings
from django_sms.events import match_pending_events
from django_sms.exceptions import (
    PermanentProviderError,
    ProviderError,
    SendCanceled,
    TransientProviderError,
)
from django_sms.message import SMS
from django_sms.models import AbstractMessage, EventSource, StatusEvent
from django_sms.optouts import add_refusal_opt_out, opted_out
from django_sms.signals import post_send, pre_send
from django_sms.status import Status
from django_sms.transactions import atomic_for
from django_sms.transitions import Change, apply_status, schedule_signals

# -- 1. claim ---------------------------------------------------------------------------------


def sending_event(row: AbstractMessage) -> StatusEvent:
    """The event of a claimed attempt: ``sending``, with its number and backend."""
    return StatusEvent(  # type: ignore[misc]  # the swappable message model
        message=row,
        status=Status.SENDING,
        source=EventSource.SEND,
        backend_alias=row.backend_alias,
        provider=row.provider,
        attempt=row.attempts,
        received_at=row.claimed_at or timezone.now(),
    )


def store_claims(rows: Sequence[AbstractMessage]) -> list[Change]:
    """INSERT the ``sending`` events of freshly claimed rows (one statement); the caller holds
    the transaction of the claim and announces the returned changes after it."""
    events = [sending_event(row) for row in rows]
    StatusEvent.objects.bulk_create(events)
    pairs = zip(rows, events, strict=True)
    return [Change(row, Status.QUEUED, Status.SENDING, event) for row, event in pairs]


def claim(row: AbstractMessage) -> bool:
    """Claim one queued message: ``queued`` → ``sending``, ``attempts + 1``, its ``sending``
    event — a conditional UPDATE and an INSERT in one transaction. Two workers never both
    win. Returns whether this one did."""
    now = timezone.now()
    model = type(row)
    with atomic_for(model):
        won = model._default_manager.filter(pk=row.pk, status=Status.QUEUED).update(
            status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now
        )
        if won:
            row.status = Status.SENDING
            row.attempts += 1
            row.claimed_at = now
            changes = store_claims([row])
    if not won:
        return False
    schedule_signals(changes)
    return bool(cancel_opted_out([row]))


def claim_batch(queryset: QuerySet[AbstractMessage], limit: int) -> list[AbstractMessage]:
    """Claim up to ``limit`` rows of ``queryset`` (which includes ``status="queued"``) and
    store their ``sending`` events, in one transaction. Returns the claimed rows."""
    with atomic_for(queryset.model):
        rows = claim_for_delivery(queryset, limit)
        changes = store_claims(rows) if rows else []
    schedule_signals(changes)
    return cancel_opted_out(rows)


def cancel_opted_out(rows: list[AbstractMessage]) -> list[AbstractMessage]:
    """Cancel the claimed rows whose number opted out since they were stored; return the
    others. One query; a canceled row's hold is released and its event says why."""
    blocked = opted_out((row.to, row.sender) for row in rows) if rows else {}
    if not blocked:
        return rows
    keep: list[AbstractMessage] = []
    canceled: dict[str, PreSent] = {}
    for row in rows:
        scope = blocked.get((row.to, row.sender))
        if scope is None:
            keep.append(row)
            continue
        whom = f"sender {scope!r}" if scope else "every sender"
        result = SendResult(
            status=Status.CANCELED,
            provider_status="opted-out",
            provider_status_text=f"Not sent: {row.to} opted out of messages from {whom} "
            "while this message waited to be delivered.",
        )
        canceled.setdefault(row.backend_alias, PreSent([], [], [])).canceled.append((row, result))
    for alias, ready in canceled.items():
        record_delivery(alias, ready, [])
    return keep


# -- 2.-4. pre_send, the provider call, the answer ----------------------------------------------


@dataclass
class Attempt:
    """One provider call for one message. Failover makes several in one delivery."""

    number: int
    alias: str
    provider: str
    result: SendResult
    started_at: datetime
    finished_at: datetime


@dataclass
class PreSent:
    """Claimed rows after ``pre_send``: what goes to the provider, and what was canceled."""

    rows: list[AbstractMessage]
    values: list[SMS]
    canceled: list[tuple[AbstractMessage, SendResult]]


def deliver_claimed(rows: list[AbstractMessage], *, fail_silently: bool) -> None:
    """Send rows that this thread has claimed (status ``sending``, their ``sending`` event
    stored) and record the results. Unless ``fail_silently``, the first
    :class:`~django_sms.exceptions.PermanentProviderError` is raised once all are stored."""
    by_alias: dict[str, list[AbstractMessage]] = {}
    for row in rows:
        by_alias.setdefault(row.backend_alias, []).append(row)
    error: ProviderError | None = None
    for alias, group in by_alias.items():
        ready = run_pre_send(group)
        tries = send_with_failover(alias, ready.rows, ready.values) if ready.rows else []
        error = record_delivery(alias, ready, tries) or error
    if error is not None and not fail_silently:
        raise error


def run_pre_send(rows: list[AbstractMessage]) -> PreSent:
    """Call ``pre_send`` receivers; a receiver raising ``SendCanceled`` cancels its row."""
    ready = PreSent([], [], [])
    for row in rows:
        sms = SMS.from_message(row)
        try:
            pre_send.send(sender=type(row), message=row, sms=sms)
        except SendCanceled as exc:
            ready.canceled.append(
                (row, SendResult(status=Status.CANCELED, provider_status_text=str(exc)))
            )
            continue
        ready.rows.append(row)
        ready.values.append(sms)
    return ready


def failover_chain(alias: str) -> list[str]:
    """``alias`` followed by its ``FAILOVER`` aliases, each once."""
    chain = [alias]
    for other in (sms_settings.FAILOVER or {}).get(alias, ()):
        if other not in chain:
            chain.append(other)
    return chain


def send_with_failover(
    alias: str, rows: Sequence[AbstractMessage], values: Sequence[SMS]
) -> list[list[Attempt]]:
    """Call the provider for claimed rows; return every attempt made for each row.

    A row whose attempt failed with a *transient* error (nothing can have been sent) moves
    at once to the next alias of ``FAILOVER[alias]``, while it has attempts left
    (``MAX_ATTEMPTS`` counts every provider call). An ambiguous or permanent failure never
    moves. No database access happens here, so this runs in any thread: ``sms_backends``
    gives each thread its own backend instance (its own HTTP session).
    """
    tries: list[list[Attempt]] = [[] for _ in rows]
    pending = list(range(len(rows)))
    chain = failover_chain(alias)
    for position, current in enumerate(chain):
        backend = sms_backends[current]
        started = timezone.now()
        results = backend.send_messages([values[i] for i in pending])
        finished = timezone.now()
        moving = []
        for i, result in zip(pending, results, strict=True):
            number = rows[i].attempts + len(tries[i])
            tries[i].append(
                Attempt(number, current, backend.provider_name, result, started, finished)
            )
            transient = isinstance(result.error, TransientProviderError)
            if transient and position + 1 < len(chain) and number < sms_settings.MAX_ATTEMPTS:
                moving.append(i)
        pending = moving
        if not pending:
            break
    return tries


def record_delivery(
    alias: str, ready: PreSent, tries: list[list[Attempt]]
) -> PermanentProviderError | None:
    """Store the attempts and outcomes of one delivered group; return its first refusal.

    The claims and their ``sending`` events were stored before the provider was called.
    Here, in one transaction: each row's answer (one conditional UPDATE) and every event of
    the group (one INSERT: failover hops, then the outcome of the last attempt).
    """
    provider = sms_backends[alias].provider_name
    events: list[StatusEvent] = []
    error: PermanentProviderError | None = None
    outcomes: list[tuple[AbstractMessage, SendResult]] = []
    answers: list[Answer] = []
    for row, attempts in zip(ready.rows, tries, strict=True):
        for failed, following in itertools.pairwise(attempts):
            events += failover_events(row, failed, following)
        last = attempts[-1]
        answers.append(
            prepare_answer(
                row, last.result, alias=last.alias, provider=last.provider, attempt=last.number
            )
        )
        events.append(answers[-1].event)
        if isinstance(last.result.error, PermanentProviderError):
            error = error or last.result.error
        outcomes.append((row, last.result))
    for row, result in ready.canceled:
        answers.append(
            prepare_answer(row, result, alias=alias, provider=provider, attempt=row.attempts)
        )
        events.append(answers[-1].event)
        outcomes.append((row, result))
    if not answers:
        return None
    # A message's status never changes without the events that explain it. The wallet's
    # ledger entries were written by prepare_answer(), each in a short transaction of its
    # own, so this one holds no wallet lock.
    changes: list[Change] = []
    with atomic_for(answers[0].row):
        for answer in answers:
            change = store_answer(answer)
            if change:
                changes.append(change)
        StatusEvent.objects.bulk_create(events)
    schedule_signals(changes)
    match_early_reports(row for row, result in outcomes if result.error is None)
    for row, result in outcomes:
        if result.error is not None and result.error.opted_out:
            # The provider refused because the recipient opted out (Twilio 21610): the next
            # send_sms() refuses the number before calling anyone.
            add_refusal_opt_out(sms_backends[row.backend_alias or alias], row.to, row.sender,
                                code=result.error.code, text=result.error.text)
        post_send.send(sender=type(row), message=row, result=result)
    return error


def match_early_reports(rows: Iterable[AbstractMessage]) -> None:
    """Apply the delivery reports that reached a webhook before the send answer was stored.

    A report that names a message only by the provider's id (OVH's carry no reference of
    ours) can arrive while the send request is still in flight; the webhook keeps it
    unmatched (``django_sms.events``). The answer has just stored the id: the message can be
    matched now, so the report is applied now rather than at the next sweep. One query for
    the whole group, and none for backends that receive no status webhooks or whose reports
    name our reference (those are matched by it as they arrive).
    """
    by_id: dict[tuple[str, str], AbstractMessage] = {}
    for row in rows:
        backend = sms_backends[row.backend_alias]
        early_reports_possible = (
            backend.supports_status_webhooks and not backend.status_reports_carry_reference
        )
        if row.provider_message_id and early_reports_possible:
            by_id[(row.provider, row.provider_message_id)] = row
    if not by_id:
        return
    condition = Q(pk__in=[])
    for provider, provider_message_id in by_id:
        condition |= Q(provider=provider, provider_message_id=provider_message_id)
    waiting = StatusEvent.objects.filter(condition, message__isnull=True).values_list(
        "provider", "provider_message_id"
    )
    for key in sorted(set(waiting)):
        match_pending_events(by_id[key])


def failover_events(row: AbstractMessage, failed: Attempt, following: Attempt) -> list[StatusEvent]:
    """The events of a failover hop: the failed attempt's error, then the next attempt.

    Both have ``applied=False``: the message stays ``sending`` throughout.
    """
    exc = failed.result.error
    assert exc is not None
    return [
        StatusEvent(  # type: ignore[misc]
            message=row,
            status=Status.SENDING,
            applied=False,
            source=EventSource.SEND,
            backend_alias=failed.alias,
            provider=failed.provider,
            provider_status=exc.code,
            provider_status_text=f"{exc} (transient; failing over to {following.alias!r})",
            error_code=exc.code,
            attempt=failed.number,
            received_at=failed.finished_at,
        ),
        StatusEvent(  # type: ignore[misc]
            message=row,
            status=Status.SENDING,
            applied=False,
            source=EventSource.SEND,
            backend_alias=following.alias,
            provider=following.provider,
            attempt=following.number,
            received_at=following.started_at,
        ),
    ]


@dataclass
class Answer:
    """What the backend answered for one claimed row, ready to be stored (``store_answer``)."""

    row: AbstractMessage
    status: str
    event: StatusEvent
    fields: dict[str, Any]
    status_fields: dict[str, Any]


def prepare_answer(
    row: AbstractMessage,
    result: SendResult,
    *,
    alias: str,
    provider: str,
    attempt: int,
) -> Answer:
    """What to store for one claimed row's answer: its status, event and columns.

    A row paid from a wallet is settled with its status, in the transaction that stores it.

    ``alias``/``provider`` are the backend that made the last attempt (``attempt``): the
    message records them, unless the outcome is a transient failure (its retry starts again
    from the routed alias and its failover list).
    """
    now = timezone.now()
    fields: dict[str, Any] = {"claimed_at": None}
    # What the answer says about the status: stored only if the answer moves the message
    # on. A delivery report that beat the answer (the row is "sending" while the provider
    # already calls back) may have moved it further: its provider status and error stay.
    status_fields: dict[str, Any] = {}
    if attempt != row.attempts:
        fields["attempts"] = attempt
    exc = result.error
    new = result.status
    transient = isinstance(exc, TransientProviderError)
    if not transient:
        if alias != row.backend_alias:
            fields["backend_alias"] = alias
        if provider != row.provider:
            fields["provider"] = provider
    if exc is None:
        fields["provider_message_id"] = result.provider_message_id
        status_fields.update(
            provider_status=result.provider_status,
            next_attempt_at=None,
            error_code="",
            error_message="",
        )
        if result.segments and result.segments != row.segments:
            fields["segments"] = result.segments
        if result.cost is not None:
            fields.update(cost=result.cost, cost_currency=result.cost_currency)
    else:
        status_fields.update(error_code=exc.code, error_message=str(exc)[:2000])
        if transient:
            new, status_fields["next_attempt_at"] = retry_decision(attempt, exc, now)
            if new == Status.FAILED:
                status_fields["error_message"] = f"{exc} (gave up after {attempt} attempts)"[:2000]
    if row.wallet_id is not None:
        # A plain capture rides on the answer's UPDATE (no query); any other settlement is
        # done by transitions in the answer's transaction. Like the status fields, it is
        # stored only if the answer moves the message on.
        segments = fields.get("segments", row.segments)
        status_fields.update(wallets.capture_fields(row, new, segments))
    event = StatusEvent(
        status=new,
        source=EventSource.SEND,
        backend_alias=alias,
        provider=provider,
        provider_message_id=result.provider_message_id,
        provider_status=result.provider_status or (exc.code if exc else ""),
        provider_status_text=result.provider_status_text or (str(exc) if exc else ""),
        error_code=exc.code if exc else "",
        attempt=attempt,
        occurred_at=result.occurred_at,
        received_at=now,
        raw=result.raw if isinstance(result.raw, (dict, list)) else None,
    )
    return Answer(row, new, event, fields, status_fields)


def store_answer(answer: Answer) -> Change | None:
    """Store one answer with a conditional UPDATE (``apply_status``); the caller stores its
    event and announces the change."""
    return apply_status(
        answer.row,
        answer.status,
        event=answer.event,
        fields=answer.fields,
        change_fields=answer.status_fields,
        batch=True,
    )


def retry_decision(attempts: int, exc: ProviderError, now: datetime) -> tuple[str, Any]:
    """After a transient failure: back to the queue with a due time, or failed for good."""
    if attempts >= sms_settings.MAX_ATTEMPTS:
        return Status.FAILED, None
    return Status.QUEUED, now + timedelta(seconds=backoff_seconds(attempts, exc.retry_after))


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter, never sooner than the provider's Retry-After.

    The ceiling is ``RETRY_BACKOFF * 2 ** (attempts - 1)`` capped at ``RETRY_BACKOFF_MAX``;
    the delay is drawn in its upper half ("equal jitter"), so retries of a burst of failures
    spread out without ever coming back almost at once. A ``Retry-After`` longer than that
    wins, even beyond ``RETRY_BACKOFF_MAX``: the provider said when it will take the call.
    """
    base = float(sms_settings.RETRY_BACKOFF)
    exponent = min(max(attempts - 1, 0), 32)  # 2**32 * base is past any sane maximum
    ceiling = min(float(sms_settings.RETRY_BACKOFF_MAX), base * (2**exponent))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, float(retry_after or 0))
