"""One-time codes: drawn from ``secrets``, stored as a keyed MAC, sealed for delivery, masked
in the message history, and written into a text whose last line browsers and phones autofill.

Keys come from ``SECRET_KEY`` through :func:`django.utils.crypto.salted_hmac`, with one salt
per use, so a database dump alone reveals no code (a plain hash of 10**6 values would fall at
once). ``SECRET_KEY_FALLBACKS`` are accepted when checking, as Django's password-reset tokens
do, so rotating the key does not invalidate the codes in flight.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac

MAC_SALT = "django_sms.verification.code"
SEAL_SALT = "django_sms.verification.seal"
#: What replaces each digit of the code in the stored text: GSM-7, so the stored text has
#: the encoding and the segment count of the text that was sent.
MASK_CHARACTER = "*"


def generate_code(length: int) -> str:
    """``length`` decimal digits from the operating system's CSPRNG."""
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def code_mac(verification_id: Any, phone: str, purpose: str, code: str, *,
             secret: str | None = None) -> str:
    """The code's HMAC-SHA256, bound to one verification, number and purpose."""
    value = f"{verification_id}|{phone}|{purpose}|{code}"
    return salted_hmac(MAC_SALT, value, secret=secret, algorithm="sha256").hexdigest()


def mac_matches(stored: str, verification_id: Any, phone: str, purpose: str, code: str) -> bool:
    """Constant-time comparison against the MAC under ``SECRET_KEY`` and each fallback."""
    matched = False
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        # No early exit: the time taken does not depend on which key matched.
        matched |= constant_time_compare(
            stored, code_mac(verification_id, phone, purpose, code, secret=secret)
        )
    return matched


def _pad(verification_id: Any, length: int) -> int:
    digest = salted_hmac(SEAL_SALT, str(verification_id), algorithm="sha256").digest()
    # 256 bits reduced modulo 10**length: the bias (at most 10**10 / 2**256) is negligible.
    return int.from_bytes(digest, "big") % 10**length


def seal(code: str, verification_id: Any) -> str:
    """The code under a one-time pad keyed by ``SECRET_KEY`` and the verification's id."""
    length = len(code)
    return f"{(int(code) + _pad(verification_id, length)) % 10**length:0{length}d}"


def unseal(sealed: str, verification_id: Any) -> str:
    length = len(sealed)
    return f"{(int(sealed) - _pad(verification_id, length)) % 10**length:0{length}d}"


def mask(length: int) -> str:
    return MASK_CHARACTER * length


def autofill_line(domain: str, code: str, app_hash: str = "") -> str:
    """``@domain #code`` (the WICG origin-bound one-time code line), then an optional Android
    SMS Retriever app hash after one space."""
    line = f"@{domain} #{code}"
    return f"{line} {app_hash}" if app_hash else line


def render_text(
    template: str,
    *,
    code: str,
    brand: str,
    domain: str,
    minutes: int,
    purpose: str,
    app_hash: str = "",
    language: str | None = None,
) -> str:
    """The SMS: the template in ``language``, then a blank line and the autofill line, which
    is the very last line (a trailing newline or space makes the WebOTP parser fail)."""
    context = {
        "code": code,
        "brand": brand,
        "domain": domain,
        "minutes": minutes,
        "purpose": purpose,
    }
    with translation.override(language or translation.get_language()):
        body = render_to_string(template, context).strip()
    if not domain:
        return f"{body} {app_hash}".rstrip() if app_hash else body
    return f"{body}\n\n{autofill_line(domain, code, app_hash)}"
