"""Settings of phone verification: ``DJANGO_SMS["VERIFICATION"]``, merged over ``DEFAULTS``.

Every limit is a list of ``[count, seconds]`` pairs ("at most *count* in any *seconds*"), so
one key can carry several velocities (5 per 10 minutes and 20 per day). docs/verification.rst
documents each option and why its default is what it is.
"""

from __future__ import annotations

from typing import Any

from django_sms.conf import sms_settings

#: The defaults of ``DJANGO_SMS["VERIFICATION"]``.
DEFAULTS: dict[str, Any] = {
    # --- the code ---------------------------------------------------------------------------
    "CODE_LENGTH": 6,  # digits, 4-10 (NIST SP 800-63B asks for at least 6)
    "CODE_TTL": 600,  # seconds a code stays valid (NIST: at most 10 minutes)
    "MAX_CHECK_ATTEMPTS": 5,  # wrong checks of one code, then max_attempts_reached
    # Wrong checks of one number and purpose, summed over its codes, in a series that starts
    # with the first failure and lasts FAILURE_WINDOW; a new code does not reset it.
    "MAX_FAILED_CHECKS": 10,
    "FAILURE_WINDOW": 600,
    # --- sending limits (per start; refused starts answer 429 rate_limited) -----------------
    "RESEND_COOLDOWN": 30,  # seconds between two codes to one number
    "NUMBER_LIMITS": [[5, 600]],  # codes per number
    "IP_LIMITS": [[10, 600], [50, 86400]],  # codes per client IP (REMOTE_ADDR, see IP_HEADER)
    "PREFIX_LIMITS": [[20, 3600]],  # codes per number prefix (the number minus PREFIX_DIGITS)
    "PREFIX_DIGITS": 4,
    "COUNTRY_LIMITS": {"*": [[1000, 3600]]},  # codes per destination country; "*" = any other
    # e.g. "HTTP_X_FORWARDED_FOR" behind a proxy you trust (its first address is used)
    "IP_HEADER": None,
    # DRF endpoints: requests per client IP (DRF rate strings; None disables one).
    "API_THROTTLE_RATES": {"start": "10/minute", "check": "30/minute"},
    # --- the conversion guard (SMS pumping) ------------------------------------------------
    # When, among the codes sent to one country in WINDOW seconds (older than GRACE seconds,
    # so users had time to type them) there are at least MIN_VERIFICATIONS and the share never
    # approved exceeds MAX_UNCONVERTED, the country is blocked until an operator lifts it.
    "CONVERSION_GUARD": {
        "ENABLED": True,
        "WINDOW": 3600,
        "GRACE": 120,
        "MIN_VERIFICATIONS": 50,
        "MAX_UNCONVERTED": 0.8,
        "EVERY": 10,  # seconds between two evaluations per country (0 = at every start)
    },
    # --- the text ---------------------------------------------------------------------------
    "TEMPLATE": "django_sms/verification/sms.txt",  # rendered with code, brand, minutes...
    "BRAND": "",  # the name in the text; default: the domain
    "DOMAIN": "",  # the WebOTP / autofill line's host; default: the request's host
    "APP_HASH": "",  # Android SMS Retriever app hash (11 characters), appended to the last line
    "SENDER": None,  # sender ID of the codes; None = DEFAULT_SENDER
    "BACKEND": None,  # SMS_BACKENDS alias; None = the usual routing
}


class VerificationSettings:
    """``verification_settings.CODE_TTL``: the user's value or the default."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"Invalid DJANGO_SMS['VERIFICATION'] option: {name!r}")
        user = sms_settings.VERIFICATION or {}
        value = user.get(name, DEFAULTS[name])
        if name == "CONVERSION_GUARD":
            value = {**DEFAULTS[name], **(value or {})}
        return value


verification_settings = VerificationSettings()
