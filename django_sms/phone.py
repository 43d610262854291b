"""Recipients and sender IDs: parse, validate and normalise them before anything is stored.

Numbers are parsed with ``phonenumbers`` (national numbers use Django's
``PHONENUMBER_DEFAULT_REGION``, the setting django-phonenumber-field reads too) and stored in
E.164. Parsing a string is pure, so it is memoised; the checks that depend on settings
(``REQUIRE_MOBILE``, ``ALLOWED_COUNTRIES``, ``DENIED_COUNTRIES``) run on every call, so
``override_settings`` is always honoured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_noop
from phonenumbers import PhoneNumberType, ValidationResult

from django_sms.conf import sms_settings
from django_sms.exceptions import CountryNotAllowed, InvalidRecipient, InvalidSender

__all__ = [
    "SENDER_ID_MAX_LENGTH",
    "USER_MESSAGES",
    "Recipient",
    "country_of",
    "e164_digits",
    "parse_recipient",
    "validate_recipient",
    "validate_sender",
]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A validated destination number."""

    #: The number in E.164: ``+`` then country code and national number, no spaces.
    e164: str
    #: ISO 3166-1 alpha-2 code of the number's country (``"FR"``), ``""`` when it has none
    #: (international services such as +800 or +882).
    country: str


#: Number types that cannot receive SMS, refused while ``REQUIRE_MOBILE`` is on. MOBILE,
#: FIXED_LINE_OR_MOBILE (the USA, Canada...), PERSONAL_NUMBER, VOIP and UNKNOWN are accepted:
#: many of those do receive SMS and refusing them would block real users.
_NO_SMS_TYPES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "a fixed-line number",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UAN: "a universal access number",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
    PhoneNumberType.PAGER: "a pager number",
}

# phonenumbers refuses longer input anyway; stopping here keeps huge strings out of the cache.
_MAX_INPUT_LENGTH = 250

#: No numbering plan has national numbers shorter than this (phonenumbers' metadata: Austria,
#: Germany, Niue... have 4-digit ones). Fewer digits are "too short", whatever the region.
_MIN_DIGITS = 4
_NUMBER_CHARACTERS = re.compile(r"[\s\d+().\-/]*")

#: What an end user is told, by ``code``: no setting, no jargon. Marked for translation here
#: and translated when an exception is raised (parse results are cached across languages).
USER_MESSAGES: dict[str, str] = {
    "empty": gettext_noop("Enter a phone number."),
    "invalid_type": gettext_noop("Enter a valid phone number."),
    "not_a_number": gettext_noop("Enter a valid phone number."),
    "too_short": gettext_noop("This phone number is too short."),
    "too_long": gettext_noop("This phone number is too long."),
    "no_country": gettext_noop(
        "Enter the number in international format: + then the country code."
    ),
    "unknown_country_code": gettext_noop("The country code of this phone number does not exist."),
    "invalid": gettext_noop("This phone number is not valid."),
    "extension": gettext_noop(
        "Enter the number without an extension: text messages cannot reach one."
    ),
    "not_mobile": gettext_noop("This number cannot receive text messages: enter a mobile number."),
}


class _Parsed(NamedTuple):
    """The settings-independent outcome of parsing one string: a number, or a reason for
    developers (``error``) and the key of the message for end users (``code``)."""

    e164: str = ""
    country: str = ""
    number_type: int = PhoneNumberType.UNKNOWN
    error: str = ""
    code: str = ""


def _refused(value: object, reason: str, code: str) -> InvalidRecipient:
    return InvalidRecipient(value, reason, user_message=gettext(USER_MESSAGES[code]), code=code)


