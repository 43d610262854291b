"""What ``python -m benchmarks`` runs.

Two processes. The command only creates the benchmark's database, starts the *measuring
process* and drops the database when that process ends — whether it finished, failed or was
interrupted. The measuring process is the same command (``--child``) under
:mod:`benchmarks.settings`, a production-like project on that database with django-tasks-db
installed: it migrates, starts the helper processes each measurement needs (provider
sandboxes, gunicorn, ``db_worker``), measures, stops them, prints the table and writes
``docs/benchmarks.md``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.processes import ROOT, SETTINGS_MODULE, BenchmarkError

#: The measurements, in the order of the table (``--only`` takes these names).
PARTS = ("send", "bulk", "webhooks", "workers", "queries", "verification")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE_NAME = "sms_bench"
DEFAULT_PROVIDER = "vonage"


def parse_only(value: str | None) -> list[str]:
    """``"queries,send"`` -> the parts in table order; every part when empty."""
    if not value:
        return list(PARTS)
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in PARTS]
    if unknown or not wanted:
        raise BenchmarkError(
            f"--only takes a comma-separated list of {', '.join(PARTS)}; got {value!r}."
        )
    return [part for part in PARTS if part in wanted]


def database_url(server_url: str, name: str) -> str:
    """``server_url`` pointing at database ``name`` instead."""
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise BenchmarkError(
            f"--database-url must be a PostgreSQL URL (postgres://user@host:port/db), "
            f"not {server_url!r}."
        )
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


#: What the benchmark needs beyond the app: the ``bench`` dependency group of pyproject.toml.
INSTALL_HINT = "./scripts/setup, or: pip install --group bench"


def missing_requirements(parts: Sequence[str]) -> list[str]:
    """What this environment lacks for ``parts``, as install hints."""
    needed = [("django_tasks_db", "django-tasks-db"), ("psycopg", "psycopg"),
              ("dj_database_url", "dj-database-url"), ("jwt", "PyJWT")]
    if "webhooks" in parts:
        needed.append(("gunicorn", "gunicorn"))
    return [package for module, package in needed if importlib.util.find_spec(module) is None]


# -- the command's process ----------------------------------------------------------------------


def run(options: dict[str, Any], write: Callable[[str], None]) -> int:
    """Create the database, run the measuring process, drop the database; its exit status."""
    parts = parse_only(options.get("only"))
    missing = missing_requirements(parts)
    if missing:
        raise BenchmarkError(f"the benchmark needs {', '.join(missing)} ({INSTALL_HINT}).")
    # Imported once it is known to be there, for the message above.
    import psycopg

    if "webhooks" in parts and shutil.which("wrk") is None:
        write("wrk is not installed (apt-get install wrk): the webhook benchmark falls back "
              "on a Python load generator, which measures less.")
    name = options.get("db_name") or DEFAULT_DATABASE_NAME
    server = options.get("database_url") or DEFAULT_DATABASE_URL
    bench_url = database_url(server, name)
    output = output_path(options, parts)
    try:
        admin = psycopg.connect(_libpq(server), autocommit=True)
    except psycopg.Error as exc:
        raise BenchmarkError(f"cannot connect to PostgreSQL at {server}: {exc}") from exc
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    write(f"Database {name} created on {urlsplit(server).netloc}.")
    argv = ["--child", "--only", ",".join(parts), "--provider", provider_name(options)]
    if options.get("quick"):
        argv.append("--quick")
    if options.get("profile"):
        argv.append("--profile")
    if output is not None:
        argv += ["--output", str(output)]
    # Every process of the run (this one's child, gunicorn, the workers, the sandboxes)
    # imports ``benchmarks`` from this repository, whatever the current directory.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "SMS_BENCH_DATABASE_URL": bench_url,
        "SMS_BENCH_COMMAND": command_line(),
        "PYTHONPATH": path,
        "PYTHONUNBUFFERED": "1",
    }
    child = subprocess.Popen([sys.executable, "-m", "benchmarks", *argv], env=env, cwd=ROOT)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    try:
        try:
            return child.wait()
        except KeyboardInterrupt:
            # A terminal's Ctrl-C reached the measuring process too; wait for it to clean up.
            write("Interrupted: stopping the benchmark.")
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGINT)
            return child.wait() or 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        with psycopg.connect(_libpq(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        write(f"Database {name} dropped.")


def _libpq(url: str) -> str:
    """psycopg takes ``postgresql://`` URLs; dj-database-url also knows ``postgres://``."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def provider_name(options: dict[str, Any]) -> str:
    return str(options.get("provider") or DEFAULT_PROVIDER)


