"""The app's settings: one namespaced dict, ``DJANGO_SMS``, read through ``sms_settings``.

Modelled on DRF's ``api_settings``: every option has a documented default here, values are
read lazily and cached, and the cache is dropped on ``setting_changed`` so that
``override_settings`` and pytest-django's ``settings`` fixture work in tests.

The backend configuration lives in two top-level settings, like Django's mail settings:
``SMS_BACKEND`` (a dotted path, like ``EMAIL_BACKEND``) and ``SMS_BACKENDS`` (alias ->
``{"BACKEND": ..., "OPTIONS": {...}}``, like ``TASKS`` and Django 6.1's ``MAILERS``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

SETTING_NAME = "DJANGO_SMS"

#: Every option of ``DJANGO_SMS`` with its default. docs/settings.rst documents each one.
DEFAULTS: dict[str, Any] = {
    # --- sending -----------------------------------------------------------------------
    "DEFAULT_SENDER": "",  # sender ID used when send_sms() gets none
    "MAX_SEGMENTS": 5,  # refuse texts longer than this many parts (Mailjet's cap)
    "TRANSLITERATE": False,  # replace look-alikes (curly quotes, long dashes) to stay in GSM-7
    "ALLOWED_COUNTRIES": None,  # None = all; else ISO 3166 alpha-2 codes that may be sent to
    "DENIED_COUNTRIES": [],  # ISO codes never sent to (SMS-pumping defence)
    "REQUIRE_MOBILE": True,  # refuse numbers that phonenumbers knows to be fixed lines
    "ROUTES": {},  # {"FR": "ovh", "*": "default"} destination country -> backend alias
    "FAILOVER": {},  # {"default": ["backup"]} alias -> aliases tried on a transient failure
    # --- background delivery -------------------------------------------------------------
    "ASYNC": False,  # deliver through a django.tasks task instead of right after commit
    "TASK_BACKEND": "default",  # TASKS alias used to enqueue deliveries
    "QUEUE_NAME": "default",
    "PRIORITY": 0,
    "MAX_ATTEMPTS": 5,  # attempts before a transient failure becomes final
    "RETRY_BACKOFF": 30,  # seconds; doubled on every attempt, with jitter
    "RETRY_BACKOFF_MAX": 3600,  # upper bound of one backoff, seconds
    "SENDING_LEASE": 300,  # seconds after which a row stuck in "sending" is rescued
    "UNKNOWN_SETTLE_AFTER": 2 * 24 * 3600,  # seconds an "unknown" message keeps its hold
    "BULK_CONCURRENCY": 8,  # threads used by send_mass_sms() in synchronous mode
    # --- status polling ------------------------------------------------------------------
    "POLL_MIN_AGE": 60,  # seconds: poll non-final messages at least this old
    "POLL_MAX_AGE": 7 * 24 * 3600,  # seconds: stop polling messages older than this
    "POLL_BATCH_SIZE": 100,
    # --- webhooks and inbound ------------------------------------------------------------
    "WEBHOOK_MAX_AGE": 300,  # seconds a signed callback stays acceptable (replay window)
    "OPT_OUT_KEYWORDS": ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET"],
    "OPT_IN_KEYWORDS": ["START", "UNSTOP"],
    # --- wallets, prices and the REST API ------------------------------------------------
    "WALLET_ACTIVATION_DELAY": timedelta(hours=48),
    "MIN_DEPOSIT": Decimal("1"),
    "PRICES": {},  # {"EUR": {"default": "0.07", "FR": "0.05"}, ...} price per segment
    "REFUND_POLICY": "failed",  # "never" | "failed" | "undelivered" (see docs/wallets)
    "API_THROTTLE_RATE": "20/second",  # per token; None disables
    "API_DAILY_LIMIT": None,  # segments per owner per day (Mailjet: 200); None = unlimited
    "TOKEN_PREFIX": "smsk",
    # --- phone verification (django_sms.verification.conf holds the defaults) -----------
    "VERIFICATION": {},
}


class SMSSettings:
    """Attribute access to ``DJANGO_SMS`` with defaults: ``sms_settings.MAX_SEGMENTS``."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, SETTING_NAME, None) or {}
        if not isinstance(value, dict):
            # Reported properly by the django_sms.E002 system check.
            return {}
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"Invalid DJANGO_SMS option: {name!r}")
        if name not in self._cache:
            self._cache[name] = self.user_settings.get(name, DEFAULTS[name])
        return self._cache[name]

    def reload(self) -> None:
        self._cache.clear()


sms_settings = SMSSettings()


@receiver(setting_changed)
def _reload_sms_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        sms_settings.reload()
