"""The sweeper: the periodic job that keeps background delivery honest.

``manage.py smssync`` and the :func:`sync` task (``django_sms.sweeper.sync``) both call
:func:`sweep`. One run:

1. **Due retries.** Messages ``queued`` whose ``next_attempt_at`` has passed (and messages
   left ``queued`` for ``SENDING_LEASE`` seconds without ever getting a due time: their task
   was lost or their process died before delivering). In synchronous mode the sweeper
   delivers them itself; in ``ASYNC`` mode it enqueues a ``deliver`` task for each. When the
   task backend can defer tasks the retry was already scheduled with ``run_after``, so the
   sweeper only steps in ``SENDING_LEASE`` seconds after the due time (the task was lost).
2. **Stuck rows.** Messages in ``sending`` for longer than ``SENDING_LEASE``: the process
   sending them died. The provider may or may not have received the message, so it is
   never resent: it becomes ``unknown`` (an event says why) and, when its backend can look
   messages up (``supports_status_polling``), it is polled at once.
3. **Polling.** Messages ``accepted``, ``sent`` or ``unknown`` on a backend with
   ``supports_status_polling``, created less than ``POLL_MAX_AGE`` ago and not updated for
   ``POLL_MIN_AGE`` seconds, are looked up with ``backend.fetch_status()``. Each polled row's
   ``updated_at`` is touched, so ``POLL_MIN_AGE`` is also the interval between two polls of
   one message. Results go through ``transitions.apply_status`` (``source="poll"``), so a
   status never moves backwards. A ``TransientProviderError`` with a ``Retry-After`` pauses
   polling of that alias for that long.
4. **Unmatched webhook events.** ``django_sms.events.match_pending_events()`` attaches
   delivery reports that arrived before their message could be matched (and that no later
   report or send answer matched since) to their messages, and applies them.
5. **Money.** Every final message paid from a wallet is checked against its status and
   ``REFUND_POLICY`` (``wallets.unsettled``): a hold left on a final message is captured or
   released, a refundable capture refunded. Settlement is written with the status change
   that causes it, so this finds nothing unless something went wrong (data from before that
   rule, an operator's direct edit); what it fixes is counted and logged. And a message left
   ``unknown`` with its hold for ``UNKNOWN_SETTLE_AFTER`` seconds has the hold captured (the
   provider may have sent it), with a ``system`` event saying why.

Rows are claimed before anything is done with them (``django_sms.claims``): with ``SELECT
... FOR UPDATE SKIP LOCKED`` in short transactions on PostgreSQL, with conditional UPDATEs
elsewhere. Two sweepers running at once never deliver, enqueue or rescue the same row twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from django_sms import wallets
from django_sms.backends.base import BaseSmsBackend, StatusUpdate
from django_sms.backends.handler import InvalidSmsBackend, configured_backends, sms_backends
from django_sms.bulk import deliver_concurrently
from django_sms.claims import can_skip_locked, claim, lock_batch
from django_sms.compat import task
from django_sms.conf import sms_settings
from django_sms.delivery import claim_batch
from django_sms.events import match_pending_events, record_polled_status
from django_sms.exceptions import ProviderError, TransientProviderError
from django_sms.models import (
    AbstractMessage,
    ChargeStatus,
    EventSource,
    StatusEvent,
    get_message_model,
)
from django_sms.status import PENDING_STATUSES, Status
from django_sms.tasks import configured_task, enqueue_deliveries
from django_sms.transactions import atomic_for
from django_sms.transitions import apply_status

logger = logging.getLogger("django_sms")

Progress = Callable[[str], None]


@dataclass
class SweepReport:
    """What one run did (``as_dict()`` is the return value of the ``sync`` task)."""

    dry_run: bool = False
    #: Due retries delivered by the sweeper itself (synchronous mode).
    redelivered: int = 0
    #: Due retries handed to a task worker (``ASYNC`` mode).
    enqueued: int = 0
    #: Rows stuck in ``sending`` that were marked ``unknown``.
    rescued: int = 0
    #: Messages looked up at their provider, status changes that brought, failed lookups.
    polled: int = 0
    poll_changes: int = 0
    poll_errors: int = 0
    #: Aliases whose polling stopped on a Retry-After, with the delay asked for (seconds).
    paused: dict[str, float] = field(default_factory=dict)
    #: Webhook events attached to their message by ``match_pending_events()``.
    matched: int = 0
    #: Final messages whose charge did not match their status, settled now.
    settled: int = 0
    #: ``unknown`` messages whose hold was captured after ``UNKNOWN_SETTLE_AFTER``.
    settled_unknown: int = 0
    #: In a dry run: what would have been done.
    would_redeliver: int = 0
    would_enqueue: int = 0
    would_rescue: int = 0
    would_poll: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for people: what the run did (or, in a dry run, would do)."""
        if self.dry_run:
            return (
                f"Dry run: {self.would_redeliver} to deliver, {self.would_enqueue} to "
                f"enqueue, {self.would_rescue} to mark unknown, {self.would_poll} to poll."
            )
        paused = "".join(f", {alias} paused {delay:g} s" for alias, delay in self.paused.items())
        return (
            f"Done: {self.redelivered} delivered, {self.enqueued} enqueued, "
            f"{self.rescued} marked unknown, {self.polled} polled "
            f"({self.poll_changes} changed, {self.poll_errors} errors{paused}), "
            f"{self.matched} webhook events matched, {self.settled} charges reconciled, "
            f"{self.settled_unknown} unknown message(s) captured."
        )

    @property
    def did_something(self) -> bool:
        """Whether the run changed, sent, polled or matched anything (or failed to)."""
        return any((self.redelivered, self.enqueued, self.rescued, self.polled,
                    self.poll_errors, self.paused, self.matched, self.settled,
                    self.settled_unknown))


