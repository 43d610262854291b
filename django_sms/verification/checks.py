"""System checks of ``DJANGO_SMS["VERIFICATION"]`` (``manage.py check``): ids E060-E062,
W060 (docs/verification.rst)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core import checks

from django_sms.conf import sms_settings
from django_sms.verification.conf import DEFAULTS, verification_settings

LIMIT_OPTIONS = ("NUMBER_LIMITS", "IP_LIMITS", "PREFIX_LIMITS")


def _limits_ok(value: Any) -> bool:
    """A list of ``[count, seconds]`` pairs of positive integers."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return False
    return all(
        isinstance(pair, Sequence)
        and len(pair) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in pair)
        for pair in value
    )


@checks.register()
def check_verification_settings(**kwargs: Any) -> Iterable[checks.CheckMessage]:
    user = sms_settings.VERIFICATION
    if not isinstance(user, dict):
        return [checks.Error("DJANGO_SMS['VERIFICATION'] must be a dict.",
                             id="django_sms.E060")]
    errors: list[checks.CheckMessage] = []
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        errors.append(checks.Error(
            f"Unknown DJANGO_SMS['VERIFICATION'] options: {', '.join(unknown)}.",
            hint=f"Known options: {', '.join(sorted(DEFAULTS))}.", id="django_sms.E060"))
    length = verification_settings.CODE_LENGTH
    if not isinstance(length, int) or not 4 <= length <= 10:
        errors.append(checks.Error(
            f"DJANGO_SMS['VERIFICATION']['CODE_LENGTH'] must be an integer from 4 to 10, "
            f"not {length!r}.", id="django_sms.E061"))
    bad = [name for name in LIMIT_OPTIONS if not _limits_ok(getattr(verification_settings, name))]
    countries = verification_settings.COUNTRY_LIMITS
    if not isinstance(countries, dict) or not all(_limits_ok(v) for v in countries.values()):
        bad.append("COUNTRY_LIMITS")
    if bad:
        errors.append(checks.Error(
            f"DJANGO_SMS['VERIFICATION'] {', '.join(bad)}: expected lists of [count, seconds] "
            "pairs of positive integers (COUNTRY_LIMITS: a dict of such lists).",
            id="django_sms.E062"))
    ttl = verification_settings.CODE_TTL
    if isinstance(ttl, int) and ttl > 600:
        errors.append(checks.Warning(
            f"DJANGO_SMS['VERIFICATION']['CODE_TTL'] is {ttl} s: NIST SP 800-63B allows codes "
            "sent by SMS 10 minutes at most.", id="django_sms.W060"))
    return errors
