"""``manage.py smssandbox``: run the provider sandbox in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_sms.testing.sandbox import (
    CallbackAttempt,
    Outcome,
    RecordedRequest,
    Sandbox,
    SandboxCredentials,
)


class Command(BaseCommand):
    help = (
        "Run the SMS provider sandbox: a local HTTP server speaking the Mailjet (and other "
        "registered providers') wire formats, for development without provider accounts."
    )
    # The sandbox must start even while the SMS settings are incomplete or point at it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1",
                            help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8025,
                            help="Port to listen on (default 8025; 0 picks a free port).")
        parser.add_argument("--latency-ms", type=float, default=0,
                            help="Delay every answer by this many milliseconds.")
        parser.add_argument("--fail-rate", type=float, default=0.0,
                            help="Fraction (0..1) of provider requests that fail with a random "
                                 "retryable fault (429, 500, 503, connection reset).")
        parser.add_argument("--seed", type=int, default=None,
                            help="Seed of the random faults, for reproducible runs.")
        parser.add_argument("--callback-url", action="append", default=[],
                            metavar="PROVIDER=URL",
                            help="Send PROVIDER's delivery reports to URL (repeatable), e.g. "
                                 "vonage=http://127.0.0.1:8000/sms/webhooks/default/status/.")
        parser.add_argument("--deliver-after", type=float, default=3.0,
                            help="Seconds until an accepted message is delivered (default 3).")

    def handle(self, *args: Any, **options: Any) -> None:
        callback_urls = {}
        for item in options["callback_url"]:
            provider, sep, url = item.partition("=")
            if not sep or not url:
                raise CommandError(f"--callback-url expects PROVIDER=URL, got {item!r}.")
            callback_urls[provider] = url
        if not 0.0 <= options["fail_rate"] <= 1.0:
            raise CommandError("--fail-rate must be between 0 and 1.")
        deliver_after = max(0.0, options["deliver_after"])
        sandbox = Sandbox(
            options["host"],
            options["port"],
            latency_ms=options["latency_ms"],
            fail_rate=options["fail_rate"],
            seed=options["seed"],
            callback_urls=callback_urls,
            outcome=Outcome(sent_after=deliver_after / 3, final_after=deliver_after),
        )
        unknown = set(callback_urls) - set(sandbox.handlers)
        if unknown:
            raise CommandError(
                f"Unknown provider(s) {sorted(unknown)}; known: {sorted(sandbox.handlers)}."
            )
        sandbox.on_request = self._log_request
        sandbox.on_callback = self._log_callback
        try:
            sandbox.start()
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc}"
            ) from exc

        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            self._banner(sandbox)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            sandbox.stop()
            self._write("Sandbox stopped.")

    def _banner(self, sandbox: Sandbox) -> None:
        self._write(f"SMS provider sandbox listening on {sandbox.url}")
        for name, handler in sorted(sandbox.handlers.items()):
            self._write(f"  {name}: paths {', '.join(handler.prefixes)}")
        self._write("OPTIONS for each backend (development credentials, see SandboxCredentials):")
        credentials: SandboxCredentials = sandbox.credentials
        for provider, values in credentials.describe().items():
            if provider not in sandbox.handlers:
                continue
            # Each backend names the option that points at the sandbox: OVH's is "endpoint".
            handler = sandbox.handlers[provider]
            options = {handler.url_option: sandbox.url + handler.url_path, **values}
            listed = ", ".join(f"{key}={value}" for key, value in options.items())
            self._write(f"  {provider}: {listed}")
        for provider, url in sorted(sandbox.callback_urls.items()):
            self._write(f"  {provider} delivery reports -> {url}")
        by_option: dict[tuple[str, str], list[str]] = {}
        for name, handler in sorted(sandbox.handlers.items()):
            by_option.setdefault((handler.url_option, handler.url_path), []).append(name)
        pointers = "; ".join(f'{{"{option}": "{sandbox.url}{path}"}} for {", ".join(names)}'
                             for (option, path), names in by_option.items())
        self._write(f"Use it with OPTIONS {pointers}. Quit with CONTROL-C.")

    def _log_request(self, record: RecordedRequest) -> None:
        status = record.status if record.status is not None else "---"
        fault = f" [fault {record.fault}]" if record.fault else ""
        where = f"{record.provider or 'no provider'}, connection {record.connection_id}"
        self._write(f"{record.method} {record.path} -> {status} ({where}){fault}")

    def _log_callback(self, attempt: CallbackAttempt) -> None:
        result = attempt.status_code if attempt.status_code is not None else attempt.error
        self._write(f"callback {attempt.request.stage} {attempt.request.method} "
                    f"{attempt.request.url} -> {result}")

    def _write(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
