"""Delivering many messages at once with bounded concurrency (``send_mass_sms()``, the sweeper).

The calling thread owns the database: it claims the rows chunk by chunk (so a long batch
never holds a claim it is not working on, and a sweeper running meanwhile can take the rows
nobody has reached), calls ``pre_send`` receivers, and records every result. A pool of
``BULK_CONCURRENCY`` threads only talks to the providers, each thread with its own backend
instances from ``sms_backends`` — so its own ``requests.Session`` and connection pool — which
it closes when the batch is done. At most two chunks per thread are in flight, so memory and
claims stay bounded whatever the size of the batch.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import F, Q
from django.utils import timezone

from django_sms.backends.handler import sms_backends
from django_sms.claims import CLOCK_SKEW
from django_sms.conf import sms_settings
from django_sms.delivery import (
    Attempt,
    PreSent,
    claim_batch,
    record_delivery,
    run_pre_send,
    send_with_failover,
)
from django_sms.exceptions import PermanentProviderError
from django_sms.models import AbstractMessage, EventSource, StatusEvent
from django_sms.status import Status
from django_sms.transactions import atomic_for

logger = logging.getLogger("django_sms")

#: Most messages one thread sends before handing its results back for recording.
MAX_CHUNK = 25


@dataclass
class Job:
    alias: str
    group: list[AbstractMessage]
    ready: PreSent


def chunk_size(count: int, threads: int) -> int:
    """Small enough that every thread gets several chunks (load balancing, prompt recording),
    big enough that recording a chunk is one INSERT for many events."""
    return max(1, min(MAX_CHUNK, math.ceil(count / (threads * 4))))


def deliver_concurrently(
    rows: Sequence[AbstractMessage], *, fail_silently: bool = True, claimed: bool = False
) -> list[AbstractMessage]:
    """Deliver ``rows`` through a pool of ``BULK_CONCURRENCY`` threads and record the results.

    ``rows`` are stored ``queued`` (their ``queued`` event written) and are claimed here chunk
    by chunk (with their ``sending`` events); with ``claimed=True`` the caller has claimed
    them already (the sweeper does, with ``django_sms.delivery.claim_batch``).
    Rows another process claimed first, or whose retry is not due yet, are skipped. Returns
    the rows delivered here (updated in place). Unless ``fail_silently``, the first
    :class:`~django_sms.exceptions.PermanentProviderError` is raised once every result is
    stored.
    """
    concurrency = max(1, int(sms_settings.BULK_CONCURRENCY))
    by_alias: dict[str, list[AbstractMessage]] = {}
    for row in rows:
        by_alias.setdefault(row.backend_alias, []).append(row)
    size = chunk_size(len(rows), concurrency)
    chunks = [
        (alias, group[i : i + size])
        for alias, group in by_alias.items()
        for i in range(0, len(group), size)
    ]
    threads = min(concurrency, len(chunks))
    delivery = _Delivery(chunks, claimed=claimed)
    if threads <= 1:
        delivery.run_here()
    else:
        delivery.run_pool(threads)
    if delivery.error is not None and not fail_silently:
        raise delivery.error
    return delivery.delivered


class _Delivery:
    def __init__(self, chunks: list[tuple[str, list[AbstractMessage]]], *, claimed: bool) -> None:
        self.chunks = iter(chunks)
        self.claimed = claimed
        self.error: PermanentProviderError | None = None
        self.delivered: list[AbstractMessage] = []

    def next_job(self) -> Job | None:
        """Claim the next chunk and run its ``pre_send`` receivers (in the calling thread)."""
        for alias, chunk in self.chunks:
            group = chunk if self.claimed else self.claim(chunk)
            if not group:
                continue
            ready = run_pre_send(group)
            if ready.rows:
                return Job(alias, group, ready)
            self.record(Job(alias, group, ready), [])  # every row was canceled
        return None

    @staticmethod
    def claim(chunk: list[AbstractMessage]) -> list[AbstractMessage]:
        model = type(chunk[0])
        by_pk = {row.pk: row for row in chunk}
        # A retry that is not due yet stays queued (a duplicate task must not cut its backoff).
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now() + CLOCK_SKEW)
        queryset = model._default_manager.filter(due, pk__in=by_pk, status=Status.QUEUED).order_by(
            "pk"
        )
        won = claim_batch(queryset, len(chunk))
        group = []
        for fresh in won:
            row = by_pk[fresh.pk]
            row.status, row.attempts, row.claimed_at = (
                fresh.status,
                fresh.attempts,
                fresh.claimed_at,
            )
            group.append(row)
        return group

    def record(self, job: Job, tries: list[list[Attempt]]) -> None:
        error = record_delivery(job.alias, job.ready, tries)
        self.error = self.error or error
        self.delivered += job.group

    def run_here(self) -> None:
        while (job := self.next_job()) is not None:
            self.record(job, send_with_failover(job.alias, job.ready.rows, job.ready.values))

    def run_pool(self, threads: int) -> None:
        jobs: queue.Queue[Job | None] = queue.Queue()
        results: queue.Queue[tuple[Job, Any, BaseException | None]] = queue.Queue()
        workers = [
            threading.Thread(
                target=_send_jobs, args=(jobs, results), name=f"django-sms-send-{n}", daemon=True
            )
            for n in range(threads)
        ]
        for worker in workers:
            worker.start()
        in_flight = 0
        try:
            while in_flight < threads * 2 and (job := self.next_job()) is not None:
                jobs.put(job)
                in_flight += 1
            while in_flight:
                job, tries, exc = results.get()
                in_flight -= 1
                if exc is not None:
                    raise exc
                self.record(job, tries)
                if (job := self.next_job()) is not None:
                    jobs.put(job)
                    in_flight += 1
        finally:
            unsent = _drain(jobs)
            for _worker in workers:
                jobs.put(None)
            for worker in workers:
                worker.join()
            if unsent:
                _release(unsent)


def _send_jobs(jobs: queue.Queue[Job | None], results: queue.Queue[Any]) -> None:
    """A pool thread: send jobs until told to stop, then close what this thread opened."""
    try:
        while (job := jobs.get()) is not None:
            try:
                tries = send_with_failover(job.alias, job.ready.rows, job.ready.values)
            except BaseException as exc:  # handed to the calling thread, which re-raises it
                results.put((job, None, exc))
            else:
                results.put((job, tries, None))
    finally:
        sms_backends.close_all()  # this thread's backend instances and their HTTP sessions
        connections.close_all()  # in case a backend or receiver used the database


def _drain(jobs: queue.Queue[Job | None]) -> list[Job]:
    drained: list[Job] = []
    while True:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            return drained
        if job is not None:
            drained.append(job)


def _release(unsent: list[Job]) -> None:
    """Give back claims on rows never handed to a provider (the batch stopped on an error)."""
    rows = [row for job in unsent for row in job.group]
    try:
        with atomic_for(rows[0]):
            type(rows[0])._default_manager.filter(
                pk__in=[row.pk for row in rows], status=Status.SENDING
            ).update(status=Status.QUEUED, attempts=F("attempts") - 1, claimed_at=None)
            # The claims' "sending" events stay: this one says the attempt never happened.
            StatusEvent.objects.bulk_create(
                StatusEvent(  # type: ignore[misc]  # the swappable message model
                    message=row,
                    status=Status.QUEUED,
                    source=EventSource.SYSTEM,
                    attempt=row.attempts,
                    provider_status_text="claim released: the batch stopped before this "
                    "message was handed to the provider",
                )
                for row in rows
            )
    except Exception:
        logger.exception(
            "Could not release %d claimed messages; smssync will rescue them.", len(rows)
        )
