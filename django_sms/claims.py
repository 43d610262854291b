"""Claiming rows so that two processes never work on the same message.

The bulk sender, the ``deliver`` task and the sweeper all take rows for themselves before
acting on them. On databases with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MySQL 8,
Oracle) a batch is locked and updated in one short transaction: concurrent claimers skip each
other's rows instead of waiting for them. Elsewhere (SQLite) every row is taken with its own
conditional UPDATE that repeats the query's conditions, and only the rows whose UPDATE
matched are kept. Either way a row is claimed by exactly one process.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.models import F, Model, QuerySet
from django.utils import timezone

from django_sms.status import Status

M = TypeVar("M", bound=Model)

#: How early a retry may be sent: clocks of web and worker machines differ slightly, and a
#: deferred task may start a moment before the due time its row holds.
CLOCK_SKEW = timedelta(seconds=2)


def can_skip_locked(queryset: QuerySet[Any]) -> bool:
    return bool(connections[queryset.db].features.has_select_for_update_skip_locked)


def lock_batch(queryset: QuerySet[M], limit: int) -> list[M]:
    """Up to ``limit`` rows of ``queryset``, locked and skipping rows others hold.

    Must run inside ``transaction.atomic()`` on a database that can skip locked rows.
    """
    features = connections[queryset.db].features
    of = ("self",) if features.has_select_for_update_of else ()
    return list(queryset.select_for_update(skip_locked=True, of=of)[:limit])


def claim(queryset: QuerySet[M], limit: int, **changes: Any) -> list[M]:
    """Take up to ``limit`` rows matching ``queryset`` and apply ``changes`` to them.

    ``queryset`` must be ordered and hold every condition that makes a row claimable (e.g.
    ``status="queued"``): the conditional UPDATEs repeat them. Returns the claimed rows as
    they were read, before ``changes``.
    """
    if limit <= 0:
        return []
    if can_skip_locked(queryset):
        with transaction.atomic(using=queryset.db):
            rows = lock_batch(queryset, limit)
            if rows:
                manager = queryset.model._default_manager.using(queryset.db)
                manager.filter(pk__in=[row.pk for row in rows]).update(**changes)
        return rows
    rows = list(queryset[:limit])
    return [row for row in rows if queryset.filter(pk=row.pk).update(**changes)]


def claim_for_delivery(queryset: QuerySet[M], limit: int) -> list[M]:
    """Claim queued rows for a delivery attempt: ``sending``, ``attempts + 1``, ``claimed_at``.

    ``queryset`` must include ``status="queued"``. The returned rows carry the new values.
    """
    now = timezone.now()
    rows = claim(
        queryset,
        limit,
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        updated_at=now,
    )
    for row in rows:
        row.status = Status.SENDING  # type: ignore[attr-defined]
        row.attempts += 1  # type: ignore[attr-defined]
        row.claimed_at = now  # type: ignore[attr-defined]
    return rows