class Sweeper:
    """Runs the sweeper's steps; keeps Retry-After pauses between runs of ``--loop``."""

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        log_summary: bool = True,
    ) -> None:
        self.batch_size = batch_size or int(sms_settings.POLL_BATCH_SIZE)
        self.dry_run = dry_run
        self.progress: Progress = progress or (lambda text: None)
        #: Log each run's summary (the task does; ``manage.py smssync`` prints it instead,
        #: so that ``--verbosity 0`` is silent).
        self.log_summary = log_summary
        #: alias -> time before which it is not polled (the provider's Retry-After).
        self.paused_until: dict[str, datetime] = {}

    @property
    def model(self) -> type[AbstractMessage]:
        return get_message_model()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=float(sms_settings.SENDING_LEASE))

    def run(self) -> SweepReport:
        report = SweepReport(dry_run=self.dry_run)
        self.resume_due(report)
        self.rescue_stuck(report)
        self.poll(report)
        self.match_pending_events(report)
        self.settle_money(report)
        # A run that found nothing to do is routine (``--loop`` runs every few seconds).
        if self.log_summary:
            level = logging.INFO if report.dry_run or report.did_something else logging.DEBUG
            logger.log(level, "smssync: %s", report.summary())
        return report

    # -- 1. due retries -----------------------------------------------------------------------

    def due_queryset(self, now: datetime) -> QuerySet[AbstractMessage]:
        """Queued messages whose delivery is due and that nobody is handling."""
        grace = timedelta(0)
        if sms_settings.ASYNC and configured_task().get_backend().supports_defer:
            grace = self.lease  # the deferred task should have run by then
        due = Q(next_attempt_at__lte=now - grace) | Q(
            next_attempt_at__isnull=True, created_at__lte=now - self.lease
        )
        queryset = self.model._default_manager.filter(due, status=Status.QUEUED)
        if sms_settings.ASYNC:
            # On a queued row claimed_at marks when the sweeper last enqueued it.
            queryset = queryset.filter(
                Q(claimed_at__isnull=True) | Q(claimed_at__lte=now - self.lease)
            )
        return queryset.order_by("next_attempt_at", "pk")

    def resume_due(self, report: SweepReport) -> None:
        # Fixed at the start: a row that fails again gets a later due time and is left for
        # the next run, so this loop ends even with a zero backoff.
        queryset = self.due_queryset(timezone.now())
        if self.dry_run:
            count = queryset.count()
            if sms_settings.ASYNC:
                report.would_enqueue = count
                self.progress(f"Due retries: {count} would be enqueued.")
            else:
                report.would_redeliver = count
                self.progress(f"Due retries: {count} would be delivered.")
            return
        while True:
            if sms_settings.ASYNC:
                now = timezone.now()
                rows = claim(queryset, self.batch_size, claimed_at=now, updated_at=now)
                if not rows:
                    break
                enqueue_deliveries([row.pk for row in rows])
                report.enqueued += len(rows)
                self.progress(f"Due retries: {report.enqueued} enqueued.")
            else:
                rows = claim_batch(queryset, self.batch_size)
                if not rows:
                    break
                deliver_concurrently(rows, claimed=True)
                report.redelivered += len(rows)
                self.progress(f"Due retries: {report.redelivered} delivered.")

    # -- 2. rows stuck in "sending" ---------------------------------------------------------

    def rescue_stuck(self, report: SweepReport) -> None:
        now = timezone.now()
        queryset = self.model._default_manager.filter(
            status=Status.SENDING, claimed_at__lte=now - self.lease
        ).order_by("claimed_at", "pk")
        if self.dry_run:
            report.would_rescue = queryset.count()
            self.progress(f"Stuck in sending: {report.would_rescue} would be marked unknown.")
            return
        while rows := self._rescue_batch(queryset):
            report.rescued += len(rows)
            self.progress(f"Stuck in sending: {report.rescued} marked unknown.")
            by_alias: dict[str, list[AbstractMessage]] = {}
            for row in rows:
                by_alias.setdefault(row.backend_alias, []).append(row)
            for alias, group in by_alias.items():
                backend = self.pollable_backend(alias)
                if backend is not None:
                    self._poll_rows(alias, backend, group, report)

    def _rescue_batch(self, queryset: QuerySet[AbstractMessage]) -> list[AbstractMessage]:
        """Mark one batch of stuck rows ``unknown``, each under a lock held until commit.

        The lock matters: a slow worker finishing at this very moment waits for the commit,
        then sees ``unknown`` and records its real result over it (``unknown`` may move on
        to ``accepted``); without it, a worker's "retry later" could be overwritten.
        """
        rescued = []
        lease = int(self.lease.total_seconds())
        with atomic_for(queryset.model):
            if can_skip_locked(queryset):
                rows = lock_batch(queryset, self.batch_size)
            else:
                # The conditional UPDATE takes the row (and SQLite's write lock) until commit.
                now = timezone.now()
                rows = [
                    row
                    for row in queryset[: self.batch_size]
                    if queryset.filter(pk=row.pk).update(updated_at=now)
                ]
            for row in rows:
                event = unknown_event(
                    row,
                    f"No result was recorded within {lease} s (SENDING_LEASE) of attempt "
                    f"{row.attempts}: the process sending it probably died. The provider "
                    "may or may not have the message, so it is not resent.",
                    attempt=row.attempts,
                )
                apply_status(row, Status.UNKNOWN, event=event, fields={"claimed_at": None})
                rescued.append(row)
        return rescued

    # -- 3. polling -----------------------------------------------------------------------------

    def pollable_backend(self, alias: str) -> BaseSmsBackend | None:
        try:
            backend: BaseSmsBackend = sms_backends[alias]
        except InvalidSmsBackend:
            return None
        return backend if backend.supports_status_polling else None

    def poll(self, report: SweepReport) -> None:
        now = timezone.now()
        for alias in configured_backends():
            backend = self.pollable_backend(alias)
            if backend is None:
                continue
            queryset = self.model._default_manager.filter(
                backend_alias=alias,
                status__in=PENDING_STATUSES,
                created_at__gte=now - timedelta(seconds=float(sms_settings.POLL_MAX_AGE)),
                updated_at__lte=now - timedelta(seconds=float(sms_settings.POLL_MIN_AGE)),
            ).order_by("updated_at", "pk")
            if self.dry_run:
                count = queryset.count()
                report.would_poll += count
                self.progress(f"Polling {alias!r}: {count} message(s) would be polled.")
                continue
            if self.is_paused(alias):
                self.progress(
                    f"Polling {alias!r}: paused until {self.paused_until[alias]:%H:%M:%S}."
                )
                continue
            polled_before = report.polled
            while not self.is_paused(alias):
                rows = claim(queryset, self.batch_size, updated_at=timezone.now())
                if not rows:
                    break
                self._poll_rows(alias, backend, rows, report)
                self.progress(
                    f"Polling {alias!r}: {report.polled - polled_before} polled, "
                    f"{report.poll_changes} changed, {report.poll_errors} errors."
                )

    def is_paused(self, alias: str) -> bool:
        until = self.paused_until.get(alias)
        return until is not None and until > timezone.now()

    def _poll_rows(
        self,
        alias: str,
        backend: BaseSmsBackend,
        rows: list[AbstractMessage],
        report: SweepReport,
    ) -> None:
        for row in rows:
            if self.is_paused(alias):
                return
            try:
                update = backend.fetch_status(row)
            except TransientProviderError as exc:
                report.poll_errors += 1
                if exc.retry_after:
                    self.paused_until[alias] = timezone.now() + timedelta(seconds=exc.retry_after)
                    report.paused[alias] = float(exc.retry_after)
                    self.progress(
                        f"Polling {alias!r}: the provider asked to wait {exc.retry_after:g} s; "
                        "stopping this alias."
                    )
                else:
                    logger.warning("Polling message %s failed: %s", row.pk, exc)
                continue
            except ProviderError as exc:
                report.poll_errors += 1
                logger.warning("Polling message %s failed: %s", row.pk, exc)
                continue
            report.polled += 1
            if update is not None and apply_update(row, update, backend):
                report.poll_changes += 1

    # -- 4. webhook events that arrived before their message ----------------------------------

    def match_pending_events(self, report: SweepReport) -> None:
        if self.dry_run:
            self.progress("Unmatched webhook events: skipped in a dry run.")
            return
        report.matched = match_pending_events()
        self.progress(f"Unmatched webhook events: {report.matched} matched.")


    # -- 5. money ---------------------------------------------------------------------------------

    def settle_money(self, report: SweepReport) -> None:
        if self.dry_run:
            self.progress("Charges: skipped in a dry run.")
            return
        model = self.model
        last_pk: Any = None
        while True:
            queryset = wallets.unsettled(model).order_by("pk")
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            rows = list(queryset[: self.batch_size])
            if not rows:
                break
            last_pk = rows[-1].pk
            for row in rows:
                before = row.charge_status
                with atomic_for(row):
                    wallets.settle(row, row.status)
                if row.charge_status != before:
                    report.settled += 1
                    logger.warning(
                        "smssync: message %s was %s but its charge was %r; now %r.",
                        row.pk, row.status, before, row.charge_status,
                    )
        horizon = timezone.now() - timedelta(seconds=float(sms_settings.UNKNOWN_SETTLE_AFTER))
        stale_unknown = model._default_manager.filter(
            status=Status.UNKNOWN,
            charge_status=ChargeStatus.HELD,
            wallet__isnull=False,
            updated_at__lte=horizon,
        ).order_by("pk")
        while rows := list(stale_unknown[: self.batch_size]):
            for row in rows:
                self._capture_unknown(row)
                report.settled_unknown += 1
        self.progress(
            f"Charges: {report.settled} reconciled, {report.settled_unknown} unknown "
            "message(s) captured."
        )

    def _capture_unknown(self, row: AbstractMessage) -> None:
        after = int(float(sms_settings.UNKNOWN_SETTLE_AFTER))
        event = unknown_event(
            row,
            f"The outcome stayed unknown for {after} s (UNKNOWN_SETTLE_AFTER): the held "
            "charge is captured, since the provider may have sent the message. Refund it "
            "from the admin if the provider did not bill it.",
        )
        with atomic_for(row):
            captured = wallets.capture_unknown(row)
            # Touched, so the row leaves the query even if another sweeper captured it.
            type(row)._default_manager.filter(pk=row.pk).update(updated_at=timezone.now())
            if captured:
                apply_status(row, Status.UNKNOWN, event=event)


def unknown_event(row: AbstractMessage, why: str, **fields: Any) -> StatusEvent:
    """The sweeper's own ``unknown`` event on ``row``'s backend, saying ``why``."""
    return StatusEvent(
        status=Status.UNKNOWN,
        source=EventSource.SYSTEM,
        backend_alias=row.backend_alias,
        provider=row.provider,
        provider_status_text=why,
        **fields,
    )


def apply_update(row: AbstractMessage, update: StatusUpdate, backend: BaseSmsBackend) -> bool:
    """Apply one polled :class:`StatusUpdate` to ``row``; return whether its status changed.

    Polling returns the same state again and again; each distinct report is stored once,
    exactly as for webhooks (``django_sms.events.record_polled_status``).
    """
    return record_polled_status(backend, row, update, source=EventSource.POLL)


def sweep(
    *, dry_run: bool = False, batch_size: int | None = None, progress: Progress | None = None
) -> SweepReport:
    """Run the sweeper once. See the module docstring for what it does."""
    return Sweeper(batch_size=batch_size, dry_run=dry_run, progress=progress).run()


@task
def sync() -> dict[str, Any]:
    """Run the sweeper once (``manage.py smssync`` as a task); return what it did."""
    return sweep().as_dict()
