"""Recipient numbers (parsing, validation, country lists) and sender IDs."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumber_field.phonenumber import PhoneNumber, to_python

from django_sms.conf import sms_settings
from django_sms.exceptions import CountryNotAllowed, InvalidMessage, InvalidRecipient, InvalidSender
from django_sms.phone import (
    SENDER_ID_MAX_LENGTH,
    Recipient,
    country_of,
    e164_digits,
    parse_recipient,
    validate_sender,
)

FR_MOBILE = "+33612345678"
FR_LANDLINE = "+33 1 23 45 67 89"
GB_MOBILE = "+447400123456"


def reason_of(excinfo: pytest.ExceptionInfo[Any]) -> str:
    return str(excinfo.value.reason)


# --- parsing and normalisation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+33 6 12 34 56 78", Recipient(FR_MOBILE, "FR")),
        ("+33 (0)6 12-34-56-78", Recipient(FR_MOBILE, "FR")),
        ("  +33612345678  ", Recipient(FR_MOBILE, "FR")),
        ("+44 7400 123456", Recipient(GB_MOBILE, "GB")),
        ("+32 470 12 34 56", Recipient("+32470123456", "BE")),
        ("+1 201 555 0123", Recipient("+12015550123", "US")),  # fixed line or mobile
        ("+1 416 555 0123", Recipient("+14165550123", "CA")),
        ("+33 9 12 34 56 78", Recipient("+33912345678", "FR")),  # VoIP
        ("+44 7012 345678", Recipient("+447012345678", "GB")),  # personal number
        ("tel:+33-6-12-34-56-78", Recipient(FR_MOBILE, "FR")),
    ],
)
def test_international_numbers_are_normalised_to_e164(value: str, expected: Recipient) -> None:
    assert parse_recipient(value) == expected


def test_national_number_uses_phonenumber_default_region(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "FR"
    assert parse_recipient("06 12 34 56 78") == Recipient(FR_MOBILE, "FR")
    # An international number ignores the default region.
    assert parse_recipient("+44 7400 123456") == Recipient(GB_MOBILE, "GB")


def test_region_argument_overrides_the_setting(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "FR"
    assert parse_recipient("07400 123456", region="GB") == Recipient(GB_MOBILE, "GB")
    assert parse_recipient("07400 123456", region="gb") == Recipient(GB_MOBILE, "GB")


@pytest.mark.parametrize("region", ["unset", None, ""])
def test_national_number_without_default_region_is_refused(settings: Any, region: Any) -> None:
    if region == "unset":
        if hasattr(settings, "PHONENUMBER_DEFAULT_REGION"):
            del settings.PHONENUMBER_DEFAULT_REGION
    else:
        settings.PHONENUMBER_DEFAULT_REGION = region

    with pytest.raises(InvalidRecipient) as excinfo:
        parse_recipient("06 12 34 56 78")

    assert excinfo.value.value == "06 12 34 56 78"
    assert reason_of(excinfo).startswith(
        "national number without a country code and no PHONENUMBER_DEFAULT_REGION set"
    )


def test_changing_the_default_region_is_honoured_despite_the_cache(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "FR"
    assert parse_recipient("0612345678").e164 == FR_MOBILE

    settings.PHONENUMBER_DEFAULT_REGION = None
    with pytest.raises(InvalidRecipient):
        parse_recipient("0612345678")

    settings.PHONENUMBER_DEFAULT_REGION = "GB"
    with pytest.raises(InvalidRecipient, match=r"not a valid number for country code \+44"):
        parse_recipient("0612345678")


def test_unknown_default_region_is_named(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "XX"
    with pytest.raises(InvalidRecipient) as excinfo:
        parse_recipient("0612345678")
    assert reason_of(excinfo) == (
        "national number, and the region 'XX' is not a known region code "
        "(PHONENUMBER_DEFAULT_REGION or the region argument)"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "the number is empty"),
        ("   ", "the number is empty"),
        (None, "no number given"),
        (33612345678, "expected a string or a PhoneNumber, got int"),
        ("hello", "does not look like a phone number"),
        ("+999 123 456 789", "unknown country calling code"),
        ("+33 6 12", "too short for a number in FR (+33)"),
        ("+33 6 12 34 56 78 90 12 34", "too long for a number in FR (+33)"),
        ("+33 7 00 00 00 00", "not a valid number in FR (+33)"),
        ("+33 6 12 34 56 78 ext. 12", "has an extension (12); SMS cannot reach it"),
        ("+" + "1" * 299, "300 characters is too long to be a phone number"),
    ],
)
def test_invalid_numbers_say_why(value: object, reason: str) -> None:
    with pytest.raises(InvalidRecipient) as excinfo:
        parse_recipient(value)

    assert reason_of(excinfo) == reason
    assert excinfo.value.value == value
    assert isinstance(excinfo.value, InvalidMessage)
    assert str(excinfo.value) == f"Invalid recipient {value!r}: {reason}"


# --- numbers that cannot receive SMS ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (FR_LANDLINE, "a fixed-line number"),
        ("+44 20 7946 0958", "a fixed-line number"),
        ("+33 8 00 12 34 56", "a toll-free number"),
        ("+1 800 234 5678", "a toll-free number"),
        ("+33 8 99 12 34 56", "a premium-rate number"),
        ("+44 5512 345678", "a universal access number"),
        ("+44 7640 123456", "a pager number"),
    ],
)
def test_numbers_that_cannot_receive_sms_are_refused(value: str, kind: str) -> None:
    with pytest.raises(InvalidRecipient) as excinfo:
        parse_recipient(value)

    e164 = phonenumbers.format_number(
        phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.E164
    )
    assert reason_of(excinfo) == (
        f"{e164} is {kind}, which cannot receive SMS (DJANGO_SMS['REQUIRE_MOBILE'] is on)"
    )


def test_require_mobile_off_accepts_fixed_lines(settings: Any) -> None:
    settings.DJANGO_SMS = {"REQUIRE_MOBILE": False}
    assert parse_recipient(FR_LANDLINE) == Recipient("+33123456789", "FR")
    assert parse_recipient("+1 800 234 5678") == Recipient("+18002345678", "US")


# --- country allow and deny lists ---------------------------------------------------------


def test_allowed_countries_refuses_other_countries(settings: Any) -> None:
    settings.DJANGO_SMS = {"ALLOWED_COUNTRIES": ["FR", "be"]}

    assert parse_recipient(FR_MOBILE).country == "FR"
    assert parse_recipient("+32 470 12 34 56").country == "BE"
    with pytest.raises(CountryNotAllowed) as excinfo:
        parse_recipient("+44 7400 123456")
    assert (excinfo.value.number, excinfo.value.country) == (GB_MOBILE, "GB")
    assert isinstance(excinfo.value, InvalidMessage)


def test_denied_countries_are_refused(settings: Any) -> None:
    settings.DJANGO_SMS = {"DENIED_COUNTRIES": ["gb"]}

    assert parse_recipient(FR_MOBILE).country == "FR"
    with pytest.raises(CountryNotAllowed, match=r"\+447400123456 \(GB\)"):
        parse_recipient("+44 7400 123456")


def test_denied_wins_over_allowed(settings: Any) -> None:
    settings.DJANGO_SMS = {"ALLOWED_COUNTRIES": ["FR", "GB"], "DENIED_COUNTRIES": ["GB"]}
    with pytest.raises(CountryNotAllowed):
        parse_recipient(GB_MOBILE)


def test_empty_allow_list_allows_nothing(settings: Any) -> None:
    settings.DJANGO_SMS = {"ALLOWED_COUNTRIES": []}
    with pytest.raises(CountryNotAllowed):
        parse_recipient(FR_MOBILE)


def test_mobile_number_of_an_international_network_has_no_country() -> None:
    # +882 34 is a non-geographic mobile network: valid, mobile, in no country.
    assert parse_recipient("+882 342 1234") == Recipient("+8823421234", "")


def test_number_without_a_country(settings: Any) -> None:
    # +800 is an international freephone service: phonenumbers' region "001", no ISO code.
    settings.DJANGO_SMS = {"REQUIRE_MOBILE": False}
    assert parse_recipient("+800 1234 5678") == Recipient("+80012345678", "")

    # An allow list fails closed for it.
    settings.DJANGO_SMS = {"REQUIRE_MOBILE": False, "ALLOWED_COUNTRIES": ["FR"]}
    with pytest.raises(CountryNotAllowed) as excinfo:
        parse_recipient("+800 1234 5678")
    assert excinfo.value.country == ""


# --- PhoneNumber objects ------------------------------------------------------------------


def test_phonenumber_field_objects_are_accepted() -> None:
    assert parse_recipient(PhoneNumber.from_string("+33 6 12 34 56 78")) == Recipient(
        FR_MOBILE, "FR"
    )


def test_phonenumbers_objects_are_accepted() -> None:
    assert parse_recipient(phonenumbers.parse("+44 7400 123456")) == Recipient(GB_MOBILE, "GB")


def test_phonenumber_objects_go_through_the_same_checks() -> None:
    with pytest.raises(InvalidRecipient, match="fixed-line"):
        parse_recipient(PhoneNumber.from_string(FR_LANDLINE))
    with pytest.raises(InvalidRecipient, match=r"too short for a number in FR \(\+33\)"):
        parse_recipient(phonenumbers.parse("+33 6 12"))


def test_unparseable_phonenumber_field_value_says_why() -> None:
    # What a PhoneNumberField holds when the input could not be parsed.
    value = to_python("not a number")
    with pytest.raises(InvalidRecipient) as excinfo:
        parse_recipient(value)
    assert reason_of(excinfo) == "does not look like a phone number"


def test_national_phonenumber_field_value_uses_the_default_region(settings: Any) -> None:
    settings.PHONENUMBER_DEFAULT_REGION = "FR"
    assert parse_recipient(to_python("06 12 34 56 78")) == Recipient(FR_MOBILE, "FR")


# --- helpers ------------------------------------------------------------------------------


def test_e164_digits() -> None:
    assert e164_digits(FR_MOBILE) == "33612345678"
    assert e164_digits("33612345678") == "33612345678"


@pytest.mark.parametrize("value", ["", "+", "0612345678", "+33 6 12 34 56 78", "+1234567890123456"])
def test_e164_digits_refuses_what_is_not_e164(value: str) -> None:
    with pytest.raises(InvalidRecipient, match=r"not in E\.164 format"):
        e164_digits(value)


@pytest.mark.parametrize(
    ("e164", "country"),
    [
        (FR_MOBILE, "FR"),
        (GB_MOBILE, "GB"),
        ("+12015550123", "US"),
        ("+14165550123", "CA"),
        ("33612345678", "FR"),
        ("+80012345678", ""),
        ("+999123456789", ""),
        ("garbage", ""),
    ],
)
def test_country_of(e164: str, country: str) -> None:
    assert country_of(e164) == country


# --- sender IDs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MyShop", "MyShop"),
        ("A", "A"),
        ("My Shop", "My Shop"),
        ("My-Shop_1.0", "My-Shop_1.0"),  # 11 characters
        ("B&Q", "B&Q"),
        ("2FA", "2FA"),
        ("36180", "36180"),  # short code
        ("123", "123"),
        ("+33612345678", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("33 6 12 34 56 78", "33612345678"),
        ("123456789012345", "123456789012345"),  # 15 digits
    ],
)
def test_valid_senders(value: str, expected: str) -> None:
    assert validate_sender(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "MyShopOnline",
            "too long: 12 characters, an alphanumeric sender has at most 11",
        ),
        (
            "Boutique Élan",
            "forbidden character 'É'; an alphanumeric sender may only use A-Z, a-z, 0-9, "
            "space and . - _ &",
        ),
        (
            "Shop!?",
            "forbidden characters '!', '?'; an alphanumeric sender may only use A-Z, a-z, "
            "0-9, space and . - _ &",
        ),
        (
            "A+B",
            "forbidden character '+'; an alphanumeric sender may only use A-Z, a-z, "
            "0-9, space and . - _ &",
        ),
        (" Shop", "starts or ends with whitespace"),
        ("Shop ", "starts or ends with whitespace"),
        ("Shop\n", "starts or ends with whitespace"),
        ("12", "a numeric sender needs at least 3 digits, this one has 2"),
        ("+1 2", "a numeric sender needs at least 3 digits, this one has 2"),
        ("1234567890123456", "too long: 16 digits, a numeric sender has at most 15"),
        (
            "123-456",
            "an alphanumeric sender must contain at least one letter; a numeric sender may "
            "only contain digits, spaces and a leading '+'",
        ),
        (123456, "expected a string, got int"),
    ],
)
def test_invalid_senders_say_which_rule_failed(value: Any, reason: str) -> None:
    with pytest.raises(InvalidSender) as excinfo:
        validate_sender(value)

    assert reason_of(excinfo) == reason
    assert str(excinfo.value) == f"Invalid sender ID {value!r}: {reason}"


@pytest.mark.parametrize("value", [None, ""])
def test_missing_sender_uses_default_sender(settings: Any, value: str | None) -> None:
    settings.DJANGO_SMS = {}
    assert validate_sender(value) == ""  # no default: the backend decides

    settings.DJANGO_SMS = {"DEFAULT_SENDER": "MyShop"}
    assert validate_sender(value) == "MyShop"
    assert validate_sender("Other") == "Other"

    settings.DJANGO_SMS = {"DEFAULT_SENDER": "+33 6 12 34 56 78"}
    assert validate_sender(value) == "+33612345678"


def test_invalid_default_sender_is_reported_as_such(settings: Any) -> None:
    settings.DJANGO_SMS = {"DEFAULT_SENDER": "My Online Shop"}
    with pytest.raises(InvalidSender) as excinfo:
        validate_sender(None)

    assert excinfo.value.value == "My Online Shop"
    assert reason_of(excinfo) == (
        "too long: 14 characters, an alphanumeric sender has at most 11 "
        "(from DJANGO_SMS['DEFAULT_SENDER'])"
    )


_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 .\-_&]{1,11}")
_NUMERIC = re.compile(r"\+?[0-9]{3,15}")


@given(st.text(st.sampled_from("Ab9 .-_&+!é\t"), max_size=20) | st.text(max_size=20))
def test_property_accepted_senders_follow_the_rules(value: str) -> None:
    try:
        sender = validate_sender(value)
    except InvalidSender as exc:
        assert exc.reason
        return
    if not value:
        assert sender == sms_settings.DEFAULT_SENDER
        return
    if _NUMERIC.fullmatch(sender):
        assert sender == value.replace(" ", "")
    else:
        assert sender == value
        assert _ALPHANUMERIC.fullmatch(sender)
        assert len(sender) <= SENDER_ID_MAX_LENGTH
        assert re.search("[A-Za-z]", sender)
        assert sender == sender.strip()
