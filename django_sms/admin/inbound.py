"""Inbound messages (read-only) and the opt-out list (operators add and remove numbers)."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from django_sms.admin.changelist import (
    BackendAliasFilter,
    EstimatedCountPaginator,
    ProviderFilter,
    SafeChangeListMixin,
    number_condition,
)
from django_sms.models import InboundMessage, OptOut


class InboundMessageAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """Texts received from handsets, as the providers reported them. Nothing is editable."""

    list_display = (
        "received_at",
        "from_number",
        "to_number",
        "text_excerpt",
        "keyword",
        "provider",
        "backend_alias",
    )
    list_filter = (ProviderFilter, BackendAliasFilter, "keyword", "received_at")
    search_fields = ("from_number", "provider_message_id")  # see get_search_results
    search_help_text = _("A phone number (complete, or its first digits) or a provider message id.")
    sortable_by = ("received_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = (
        "received_at",
        "occurred_at",
        "from_number",
        "to_number",
        "text",
        "keyword",
        "provider",
        "backend_alias",
        "provider_message_id",
        "raw",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("text"))
    def text_excerpt(self, obj: InboundMessage) -> str:
        return Truncator(obj.text).chars(60)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(provider_message_id=term)
        number = number_condition(term, "from_number")
        if number is not None:
            condition |= number
        return queryset.filter(condition), False


class OptOutForm(forms.ModelForm):
    """Adds a number to the opt-out list: normalised to E.164, with a required reason."""

    class Meta:
        model = OptOut
        fields = ("phone_number", "sender", "reason")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "reason" in self.fields:
            self.fields["reason"].required = True
            self.fields["reason"].help_text = _(
                "Why the number is on the list; kept with it (e.g. customer asked by phone)."
            )

    def clean_phone_number(self) -> str:
        value = self.cleaned_data["phone_number"]
        region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None)
        try:
            number = phonenumbers.parse(value, None if value.strip().startswith("+") else region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise forms.ValidationError(
                _("%(value)s is not a valid phone number.") % {"value": value}
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class OptOutAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """Numbers that receive nothing (from one sender, or from any). Operators add and remove
    entries; the reason and who added it are kept, and removals are in the admin log."""

    form = OptOutForm
    list_display = (
        "phone_number",
        "sender_display",
        "source",
        "reason",
        "created_at",
        "created_by",
    )
    list_filter = ("source", "created_at")
    search_fields = ("phone_number",)  # see get_search_results
    search_help_text = _("A phone number, complete or its first digits.")
    list_select_related = ("created_by",)
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("phone_number", "sender", "reason")
        return ("phone_number", "sender", "source", "reason", "created_at", "created_by")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # Only the reason can be corrected; remove the entry to lift the opt-out.
        return ("phone_number", "sender", "source", "created_at", "created_by")

    @admin.display(description=_("sender"))
    def sender_display(self, obj: OptOut) -> str:
        return obj.sender or str(_("every sender"))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.source = OptOut.Source.ADMIN
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        condition = number_condition(search_term.strip(), "phone_number")
        if not search_term.strip():
            return queryset, False
        if condition is None:
            return queryset.none(), False
        return queryset.filter(condition), False
