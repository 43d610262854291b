"""``manage.py smssync [--loop [--interval N]] [--dry-run] [--batch-size N]``"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from django_sms.sweeper import Sweeper, SweepReport


def refresh_connections() -> None:
    """Drop broken or expired database connections between sweeps (like a request does),
    never one inside a transaction (the caller's, e.g. a test's)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def positive_number(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Resume due retries, rescue messages stuck in 'sending' after a worker died, poll "
        "providers for the status of pending messages, and match early webhook events. Run "
        "it every minute from cron, or keep it running with --loop."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep running, one sweep every --interval seconds."
        )
        parser.add_argument(
            "--interval",
            type=positive_number,
            default=60.0,
            help="Seconds between two sweeps with --loop (default: 60).",
        )
        parser.add_argument(
            "--iterations",
            type=int,
            default=0,
            help="With --loop: stop after this many sweeps (default: run until stopped).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count what would be done; change nothing and call no provider.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Rows claimed at a time (default: DJANGO_SMS['POLL_BATCH_SIZE']).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be a positive integer.")
        verbosity = options["verbosity"]
        sweeper = Sweeper(
            batch_size=options["batch_size"],
            dry_run=options["dry_run"],
            progress=self.stdout.write if verbosity >= 1 else None,
            log_summary=False,  # printed below at verbosity 1+, nothing at 0
        )
        if not options["loop"]:
            self.summarise(sweeper.run(), verbosity)
            return

        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            if verbosity >= 1:
                self.stdout.write(f"{signal.strsignal(signum)}: stopping after this sweep.")
            stop.set()

        previous = {}
        if threading.current_thread() is threading.main_thread():  # signals need the main thread
            previous = {
                sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
            }
        try:
            done = 0
            while not stop.is_set():
                refresh_connections()
                try:
                    self.summarise(sweeper.run(), verbosity)
                except Exception as exc:  # a database or provider outage must not end the loop
                    self.stderr.write(f"Sweep failed: {type(exc).__name__}: {exc}")
                done += 1
                if options["iterations"] and done >= options["iterations"]:
                    break
                stop.wait(options["interval"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            refresh_connections()

    def summarise(self, report: SweepReport, verbosity: int) -> None:
        if verbosity < 1:
            return
        if report.dry_run:
            self.stdout.write(report.summary())
        else:
            self.stdout.write(self.style.SUCCESS(report.summary()))
