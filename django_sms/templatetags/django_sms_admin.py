"""Template tags of the admin pages (``{% load django_sms_admin %}``)."""

from __future__ import annotations

from typing import Any

from django import template

from django_sms.admin.changelist import date_hierarchy_context

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def sms_date_hierarchy(cl: Any) -> dict[str, Any]:
    """Django's date drill-down, computed from MIN/MAX instead of SELECT DISTINCT."""
    return date_hierarchy_context(cl)
