"""``manage.py sendtestsms TO [--text ...] [--sender ...] [--using ALIAS]``"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_sms.backends.handler import InvalidSmsBackend
from django_sms.exceptions import SMSError
from django_sms.sending import send_sms
from django_sms.status import Status

OK_STATUSES = {Status.ACCEPTED, Status.SENT, Status.DELIVERED}


class Command(BaseCommand):
    help = "Send one test SMS through a backend alias and print what happened."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("to", help="Recipient, international (+33612345678) or national.")
        parser.add_argument(
            "--text",
            default="Test message from django-transactional-sms.",
            help='Text to send (default: "%(default)s").',
        )
        parser.add_argument("--sender", default=None, help="Sender ID (default: DEFAULT_SENDER).")
        parser.add_argument("--using", default=None, help="SMS backend alias (default: routing).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            message = send_sms(
                options["text"], options["to"], options["sender"], using=options["using"]
            )
        except InvalidSmsBackend as exc:
            raise CommandError(str(exc)) from exc
        except SMSError as exc:
            raise CommandError(f"{type(exc).__name__}: {exc}") from exc
        message.refresh_from_db()
        rows = [
            ("Message id", message.pk),
            ("Reference", message.reference),
            ("Backend", f"{message.backend_alias} ({message.provider})"),
            ("To", message.to),
            ("Sender", message.sender or "(provider default)"),
            ("Status", message.status),
            ("Encoding", message.encoding),
            ("Segments", message.segments),
            ("Provider id", message.provider_message_id or "-"),
        ]
        if message.error_message:
            rows.append(("Error", message.error_message))
        if message.next_attempt_at:
            rows.append(("Next attempt", message.next_attempt_at.isoformat()))
        for label, value in rows:
            self.stdout.write(f"{label + ':':<13} {value}")
        if message.status == Status.QUEUED and message.next_attempt_at:
            raise CommandError(
                f"Sending failed temporarily; a retry is scheduled ({message.error_message})."
            )
        if message.status not in OK_STATUSES:
            raise CommandError(f"Sending failed: the message is {message.status}.")
        self.stdout.write(self.style.SUCCESS("Sent."))
