"""The send pipeline (DESIGN §5): validate → idempotency → persist → dispatch → deliver → record.

``send_sms()``, ``send_mass_sms()``, ``SMS.send()``, the REST API and the admin's resend all
come through :func:`send_messages`. Backends only do I/O; everything stored is written here
(through ``django_sms.transitions`` for status changes).

SQL budget of a synchronous send with no wallet (asserted by the tests): one opt-out lookup,
one INSERT of the row (already claimed, because this thread delivers it right away), one
conditional UPDATE with the provider's answer, one INSERT of all its events — plus, for a
backend that receives status webhooks, one SELECT for reports that beat the answer.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from django_sms import encoding, phone
from django_sms.backends.base import SendResult
from django_sms.backends.handler import DEFAULT_SMS_BACKEND_ALIAS, sms_backends
from django_sms.compiled import CompiledQuery
from django_sms.conf import sms_settings
from django_sms.events import match_pending_events
from django_sms.exceptions import (
    InvalidMessage,
    OptedOut,
    PermanentProviderError,
    ProviderError,
    SendCanceled,
)
from django_sms.message import SMS
from django_sms.models import (
    AbstractMessage,
    EventSource,
    OptOut,
    StatusEvent,
    get_message_model,
)
from django_sms.optouts import add_refusal_opt_out
from django_sms.signals import post_send, pre_send
from django_sms.status import Status
from django_sms.transitions import (
    Change,
    apply_status,
    apply_status_in_one_statement,
    apply_stored_event,
    in_transaction,
    schedule_signals,
)

logger = logging.getLogger("django_sms")


def send_sms(
    text: str,
    to: Any,
    sender: str | None = None,
    *,
    using: str | None = None,
    idempotency_key: str | None = None,
    metadata: dict[str, Any] | None = None,
    fail_silently: bool = False,
) -> AbstractMessage:
    """Send one SMS and return the stored message.

    Invalid input raises an :class:`~django_sms.exceptions.InvalidMessage` subclass (or
    :class:`~django_sms.exceptions.OptedOut`) before anything is stored. When the message is
    delivered right away (synchronous mode, outside a transaction) and the provider refuses
    it, the :class:`~django_sms.exceptions.PermanentProviderError` is raised after the
    failure was stored, unless ``fail_silently``.
    """
    sms = SMS(
        text=text,
        to=to,
        sender=sender,
        idempotency_key=idempotency_key,
        metadata=metadata or {},
    )
    return send_messages([sms], using=using, fail_silently=fail_silently)[0]


def send_mass_sms(
    messages: Iterable[SMS | tuple[Any, ...]],
    *,
    using: str | None = None,
    fail_silently: bool = False,
    wallet: Any = None,
) -> list[AbstractMessage]:
    """Send many messages in one call; return the stored messages in order.

    ``messages`` holds ``SMS`` values or ``(text, to)`` / ``(text, to, sender)`` tuples, like
    ``send_mass_mail``'s datatuple. Every message is validated before any is stored (one bad
    recipient refuses the batch), rows are inserted in bulk and one backend connection per
    thread is reused.
    """
    batch = [m if isinstance(m, SMS) else SMS(*m) for m in messages]
    return send_messages(batch, using=using, fail_silently=fail_silently, wallet=wallet)


# -- 1. validation ----------------------------------------------------------------------------


@dataclass
class Prepared:
    sms: SMS
    alias: str
    country: str


def route(country: str, using: str | None) -> str:
    """The backend alias for a destination: ``using``, else ``ROUTES``, else "default"."""
    if using:
        return using
    routes = sms_settings.ROUTES or {}
    return routes.get(country) or routes.get("*") or DEFAULT_SMS_BACKEND_ALIAS


def prepare(sms: SMS, using: str | None) -> Prepared:
    """Validate and normalise one message in place; raise InvalidMessage when it can't go."""
    if not isinstance(sms.text, str) or not sms.text.strip():
        raise InvalidMessage("The text of an SMS cannot be empty.")
    recipient = phone.parse_recipient(sms.to)
    alias = route(recipient.country, using)
    backend = sms_backends[alias]
    analysis = encoding.analyze(sms.text)
    limit = sms_settings.MAX_SEGMENTS
    if backend.max_segments is not None:
        limit = min(limit, backend.max_segments)
    encoding.check_length(analysis, limit)
    sms.to = recipient.e164
    sms.text = analysis.text
    sms.sender = phone.validate_sender(sms.sender)
    sms.encoding = analysis.encoding
    sms.segments = analysis.segments
    return Prepared(sms, alias, recipient.country)