def output_path(options: dict[str, Any], parts: Sequence[str]) -> Path | None:
    """Where the report goes: ``--output``, else docs/benchmarks.md for a full run (every
    part, full size, the default provider), else nowhere (other runs print the table only)."""
    if options.get("output"):
        return Path(options["output"]).resolve()
    if (options.get("quick") or list(parts) != list(PARTS)
            or provider_name(options) != DEFAULT_PROVIDER):
        return None
    return ROOT / "docs" / "benchmarks.md"


def command_line() -> str:
    """How this run was started, for the report (the interpreter relative to the
    repository)."""
    python = sys.executable
    with contextlib.suppress(ValueError):
        relative = os.path.relpath(python, ROOT)
        if not relative.startswith(".."):
            python = relative
    return " ".join(shlex.quote(arg) for arg in [python, "-m", "benchmarks", *sys.argv[1:]])


# -- the measuring process ----------------------------------------------------------------------


def run_measurements(options: dict[str, Any], write: Callable[[str], None]) -> int:
    """Migrate, measure, print the table, write the report; 1 if anything failed."""
    from django.core.management import call_command

    # Imported here, in the measuring process only: they load the app's models, which need
    # the Django setup that ``--child`` does first (the parent process has no settings).
    from benchmarks import measure, per_message, profile, report, verification, webhooks
    from benchmarks.common import Context, Sizes
    from benchmarks.processes import ProcessGroup
    from benchmarks.providers import PROVIDERS

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Once: a second signal (the command forwards the one it got) must not cut short
        # the stopping of the helper processes.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    parts = parse_only(options.get("only"))
    sizes = Sizes.for_run(bool(options.get("quick")))
    started, began, load_before = report.now(), time.monotonic(), os.getloadavg()[0]
    call_command("migrate", verbosity=0, interactive=False)
    rows: list[report.Row] = []
    notes: list[str] = []
    sections: list[str] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="smsbench-") as tmp:
        group = ProcessGroup(
            Path(tmp), env={"SMS_BENCH_DATABASE_URL": os.environ["SMS_BENCH_DATABASE_URL"]}
        )
        ctx = Context(group, sizes, write, PROVIDERS[provider_name(options)])
        steps: dict[str, Callable[[], list[report.Row]]] = {
            "send": lambda: (per_message.per_message_cost(ctx)
                             + per_message.per_message_cost_with_latency(ctx)),
            "bulk": lambda: measure.bulk(ctx),
            "webhooks": lambda: webhooks.webhooks(ctx, Path(tmp) / "webhooks"),
            "workers": lambda: measure.workers(ctx),
            "queries": lambda: measure.queries(ctx),
            # In this process, through the test client: no target, the ratio is reported.
            "verification": lambda: [
                report.Row(*row, met=None)
                for row in verification.rows(pairs=sizes.verification_pairs)
            ],
        }
        interrupted = False
        try:
            for part in parts:
                write(f"[{part}] measuring...")
                part_began = time.monotonic()
                try:
                    rows += steps[part]()
                except BenchmarkError as exc:
                    failed = True
                    write(f"[{part}] FAILED: {exc}")
                    rows.append(report.Row(f"{part}: failed", str(exc).splitlines()[0], "",
                                           "", "", False))
                except Exception:
                    failed = True
                    write(traceback.format_exc())
                    rows.append(report.Row(f"{part}: crashed", "see the output", "", "", "",
                                           False))
                write(f"[{part}] done in {time.monotonic() - part_began:.0f} s")
            # Where the time goes, for each missed target (or all, with --profile).
            topics = [topic for topic, part in (("send", "send"), ("webhook", "webhooks"))
                      if part in parts and (options.get("profile") or any(
                          row.topic == topic and row.met is False for row in rows))]
            if topics and not failed:
                write(f"[profile] {', '.join(topics)}...")
                try:
                    sections.append(profile.where_the_time_goes(ctx, topics))
                except Exception:
                    failed = True
                    write(traceback.format_exc())
        except KeyboardInterrupt:
            interrupted = True
            write("Interrupted: stopping the helper processes.")
        finally:
            group.close()
    if interrupted:
        return 130
    text = report.table(rows)
    write("")
    write(text)
    for section in sections:
        write("")
        write(section)
    output = options.get("output")
    if output:
        notes.append(sizes.describe())
        document = report.markdown(
            rows,
            command=os.environ.get("SMS_BENCH_COMMAND", "python -m benchmarks"),
            started=started,
            seconds=time.monotonic() - began,
            load=(load_before, os.getloadavg()[0]),
            notes=notes,
            sections=sections,
        )
        report.write_report(Path(output), document)
        write(f"\nWritten to {output}")
    return 1 if failed else 0
