"""``manage.py smsovhinfo [--using ALIAS] [--set-callback URL]``: the OVH SMS account(s) behind
the OVH aliases — credits left, delivery-report URL — and setting that URL."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_sms.backends.handler import configured_backends, sms_backends
from django_sms.backends.ovh import SmsBackend
from django_sms.exceptions import SMSError


class Command(BaseCommand):
    help = (
        "Show the OVH SMS account of each OVH backend alias (credits left, callback URL), "
        "or set the URL OVH calls with delivery reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--using", action="append", default=[], metavar="ALIAS",
                            help="OVH backend alias (repeatable; default: every OVH alias).")
        parser.add_argument("--set-callback", metavar="URL", default=None,
                            help="Make OVH send delivery reports to URL (PUT /sms/{service} "
                                 "callBack; needs the access rule PUT /sms/*). One alias only.")

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = options["using"] or [
            alias for alias in configured_backends() if isinstance(self._backend(alias),
                                                                   SmsBackend)
        ]
        if not aliases:
            raise CommandError("No SMS_BACKENDS alias uses django_sms.backends.ovh.SmsBackend.")
        url = options["set_callback"]
        if url is not None:
            if len(aliases) != 1:
                raise CommandError(f"--set-callback needs one alias (--using); OVH aliases: "
                                   f"{', '.join(aliases)}.")
            if url and not url.startswith(("https://", "http://")):
                raise CommandError(f"--set-callback expects an http(s) URL, not {url!r}.")
        for index, alias in enumerate(aliases):
            backend = self._backend(alias)
            if not isinstance(backend, SmsBackend):
                raise CommandError(f"SMS backend {alias!r} is not an OVH backend "
                                   f"({type(backend).__module__}).")
            try:
                if url is not None:
                    backend.set_callback_url(url)
                account = backend.account()
            except SMSError as exc:
                raise CommandError(f"{alias}: {exc}") from exc
            if index:
                self.stdout.write("")
            self._show(alias, backend, account)
        if url is not None:
            self.stdout.write(self.style.SUCCESS("Callback URL set."))

    @staticmethod
    def _backend(alias: str) -> Any:
        try:
            return sms_backends[alias]
        except Exception as exc:  # an alias that cannot be built is reported, not skipped
            raise CommandError(f"SMS backend {alias!r}: {exc}") from exc

    def _show(self, alias: str, backend: SmsBackend, account: dict[str, Any]) -> None:
        response = account.get("smsResponse") or {}
        inbound = str(response.get("responseType") or "none")
        if inbound == "cgi" and response.get("cgiUrl"):
            inbound += f" -> {backend.scrub(str(response['cgiUrl']))}"
        callback = str(account.get("callBack") or "")
        rows = [
            ("Alias", alias),
            ("Endpoint", backend.base_url),
            ("SMS account", backend.service_name()),
            ("Status", f"{account.get('status', '?')} (channel: {account.get('channel', '?')})"),
            ("Credits left", account.get("creditsLeft", "?")),
            # The URL holds the webhook secret: masked like every credential we print.
            ("Callback URL", backend.scrub(callback) if callback
             else "(none: delivery reports only by polling)"),
            ("Inbound", inbound),
        ]
        for label, value in rows:
            self.stdout.write(f"{label + ':':<14}{value}")
