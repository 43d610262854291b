"""System checks. Ids are documented in docs/settings.rst.

Misconfiguration is reported here, by ``manage.py check``, never by an import-time crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string
from rest_framework.throttling import SimpleRateThrottle

from django_sms.backends.handler import configured_backends
from django_sms.compat import InvalidTask, InvalidTaskBackend
from django_sms.conf import DEFAULTS, SETTING_NAME, sms_settings
from django_sms.exceptions import ConfigurationError, InvalidAmount, InvalidSender
from django_sms.phone import validate_sender
from django_sms.tasks import configured_task
from django_sms.tokens import valid_token_prefix
from django_sms.wallets import REFUND_POLICIES, activation_delay, price_errors, to_amount

DEVELOPMENT_BACKENDS = {
    "django_sms.backends.console.SmsBackend",
    "django_sms.backends.locmem.SmsBackend",
    "django_sms.backends.filebased.SmsBackend",
    "django_sms.backends.dummy.SmsBackend",
}


def _error(msg: str, id: str, hint: str | None = None) -> checks.Error:
    return checks.Error(msg, hint=hint, id=id)


@checks.register("django_sms")
def check_backends(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    raw = getattr(settings, "SMS_BACKENDS", None)
    if raw is not None and not isinstance(raw, dict):
        return [
            _error(
                "SMS_BACKENDS must be a dict of alias -> {'BACKEND': ..., 'OPTIONS': {...}}.",
                "django_sms.E003",
            )
        ]
    if raw and "default" not in raw:
        errors.append(
            _error(
                "SMS_BACKENDS has no 'default' alias.",
                "django_sms.E003",
                hint="send_sms() uses the 'default' alias unless using= or ROUTES say otherwise.",
            )
        )
    if not raw and not getattr(settings, "SMS_BACKEND", None) and not settings.DEBUG:
        errors.append(
            _error(
                "No SMS backend is configured: messages would only be printed to the console.",
                "django_sms.E001",
                hint="Set SMS_BACKEND or SMS_BACKENDS (see docs/settings).",
            )
        )
    for alias, conf in configured_backends().items():
        errors.extend(_check_one_backend(alias, conf))
    return errors


def _check_one_backend(alias: str, conf: Any) -> Iterator[checks.CheckMessage]:
    if not isinstance(conf, dict) or not conf.get("BACKEND"):
        yield _error(f"SMS_BACKENDS[{alias!r}] needs a 'BACKEND' dotted path.", "django_sms.E003")
        return
    options = conf.get("OPTIONS") or {}
    if not isinstance(options, dict):
        yield _error(f"SMS_BACKENDS[{alias!r}]['OPTIONS'] must be a dict.", "django_sms.E003")
        return
    try:
        backend_cls = import_string(conf["BACKEND"])
    except ImportError as exc:
        yield _error(
            f"SMS backend {conf['BACKEND']!r} (alias {alias!r}) cannot be imported: {exc}",
            "django_sms.E004",
        )
        return
    try:
        backend = backend_cls(alias=alias, **options)
    except ConfigurationError as exc:
        # Backends refuse to be created without their credentials (see HttpBackend).
        yield _error(str(exc), "django_sms.E010",
                     hint=f"Set the credential in SMS_BACKENDS[{alias!r}]['OPTIONS'].")
        return
    except Exception as exc:
        yield _error(
            f"SMS backend {alias!r} cannot be created from its OPTIONS: {exc}", "django_sms.E004"
        )
        return
    yield from backend.check()


@checks.register("django_sms")
def check_app_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    user = getattr(settings, SETTING_NAME, None)
    if user is None:
        return []
    if not isinstance(user, dict):
        return [_error(f"{SETTING_NAME} must be a dict.", "django_sms.E002")]
    errors: list[checks.CheckMessage] = [
        checks.Warning(
            f"{SETTING_NAME} has an unknown option {name!r}.",
            hint="Known options are listed in docs/settings.",
            id="django_sms.W002",
        )
        for name in sorted(set(user) - set(DEFAULTS))
    ]
    errors += _check_values()
    return errors


def _check_values() -> list[checks.CheckMessage]:

    errors: list[checks.CheckMessage] = []
    for name in ("MAX_SEGMENTS", "MAX_ATTEMPTS", "BULK_CONCURRENCY", "POLL_BATCH_SIZE"):
        value = getattr(sms_settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                _error(
                    f"{SETTING_NAME}[{name!r}] must be a positive integer, not {value!r}.",
                    "django_sms.E005",
                )
            )
    horizon = sms_settings.UNKNOWN_SETTLE_AFTER
    if not isinstance(horizon, int | float) or isinstance(horizon, bool) or horizon <= 0:
        errors.append(
            _error(
                f"{SETTING_NAME}['UNKNOWN_SETTLE_AFTER'] must be a positive number of seconds, "
                f"not {horizon!r}.",
                "django_sms.E005",
            )
        )
    sender = sms_settings.DEFAULT_SENDER
    if sender:
        try:
            validate_sender(sender)
        except InvalidSender as exc:
            errors.append(_error(f"{SETTING_NAME}['DEFAULT_SENDER']: {exc}", "django_sms.E005"))
    for name in ("ALLOWED_COUNTRIES", "DENIED_COUNTRIES"):
        codes = getattr(sms_settings, name)
        if codes is None and name == "ALLOWED_COUNTRIES":
            continue
        bad = [c for c in codes or () if not (isinstance(c, str) and len(c) == 2 and c.isupper())]
        if not isinstance(codes, list | tuple | set | frozenset) or bad:
            errors.append(
                _error(
                    f"{SETTING_NAME}[{name!r}] must be a list of ISO 3166 alpha-2 codes "
                    f"such as 'FR'; got {bad or codes!r}.",
                    "django_sms.E005",
                )
            )
    aliases = set(configured_backends())
    routes = sms_settings.ROUTES or {}
    for country, alias in routes.items():
        if alias not in aliases:
            errors.append(
                _error(
                    f"{SETTING_NAME}['ROUTES'][{country!r}] names the unknown SMS backend "
                    f"alias {alias!r}.",
                    "django_sms.E006",
                )
            )
    for alias, fallbacks in (sms_settings.FAILOVER or {}).items():
        for name in [alias, *fallbacks]:
            if name not in aliases:
                errors.append(
                    _error(
                        f"{SETTING_NAME}['FAILOVER'] names the unknown SMS backend alias {name!r}.",
                        "django_sms.E006",
                    )
                )
    if sms_settings.ASYNC:
        errors += _check_task_backend()
    return errors


def _check_task_backend() -> list[checks.CheckMessage]:

    try:
        configured_task()
    except (InvalidTask, InvalidTaskBackend) as exc:
        return [
            _error(
                f"DJANGO_SMS['ASYNC'] is on but the task settings do not work: {exc}",
                "django_sms.E007",
                hint="Check DJANGO_SMS['TASK_BACKEND'], ['QUEUE_NAME'] and ['PRIORITY'] "
                "against TASKS.",
            )
        ]
    return []


@checks.register("django_sms", deploy=True)
def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    warnings: list[checks.CheckMessage] = []
    for alias, conf in configured_backends().items():
        path = conf.get("BACKEND") if isinstance(conf, dict) else None
        if path in DEVELOPMENT_BACKENDS:
            warnings.append(
                checks.Warning(
                    f"SMS backend {alias!r} is the development backend {path}: "
                    "no message will reach a phone.",
                    id="django_sms.W101",
                )
            )
        options = (conf or {}).get("OPTIONS") or {}
        # OVH names its API root "endpoint" (a name like "ovh-eu", or a URL).
        base_url = str(options.get("base_url") or options.get("endpoint") or "")
        if "127.0.0.1" in base_url or "localhost" in base_url:
            warnings.append(
                checks.Warning(
                    f"SMS backend {alias!r} sends to {base_url}, a local address "
                    "(the provider sandbox?).",
                    id="django_sms.W102",
                )
            )
    return warnings


@checks.register("django_sms")
def check_wallet_and_api_settings(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Prices, refund policy and API options (E030-E032): a wrong value would otherwise only
    show at the first paid send or API request."""


    problems = price_errors(sms_settings.PRICES or {})
    try:
        activation_delay()
    except ConfigurationError as exc:
        problems.append(str(exc))
    try:
        if to_amount(sms_settings.MIN_DEPOSIT, "MIN_DEPOSIT") <= 0:
            problems.append("MIN_DEPOSIT must be positive")
    except InvalidAmount as exc:
        problems.append(str(exc))
    errors: list[checks.CheckMessage] = []
    if problems:
        message = f"{SETTING_NAME} wallet options: " + "; ".join(problems) + "."
        errors.append(_error(message, "django_sms.E030"))
    policy = sms_settings.REFUND_POLICY
    if policy not in REFUND_POLICIES:
        allowed = ", ".join(repr(p) for p in REFUND_POLICIES)
        message = f"{SETTING_NAME}['REFUND_POLICY'] is {policy!r}; use one of {allowed}."
        errors.append(_error(message, "django_sms.E031"))
    api_problems = []
    rate = sms_settings.API_THROTTLE_RATE
    if rate is not None:
        try:
            SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
        except (ValueError, KeyError, IndexError, AttributeError, TypeError):
            api_problems.append(
                f"API_THROTTLE_RATE is {rate!r}; use '<number>/<second|minute|hour|day>' or None"
            )
    limit = sms_settings.API_DAILY_LIMIT
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        api_problems.append(f"API_DAILY_LIMIT must be a positive integer or None, not {limit!r}")
    if not valid_token_prefix(sms_settings.TOKEN_PREFIX):
        api_problems.append(
            "TOKEN_PREFIX must be 1-16 lowercase letters or digits starting with a letter, "
            f"not {sms_settings.TOKEN_PREFIX!r}"
        )
    if api_problems:
        message = f"{SETTING_NAME} API options: " + "; ".join(api_problems) + "."
        errors.append(_error(message, "django_sms.E032"))
    return errors