def _opt_outs_of(model: type[OptOut], number: str) -> QuerySet[OptOut]:
    return model._default_manager.filter(phone_number=number).order_by()


#: The opt-outs of one number: the query of every ``send_sms()``, so it is compiled once
#: (``django_sms.compiled``) rather than built by the ORM for each message.
_OPT_OUTS_OF_ONE = CompiledQuery(_opt_outs_of, {"number": str})


def check_opt_outs(prepared: Sequence[Prepared]) -> None:
    """Refuse numbers on the opt-out list (for every sender, or for this sender)."""
    numbers = {p.sms.to for p in prepared}
    if len(numbers) == 1:
        [number] = numbers
        found = _OPT_OUTS_OF_ONE.run(OptOut, number=number)
        blocked = {(opt_out.phone_number, opt_out.sender) for opt_out in found}
    else:
        blocked = set(
            OptOut.objects.filter(phone_number__in=numbers)
            .order_by()
            .values_list("phone_number", "sender")
        )
    if not blocked:
        return
    for p in prepared:
        for sender in ("", p.sms.sender or ""):
            if (p.sms.to, sender) in blocked:
                raise OptedOut(p.sms.to, sender)


# -- 2.-3. idempotency and persistence --------------------------------------------------------


def send_messages(
    batch: Sequence[SMS],
    *,
    using: str | None = None,
    fail_silently: bool = False,
    wallet: Any = None,
    token: Any = None,
    resent_from: AbstractMessage | None = None,
) -> list[AbstractMessage]:
    """Run the whole pipeline for ``batch``; the entry point of every way of sending."""
    prepared = [prepare(sms, using) for sms in batch]
    check_opt_outs(prepared)

    existing = find_existing(prepared)
    new: list[Prepared] = []
    for p in prepared:
        key = p.sms.idempotency_key
        if key is None or (key not in existing and all(key != q.sms.idempotency_key for q in new)):
            new.append(p)
    deliver_now = not sms_settings.ASYNC and not in_transaction()
    # One message delivered right away is stored already claimed (saving the claim UPDATE);
    # a batch is stored queued and claimed chunk by chunk as the thread pool gets to it.
    claimed = deliver_now and len(new) == 1
    rows = [build_row(p, wallet, token, resent_from, claimed=claimed) for p in new]
    if rows:
        persist(rows, wallet)
        dispatch(rows, deliver_now=deliver_now, fail_silently=fail_silently)

    # One result per input, in order; a repeated idempotency key returns the first message.
    stored = {id(p): row for p, row in zip(new, rows, strict=True)}
    existing.update({p.sms.idempotency_key: stored[id(p)] for p in new if p.sms.idempotency_key})
    return [
        existing[p.sms.idempotency_key] if p.sms.idempotency_key else stored[id(p)]
        for p in prepared
    ]


def find_existing(prepared: Sequence[Prepared]) -> dict[str | None, AbstractMessage]:
    """Messages already stored under the batch's idempotency keys (key -> message)."""
    keys = [p.sms.idempotency_key for p in prepared if p.sms.idempotency_key]
    if not keys:
        return {}
    model = get_message_model()
    return {m.idempotency_key: m for m in model._default_manager.filter(idempotency_key__in=keys)}


def build_row(
    p: Prepared,
    wallet: Any,
    token: Any,
    resent_from: AbstractMessage | None,
    *,
    claimed: bool,
) -> AbstractMessage:
    model = get_message_model()
    sms = p.sms
    metadata = dict(sms.metadata or {})
    if sms.options:
        metadata["_options"] = sms.options
    row = model(
        to=sms.to,
        country=p.country,
        sender=sms.sender or "",
        text=sms.text,
        encoding=sms.encoding,
        segments=sms.segments,
        backend_alias=p.alias,
        provider=sms_backends[p.alias].provider_name,
        idempotency_key=sms.idempotency_key,
        metadata=metadata,
        wallet=wallet,
        token=token,
        resent_from=resent_from,  # type: ignore[misc]
    )
    if claimed:
        # Delivered by this thread right after the INSERT: store it claimed, saving the
        # separate claim UPDATE that a worker needs.
        row.status = Status.SENDING
        row.attempts = 1
        row.claimed_at = row.created_at
    sms.reference = str(row.reference)
    return row