def parse_recipient(value: object, region: str | None = None) -> Recipient:
    """Validate a destination number and return it in E.164 with its country.

    ``value`` is a string (international ``+33 6 12 34 56 78`` or national ``06 12 34 56 78``)
    or a ``phonenumbers.PhoneNumber`` (django-phonenumber-field's ``PhoneNumber`` included).
    National numbers are read in ``region``, by default ``settings.PHONENUMBER_DEFAULT_REGION``.

    Raises :class:`~django_sms.exceptions.InvalidRecipient` saying why a number is refused
    (not a number, not valid, cannot receive SMS), and
    :class:`~django_sms.exceptions.CountryNotAllowed` for a country excluded by
    ``DJANGO_SMS["ALLOWED_COUNTRIES"]`` / ``["DENIED_COUNTRIES"]``.
    """
    if region is None:
        region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None) or None
    region = region.upper() if region else None

    if isinstance(value, phonenumbers.PhoneNumber):
        parsed = _parse_phonenumber(value, region)
    elif isinstance(value, str):
        parsed = _parse_text(value, region)
    elif value is None:
        raise _refused(value, "no number given", "empty")
    else:
        raise _refused(
            value,
            f"expected a string or a PhoneNumber, got {type(value).__name__}",
            "invalid_type",
        )

    if parsed.error:
        raise _refused(value, parsed.error, parsed.code)
    if sms_settings.REQUIRE_MOBILE and parsed.number_type in _NO_SMS_TYPES:
        raise _refused(
            value,
            f"{parsed.e164} is {_NO_SMS_TYPES[parsed.number_type]}, which cannot receive SMS "
            "(DJANGO_SMS['REQUIRE_MOBILE'] is on)",
            "not_mobile",
        )
    _check_country(parsed.e164, parsed.country)
    return Recipient(parsed.e164, parsed.country)


def validate_recipient(value: object) -> None:
    """A Django validator for form and model fields that hold a destination number.

    Raises ``ValidationError`` with the exception's ``user_message`` (what the person who
    typed the number should read: translated, no setting names) and its ``code``.
    """
    try:
        parse_recipient(value)
    except (InvalidRecipient, CountryNotAllowed) as exc:
        raise ValidationError(exc.user_message, code=exc.code) from None


def e164_digits(e164: str) -> str:
    """The number without its ``+`` (``"33612345678"``), the form Vonage expects.

    Accepts the digits-only form too, so applying it twice is harmless. Raises
    :class:`~django_sms.exceptions.InvalidRecipient` for anything that is not E.164.
    """
    if not _E164.fullmatch(e164):
        raise _refused(e164, "not in E.164 format ('+', then up to 15 digits)", "invalid")
    return e164.removeprefix("+")


def plus_e164(number: str) -> str:
    """``+33612345678`` from ``+33612345678``, ``0033612345678``, ``33612345678`` or
    ``+33 6 12 34 56 78``: the form Mailjet and OVH expect, and OVH echoes back in any of them.

    Anything else (an alphanumeric sender, a national ``06...``) is returned without spaces
    but otherwise as it is: it is not an international number, and guessing would be wrong.
    """
    number = number.strip().replace(" ", "")
    if number.startswith("+"):
        return number
    if number.startswith("00") and number[2:].isdigit():
        return "+" + number[2:]
    if number.isdigit() and not number.startswith("0"):
        return "+" + number
    return number


def country_of(e164: str) -> str:
    """ISO 3166-1 alpha-2 code of an E.164 number's country (``"FR"``); ``""`` when it has
    none or cannot be parsed. Never raises: meant for routing, pricing and statistics."""
    return _parse_text(e164 if e164.startswith("+") else f"+{e164}", None).country


# --- numbers --------------------------------------------------------------------------------


def _parse_text(value: str, region: str | None) -> _Parsed:
    text = value.strip()
    if not text:
        return _Parsed(error="the number is empty", code="empty")
    if len(text) > _MAX_INPUT_LENGTH:
        return _Parsed(
            error=f"{len(text)} characters is too long to be a phone number", code="too_long"
        )
    digits = sum(c.isdigit() for c in text)
    if 0 < digits < _MIN_DIGITS and _NUMBER_CHARACTERS.fullmatch(text):
        # Checked before parsing: without a region phonenumbers would blame the missing
        # country code, which sends people the wrong way for "12".
        return _Parsed(error="too short to be a phone number", code="too_short")
    return _parse_string(text, region)


