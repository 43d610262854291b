"""``python -m benchmarks [--quick] [--only PARTS] [--provider NAME] [--database-url URL]
[--db-name NAME] [--output FILE] [--profile]``

The benchmark of docs/benchmarks.rst, run from the repository root (``python benchmarks``
works too, from anywhere). The work is in :mod:`benchmarks.runner`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import django

if __package__ in (None, ""):  # ``python benchmarks``: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.processes import BenchmarkError
from benchmarks.providers import PROVIDERS
from benchmarks.runner import (
    DEFAULT_DATABASE_NAME,
    DEFAULT_DATABASE_URL,
    PARTS,
    run,
    run_measurements,
)


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Measure django-transactional-sms side by side with hand-written baselines "
            "(per-message cost, bulk sending, webhook ingestion, worker throughput, SQL per "
            "send) on a PostgreSQL database of its own, print the table and, for a full run, "
            "write docs/benchmarks.md."
        ),
    )
    parse.add_argument(
        "--quick", action="store_true",
        help="Small counts (a smoke test, seconds instead of minutes); writes no report "
             "unless --output is given.",
    )
    parse.add_argument(
        "--only", default="",
        help=f"Comma-separated measurements to run, among {', '.join(PARTS)} (default: all).",
    )
    parse.add_argument(
        "--provider", default="vonage", choices=sorted(PROVIDERS),
        help="The provider of the per-message rows (default: vonage). Bulk, webhooks, "
             "workers and SQL per send always go through Vonage.",
    )
    parse.add_argument(
        "--database-url", default=DEFAULT_DATABASE_URL,
        help="PostgreSQL server (any database on it) where the benchmark creates and then "
             f"drops its own database (default: {DEFAULT_DATABASE_URL}).",
    )
    parse.add_argument(
        "--db-name", default=DEFAULT_DATABASE_NAME,
        help=f"Name of that database (default: {DEFAULT_DATABASE_NAME}); it is dropped first "
             "if it exists.",
    )
    parse.add_argument(
        "--output", default="",
        help="Write the report (Markdown) here. Default: docs/benchmarks.md for a full run "
             "(every measurement, full size, the default provider), nothing otherwise.",
    )
    parse.add_argument(
        "--profile", action="store_true",
        help="Add where the time goes (a cProfile summary of one send and of one webhook, "
             "the app beside its hand-written peer) even when every target is met.",
    )
    parse.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parse


def main(argv: list[str] | None = None) -> int:
    options = vars(parser().parse_args(argv))

    def write(text: str) -> None:
        print(text, flush=True)

    try:
        if options["child"]:
            # The measuring process: the parent set DJANGO_SETTINGS_MODULE.
            django.setup()
            return run_measurements(options, write)
        return run(options, write)
    except BenchmarkError as exc:
        print(f"python -m benchmarks: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