def persist(rows: list[AbstractMessage], wallet: Any) -> None:
    """INSERT the rows; with a wallet, hold their price in the same transaction."""
    if wallet is not None:
        from django_sms.wallets import persist_with_hold

        persist_with_hold(wallet, rows)
    elif len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        type(rows[0])._default_manager.bulk_create(rows, batch_size=500)


# -- 4. dispatch ----------------------------------------------------------------------------------


def dispatch(rows: list[AbstractMessage], *, deliver_now: bool, fail_silently: bool) -> None:
    """Deliver now (sync, outside a transaction), after commit (sync), or through a task.

    One message delivered now was stored already claimed (the 4-query path). Anything else
    is stored ``queued``: several messages are claimed and sent in chunks by a thread pool
    (``django_sms.bulk``), and in ``ASYNC`` mode a ``deliver`` task (``deliver_batch`` tasks
    for several messages) is enqueued — at once outside a transaction (like the synchronous
    path), else after commit.
    """
    if deliver_now and len(rows) == 1:
        deliver_claimed(rows, fail_silently=fail_silently)
        return
    queued_events = [
        StatusEvent(  # type: ignore[misc]
            message=row, status=Status.QUEUED, source=EventSource.SEND, received_at=row.created_at
        )
        for row in rows
    ]
    StatusEvent.objects.bulk_create(queued_events)
    action: Callable[[], None]
    if sms_settings.ASYNC:
        from django_sms.tasks import enqueue_deliveries

        action = partial(enqueue_deliveries, [row.pk for row in rows])
    elif deliver_now:
        deliver_queued(rows, fail_silently=fail_silently)
        return
    else:
        action = partial(deliver_queued, rows)
    if in_transaction():
        transaction.on_commit(action, robust=True)
    else:
        action()


def deliver_queued(rows: list[AbstractMessage], *, fail_silently: bool = True) -> None:
    """Claim rows stored as queued, then deliver the ones this process won.

    Several rows go through ``django_sms.bulk`` (claimed chunk by chunk, sent by a pool of
    ``BULK_CONCURRENCY`` threads), so a long batch never holds claims it is not working on.
    """
    if len(rows) > 1:
        from django_sms.bulk import deliver_concurrently

        deliver_concurrently(rows, fail_silently=fail_silently)
        return
    claimed = [row for row in rows if claim(row)]
    if claimed:
        deliver_claimed(claimed, fail_silently=fail_silently, queued_event_stored=True)


def claim(row: AbstractMessage) -> bool:
    """queued → sending, attempts + 1, as one conditional UPDATE: two workers never both win."""
    from django.db.models import F

    now = timezone.now()
    model = type(row)
    won = model._default_manager.filter(pk=row.pk, status=Status.QUEUED).update(
        status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now
    )
    if won:
        row.status = Status.SENDING
        row.attempts += 1
        row.claimed_at = now
    return bool(won)


# -- 5. deliver and record ------------------------------------------------------------------------


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


def deliver_claimed(
    rows: list[AbstractMessage], *, fail_silently: bool, queued_event_stored: bool = False
) -> None:
    """Send rows that this thread has claimed (status ``sending``) and record the results."""
    by_alias: dict[str, list[AbstractMessage]] = {}
    for row in rows:
        by_alias.setdefault(row.backend_alias, []).append(row)
    error: ProviderError | None = None
    for alias, group in by_alias.items():
        ready = run_pre_send(group)
        tries = send_with_failover(alias, ready.rows, ready.values) if ready.rows else []
        error = record_delivery(
            alias, group, ready, tries, queued_event_stored=queued_event_stored
        ) or error
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
            transient = result.error is not None and result.error.kind == "transient"
            if transient and position + 1 < len(chain) and number < sms_settings.MAX_ATTEMPTS:
                moving.append(i)
        pending = moving
        if not pending:
            break
    return tries


