"""``manage.py smsbench [--quick] [--only PARTS] [--database-url URL] [--output FILE]``

The benchmark of docs/benchmarks.rst; the work is in ``django_sms.benchmarks.runner``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_sms.benchmarks.processes import BenchmarkError
from django_sms.benchmarks.runner import (
    DEFAULT_DATABASE_NAME,
    DEFAULT_DATABASE_URL,
    PARTS,
    run,
    run_measurements,
)


class Command(BaseCommand):
    help = (
        "Measure the app side by side with bare baselines (per-message cost, bulk sending, "
        "webhook ingestion, worker throughput, SQL per send) on a PostgreSQL database of its "
        "own, print the table and, for a full run, write docs/benchmarks.md."
    )
    # The measuring process runs under the benchmark's own settings; checks of the
    # project that started it are irrelevant here.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quick", action="store_true",
            help="Small counts (a smoke test, seconds instead of minutes); writes no report "
                 "unless --output is given.",
        )
        parser.add_argument(
            "--only", default="",
            help=f"Comma-separated measurements to run, among {', '.join(PARTS)} "
                 "(default: all).",
        )
        parser.add_argument(
            "--database-url", default=DEFAULT_DATABASE_URL,
            help="PostgreSQL server (any database on it) where the benchmark creates and "
                 f"then drops its own database (default: {DEFAULT_DATABASE_URL}).",
        )
        parser.add_argument(
            "--db-name", default=DEFAULT_DATABASE_NAME,
            help=f"Name of that database (default: {DEFAULT_DATABASE_NAME}); it is dropped "
                 "first if it exists.",
        )
        parser.add_argument(
            "--output", default="",
            help="Write the report (Markdown) here. Default: docs/benchmarks.md for a full "
                 "run from the repository root, nothing otherwise.",
        )
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        def write(text: str) -> None:
            self.stdout.write(text)
            self.stdout.flush()

        try:
            measure = run_measurements if options["child"] else run
            status = measure(options, write)
        except BenchmarkError as exc:
            raise CommandError(str(exc)) from exc
        if status:
            sys.exit(status)
