"""Helpers shared by the token and wallet commands (a leading underscore: not a command)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import models

from django_sms.owners import resolve_owner


def owner_argument(label: str) -> models.Model:
    """The owner named by ``app_label.model:pk``, or a CommandError saying what is wrong."""
    try:
        return resolve_owner(label)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
