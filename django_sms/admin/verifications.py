"""Phone verifications (read-only; never the code, its MAC or its sealed copy), the funnel per
country and day, and the countries blocked by the conversion guard (lifted by an action)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_sms.admin.changelist import SafeChangeListMixin
from django_sms.models import CountryBlock, Verification
from django_sms.status import Status

#: Days the funnel shows.
FUNNEL_DAYS = 14


class VerificationAdmin(SafeChangeListMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "phone",
        "country",
        "purpose",
        "status",
        "wrong_checks",
        "block_reason",
        "ip",
    )
    list_filter = ("status", "purpose", "block_reason", "country", "created_at")
    search_fields = ("=phone", "=ip")
    search_help_text = _("A complete number (E.164) or client IP.")
    date_hierarchy = "created_at"
    list_select_related = False
    # The code's MAC and its sealed copy are never shown (not listed here).
    fields = (
        "phone",
        "country",
        "prefix",
        "purpose",
        "status",
        "code_length",
        "failed_checks",
        "failures_before",
        "failures_since",
        "block_reason",
        "ip",
        "message",
        "created_at",
        "expires_at",
        "approved_at",
        "updated_at",
    )
    readonly_fields = fields
    change_list_template = "admin/django_sms/verification_change_list.html"

    @admin.display(description=_("wrong checks"))
    def wrong_checks(self, obj: Verification) -> str:
        if obj.failures_before:
            return f"{obj.failed_checks} (+{obj.failures_before})"
        return str(obj.failed_checks)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        funnel = path(
            "funnel/",
            self.admin_site.admin_view(self.funnel_view),
            name="django_sms_verification_funnel",
        )
        return [funnel, *super().get_urls()]

    def funnel_view(self, request: HttpRequest) -> HttpResponse:
        """Per day and country: started, sent, delivered, approved, and the conversion."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        since = timezone.now() - timedelta(days=FUNNEL_DAYS)
        rows = (
            Verification.objects.filter(created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values("day", "country")
            .annotate(
                started=Count("pk"),
                sent=Count("pk", filter=Q(block_reason="", message__isnull=False)),
                delivered=Count("pk", filter=Q(message__status=Status.DELIVERED)),
                approved=Count("pk", filter=Q(status="approved")),
            )
            .order_by("-day", "country")
        )
        table = [
            {**row, "conversion": f"{row['approved'] / row['sent']:.0%}" if row["sent"] else "—"}
            for row in rows
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Verification funnel (last %(days)d days)") % {"days": FUNNEL_DAYS},
            "rows": table,
            "active_blocks": CountryBlock.objects.filter(lifted_at__isnull=True),
        }
        return TemplateResponse(request, "admin/django_sms/verification_funnel.html", context)


@admin.action(description=_("Lift the selected blocks"), permissions=["change"])
def lift_blocks(modeladmin: CountryBlockAdmin, request: HttpRequest,
                queryset: QuerySet[CountryBlock]) -> None:
    user = request.user
    lifted = queryset.filter(lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=user.get_username() if user.is_authenticated else ""
    )
    modeladmin.message_user(
        request,
        ngettext("%(count)d block lifted.", "%(count)d blocks lifted.", lifted) % {"count": lifted},
        messages.SUCCESS,
    )


class CountryBlockAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """Countries whose verifications the conversion guard refuses. Lifting a block lets codes
    go again; the guard then counts only what was sent after the lift."""

    list_display = ("country", "created_at", "active", "reason", "lifted_at", "lifted_by")
    list_filter = ("lifted_at",)
    actions = [lift_blocks]
    readonly_fields = ("country", "reason", "created_at", "lifted_at", "lifted_by")

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj: CountryBlock) -> bool:
        return obj.lifted_at is None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
