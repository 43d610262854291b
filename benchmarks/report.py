"""The results of ``python -m benchmarks``: the table, the machine and versions,
``docs/benchmarks.md``."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import django
from django.db import connection

from benchmarks.processes import ROOT


@dataclass
class Row:
    """One line of the table: what was measured, our figure, the baseline's, the ratio and
    the target (``met`` is None when there is no target). ``topic`` (``send``, ``webhook``)
    says which profile explains a missed target."""

    what: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    topic: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "met" if self.met else "**not met**"


HEADER = ("Measurement", "django-transactional-sms", "Baseline", "Ratio", "Target", "Verdict")


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (readable as plain text too)."""
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    for row in rows:
        cells = (row.what, row.ours, row.baseline, row.ratio, row.target, row.verdict)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """CPU, memory, OS of this machine."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if found:
            cpu = found.group(1).strip()
    memory = ""
    with contextlib.suppress(OSError):
        found = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if found:
            memory = f"{int(found.group(1)) / 1024 / 1024:.0f} GB"
    system = platform.platform()
    with contextlib.suppress(OSError):
        found = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', Path("/etc/os-release").read_text(),
                          re.M)
        if found:
            system = f"{found.group(1)} ({platform.system()} {platform.release()})"
    return {
        "CPU": f"{os.cpu_count()} x {cpu}",
        "Memory": memory or "unknown",
        "OS": system,
    }


def versions() -> dict[str, str]:
    """Versions of what was measured and what measured it."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = str(cursor.fetchone()[0]).split(" ")[0]
    found = {
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "PostgreSQL": postgres,
    }
    for package in ("django-transactional-sms", "requests", "psycopg", "django-tasks-db",
                    "gunicorn"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[package] = importlib.metadata.version(package)
    wrk = shutil.which("wrk")
    if wrk:
        completed = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        first = (completed.stdout or completed.stderr).strip().splitlines()
        if first:
            found["wrk"] = first[0].split(" [")[0].removeprefix("wrk ")
    return found


def commit() -> str:
    """The commit measured: short hash and subject, and whether the tree had changes."""
    def git(*args: str) -> str:
        completed = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                                   text=True, check=False)
        return completed.stdout.strip() if completed.returncode == 0 else ""

    described = git("log", "-1", "--format=%h %s")
    if not described:
        return "unknown (not a git checkout)"
    hash_, _, subject = described.partition(" ")
    if len(subject) > 80:
        subject = subject[:77] + "..."
    changed = git("status", "--porcelain", "--untracked-files=no")
    dirty = " (with uncommitted changes)" if changed else ""
    return f"`{hash_}` ({subject}){dirty}"


def markdown(rows: list[Row], *, command: str, started: datetime, seconds: float,
             load: tuple[float, float], notes: list[str], sections: list[str]) -> str:
    """docs/benchmarks.md: how it was run, on what, the table, and the extra ``sections``
    (markdown: where the time goes)."""
    facts = "\n".join(f"- **{name}**: {value}" for name, value in machine().items())
    software = ", ".join(f"{name} {value}" for name, value in versions().items())
    note_lines = "\n".join(f"- {note}" for note in notes)
    extra = "".join(f"\n{section.strip()}\n" for section in sections)
    return f"""# Benchmarks

Measured with `python -m benchmarks` (see `docs/benchmarks.rst` for what each figure means and
how it is measured). Every figure comes from one run of the command; the baseline of each row
ran in the same run, interleaved with it where possible.

Command (from the repository root, after `./scripts/setup`):

```
{command}
```

Run on {started:%Y-%m-%d %H:%M} UTC, {seconds / 60:.0f} minutes; load average
{load[0]:.1f} at the start, {load[1]:.1f} at the end (the machine is shared with other work:
the figures are pessimistic).

{facts}
- **Software**: {software}
- **Commit measured**: {commit()}

{table(rows)}

{note_lines}
{extra}"""


def now() -> datetime:
    return datetime.now(UTC)


# -- docs/benchmarks.md is shared with benchmarks/admin_changelist.py ---------------------------

#: The admin benchmark's part of docs/benchmarks.md sits between these lines; each command
#: rewrites only its own part of the file.
ADMIN_SECTION = ("<!-- admin-changelist: start -->", "<!-- admin-changelist: end -->")


def admin_section(text: str) -> str:
    """The admin benchmark's section of a report (markers included), or ""."""
    start, end = ADMIN_SECTION
    if start not in text or end not in text:
        return ""
    return text[text.index(start) : text.index(end) + len(end)]


def write_report(path: Path, document: str) -> None:
    """Write the benchmark's ``document`` to ``path``, keeping the admin benchmark's section."""
    kept = admin_section(path.read_text()) if path.exists() else ""
    path.write_text(document + (f"\n{kept}\n" if kept else ""))


def replace_admin_section(path: Path, section: str) -> None:
    """Put the admin benchmark's ``section`` (markdown, without markers) into ``path``."""
    start, end = ADMIN_SECTION
    block = f"{start}\n{section.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    old = admin_section(text)
    text = text.replace(old, block) if old else text.rstrip("\n") + f"\n\n{block}\n"
    path.write_text(text)
