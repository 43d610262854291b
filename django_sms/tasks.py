"""django.tasks tasks. A task only ever carries message primary keys: the row is the truth.

Tasks are decorated with plain ``@task`` (validated against the project's default TASKS
backend at import); the configured backend alias, queue and priority are applied with
``.using()`` when enqueuing, so a project's TASKS setting can never break the import.

``deliver`` sends one message (``send_sms()`` in ASYNC mode, retries); ``deliver_batch``
sends up to :data:`BATCH_TASK_SIZE` messages through the bulk thread pool
(``send_mass_sms()`` in ASYNC mode, the sweeper), so one worker process keeps
``BULK_CONCURRENCY`` provider calls in flight instead of one. The sweeper's own task,
``sync``, is defined in ``django_sms.sweeper``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from django_sms.bulk import deliver_concurrently
from django_sms.claims import CLOCK_SKEW
from django_sms.compat import task
from django_sms.conf import sms_settings
from django_sms.delivery import claim, deliver_claimed
from django_sms.models import AbstractMessage, get_message_model
from django_sms.status import Status

logger = logging.getLogger("django_sms")

#: Messages per ``deliver_batch`` task.
BATCH_TASK_SIZE = 100


@task
def deliver(message_id: int) -> str:
    """Claim and deliver one queued message; return the status it ended in."""
    row = get_message_model()._default_manager.filter(pk=message_id).first()
    if row is None:
        return "missing"
    if row.next_attempt_at is not None and row.next_attempt_at > timezone.now() + CLOCK_SKEW:
        # A duplicate task ran before the retry is due: the backoff stands; the retry's own
        # deferred task (or smssync) delivers it on time.
        return "not due"
    if not claim(row):
        return f"skipped ({row.status})"
    deliver_claimed([row], fail_silently=True)
    schedule_retries([row])
    return str(row.status)


@task
def deliver_batch(message_ids: list[int]) -> dict[str, int]:
    """Deliver several queued messages through the bulk thread pool; count their statuses.

    Rows already claimed elsewhere, or whose retry is not due yet, are skipped (claims are
    taken chunk by chunk, see ``django_sms.bulk``). Transient failures get one deferred
    ``deliver`` task each.
    """
    rows = list(
        get_message_model()
        ._default_manager.filter(pk__in=message_ids, status=Status.QUEUED)
        .order_by("pk")
    )
    delivered = deliver_concurrently(rows) if rows else []
    schedule_retries(delivered)
    return dict(Counter(str(row.status) for row in delivered))


def configured_task(run_after: datetime | None = None, *, which: Any = None) -> Any:
    """``which`` task (default ``deliver``) bound to the TASK_BACKEND / QUEUE_NAME / PRIORITY
    settings."""
    kwargs: dict[str, Any] = {
        "backend": sms_settings.TASK_BACKEND,
        "queue_name": sms_settings.QUEUE_NAME,
    }
    if sms_settings.PRIORITY:
        kwargs["priority"] = sms_settings.PRIORITY
    if run_after is not None:
        kwargs["run_after"] = run_after
    return (which or deliver).using(**kwargs)


def enqueue_delivery(message_id: int) -> None:
    configured_task().enqueue(message_id)


def enqueue_deliveries(message_ids: Iterable[int]) -> None:
    """Enqueue the delivery of messages: ``deliver`` for one, ``deliver_batch`` for more
    (one task per :data:`BATCH_TASK_SIZE` messages).

    A message whose task cannot be enqueued (the broker is down...) stays ``queued`` in the
    database and is logged: ``smssync`` re-enqueues it once it is ``SENDING_LEASE`` old.
    """
    ids = list(message_ids)
    if len(ids) == 1:
        jobs: list[tuple[Any, Any]] = [(configured_task(), ids[0])]
    else:
        batch = configured_task(which=deliver_batch)
        jobs = [(batch, ids[i : i + BATCH_TASK_SIZE]) for i in range(0, len(ids), BATCH_TASK_SIZE)]
    failed = 0
    error: Exception | None = None
    for bound, argument in jobs:
        try:
            bound.enqueue(argument)
        except Exception as exc:
            failed += len(argument) if isinstance(argument, list) else 1
            error = error or exc
    if failed:
        logger.error(
            "Could not enqueue the delivery of %d message(s); smssync will re-enqueue them.",
            failed,
            exc_info=error,
        )


def schedule_retry(message_id: int, when: datetime) -> bool:
    """Enqueue a retry at ``when`` if the task backend can defer; else the sweeper will.

    Returns whether a task was enqueued.
    """
    bound = configured_task()
    if not bound.get_backend().supports_defer:
        return False
    configured_task(run_after=when).enqueue(message_id)
    return True


def schedule_retries(rows: Iterable[AbstractMessage]) -> None:
    """Schedule the retry of every row a transient failure put back in the queue."""
    for row in rows:
        if row.status != Status.QUEUED or row.next_attempt_at is None:
            continue
        try:
            schedule_retry(row.pk, row.next_attempt_at)
        except Exception:
            # The row is queued with its due time: smssync re-enqueues it.
            logger.exception("Could not schedule the retry of message %s", row.pk)
