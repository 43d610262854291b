"""Who a phone-number error is written for.

``str(exc)`` and ``exc.reason`` are for developers: they name the setting to change.
``exc.user_message`` is for the person who typed the number (a form, a page): it never names
a setting, and it is translated. ``exc.code`` is stable, for programs and form errors.
"""

from __future__ import annotations

import re

import pytest
from django import forms
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from django_sms.exceptions import CountryNotAllowed, InvalidRecipient
from django_sms.phone import parse_recipient, validate_recipient

#: What end users must never be shown: settings, Python, formats only developers know.
DEVELOPER_WORDS = re.compile(r"DJANGO_SMS|PHONENUMBER_|REQUIRE_MOBILE|_COUNTRIES|E\.164|\[|'")


def refusal(value, region=None):
    with pytest.raises((InvalidRecipient, CountryNotAllowed)) as refused:
        parse_recipient(value, region)
    return refused.value


@pytest.fixture
def no_default_region(settings):
    if hasattr(settings, "PHONENUMBER_DEFAULT_REGION"):
        del settings.PHONENUMBER_DEFAULT_REGION


@pytest.mark.parametrize("value", ["12", "1", "+12", "1 2", "(12)", "123"])
def test_a_few_digits_are_too_short_whatever_the_region(value, no_default_region):
    exc = refusal(value)
    assert exc.reason == "too short to be a phone number"
    assert exc.code == "too_short"
    assert "country code" not in str(exc)  # the old message sent people the wrong way
    assert exc.user_message == "This phone number is too short."


def test_a_national_number_without_a_region_tells_developers_the_setting(no_default_region):
    exc = refusal("06 12 34 56 78")
    assert "PHONENUMBER_DEFAULT_REGION" in exc.reason
    assert exc.code == "no_country"
    assert exc.user_message == (
        "Enter the number in international format: + then the country code."
    )


@pytest.mark.parametrize(
    ("value", "code", "developer_words", "user_message"),
    [
        ("", "empty", "the number is empty", "Enter a phone number."),
        (None, "empty", "no number given", "Enter a phone number."),
        (33612345678, "invalid_type", "expected a string", "Enter a valid phone number."),
        ("hello", "not_a_number", "does not look like", "Enter a valid phone number."),
        ("+999 123 456 789", "unknown_country_code", "unknown country calling code",
         "The country code of this phone number does not exist."),
        ("+33 6 12", "too_short", "too short", "This phone number is too short."),
        ("+33 6 12 34 56 78 90 12", "too_long", "too long", "This phone number is too long."),
        ("+33 7 00 00 00 00", "invalid", "not a valid number in FR",
         "This phone number is not valid."),
        ("+33 6 12 34 56 78 ext. 12", "extension", "has an extension",
         "Enter the number without an extension: text messages cannot reach one."),
        ("+33 1 23 45 67 89", "not_mobile", "DJANGO_SMS['REQUIRE_MOBILE'] is on",
         "This number cannot receive text messages: enter a mobile number."),
    ],
)  # fmt: skip
def test_each_refusal_has_a_developer_reason_and_a_user_message(
    value, code, developer_words, user_message
):
    exc = refusal(value)
    assert exc.code == code
    assert developer_words in exc.reason and developer_words in str(exc)
    assert exc.user_message == user_message
    assert not DEVELOPER_WORDS.search(exc.user_message)


def test_a_country_refused_by_settings(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": ["GB"]}
    exc = refusal("+44 7400 123456")
    assert isinstance(exc, CountryNotAllowed)
    assert "DJANGO_SMS['ALLOWED_COUNTRIES']" in str(exc)
    assert exc.code == "country_not_allowed"
    assert exc.user_message == "Text messages cannot be sent to this country."


@given(st.text(max_size=40) | st.from_regex(r"\A\+?[0-9 ]{0,20}\Z"))
def test_no_user_message_names_a_setting(value):
    try:
        parse_recipient(value)
    except (InvalidRecipient, CountryNotAllowed) as exc:
        assert exc.user_message
        assert not DEVELOPER_WORDS.search(exc.user_message), exc.user_message
        assert exc.reason if isinstance(exc, InvalidRecipient) else str(exc)


class PhoneForm(forms.Form):
    phone = forms.CharField(validators=[validate_recipient])


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("+33 1 23 45 67 89", "This number cannot receive text messages: enter a mobile number."),
        ("12", "This phone number is too short."),
        ("+33 6 12 34 56 78", None),
        ("06 12 34 56 78", None),  # PHONENUMBER_DEFAULT_REGION = "FR" in the test settings
    ],
)
def test_the_form_validator_shows_the_user_message(value, error):
    form = PhoneForm({"phone": value})
    if error is None:
        assert form.is_valid(), form.errors
        return
    assert not form.is_valid()
    assert form.errors["phone"] == [error]
    assert form.errors.as_data()["phone"][0].code in {"not_mobile", "too_short"}


def test_user_messages_are_translated():
    with translation.override("fr"):
        exc = refusal("+33 1 23 45 67 89")
        assert exc.user_message == (
            "Ce numéro ne peut pas recevoir de SMS : saisissez un numéro de mobile."
        )
        form = PhoneForm({"phone": "12"})
        assert form.errors["phone"] == ["Ce numéro de téléphone est trop court."]
