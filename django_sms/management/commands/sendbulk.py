"""``manage.py sendbulk FILE.csv (--text TEXT | --text-column NAME) [options]``

Every row is validated before anything is stored (like ``send_mass_sms()``): with an invalid
or opted-out recipient nothing is sent unless ``--skip-invalid``. Messages then go out in
batches through ``send_mass_sms()`` (its thread pool, or the task queue in ``ASYNC`` mode),
with a progress bar, and a summary by status. The exit status is 1 when a message failed.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_sms.backends.handler import InvalidSmsBackend
from django_sms.exceptions import SMSError
from django_sms.message import SMS
from django_sms.models import OptOut
from django_sms.sending import prepare, send_mass_sms
from django_sms.status import FINAL_STATUSES, Status

#: Final statuses that count as delivered, for the exit status.
SUCCESS_STATUSES = {Status.DELIVERED}
BAR_WIDTH = 30


@dataclass
class Row:
    line: int
    sms: SMS


class Command(BaseCommand):
    help = "Send one SMS per row of a CSV file (a header row names the columns)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file with a header row; '-' reads standard input.")
        text = parser.add_mutually_exclusive_group(required=True)
        text.add_argument("--text", help="The same text for every recipient.")
        text.add_argument("--text-column", help="Column holding each row's text.")
        parser.add_argument(
            "--to-column", default="to", help="Column holding the recipient (default: 'to')."
        )
        parser.add_argument("--sender", default=None, help="Sender ID (default: DEFAULT_SENDER).")
        parser.add_argument("--using", default=None, help="SMS backend alias (default: routing).")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Messages stored and sent per send_mass_sms() call (default: 500).",
        )
        parser.add_argument(
            "--idempotency-prefix",
            default="",
            help="Give row N the idempotency key PREFIX:N, so running the same file again "
            "(after an interruption) sends nothing twice.",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Send the valid rows even if some are invalid or opted out (they are listed).",
        )
        parser.add_argument("--delimiter", default=",", help="CSV delimiter (default: ',').")
        parser.add_argument(
            "--encoding",
            default="utf-8-sig",
            help="The file's encoding (default: utf-8-sig, UTF-8 with or without a BOM).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be a positive integer.")
        with self.open(options["file"], options["encoding"]) as stream:
            rows = list(self.read(stream, options))
        if not rows:
            raise CommandError(f"{options['file']} has no data rows.")
        valid, invalid = self.validate(rows, options["using"])
        for line, to, reason in invalid[:20]:
            self.stderr.write(f"Line {line}: {to!r}: {reason}")
        if len(invalid) > 20:
            self.stderr.write(f"... and {len(invalid) - 20} more.")
        if invalid and not options["skip_invalid"]:
            raise CommandError(
                f"{len(invalid)} of {len(rows)} rows cannot be sent; nothing was sent. "
                "Fix them, or pass --skip-invalid to send the others."
            )
        if invalid:
            self.stdout.write(f"Skipping {len(invalid)} invalid row(s).")
        statuses, failures = self.send(valid, options)
        self.summarise(statuses, failures, skipped=len(invalid))

    # -- reading -------------------------------------------------------------------------------

    def open(self, path: str, encoding: str) -> IO[str]:
        if path == "-":
            return open(sys.stdin.fileno(), encoding=encoding, newline="", closefd=False)
        try:
            return open(path, encoding=encoding, newline="")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc

    def read(self, stream: IO[str], options: dict[str, Any]) -> Iterator[Row]:
        reader = csv.DictReader(stream, delimiter=options["delimiter"])
        columns = reader.fieldnames or []
        needed = [options["to_column"]] + (
            [options["text_column"]] if options["text_column"] else []
        )
        missing = [name for name in needed if name not in columns]
        if missing:
            raise CommandError(
                f"Column(s) {', '.join(map(repr, missing))} not found; the header has: "
                f"{', '.join(map(repr, columns)) or '(nothing)'}."
            )
        prefix = options["idempotency_prefix"]
        for record in reader:
            text = record[options["text_column"]] if options["text_column"] else options["text"]
            yield Row(
                reader.line_num,
                SMS(
                    text=text or "",
                    to=(record[options["to_column"]] or "").strip(),
                    sender=options["sender"],
                    idempotency_key=f"{prefix}:{reader.line_num}" if prefix else None,
                ),
            )

    def validate(
        self, rows: list[Row], using: str | None
    ) -> tuple[list[Row], list[tuple[int, str, str]]]:
        """Split rows into sendable ones and (line, recipient, reason) for the others."""
        valid: list[Row] = []
        invalid: list[tuple[int, str, str]] = []
        numbers: dict[int, tuple[str, str]] = {}
        for row in rows:
            probe = SMS(text=row.sms.text, to=row.sms.to, sender=row.sms.sender)
            try:
                prepare(probe, using)
            except InvalidSmsBackend as exc:
                raise CommandError(str(exc)) from exc
            except SMSError as exc:
                invalid.append((row.line, row.sms.to, str(exc)))
                continue
            numbers[row.line] = (probe.to, probe.sender or "")
            valid.append(row)
        blocked = self.opted_out({number for number, _sender in numbers.values()})
        sendable = []
        for row in valid:
            number, sender = numbers[row.line]
            if (number, "") in blocked or (number, sender) in blocked:
                invalid.append((row.line, row.sms.to, "the recipient opted out"))
            else:
                sendable.append(row)
        invalid.sort()
        return sendable, invalid

    @staticmethod
    def opted_out(numbers: set[str]) -> set[tuple[str, str]]:
        blocked: set[tuple[str, str]] = set()
        ordered = sorted(numbers)
        for start in range(0, len(ordered), 1000):
            chunk = ordered[start : start + 1000]
            blocked.update(
                OptOut.objects.filter(phone_number__in=chunk).values_list("phone_number", "sender")
            )
        return blocked

    # -- sending -------------------------------------------------------------------------------

    def send(
        self, rows: list[Row], options: dict[str, Any]
    ) -> tuple[Counter[str], list[tuple[int, str, str]]]:
        statuses: Counter[str] = Counter()
        failures: list[tuple[int, str, str]] = []
        started = time.monotonic()
        size = options["batch_size"]
        self.progress(0, len(rows), started)
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            try:
                messages = send_mass_sms(
                    [row.sms for row in batch], using=options["using"], fail_silently=True
                )
            except SMSError as exc:  # e.g. an opt-out recorded since validation
                self.stdout.write("")
                raise CommandError(
                    f"Stopped at line {batch[0].line}: {type(exc).__name__}: {exc}. "
                    f"{start} message(s) were sent before."
                ) from exc
            for row, message in zip(batch, messages, strict=True):
                statuses[message.status] += 1
                if message.status in FINAL_STATUSES and message.status not in SUCCESS_STATUSES:
                    failures.append((row.line, message.to, message.error_message or message.status))
            self.progress(min(start + size, len(rows)), len(rows), started)
        if self.stdout.isatty():
            self.stdout.write("")
        return statuses, failures

    def progress(self, done: int, total: int, started: float) -> None:
        filled = BAR_WIDTH * done // total
        elapsed = time.monotonic() - started
        rate = f" {done / elapsed:.0f} msg/s" if done and elapsed > 0 else ""
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"
        bar += f" {done}/{total} ({100 * done // total}%){rate}"
        if self.stdout.isatty():
            self.stdout.write(f"\r{bar}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(bar)

    def summarise(
        self, statuses: Counter[str], failures: list[tuple[int, str, str]], *, skipped: int
    ) -> None:
        total = sum(statuses.values())
        parts = ", ".join(f"{count} {status}" for status, count in statuses.most_common())
        self.stdout.write(
            f"{total} message(s): {parts}." + (f" {skipped} skipped." if skipped else "")
        )
        if statuses.get(Status.QUEUED):
            self.stdout.write(
                f"{statuses[Status.QUEUED]} queued: delivered by the task workers, or retried "
                "by smssync after a temporary failure."
            )
        for line, to, reason in failures[:20]:
            self.stderr.write(f"Line {line}: {to}: {reason}")
        if failures:
            raise CommandError(f"{len(failures)} of {total} message(s) failed.")
        self.stdout.write(self.style.SUCCESS("Done."))
