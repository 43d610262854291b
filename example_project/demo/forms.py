from typing import Any

from django import forms

from django_sms.backends.handler import configured_backends, sms_backends
from django_sms.exceptions import ConfigurationError
from django_sms.verification.forms import StartVerificationForm


def backend_choices() -> list[tuple[str, str]]:
    """Every configured SMS backend alias, labelled with its provider: ``mailjet (mailjet)``."""
    choices = []
    for alias in configured_backends():
        try:
            provider = sms_backends[alias].provider_name
        except ConfigurationError:  # still offered: sending through it says what is wrong
            provider = ""
        choices.append((alias, f"{alias} ({provider})" if provider else alias))
    return choices


class DemoStartForm(StartVerificationForm):
    """django_sms's number form, plus the provider the demo sends through."""

    backend = forms.ChoiceField(
        label="Provider",
        help_text="The provider the code is sent through.",
        required=False,  # left out (e.g. by a script posting only the number): "default"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        phone = self.fields["phone"]
        phone.help_text = "International (+33 6 12 34 56 78) or French (06 12 34 56 78)."
        phone.widget.attrs.update({"placeholder": "06 12 34 56 78", "autofocus": True})
        # Read at each request: the aliases come from settings, which tests may change.
        backend = self.fields["backend"]
        assert isinstance(backend, forms.ChoiceField)
        backend.choices = backend_choices()
        backend.initial = "default"
