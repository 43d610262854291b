"""Owners of wallets and API tokens: any model instance, held through a generic relation.

Wallets and tokens store ``owner_type`` (a ContentType) and ``owner_id`` (the primary key as
text), so a user, a team or a tenant can own them without a swapped model. This module turns
an owner into those two columns, and back from the ``app_label.model:pk`` notation the
management commands accept.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

__all__ = ["owner_filter", "owner_label", "resolve_owner"]


def owner_filter(owner: models.Model, prefix: str = "") -> dict[str, Any]:
    """Lookup keywords selecting the rows owned by ``owner``.

    ``prefix`` reaches the owner through a relation: ``owner_filter(user, "token__")``
    selects messages whose token belongs to ``user``. ``ContentType.get_for_model`` is cached
    by Django, so this costs no query after the first call per model.
    """
    if owner.pk is None:
        raise ValueError(
            f"{owner!r} has no primary key: save it before giving it a wallet or token."
        )
    return {
        f"{prefix}owner_type": ContentType.objects.get_for_model(owner),
        f"{prefix}owner_id": str(owner.pk),
    }


def owner_label(owner_type: ContentType, owner_id: str) -> str:
    """The ``app_label.model:pk`` notation of an owner, as the commands print and accept it."""
    return f"{owner_type.app_label}.{owner_type.model}:{owner_id}"


def resolve_owner(label: str) -> models.Model:
    """The instance named by ``app_label.model:pk`` (``auth.user:42``).

    Raises ``ValueError`` saying exactly which part is wrong: the notation, the model or the
    primary key.
    """
    model_part, sep, pk = label.partition(":")
    app_label, dot, model_name = model_part.partition(".")
    if not (sep and dot and app_label and model_name and pk):
        raise ValueError(
            f"Owner {label!r} is not in the form app_label.model:pk (e.g. auth.user:1)."
        )
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        raise ValueError(f"Owner {label!r}: there is no model {model_part!r}.") from None
    try:
        return model._default_manager.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, ValidationError):
        raise ValueError(
            f"Owner {label!r}: no {model._meta.label} has the primary key {pk!r}."
        ) from None
