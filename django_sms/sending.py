"""The front of the send pipeline (DESIGN §5, steps 1-4): validate → idempotency → persist
(+ hold) → dispatch.

``send_sms()``, ``send_mass_sms()``, ``SMS.send()``, the REST API and the admin's resend all
come through :func:`send_messages`. What happens once a message is stored — claim, provider
call, failover, answer, retry — is :mod:`django_sms.delivery`.

Every row is stored with its ``queued`` event in one transaction on the message model's
database, before anything else happens to it. A message delivered at once by this thread
(synchronous mode, no transaction open, one message) is stored already claimed: ``sending``
with its ``queued`` and ``sending`` events, so a crash during the provider call leaves a row
whose events explain it.

SQL of a synchronous send with no wallet (asserted by the tests, transaction control not
counted): the opt-out lookup, the INSERT of the row, the INSERT of its two events, then after
the provider's answer the conditional UPDATE and the INSERT of the answer's event: **5**.
With a wallet, 3 more (the wallet's ``SELECT ... FOR UPDATE``, the hold's ledger entry, the
balance): **8**. A backend whose status reports can beat the answer without naming our
reference (OVH) adds one SELECT for such reports; an idempotency key adds one SELECT.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import IntegrityError

from django_sms import encoding, phone, tasks, wallets
from django_sms.backends.handler import DEFAULT_SMS_BACKEND_ALIAS, sms_backends
from django_sms.bulk import deliver_concurrently
from django_sms.conf import sms_settings
from django_sms.delivery import claim, deliver_claimed, sending_event
from django_sms.exceptions import InvalidMessage, OptedOut
from django_sms.message import SMS, connect_pipeline
from django_sms.models import AbstractMessage, EventSource, StatusEvent, get_message_model
from django_sms.optouts import opted_out
from django_sms.status import Status
from django_sms.transactions import after_commit, atomic_for, in_atomic_block
from django_sms.transitions import Change, schedule_signals

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
    #: The idempotency key as stored: the caller's, scoped to the paying wallet.
    key: str | None = None


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


def check_opt_outs(prepared: Sequence[Prepared]) -> None:
    """Refuse numbers on the opt-out list (for every sender, or for this sender)."""
    blocked = opted_out((p.sms.to, p.sms.sender or "") for p in prepared)
    for p in prepared:
        recipient = (p.sms.to, p.sms.sender or "")
        if recipient in blocked:
            raise OptedOut(p.sms.to, blocked[recipient])


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

    # Keys are scoped to the wallet that pays (two tenants' keys never meet); the REST API
    # passes its token and keys it already scoped to the token's owner.
    scope = f"wallet:{wallet.pk}:" if wallet is not None and token is None else ""
    for p in prepared:
        if p.sms.idempotency_key:
            p.key = scope + p.sms.idempotency_key
    model = get_message_model()
    # Sent at once when nothing waits: no task queue, no transaction of the caller's still
    # open (its rows could yet be rolled back). Else after that transaction commits.
    deliver_now = not sms_settings.ASYNC and not in_atomic_block(model)
    for attempt in (1, 2):
        existing = find_existing(prepared)
        new: list[Prepared] = []
        for p in prepared:
            if p.key is None or (p.key not in existing and all(p.key != q.key for q in new)):
                new.append(p)
        # One message delivered right away is stored already claimed (saving the claim's
        # UPDATE); a batch is stored queued and claimed chunk by chunk as the pool gets to it.
        claimed = deliver_now and len(new) == 1
        rows = [build_row(p, wallet, token, resent_from, claimed=claimed) for p in new]
        if not rows:
            break
        try:
            persist(rows, wallet, claimed=claimed, keyed=any(p.key for p in new))
        except IntegrityError:
            # A concurrent send stored one of these keys between our look and our INSERT
            # (the unique key decided): nothing of ours was written; look again, once.
            if attempt == 2 or not any(p.key for p in new):
                raise
            continue
        dispatch(rows, claimed=claimed, fail_silently=fail_silently)
        break

    # One result per input, in order; a repeated idempotency key returns the first message.
    stored = {id(p): row for p, row in zip(new, rows, strict=True)}
    existing.update({p.key: stored[id(p)] for p in new if p.key})
    return [existing[p.key] if p.key else stored[id(p)] for p in prepared]


def find_existing(prepared: Sequence[Prepared]) -> dict[str | None, AbstractMessage]:
    """Messages already stored under the batch's (scoped) idempotency keys (key -> message)."""
    keys = [p.key for p in prepared if p.key]
    if not keys:
        return {}
    manager = get_message_model()._default_manager
    return {m.idempotency_key: m for m in manager.filter(idempotency_key__in=keys)}


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
        idempotency_key=p.key,
        metadata=metadata,
        wallet=wallet,
        token=token,
        resent_from=resent_from,  # type: ignore[misc]
    )
    if claimed:
        # Delivered by this thread right after the INSERT: stored claimed, with its
        # ``sending`` event, saving the separate claim UPDATE that a worker needs.
        row.status = Status.SENDING
        row.attempts = 1
        row.claimed_at = row.created_at
    sms.reference = str(row.reference)
    return row


