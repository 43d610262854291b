"""Choosing and showing the owner (any model instance) of a wallet or an API token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class OwnerFormMixin(forms.ModelForm):
    """Checks that ``owner_type`` + ``owner_id`` name an existing object; puts it in
    ``cleaned_data["owner"]``."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        owner_type: ContentType | None = cleaned.get("owner_type")
        owner_id = cleaned.get("owner_id")
        if owner_type is None or not owner_id:
            return cleaned
        model = owner_type.model_class()
        if model is None:
            raise ValidationError(
                {"owner_type": _("The model %(model)s is not installed.") % {"model": owner_type}}
            )
        try:
            cleaned["owner"] = model._default_manager.get(pk=owner_id)
        except (ObjectDoesNotExist, ValueError, ValidationError):
            raise ValidationError(
                {
                    "owner_id": _("There is no %(model)s with id %(id)s.")
                    % {"model": owner_type.name, "id": owner_id}
                }
            ) from None
        return cleaned


def owner_label(obj: models.Model) -> str:
    """``user: alice`` — the owner's type and the owner itself (prefetched by the admin)."""
    owner_type: ContentType = obj.owner_type  # type: ignore[attr-defined]
    owner = obj.owner  # type: ignore[attr-defined]
    if owner is None:
        return _("%(type)s #%(id)s (deleted)") % {
            "type": owner_type.name,
            "id": obj.owner_id,  # type: ignore[attr-defined]
        }
    return f"{owner_type.name}: {owner}"