def _parse_phonenumber(value: phonenumbers.PhoneNumber, region: str | None) -> _Parsed:
    if not value.country_code:
        # django-phonenumber-field keeps unparseable input as PhoneNumber(raw_input=...):
        # parse it again to say what is wrong with it.
        return _parse_text(value.raw_input or "", region)
    return _check_number(value)


_E164 = re.compile(r"\+?[1-9][0-9]{1,14}")


@lru_cache(maxsize=4096)
def _parse_string(text: str, region: str | None) -> _Parsed:
    """Parse and validate one string. Cached: recipients repeat, and a flood of the same bad
    input (SMS pumping) should not cost a full parse each time. Reasons are cached too."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return _parse_error(exc, text, region)
    return _check_number(number)


def _parse_error(exc: phonenumbers.NumberParseException, text: str, region: str | None) -> _Parsed:
    kind = exc.error_type
    if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+") or region in phonenumbers.SUPPORTED_REGIONS:
            return _Parsed(error="unknown country calling code", code="unknown_country_code")
        if region is None:
            return _Parsed(
                error="national number without a country code and no "
                "PHONENUMBER_DEFAULT_REGION set; write it in international format "
                "(+<country code>...)",
                code="no_country",
            )
        return _Parsed(
            error=f"national number, and the region {region!r} is not a known region code "
            "(PHONENUMBER_DEFAULT_REGION or the region argument)",
            code="no_country",
        )
    if kind == phonenumbers.NumberParseException.NOT_A_NUMBER:
        return _Parsed(error="does not look like a phone number", code="not_a_number")
    if kind == phonenumbers.NumberParseException.TOO_LONG:
        return _Parsed(error="too long to be a phone number", code="too_long")
    # TOO_SHORT_NSN, TOO_SHORT_AFTER_IDD
    return _Parsed(error="too short to be a phone number", code="too_short")


def _check_number(number: phonenumbers.PhoneNumber) -> _Parsed:
    """Validate a parsed number and extract what the checks and the caller need."""
    if not number.country_code:
        return _Parsed(error="the number has no country code", code="no_country")
    country = _country_code(phonenumbers.region_code_for_number(number))
    # Invalid numbers of a code shared by several countries (+1, +44...) have no country.
    where = (
        f"in {country} (+{number.country_code})"
        if country
        else f"for country code +{number.country_code}"
    )
    if not phonenumbers.is_valid_number(number):
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible == ValidationResult.INVALID_COUNTRY_CODE:
            return _Parsed(
                error=f"+{number.country_code} is not a country calling code",
                code="unknown_country_code",
            )
        if possible == ValidationResult.TOO_SHORT:
            return _Parsed(error=f"too short for a number {where}", code="too_short")
        if possible == ValidationResult.TOO_LONG:
            return _Parsed(error=f"too long for a number {where}", code="too_long")
        if possible == ValidationResult.INVALID_LENGTH:
            return _Parsed(error=f"wrong length for a number {where}", code="invalid")
        return _Parsed(error=f"not a valid number {where}", code="invalid")
    if number.extension:
        # An SMS cannot reach an extension; dropping it would text the switchboard.
        return _Parsed(
            error=f"has an extension ({number.extension}); SMS cannot reach it",
            code="extension",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _Parsed(
        e164=e164,
        country=country,
        number_type=phonenumbers.number_type(number),
    )


def _country_code(region: str | None) -> str:
    """phonenumbers' region code as an ISO 3166-1 alpha-2 code, or "": "001" is its region
    for non-geographic numbers (+800, +882...) and "ZZ" means unknown."""
    if not region or region in (
        phonenumbers.UNKNOWN_REGION,
        phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY,
    ):
        return ""
    return region


def _check_country(e164: str, country: str) -> None:
    """Apply ``DENIED_COUNTRIES`` then ``ALLOWED_COUNTRIES`` (None = every country).

    A number with no country (``""``) passes only when every country is allowed: an allow
    list is a defence against SMS pumping, so it fails closed.
    """
    denied = sms_settings.DENIED_COUNTRIES or ()
    if country and any(country == code.upper() for code in denied):
        raise CountryNotAllowed(e164, country)
    allowed = sms_settings.ALLOWED_COUNTRIES
    if allowed is not None and not (country and any(country == c.upper() for c in allowed)):
        raise CountryNotAllowed(e164, country)


# --- sender IDs -----------------------------------------------------------------------------

#: Longest alphanumeric sender ID (the GSM TP-OA field holds 11 characters).
SENDER_ID_MAX_LENGTH = 11
_SENDER_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-_&")
_SENDER_LETTER = re.compile("[A-Za-z]")
_NUMERIC_SENDER = re.compile(r"\+?[0-9 ]+")
_NUMERIC_SENDER_MIN_DIGITS = 3  # short codes
_NUMERIC_SENDER_MAX_DIGITS = 15  # E.164


def validate_sender(value: str | None) -> str:
    """The sender ID to use for a message: ``value``, or ``DJANGO_SMS["DEFAULT_SENDER"]`` when
    ``value`` is None or ``""`` (``""`` if that is empty too: the backend decides).

    An alphanumeric sender has 1 to 11 characters among ``A-Z a-z 0-9``, space and ``. - _ &``,
    at least one letter, and no leading or trailing space. A numeric sender is a phone number
    or short code: an optional ``+`` then 3 to 15 digits; spaces are removed.

    Raises :class:`~django_sms.exceptions.InvalidSender` naming the rule that failed.
    """
    if value is None or value == "":
        default = sms_settings.DEFAULT_SENDER
        if not default:
            return ""
        try:
            return _validate_sender(default)
        except InvalidSender as exc:
            raise InvalidSender(
                default, f"{exc.reason} (from DJANGO_SMS['DEFAULT_SENDER'])"
            ) from None
    return _validate_sender(value)


def _validate_sender(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidSender(value, f"expected a string, got {type(value).__name__}")
    if value != value.strip():
        raise InvalidSender(value, "starts or ends with whitespace")
    if _NUMERIC_SENDER.fullmatch(value):
        number = value.replace(" ", "")
        digits = len(number.removeprefix("+"))
        if digits < _NUMERIC_SENDER_MIN_DIGITS:
            raise InvalidSender(
                value,
                f"a numeric sender needs at least {_NUMERIC_SENDER_MIN_DIGITS} digits, "
                f"this one has {digits}",
            )
        if digits > _NUMERIC_SENDER_MAX_DIGITS:
            raise InvalidSender(
                value,
                f"too long: {digits} digits, a numeric sender has at most "
                f"{_NUMERIC_SENDER_MAX_DIGITS}",
            )
        return number
    forbidden = [c for c in dict.fromkeys(value) if c not in _SENDER_ALLOWED]
    if forbidden:
        listed = ", ".join(repr(c) for c in forbidden)
        raise InvalidSender(
            value,
            f"forbidden character{'s' if len(forbidden) > 1 else ''} {listed}; an "
            "alphanumeric sender may only use A-Z, a-z, 0-9, space and . - _ &",
        )
    if len(value) > SENDER_ID_MAX_LENGTH:
        raise InvalidSender(
            value,
            f"too long: {len(value)} characters, an alphanumeric sender has at most "
            f"{SENDER_ID_MAX_LENGTH}",
        )
    if not _SENDER_LETTER.search(value):
        raise InvalidSender(
            value,
            "an alphanumeric sender must contain at least one letter; a numeric sender may "
            "only contain digits, spaces and a leading '+'",
        )
    return value
