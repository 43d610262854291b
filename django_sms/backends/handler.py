"""``sms_backends``: per-thread backend instances by alias, like ``django.tasks.task_backends``.

Each thread gets its own instance (``BaseConnectionHandler`` stores them in an
``asgiref.local.Local``), so a backend can keep one ``requests.Session`` without locking.
"""

from __future__ import annotations

from typing import Any

from asgiref.local import Local
from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.connection import BaseConnectionHandler
from django.utils.module_loading import import_string

from django_sms.exceptions import ConfigurationError

DEFAULT_SMS_BACKEND_ALIAS = "default"
CONSOLE_BACKEND = "django_sms.backends.console.SmsBackend"


class InvalidSmsBackend(ConfigurationError, KeyError):
    """An alias that is not configured, a BACKEND path that cannot be imported, or OPTIONS the
    backend refuses when it is created (a missing credential)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def configured_backends() -> dict[str, dict[str, Any]]:
    """The effective alias -> {"BACKEND", "OPTIONS"} mapping.

    ``SMS_BACKENDS`` wins; else ``SMS_BACKEND`` gives the default alias; with neither, the
    console backend is used in DEBUG (and ``manage.py check`` reports django_sms.E001 when
    DEBUG is off).
    """
    backends = getattr(django_settings, "SMS_BACKENDS", None)
    if backends:
        return {alias: dict(conf) for alias, conf in backends.items()}
    path = getattr(django_settings, "SMS_BACKEND", None)
    if path:
        return {DEFAULT_SMS_BACKEND_ALIAS: {"BACKEND": path, "OPTIONS": {}}}
    return {DEFAULT_SMS_BACKEND_ALIAS: {"BACKEND": CONSOLE_BACKEND, "OPTIONS": {}}}


def unknown_alias_message(alias: str, configured: dict[str, Any]) -> str:
    """Which setting to fix, and the aliases there are."""
    aliases = ", ".join(repr(a) for a in sorted(configured)) or "none"
    source = "SMS_BACKENDS" if getattr(django_settings, "SMS_BACKENDS", None) else (
        "SMS_BACKEND (which defines only 'default')"
        if getattr(django_settings, "SMS_BACKEND", None) else "no SMS_BACKENDS setting")
    return (
        f"The SMS backend alias {alias!r} is not configured: add it to the SMS_BACKENDS "
        f"setting. Configured aliases: {aliases} (from {source})."
    )


class SmsBackendHandler(BaseConnectionHandler):
    settings_name = "SMS_BACKENDS"
    exception_class = InvalidSmsBackend

    def configure_settings(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        return settings if settings is not None else configured_backends()

    def __getitem__(self, alias: str) -> Any:
        if alias not in self.settings:
            # Django's own message ("The connection 'x' doesn't exist.") names no setting.
            raise InvalidSmsBackend(unknown_alias_message(alias, self.settings))
        return super().__getitem__(alias)

    def create_connection(self, alias: str) -> Any:
        params = self.settings[alias]
        path = params.get("BACKEND")
        if not path:
            raise InvalidSmsBackend(f"SMS_BACKENDS[{alias!r}] has no 'BACKEND'.")
        try:
            backend_cls = import_string(path)
        except ImportError as exc:
            raise InvalidSmsBackend(
                f"Could not import SMS backend {path!r} for alias {alias!r}: {exc}"
            ) from exc
        try:
            return backend_cls(alias=alias, **(params.get("OPTIONS") or {}))
        except ConfigurationError as exc:
            raise InvalidSmsBackend(str(exc)) from exc

    def reset(self) -> None:
        """Forget the configuration and every thread's instances (``setting_changed``)."""
        self.close_all()
        self.__dict__.pop("settings", None)
        self._settings = None
        self._connections = Local(self.thread_critical)


sms_backends = SmsBackendHandler()


@receiver(setting_changed)
def _reset_sms_backends(*, setting: str, **kwargs: Any) -> None:
    """Forget the backends when a test (``override_settings``) changes their settings."""
    if setting in ("SMS_BACKEND", "SMS_BACKENDS"):
        sms_backends.reset()