@checks.register("django_sms", deploy=True)
def check_webhook_protection(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """django_sms.W103: a backend receives webhooks that nothing protects.

    A backend that receives status or inbound callbacks but reports no protection for them
    (``webhook_protection(kind)`` is "") would let anyone who finds the URL forge delivery
    reports and STOP replies. Backends that cannot be created are reported by E004.
    """
    warnings: list[checks.CheckMessage] = []
    for alias, conf in configured_backends().items():
        try:
            backend_cls = import_string(conf["BACKEND"])
            backend = backend_cls(alias=alias, **(conf.get("OPTIONS") or {}))
        except Exception:  # noqa: S112 - reported by check_backends (E003/E004)
            continue
        kinds = [
            kind
            for kind, supported in (
                ("status", backend.supports_status_webhooks),
                ("inbound", backend.supports_inbound),
            )
            if supported and not backend.webhook_protection(kind)
        ]
        for kind in kinds:
            warnings.append(
                checks.Warning(
                    f"The {kind} webhook of SMS backend {alias!r} is not protected: anyone "
                    "who finds its URL can post forged callbacks.",
                    hint="Configure the backend's webhook secret(s) (signature secret, URL "
                    "secret or HTTP Basic credentials); see docs/webhooks.",
                    id="django_sms.W103",
                )
            )
    return warnings