def persist(rows: list[AbstractMessage], wallet: Any, *, claimed: bool, keyed: bool) -> None:
    """INSERT the rows and their ``queued`` events (and ``sending`` event, when ``claimed``)
    in one transaction; with a wallet, hold their price in it too.

    ``savepoint=False``: inside a caller's transaction a send costs no SAVEPOINT round trip;
    a refusal of the wallet is raised after leaving the block, so it never marks the caller's
    transaction for rollback.
    """
    changes: list[Change] = []

    def insert(rows: list[AbstractMessage]) -> None:
        if len(rows) == 1:
            rows[0].save(force_insert=True)
        else:
            type(rows[0])._default_manager.bulk_create(rows, batch_size=500)
        events = [queued_event(row) for row in rows]
        if claimed:
            events += [sending_event(row) for row in rows]
            changes.extend(
                Change(row, Status.QUEUED, Status.SENDING, event)
                for row, event in zip(rows, events[len(rows) :], strict=True)
            )
        StatusEvent.objects.bulk_create(events, batch_size=500)

    # With idempotency keys a concurrent send may win the unique key: then everything is
    # rolled back to a savepoint of our own, leaving a caller's transaction usable.
    if wallet is not None and not keyed:
        wallets.persist_with_hold(wallet, rows, insert)  # its refusals leave no trace
    else:
        with atomic_for(rows[0], savepoint=keyed):
            if wallet is not None:
                wallets.persist_with_hold(wallet, rows, insert)
            else:
                insert(rows)
    schedule_signals(changes)


def queued_event(row: AbstractMessage) -> StatusEvent:
    return StatusEvent(  # type: ignore[misc]  # the swappable message model
        message=row, status=Status.QUEUED, source=EventSource.SEND, received_at=row.created_at
    )


# -- 4. dispatch ----------------------------------------------------------------------------------


def dispatch(rows: list[AbstractMessage], *, claimed: bool, fail_silently: bool) -> None:
    """Deliver now, after the caller's transaction commits, or through a task.

    A message stored claimed is delivered now by this thread. Anything else is ``queued``:
    in ``ASYNC`` mode a ``deliver`` task (``deliver_batch`` tasks for several messages) is
    enqueued; in synchronous mode the rows are delivered (several through the thread pool of
    ``django_sms.bulk``, claimed chunk by chunk) — either way once the caller's transaction,
    if one is open, commits.
    """
    if claimed:
        deliver_claimed(rows, fail_silently=fail_silently)
        return
    if sms_settings.ASYNC:
        after_commit(rows[0], partial(tasks.enqueue_deliveries, [row.pk for row in rows]))
    elif in_atomic_block(rows[0]):
        after_commit(rows[0], partial(deliver_queued, rows))
    else:
        deliver_queued(rows, fail_silently=fail_silently)


def deliver_queued(rows: list[AbstractMessage], *, fail_silently: bool = True) -> None:
    """Claim rows stored as queued, then deliver the ones this process won.

    Several rows go through ``django_sms.bulk`` (claimed chunk by chunk, sent by a pool of
    ``BULK_CONCURRENCY`` threads), so a long batch never holds claims it is not working on.
    """
    if len(rows) > 1:
        deliver_concurrently(rows, fail_silently=fail_silently)
    elif claim(rows[0]):
        deliver_claimed(rows, fail_silently=fail_silently)


# SMS.send() runs this pipeline: the value class sits below it and must not import it.
connect_pipeline(send_messages)
