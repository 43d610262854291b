"""Recording status reports from providers (webhooks, polling) exactly once.

A provider may send the same report twice, send reports out of order, or report on a message
before we stored its provider id. :func:`record_status_update` turns one
:class:`~django_sms.backends.base.StatusUpdate` into one :class:`StatusEvent` and applies it
with ``django_sms.transitions.apply_status`` (forward only, finals are final,
``status_changed`` once per real change):

* **Idempotent.** Each event gets a unique ``dedupe_key``: ``"<alias>:<report key>"``, where
  the report key is the backend's ``StatusUpdate.dedupe_key`` or, when the provider gives no
  id for its reports, a SHA-256 fingerprint of what the report says. The event is INSERTed
  first, in the same transaction as the status change: when the key already exists the
  INSERT fails, the transaction is rolled back and the report is a duplicate that changes
  nothing. Two concurrent deliveries of one report cannot both apply.
* **Matching.** The message is found by our own reference (``StatusUpdate.message_ref``, the
  ``Message.reference`` UUID we send as Vonage's ``client_ref`` / OVH's ``tag``) or by the
  provider's message id within the same provider. A report that matches nothing is kept
  with ``message=None`` and applied later by :func:`match_pending_events`, which runs for a
  message when a later report about it arrives, and for everything pending when the sweeper
  (``manage.py smssync``) calls it.
* **Cheap.** A report about a known message costs one SELECT (message, duplicate check and
  pending check in one query), then one INSERT and one UPDATE in one transaction on the
  message's database — the same statements on every database. The event is saved with
  ``save()``, so ``post_save`` fires for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Replace
from django.utils import timezone

from django_sms.backends.base import BaseSmsBackend, StatusUpdate
from django_sms.backends.handler import InvalidSmsBackend, sms_backends
from django_sms.backends.values import as_decimal
from django_sms.conf import sms_settings
from django_sms.models import AbstractMessage, EventSource, OptOut, StatusEvent, get_message_model
from django_sms.optouts import add_opt_out, scope_for
from django_sms.status import ALL_STATUSES, can_transition
from django_sms.storable import storable_datetime, storable_int, storable_json, storable_text
from django_sms.transactions import atomic_for
from django_sms.transitions import Change, apply_status, apply_stored_event, schedule_signals

logger = logging.getLogger("django_sms.events")

__all__ = [
    "RecordedStatus",
    "event_dedupe_key",
    "match_pending_events",
    "normalize_message_ref",
    "record_status_update",
    "record_status_updates",
]

#: Key in the ``raw`` of an unmatched event that keeps what its columns cannot hold (cost,
#: segments, error text, opt-out) until the event is matched; removed when it is.
PENDING_KEY = "django_sms_pending"

_DEDUPE_KEY_LENGTH = StatusEvent._meta.get_field("dedupe_key").max_length or 255


@dataclass
class RecordedStatus:
    """What happened to one status report.

    ``outcome`` is ``"applied"`` (the message changed status), ``"stale"`` (stored, status
    unchanged: older or equal to the current one, or the message is final), ``"unmatched"``
    (stored with no message, to be matched later) or ``"duplicate"`` (already recorded:
    nothing stored, nothing changed; ``event`` is None).
    """

    outcome: str
    event: StatusEvent | None = None
    message: AbstractMessage | None = None
    change: Change | None = None


# -- keys and references ------------------------------------------------------------------------


#: The shortest prefix of a reference a provider may carry instead of the whole of it (OVH's
#: ``tag`` holds 20 characters: 80 bits of the UUID, 76 of them random).
MIN_REFERENCE_PREFIX = 20


def normalize_message_ref(value: Any) -> str:
    """Our message reference as stored on events: 32 lower-case hex digits, or "".

    Providers echo the reference back as we sent it (``str(uuid)``), but some strip or
    upper-case it. A provider whose field is too short for it (OVH's 20-character ``tag``)
    carries a prefix of the hex digits instead: kept as it is (20 to 31 hex digits) and
    matched by range. Anything else is not one of ours.
    """
    if not value:
        return ""
    text = str(value).strip()
    try:
        return uuid.UUID(text).hex
    except ValueError:
        pass
    prefix = text.lower()
    if MIN_REFERENCE_PREFIX <= len(prefix) < 32 and all(c in "0123456789abcdef" for c in prefix):
        return prefix
    return ""


def reference_range(prefix: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The smallest and largest reference starting with ``prefix`` (hex digits).

    UUIDs sort like their hex digits on every database (PostgreSQL's uuid type, the 32-char
    column elsewhere), so a prefix is an indexed range lookup.
    """
    return uuid.UUID(hex=prefix.ljust(32, "0")), uuid.UUID(hex=prefix.ljust(32, "f"))


def _reference_prefixes(reference: uuid.UUID) -> list[str]:
    """Every form of ``reference`` an event may carry: whole, or a prefix a provider kept."""
    return [reference.hex[:length] for length in range(MIN_REFERENCE_PREFIX, 33)]


def event_dedupe_key(alias: str, update: StatusUpdate) -> str:
    """The unique key of the event stored for ``update`` received through ``alias``."""
    report_key = storable_text(update.dedupe_key).strip() or _fingerprint(update)
    key = f"{alias}:{report_key}"
    if len(key) > _DEDUPE_KEY_LENGTH:
        key = f"{alias[:64]}:sha256:{hashlib.sha256(report_key.encode()).hexdigest()}"
    return key


def _fingerprint(update: StatusUpdate) -> str:
    """A stable key for a report the provider gave no id to: the same report, the same key."""
    parts = [
        update.provider_message_id,
        normalize_message_ref(update.message_ref),
        update.status,
        update.provider_status,
        update.occurred_at.isoformat() if isinstance(update.occurred_at, datetime) else "",
        update.error_code,
    ]
    digest = hashlib.sha256(json.dumps([storable_text(p) for p in parts]).encode()).hexdigest()
    return f"fp:{digest}"


# -- recording ----------------------------------------------------------------------------------


def record_status_updates(
    backend: BaseSmsBackend,
    updates: Iterable[StatusUpdate],
    *,
    source: str = EventSource.WEBHOOK,
) -> list[RecordedStatus]:
    """Record several reports from ``backend`` in order (see :func:`record_status_update`)."""
    return [record_status_update(backend, update, source=source) for update in updates]


def record_polled_status(
    backend: BaseSmsBackend,
    message: AbstractMessage,
    update: StatusUpdate,
    *,
    source: str = EventSource.POLL,
) -> bool:
    """Record a status obtained by asking the provider about ``message`` (the sweeper's
    polling, the admin's "refresh status"); return whether the message's status changed.

    The same rules as for webhooks apply — one event per distinct report, never backwards,
    provider opt-outs recorded — because it is the same code: the report is tied to the
    message it was asked about, then recorded like a callback.
    """
    update = replace(
        update,
        provider_message_id=update.provider_message_id or message.provider_message_id,
        message_ref=update.message_ref or str(message.reference),
    )
    return record_status_update(backend, update, source=source).change is not None


def record_status_update(
    backend: BaseSmsBackend,
    update: StatusUpdate,
    *,
    source: str = EventSource.WEBHOOK,
) -> RecordedStatus:
    """Store ``update`` once as a :class:`StatusEvent` and apply it to its message.

    ``backend`` is the backend instance that received the report (its ``alias`` scopes the
    dedupe key, its ``provider_name`` scopes provider message ids). ``source`` is an
    :class:`~django_sms.models.EventSource` value (``webhook`` or ``poll``). Raises
    ``ValueError`` if ``update.status`` is not a :class:`~django_sms.status.Status` value.

    Signals are sent after the transaction commits; if the caller is inside a transaction of
    its own, after that one commits.
    """
    if update.status not in ALL_STATUSES:
        raise ValueError(f"{update.status!r} is not a django_sms status.")
    alias, provider = backend.alias, backend.provider_name
    key = event_dedupe_key(alias, update)
    ref = normalize_message_ref(update.message_ref)
    provider_message_id = storable_text(update.provider_message_id, 100)

    message, seen, pending = _find_message(provider, provider_message_id, ref, key)
    if pending and message is not None:
        # Reports that arrived before this message could be matched happened before this
        # one: apply them first, so the history reads in order. (Also when this report is
        # a retry of one of them: the retry is what lets them be matched now.)
        match_pending_events(message)
    if seen:
        return RecordedStatus("duplicate", message=message)

    event = _build_event(backend, update, key, ref, provider_message_id, source)
    fields: dict[str, Any] = {}
    if message is not None:
        event.message = message  # type: ignore[assignment]  # the swappable model
        event.applied = can_transition(message.status, update.status)
        fields = _message_fields(message, update, changes=event.applied)
    else:
        event.applied = False
        extra = _pending_extra(update)
        if extra:
            event.raw = {"payload": event.raw, PENDING_KEY: extra}

    change: Change | None = None
    inserted = False
    try:
        with atomic_for(StatusEvent):
            # The INSERT comes first: it claims the dedupe key, so a concurrent copy of this
            # report fails here and changes nothing.
            event.save(force_insert=True)
            inserted = True
            if message is not None:
                change = apply_stored_event(message, update.status, event, fields)
                if update.opted_out:
                    _record_provider_opt_out(
                        backend, message, update.error_code, update.error_message
                    )
    except IntegrityError:
        if inserted:
            raise
        return RecordedStatus("duplicate", message=message)

    if change is not None:
        schedule_signals([change])
    if message is None:
        logger.info(
            "Status report %s for an unknown message (provider id %r, reference %r) kept "
            "for later matching.",
            key,
            provider_message_id,
            ref,
        )
        return RecordedStatus("unmatched", event=event)
    outcome = "applied" if change else "stale"
    return RecordedStatus(outcome, event=event, message=message, change=change)


def _find_message(
    provider: str, provider_message_id: str, ref: str, key: str
) -> tuple[AbstractMessage | None, bool, bool]:
    """The message a report is about, whether the report was recorded already, and whether
    unmatched reports about the message are waiting — in one query, two when the report
    carries a reference that is not one of ours.

    Only a message sent through ``provider`` can match: a report received by one provider's
    webhook never touches a message another provider sent, whatever reference it carries
    (whoever can call one provider's callback URL cannot settle another's messages).
    Our reference wins over the provider id (it cannot collide across accounts), so it is
    looked up alone first. The provider id is the fallback, and the only
    key of providers that echo no reference. The duplicate check rides on the same query
    only when a message is found (a duplicate report about an unknown message is caught by
    the unique key instead).
    """
    if not ref and not provider_message_id:
        return None, False, False
    model = get_message_model()
    message = None
    if len(ref) == 32:
        message = _by_reference(
            model, key=key, provider=provider, ref=ref, reference=uuid.UUID(hex=ref)
        ).first()
    elif ref:
        message = _by_reference_prefix(model, key=key, provider=provider, prefix=ref)
    if message is None and provider_message_id:
        message = _by_provider_id(
            model, key=key, provider=provider, provider_message_id=provider_message_id
        ).first()
    if message is None:
        return None, False, False
    seen, pending = message._seen, message._pending  # type: ignore[attr-defined]  # annotations
    return message, bool(seen), bool(pending)


def _by_reference(
    model: type[AbstractMessage], *, key: str, provider: str, ref: str, reference: uuid.UUID
) -> QuerySet[AbstractMessage]:
    # The message found has this reference: its unmatched events are compared with the
    # value itself rather than with the column cast to text.
    by_reference = Q(message_ref=ref, provider=OuterRef("provider"))
    return (
        model._default_manager.annotate(_seen=_seen(key), _pending=_pending(by_reference))
        .filter(reference=reference, provider=provider)
        .order_by("pk")  # unique: one row at most
    )


def _by_reference_prefix(
    model: type[AbstractMessage], *, key: str, provider: str, prefix: str
) -> AbstractMessage | None:
    """The one message whose reference starts with ``prefix``; None when none does, or when
    two do (76 random bits make that unlikely, but the provider id then decides)."""
    found = list(
        model._default_manager.annotate(
            _seen=_seen(key),
            _pending=_pending(Q(message_ref=prefix, provider=OuterRef("provider"))),
        )
        .filter(reference__range=reference_range(prefix), provider=provider)
        .order_by()[:2]
    )
    return found[0] if len(found) == 1 else None


def _by_provider_id(
    model: type[AbstractMessage], *, key: str, provider: str, provider_message_id: str
) -> QuerySet[AbstractMessage]:
    by_reference = Q(
        message_ref=_reference_hex(OuterRef("reference")), provider=OuterRef("provider")
    )
    return (
        model._default_manager.annotate(_seen=_seen(key), _pending=_pending(by_reference))
        .filter(provider=provider, provider_message_id=provider_message_id)
        .order_by("-created_at", "-pk")
    )


def _seen(key: str) -> Exists:
    """Whether an event with this dedupe key was recorded already."""
    return Exists(StatusEvent.objects.filter(dedupe_key=key))


def _pending(by_reference: Q) -> Exists:
    """Whether unmatched events wait for the outer message: same provider id, or the
    reference (``by_reference``)."""
    return Exists(
        StatusEvent.objects.filter(message__isnull=True).filter(
            (
                Q(provider=OuterRef("provider"))
                & Q(provider_message_id=OuterRef("provider_message_id"))
                & ~Q(provider_message_id="")
            )
            | by_reference
        )
    )


def _reference_hex(expression: Any) -> Replace:
    """SQL for ``Message.reference`` as 32 hex digits on every database.

    PostgreSQL's uuid type casts to the dashed form, SQLite and MySQL store the hex digits:
    removing dashes gives one comparable form, the one :func:`normalize_message_ref` stores.
    """
    return Replace(Cast(expression, models.CharField(max_length=36)), Value("-"), Value(""))


def _build_event(
    backend: BaseSmsBackend,
    update: StatusUpdate,
    key: str,
    ref: str,
    provider_message_id: str,
    source: str,
) -> StatusEvent:
    return StatusEvent(
        status=update.status,
        source=source,
        backend_alias=storable_text(backend.alias, 64),
        provider=storable_text(backend.provider_name, 32),
        provider_message_id=provider_message_id,
        message_ref=ref,
        provider_status=storable_text(update.provider_status, 64),
        provider_status_text=storable_text(update.provider_status_text or update.error_message),
        error_code=storable_text(update.error_code, 64),
        occurred_at=storable_datetime(update.occurred_at),
        received_at=timezone.now(),
        dedupe_key=key,
        raw=storable_json(update.raw) if update.raw is not None else None,
    )


def _message_fields(
    message: AbstractMessage, update: StatusUpdate, *, changes: bool
) -> dict[str, Any]:
    """Columns of the message that ``update`` sets besides its status.

    A report that changes the status brings its provider status and error. Any report, even
    a stale one, may bring the cost and the segment count (Vonage reports ``usage`` on
    ``submitted`` and on ``delivered``, in either order): those are stored whenever they
    differ, so a late report can complete the record but a stale report never rewrites the
    provider status of a newer one.
    """
    fields: dict[str, Any] = {}
    if changes:
        if update.provider_status:
            fields["provider_status"] = storable_text(update.provider_status, 64)
        if update.error_code or update.error_message:
            fields["error_code"] = storable_text(update.error_code, 64)
            fields["error_message"] = storable_text(update.error_message, 2000)
    pmid = storable_text(update.provider_message_id, 100)
    if pmid and not message.provider_message_id:
        fields["provider_message_id"] = pmid  # matched by our reference before the send answer
    cost = _decimal(update.cost)
    if cost is not None and (cost != message.cost or update.cost_currency != message.cost_currency):
        fields["cost"] = cost
        fields["cost_currency"] = storable_text(update.cost_currency, 3).upper()
    segments = storable_int(update.segments, minimum=1)
    if update.segments and segments and segments != message.segments:
        fields["segments"] = segments
    return fields


def _decimal(value: Any) -> Decimal | None:
    """A cost the ``cost`` column can hold (12 digits, 5 decimal places), or None."""
    number = as_decimal(value)
    if number is None or abs(number) >= Decimal(10) ** 7:
        return None
    return number.quantize(Decimal("0.00001"))


def _pending_extra(update: StatusUpdate) -> dict[str, Any]:
    """What an unmatched event must remember to be applied fully once matched."""
    extra: dict[str, Any] = {}
    cost = _decimal(update.cost)
    if cost is not None:
        extra["cost"] = str(cost)
        extra["cost_currency"] = storable_text(update.cost_currency, 3)
    segments = storable_int(update.segments, minimum=1)
    if update.segments and segments:
        extra["segments"] = segments
    if update.error_message:
        extra["error_message"] = storable_text(update.error_message, 2000)
    if update.opted_out:
        extra["opted_out"] = True
    return extra


def _record_provider_opt_out(
    backend: BaseSmsBackend | None, message: AbstractMessage, code: str, text: str
) -> None:
    """The provider says the recipient opted out: stop sending to them (DESIGN §7)."""
    sender = scope_for(backend, message.sender) if backend is not None else ""
    reason = f"{message.provider or 'provider'} reported an opt-out"
    if code or text:
        reason += f": {code} {text}".rstrip()
    add_opt_out(message.to, sender, source=OptOut.Source.PROVIDER, reason=reason)


# -- matching later -----------------------------------------------------------------------------


def match_pending_events(
    message: AbstractMessage | None = None,
    *,
    max_age: timedelta | None = None,
    batch_size: int = 500,
) -> int:
    """Attach unmatched status events to their message and apply them; return how many.

    With ``message``, only the events about it (by its provider id within its provider, or
    by its reference); the webhook view does this when a later report about a message
    arrives. Without, every unmatched event received within ``max_age`` (default
    ``DJANGO_SMS["POLL_MAX_AGE"]``): the sweeper (``manage.py smssync``) calls this so that
    a report that beat the send response is applied even if no other report follows.

    Events are applied in the order the provider says they happened. Each is attached with a
    conditional UPDATE, so two sweepers never apply one event twice.
    """
    unmatched = StatusEvent.objects.filter(message__isnull=True)
    if message is not None:
        # Only reports received through the provider that sent the message.
        condition = Q(
            message_ref__in=_reference_prefixes(message.reference), provider=message.provider
        )
        if message.provider_message_id:
            condition |= Q(
                provider=message.provider, provider_message_id=message.provider_message_id
            )
        events = list(unmatched.filter(condition).order_by("occurred_at", "received_at", "pk"))
        return _apply_pending({message.pk: message}, {message.pk: events})

    age = max_age if max_age is not None else timedelta(seconds=sms_settings.POLL_MAX_AGE)
    candidates = unmatched.filter(received_at__gte=timezone.now() - age).exclude(
        provider_message_id="", message_ref=""
    )
    matched = 0
    last_pk = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not batch:
            return matched
        last_pk = batch[-1].pk
        messages, grouped = _messages_for(batch)
        matched += _apply_pending(messages, grouped)


def _messages_for(
    events: Sequence[StatusEvent],
) -> tuple[dict[Any, AbstractMessage], dict[Any, list[StatusEvent]]]:
    """The messages a batch of unmatched events belong to, and the events of each."""
    refs = {e.message_ref for e in events if len(e.message_ref) == 32}
    prefixes = {e.message_ref for e in events if e.message_ref and len(e.message_ref) < 32}
    ids_by_provider: dict[str, set[str]] = {}
    for e in events:
        if e.provider_message_id:
            ids_by_provider.setdefault(e.provider, set()).add(e.provider_message_id)
    condition = Q(reference__in=[uuid.UUID(hex=r) for r in refs]) if refs else Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(reference__range=reference_range(prefix))
    for provider, ids in ids_by_provider.items():
        condition |= Q(provider=provider, provider_message_id__in=ids)
    model = get_message_model()
    by_ref: dict[str, AbstractMessage] = {}
    by_id: dict[tuple[str, str], AbstractMessage] = {}
    ambiguous: set[str] = set()
    for m in model._default_manager.filter(condition):
        by_ref[m.reference.hex] = m
        for prefix in prefixes:
            if m.reference.hex.startswith(prefix):
                if prefix in by_ref:
                    ambiguous.add(prefix)
                by_ref[prefix] = m
        if m.provider_message_id:
            by_id.setdefault((m.provider, m.provider_message_id), m)
    for prefix in ambiguous:  # two messages share it: the provider id decides
        del by_ref[prefix]
    messages: dict[Any, AbstractMessage] = {}
    grouped: dict[Any, list[StatusEvent]] = {}
    for e in events:
        found = by_ref.get(e.message_ref)
        if found is not None and found.provider != e.provider:
            found = None  # another provider's report: never applied to this message
        found = found or by_id.get((e.provider, e.provider_message_id))
        if found is not None:
            messages[found.pk] = found
            grouped.setdefault(found.pk, []).append(e)
    for group in grouped.values():
        group.sort(key=lambda e: (e.occurred_at or e.received_at, e.received_at, e.pk))
    return messages, grouped


def _apply_pending(
    messages: dict[Any, AbstractMessage], grouped: dict[Any, list[StatusEvent]]
) -> int:
    matched = 0
    changes: list[Change] = []
    for pk, events in grouped.items():
        message = messages[pk]
        for event in events:
            change, attached = _apply_one_pending(message, event)
            matched += attached
            if change is not None:
                changes.append(change)
    schedule_signals(changes)
    return matched


def _apply_one_pending(message: AbstractMessage, event: StatusEvent) -> tuple[Change | None, bool]:
    raw = event.raw
    extra: dict[str, Any] = {}
    if isinstance(raw, dict) and PENDING_KEY in raw:
        extra = raw.get(PENDING_KEY) or {}
        raw = raw.get("payload")
    update = StatusUpdate(
        status=event.status,
        provider_message_id=event.provider_message_id,
        provider_status=event.provider_status,
        error_code=event.error_code,
        error_message=extra.get("error_message", ""),
        cost=_decimal(extra.get("cost")),
        cost_currency=extra.get("cost_currency", ""),
        segments=extra.get("segments"),
    )
    with atomic_for(StatusEvent):
        # Conditional attach: whoever attaches the event applies it, exactly once.
        attached = StatusEvent.objects.filter(pk=event.pk, message__isnull=True).update(
            message=message
        )
        if not attached:
            return None, False
        changes = can_transition(message.status, event.status)
        fields = _message_fields(message, update, changes=changes)
        change = apply_status(message, event.status, event=event, fields=fields, batch=True)
        StatusEvent.objects.filter(pk=event.pk).update(applied=event.applied, raw=raw)
        event.raw = raw
        if extra.get("opted_out"):
            _record_provider_opt_out(
                _backend_for(event), message, event.error_code, update.error_message
            )
    return change, True


def _backend_for(event: StatusEvent) -> BaseSmsBackend | None:
    """The backend that received ``event`` (for its opt-out scope), if still configured."""
    try:
        backend: BaseSmsBackend = sms_backends[event.backend_alias]
        return backend
    except InvalidSmsBackend:
        return None