def record_delivery(
    alias: str,
    group: list[AbstractMessage],
    ready: PreSent,
    tries: list[list[Attempt]],
    *,
    queued_event_stored: bool,
) -> PermanentProviderError | None:
    """Store the attempts and outcomes of one delivered group; return its first refusal.

    All events of the group go in one INSERT; each row gets one conditional UPDATE. The
    timeline of a message: ``queued``, then per attempt a ``sending`` event (``attempt``,
    ``backend_alias`` and ``provider`` set) and its outcome.
    """
    provider = sms_backends[alias].provider_name
    events: list[StatusEvent] = []
    changes: list[Change] = []
    if not queued_event_stored:
        events += [
            StatusEvent(  # type: ignore[misc]
                message=r, status=Status.QUEUED, source=EventSource.SEND, received_at=r.created_at
            )
            for r in group
        ]
    for r in group:
        event = StatusEvent(  # type: ignore[misc]
            message=r,
            status=Status.SENDING,
            source=EventSource.SEND,
            backend_alias=alias,
            provider=provider,
            attempt=r.attempts,
            received_at=r.claimed_at or timezone.now(),
        )
        events.append(event)
        # queued → sending happened when the row was claimed; announce it with the rest.
        changes.append(Change(r, Status.QUEUED, Status.SENDING, event))
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
    # The answers and every event of the group in one transaction: a message's status never
    # changes without the events that explain it (a crash in between leaves the message
    # "sending" and claimed, for the sweeper to reconcile). The wallet's ledger entries were
    # written by prepare_answer(), each in a short transaction of its own, so this one holds
    # no wallet lock. One message's answer is one statement where the database allows it.
    stored = store_in_one_statement(answers[0], events) if len(answers) == 1 else None
    if stored is not None:
        changes += stored
    else:
        # savepoint=False: nothing to roll back to, and no SAVEPOINT statements when the
        # caller (a test, a task backend) has a transaction open.
        with transaction.atomic(savepoint=False):
            for answer in answers:
                change = store_answer(answer)
                if change:
                    changes.append(change)
            StatusEvent.objects.bulk_create(events)
    schedule_signals(changes)
    match_early_reports(row for row, result in outcomes if result.error is None)
    for row, result in outcomes:
        if result.error is not None and result.error.opted_out:
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

    A row paid from a wallet is settled here (capture, adjustment or release of its hold),
    in the wallet's own short transaction.

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
    if exc is None or exc.kind != "transient":
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
        if exc.kind == "transient":
            new, status_fields["next_attempt_at"] = retry_decision(attempt, exc, now)
            if new == Status.FAILED:
                status_fields["error_message"] = (
                    f"{exc} (gave up after {attempt} attempts)"[:2000]
                )
    if row.wallet_id is not None:
        from django_sms.wallets import settle

        # Like the status fields: when a report beat this answer, the wallets' status_changed
        # receiver has already settled the charge by the report's status.
        status_fields.update(settle(row, new, fields.get("segments", row.segments)))
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


def store_in_one_statement(answer: Answer, events: list[StatusEvent]) -> list[Change] | None:
    """Store one message's answer and all the events of its delivery in one SQL statement
    (PostgreSQL, :mod:`django_sms.one_statement`): the same rows as :func:`store_answer`
    and ``bulk_create()`` in a transaction, in one round trip instead of four. Returns the
    status change (a list of zero or one), or None, having written nothing, where the
    database cannot do it.

    The UPDATE is conditional on the status read before the request; when a delivery report
    moved the message in the meantime (a fast provider calls back before its answer is
    stored), the events are stored and the answer is applied again the usual way, against
    the message as it now is.
    """
    row = answer.row
    result = apply_status_in_one_statement(
        row, answer.status, event=answer.event, events=events, fields=answer.fields,
        change_fields=answer.status_fields,
    )
    if result is None:
        return None
    change = result.change
    if result.raced:
        with transaction.atomic(savepoint=False):
            change = apply_stored_event(
                row, answer.status, answer.event, answer.fields, answer.status_fields
            )
    return [change] if change else []


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
