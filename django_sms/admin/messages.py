"""The message history: a read-only changelist and detail page, resend and status refresh.

``MessageAdmin`` is registered for ``django_sms.Message``. A project that swaps the message
model (``DJANGO_SMS_MESSAGE_MODEL``) registers it for its own model::

    from django.contrib import admin
    from django_sms.admin import MessageAdmin
    from shop.models import CustomMessage

    admin.site.register(CustomMessage, MessageAdmin)
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import secrets
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from django_sms import encoding
from django_sms.admin.changelist import (
    BackendAliasFilter,
    CountryFilter,
    EncodingFilter,
    EstimatedCountPaginator,
    ProviderFilter,
    SortableByChangeList,
    search_messages,
)
from django_sms.admin.common import (
    CHANGE_FORM_TOO,
    admin_change_url,
    admin_link,
    money,
    status_badge,
)
from django_sms.admin.summary import delivery_summary
from django_sms.backends.base import BaseSmsBackend, StatusUpdate
from django_sms.backends.handler import sms_backends
from django_sms.events import record_polled_status
from django_sms.exceptions import ProviderError, SMSError
from django_sms.message import SMS
from django_sms.models import AbstractMessage, EventSource, OptOut
from django_sms.sending import send_messages
from django_sms.status import FINAL_STATUSES, Status
from django_sms.transactions import after_commit

#: Most messages one resend or refresh may act on: both call the provider once per message
#: inside the request.
ACTION_LIMIT = 100

#: Statuses of a resend reported as a warning: it did not reach the handset, or nobody knows.
REFUSED_STATUSES: frozenset[str] = (FINAL_STATUSES - {Status.DELIVERED}) | {Status.UNKNOWN}


class MessageAdmin(admin.ModelAdmin):
    """Read-only history of outgoing messages, with resend and status refresh."""

    list_display = (
        "created_at",
        "to",
        "sender",
        "status_badge",
        "segments_display",
        "price_display",
        "provider",
        "backend_alias",
    )
    list_display_links = ("created_at", "to")
    list_filter = (
        "status",
        ProviderFilter,
        BackendAliasFilter,
        "created_at",
        CountryFilter,
        EncodingFilter,
    )
    search_fields = ("to", "provider_message_id")  # shows the box; see get_search_results
    search_help_text = _(
        "A phone number (complete, or its first digits), a provider message id or a reference."
    )
    date_hierarchy = "created_at"
    # Only the indexed column is sortable: any other ORDER BY sorts the whole table.
    sortable_by = ("created_at",)
    # No column reads a related object: no join at all (an empty tuple disables Django's
    # automatic select_related of foreign keys in list_display).
    list_select_related = ()
    list_per_page = 100
    paginator = EstimatedCountPaginator
    show_full_result_count = False  # would be a second COUNT(*) over the whole table
    show_facets = admin.ShowFacets.NEVER  # facet counts are one COUNT per filter choice
    actions = ["resend", "refresh_status"]
    change_list_template = "admin/django_sms/message_change_list.html"
    change_form_template = "admin/django_sms/message_change_form.html"
    resend_confirmation_template = "admin/django_sms/resend_confirmation.html"

    fieldsets = (
        (
            _("Message"),
            {
                "fields": ("to", "country", "sender", "text", "encoding_display"),
                "classes": ("sms-message-fields",),
            },
        ),
        (
            _("Status"),
            {
                "fields": (
                    "status_badge",
                    "provider_status",
                    "error_code",
                    "error_message",
                    "attempts",
                    "created_at",
                    "sent_at",
                    "delivered_at",
                    "next_attempt_at",
                )
            },
        ),
        (
            _("Provider"),
            {"fields": ("provider", "backend_alias", "provider_message_id", "reference")},
        ),
        (
            _("Cost and price"),
            {"fields": ("cost_display", "price_display", "charge_status", "wallet", "token")},
        ),
        (_("Origin"), {"fields": ("resent_from_link", "idempotency_key", "metadata")}),
    )
    readonly_fields = (
        "status_badge",
        "encoding_display",
        "segments_display",
        "cost_display",
        "price_display",
        "resent_from_link",
    )

    class Media:
        css = {"all": ["django_sms/admin.css"]}

    # -- permissions: history is never edited or deleted here ------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages are created by sending, not typed in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is read-only; a resend makes a new message

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        """The model's ``resend_message`` permission."""
        return request.user.has_perm(f"{self.opts.app_label}.resend_message")

    def has_refresh_permission(self, request: HttpRequest) -> bool:
        """Asking the provider for a status writes an event: it needs ``change_message``
        (which grants nothing else, since messages are never edited here)."""
        codename = f"change_{self.opts.model_name}"
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    # -- the list ----------------------------------------------------------------------------
    @admin.display(description=_("status"))
    def status_badge(self, obj: AbstractMessage) -> SafeString:
        return status_badge(obj.status)

    @admin.display(description=_("segments"))
    def segments_display(self, obj: AbstractMessage) -> str:
        return f"{obj.segments} \N{MULTIPLICATION SIGN} {obj.encoding}"

    @admin.display(description=_("encoding"))
    def encoding_display(self, obj: AbstractMessage) -> str:
        return ngettext(
            "%(encoding)s, %(count)d segment", "%(encoding)s, %(count)d segments", obj.segments
        ) % {"encoding": obj.encoding, "count": obj.segments}

    @admin.display(description=_("price"))
    def price_display(self, obj: AbstractMessage) -> str:
        return money(obj.price, obj.price_currency) or "-"

    @admin.display(description=_("provider cost"))
    def cost_display(self, obj: AbstractMessage) -> str:
        return money(obj.cost, obj.cost_currency) or "-"

    @admin.display(description=_("resent from"))
    def resent_from_link(self, obj: AbstractMessage) -> Any:
        original = obj.resent_from
        if original is None:
            return "-"
        return admin_link(original, _("Message #%(pk)s") % {"pk": original.pk}, self.admin_site)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[SortableByChangeList]:
        return SortableByChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Exact and prefix matches only: ``icontains`` would scan every row."""
        return search_messages(queryset, search_term), False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The fieldsets above, plus any field a swapped-in model adds."""
        fieldsets = list(super().get_fieldsets(request, obj))
        listed = {name for _title, options in fieldsets for name in options["fields"]}
        # Shown through a display method above, or internal bookkeeping.
        known = listed | {
            "status",
            "encoding",
            "segments",
            "cost",
            "cost_currency",
            "price",
            "price_currency",
            "resent_from",
            "claimed_at",
            "updated_at",
        }
        extra = [
            f.name
            for f in self.opts.concrete_fields
            if f.name not in known and f.editable and not f.primary_key
        ]
        if extra:
            fieldsets.append((_("Other"), {"fields": tuple(extra)}))
        return fieldsets

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "sms_summary": delivery_summary(self.get_queryset(request)),
        }
        return super().changelist_view(request, extra_context)

    # -- the detail page ---------------------------------------------------------------------
    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self.history_context(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def history_context(self, obj: AbstractMessage) -> dict[str, Any]:
        """Segments, status timeline, ledger entries and resends of one message."""
        analysis = encoding.analyze(obj.text, transliterate=False)
        events = list(obj.events.all())  # type: ignore[attr-defined]
        ledger = list(obj.ledger_entries.select_related("created_by"))  # type: ignore[attr-defined]
        resends = [
            (resend, admin_change_url(resend, self.admin_site))
            for resend in obj.resends.order_by("created_at", "pk")  # type: ignore[attr-defined]
        ]
        return {
            "sms_analysis": analysis,
            "sms_parts": list(enumerate(analysis.parts, start=1)),
            "sms_events": [
                (event, status_badge(event.status), delay)
                for event, delay in zip(events, event_delays(events), strict=True)
            ],
            "sms_ledger": ledger,
            "sms_resends": [(r, url, status_badge(r.status)) for r, url in resends],
        }

    # -- resend ------------------------------------------------------------------------------
    @admin.action(
        description=_("Resend selected messages"), permissions=["resend"], **CHANGE_FORM_TOO
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """Send each selected message again as a new message linked through ``resent_from``.

        The first POST shows what will be sent and what it will cost; the confirmation
        (``post=yes``) sends through the normal pipeline, so opt-outs, wallet holds and
        idempotency apply. The confirmation page carries a random key that makes the new
        messages' idempotency keys: submitting it twice sends nothing twice.
        """
        originals = list(queryset.select_related("wallet").order_by("pk")[: ACTION_LIMIT + 1])
        if len(originals) > ACTION_LIMIT:
            self.message_user(
                request,
                _("At most %(limit)d messages can be resent at once: select fewer.")
                % {"limit": ACTION_LIMIT},
                messages.ERROR,
            )
            return None
        if request.POST.get("post") == "yes" and request.POST.get("resend_key"):
            self.perform_resend(request, originals, request.POST["resend_key"])
            return None
        return self.resend_confirmation(request, originals)

    def resend_confirmation(
        self, request: HttpRequest, originals: list[AbstractMessage]
    ) -> TemplateResponse:
        blocked = set(
            OptOut.objects.filter(phone_number__in={m.to for m in originals}).values_list(
                "phone_number", "sender"
            )
        )
        rows = []
        totals: dict[str, Decimal] = defaultdict(Decimal)
        unknown_price = False
        for original in originals:
            opted_out = (original.to, "") in blocked or (original.to, original.sender) in blocked
            price: Any
            if original.wallet_id is None:
                price = _("free")
            elif original.price is not None:
                price = money(original.price, original.price_currency)
                if not opted_out:
                    totals[original.price_currency] += original.price
            else:
                price = _("unknown")
                unknown_price = True
            rows.append({"message": original, "price": price, "opted_out": opted_out})
        # Post back to the same view: "action" from the changelist, "CHANGE_FORM-action"
        # from the change form (Django 6.1), and only the listed messages, never
        # "select across", so that rows added meanwhile are not resent unseen.
        action_field = next((name for name in request.POST if name.endswith("-action")), "action")
        action_fields = [(action_field, "resend"), ("index", "0")]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Resend messages"),
            "opts": self.opts,
            "rows": rows,
            "totals": sorted(totals.items()),
            "unknown_price": unknown_price,
            "action_fields": action_fields,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "resend_key": secrets.token_urlsafe(16),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.resend_confirmation_template, context)

    def perform_resend(
        self, request: HttpRequest, originals: list[AbstractMessage], key: str
    ) -> None:
        for original in originals:
            try:
                new = self.resend_one(original, key)
            except SMSError as exc:
                self.message_user(
                    request,
                    _("Message #%(pk)s to %(to)s was not resent: %(error)s")
                    % {"pk": original.pk, "to": original.to, "error": exc},
                    messages.ERROR,
                )
                continue
            self.log_change(
                request, original, gettext("Resent as message #%(pk)s.") % {"pk": new.pk}
            )
            # The change form runs actions inside a transaction, and a message sent inside
            # one goes out when it commits: report the outcome then, not the "queued" row.
            report = functools.partial(self.report_resend, request, original, new)
            after_commit(new, report)

    def report_resend(
        self, request: HttpRequest, original: AbstractMessage, new: AbstractMessage
    ) -> None:
        """Tell the operator what became of a resend: its status once it was sent, as a
        warning when the provider refused it."""
        new.refresh_from_db(fields=["status"])
        text = _("Message #%(pk)s to %(to)s resent as message #%(new)s (%(status)s).") % {
            "pk": original.pk,
            "to": original.to,
            "new": new.pk,
            "status": new.get_status_display(),
        }
        url = admin_change_url(new, self.admin_site)
        level = messages.WARNING if new.status in REFUSED_STATUSES else messages.SUCCESS
        self.message_user(
            request, format_html('<a href="{}">{}</a>', url, text) if url else text, level
        )

    def resend_one(self, original: AbstractMessage, key: str) -> AbstractMessage:
        """One new message with the same text, recipient, sender and metadata."""
        sms = dataclasses.replace(
            SMS.from_message(original),
            idempotency_key=f"admin-resend:{key}:{original.pk}",
            reference="",
        )
        return send_messages(
            [sms],
            using=original.backend_alias,
            resent_from=original,
            wallet=original.wallet,
            fail_silently=True,
        )[0]

    # -- refresh from the provider -------------------------------------------------------------
    @admin.action(
        description=_("Refresh status from provider"), permissions=["refresh"], **CHANGE_FORM_TOO
    )
    def refresh_status(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Ask each message's provider for its current status (backends that support polling)."""
        counts: dict[str, int] = defaultdict(int)
        for message in queryset.order_by("pk")[:ACTION_LIMIT]:
            outcome = self.refresh_one(request, message)
            counts[outcome] += 1
        summary = [
            (
                counts["changed"],
                messages.SUCCESS,
                ngettext(
                    "%(count)d message changed status.",
                    "%(count)d messages changed status.",
                    counts["changed"],
                ),
            ),
            (
                counts["unchanged"],
                messages.INFO,
                ngettext(
                    "%(count)d message has no new status.",
                    "%(count)d messages have no new status.",
                    counts["unchanged"],
                ),
            ),
            (
                counts["final"],
                messages.INFO,
                ngettext(
                    "%(count)d message already has a final status.",
                    "%(count)d messages already have a final status.",
                    counts["final"],
                ),
            ),
            (
                counts["unsupported"],
                messages.WARNING,
                ngettext(
                    "%(count)d message was sent through a backend that cannot be polled.",
                    "%(count)d messages were sent through a backend that cannot be polled.",
                    counts["unsupported"],
                ),
            ),
        ]
        for count, level, text in summary:
            if count:
                self.message_user(request, text % {"count": count}, level)

    def refresh_one(self, request: HttpRequest, message: AbstractMessage) -> str:
        """Poll one message; return what happened ("changed", "unchanged", ...)."""
        if message.is_final:
            return "final"
        try:
            backend = sms_backends[message.backend_alias]
        except SMSError:
            return "unsupported"
        if not backend.supports_status_polling or not message.provider_message_id:
            return "unsupported"
        try:
            update = backend.fetch_status(message)
        except ProviderError as exc:
            self.message_user(
                request,
                _("Message #%(pk)s: the provider did not answer: %(error)s")
                % {"pk": message.pk, "error": exc},
                messages.ERROR,
            )
            return "error"
        if update is None:
            return "unchanged"
        return "changed" if apply_polled_status(backend, message, update) else "unchanged"


def event_delays(events: list[Any]) -> list[str]:
    """How long after the previous event each one happened ("-" for the first).

    Two reported times are compared when both events have one (the provider's clock says
    how long the carrier took); otherwise the times they reached us.
    """
    delays = ["-"] if events else []
    for previous, event in itertools.pairwise(events):
        if previous.occurred_at is not None and event.occurred_at is not None:
            delta = event.occurred_at - previous.occurred_at
        else:
            delta = event.received_at - previous.received_at
        delays.append(format_delay(delta))
    return delays


def format_delay(delta: datetime.timedelta) -> str:
    """A signed, readable duration: ``+0 s``, ``+350 ms``, ``+2.5 s``, ``+1 min 05 s``,
    ``+2 h 03 min``, ``+3 d 4 h``. Negative when a report says it happened earlier."""
    total = delta.total_seconds()
    sign = "-" if total < 0 else "+"
    seconds = abs(total)
    if seconds == 0:
        text = gettext("%(seconds)d s") % {"seconds": 0}
    elif seconds < 1:
        text = gettext("%(ms)d ms") % {"ms": max(1, round(seconds * 1000))}
    elif seconds < 10:
        text = gettext("%(seconds)s s") % {"seconds": f"{seconds:.1f}".removesuffix(".0")}
    elif seconds < 60:
        text = gettext("%(seconds)d s") % {"seconds": int(seconds)}
    elif seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        text = gettext("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": rest}
    elif seconds < 86400:
        hours, rest = divmod(int(seconds), 3600)
        text = gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest // 60}
    else:
        days, rest = divmod(int(seconds), 86400)
        text = gettext("%(days)d d %(hours)d h") % {"days": days, "hours": rest // 3600}
    return sign + text


def apply_polled_status(
    backend: BaseSmsBackend, message: AbstractMessage, update: StatusUpdate
) -> bool:
    """Store a status the admin polled, as an event with source "admin"; True if it changed.

    Same rules as webhooks and the sweeper (``django_sms.events.record_polled_status``); a
    wallet hold is settled by ``django_sms.wallets``' ``status_changed`` receiver.
    """
    return record_polled_status(backend, message, update, source=EventSource.ADMIN)
