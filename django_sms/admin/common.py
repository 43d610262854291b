"""Small helpers shared by the admin classes of this package."""

from __future__ import annotations

from typing import Any

import django
from django.contrib import admin
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from django_sms.status import ALL_STATUSES, FINAL_STATUSES, Status

#: Extra ``@admin.action`` arguments that also offer an action on the change form. Django 6.1
#: added ``location=``; on older versions the action stays on the changelist only.
if django.VERSION >= (6, 1):
    CHANGE_FORM_TOO: dict[str, Any] = {
        "location": [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]
    }
else:  # pragma: no cover - depends on the Django version
    CHANGE_FORM_TOO = {}

#: CSS class of each status badge: a colour per outcome (see static/django_sms/admin.css).
_BADGE_KIND: dict[str, str] = {
    Status.QUEUED: "pending",
    Status.SENDING: "pending",
    Status.UNKNOWN: "warning",
    Status.ACCEPTED: "progress",
    Status.SENT: "progress",
    Status.DELIVERED: "success",
    Status.CANCELED: "muted",
}


def status_badge(status: str) -> SafeString:
    """A coloured label for a message status."""
    label: Any = Status(status).label if status in ALL_STATUSES else status
    kind = _BADGE_KIND.get(status, "error" if status in FINAL_STATUSES else "pending")
    return format_html(
        '<span class="sms-badge sms-badge-{}" data-status="{}">{}</span>', kind, status, label
    )


def own_fields(model: type[models.Model], base: type[models.Model]) -> tuple[str, ...]:
    """The editable fields a project's swapped-in ``model`` adds to the app's abstract
    ``base``: the wallet and token admins list their fields by name, so these are added to
    their forms (empty for the app's own models)."""
    declared = {f.name for f in base._meta.fields}
    return tuple(
        f.name
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in declared
    )


def admin_url(
    model: type[models.Model] | models.Model,
    view: str,
    args: tuple[Any, ...] = (),
    site: admin.AdminSite | None = None,
) -> str:
    """The URL of an admin view (``changelist``, ``change``...) of ``model``; "" when the
    model is not registered on the site."""
    opts = model._meta
    try:
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{view}",
            args=args,
            current_app=site.name if site else None,
        )
    except NoReverseMatch:
        return ""


def admin_change_url(obj: models.Model, site: admin.AdminSite | None = None) -> str:
    """The admin change page of ``obj``; "" when its model is not registered."""
    return admin_url(obj, "change", (obj.pk,), site)


def link(url: str, text: Any) -> Any:
    """``<a href="url">text</a>``, or the text alone when there is no URL."""
    return format_html('<a href="{}">{}</a>', url, text) if url else str(text)


def admin_link(
    obj: models.Model | None, text: Any = None, site: admin.AdminSite | None = None
) -> Any:
    """A link to ``obj``'s admin page (its text alone when the model is not registered)."""
    if obj is None:
        return "-"
    return link(admin_change_url(obj, site), obj if text is None else text)


def money(amount: Any, currency: str) -> str:
    """``0.0700 EUR``; "" when there is no amount."""
    if amount is None:
        return ""
    return f"{amount} {currency}".strip()
