"""Forms for server-rendered sites: ask for a number and send a code, then check the code.

Their messages are for end users: translated, and never naming a setting.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from django_sms.exceptions import CountryNotAllowed, InvalidRecipient, VerificationRateLimited
from django_sms.models import Verification
from django_sms.phone import parse_recipient
from django_sms.verification.service import CheckResult, check_verification, start_verification

#: What a user reads for each failed check. A wrong code, an expired one and a number with
#: no code pending read alike, so that the form tells nobody which numbers are verifying.
NOT_VALID = _("This code is not correct or no longer valid.")
CHECK_ERRORS = {
    "pending": NOT_VALID,
    "expired": NOT_VALID,
    "not_found": NOT_VALID,
    "max_attempts_reached": _("Too many wrong codes. Ask for a new code in a few minutes."),
}


def _wait_text(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if seconds < 60:
        return str(_("Please wait %(seconds)d seconds before asking for another code.")
                   % {"seconds": seconds})
    return str(_("Please wait %(minutes)d minutes before asking for another code.")
               % {"minutes": minutes})


class StartVerificationForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_phone(self) -> str:
        try:
            return parse_recipient(self.cleaned_data["phone"]).e164
        except (CountryNotAllowed, InvalidRecipient) as exc:
            # The message written for the person who typed the number (no setting names).
            raise forms.ValidationError(exc.user_message, code=exc.code) from exc

    def send(self, request: HttpRequest | None, purpose: str = "default", *,
             using: str | None = None) -> Verification | None:
        """Send a code to the cleaned number (through backend alias ``using``); on a refusal
        add the error for the user and return None."""
        try:
            return start_verification(self.cleaned_data["phone"], purpose=purpose,
                                      request=request, using=using)
        except VerificationRateLimited as exc:
            self.add_error(None, _wait_text(exc.retry_after))
            return None


class CheckVerificationForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        widget=forms.TextInput(
            # One text field, numeric keyboard, autofill of the code from the SMS.
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                   "pattern": "[0-9 ]*"}
        ),
    )

    def __init__(self, *args: Any, to: str, purpose: str = "default",
                 request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.to = to
        self.purpose = purpose
        self.request = request
        self.result: CheckResult | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "code" in cleaned:
            self.result = check_verification(
                self.to, cleaned["code"], purpose=self.purpose, request=self.request
            )
            if not self.result.approved:
                raise forms.ValidationError(CHECK_ERRORS[self.result.status],
                                            code=self.result.status)
        return cleaned
