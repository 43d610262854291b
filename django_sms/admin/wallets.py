"""Wallets: balance and state, the ledger, deposits and "verify now".

The balance is never a form field: it only changes through ``django_sms.wallets``
(``deposit``, ``verify``...), which writes a ledger entry under a row lock for every change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.timesince import timeuntil
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from django_sms.admin.changelist import SafeChangeListMixin
from django_sms.admin.common import (
    CHANGE_FORM_TOO,
    admin_change_url,
    admin_link,
    admin_url,
    link,
    own_fields,
)
from django_sms.admin.owners import OwnerFormMixin, owner_label
from django_sms.conf import sms_settings
from django_sms.exceptions import WalletError
from django_sms.models import AbstractWallet, LedgerEntry
from django_sms.wallets import deposit, get_or_create_wallet, verify

#: Ledger entries shown on a wallet's page; the ledger list shows them all.
RECENT_LEDGER_ENTRIES = 50


class WalletForm(OwnerFormMixin):
    class Meta:
        fields = ("owner_type", "owner_id", "currency")


class DepositForm(forms.Form):
    reason = forms.CharField(
        label=capfirst(_("reason")),
        max_length=255,
        required=False,
        help_text=_("Kept in the ledger, e.g. the bank transfer or invoice reference."),
    )

    def __init__(self, *args: Any, wallet: AbstractWallet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wallet = wallet
        minimum = Decimal(str(sms_settings.MIN_DEPOSIT))
        # Built here: the minimum comes from settings, read at request time.
        self.fields["amount"] = forms.DecimalField(
            label=capfirst(_("amount")),
            min_value=minimum,
            max_digits=14,
            decimal_places=4,
            help_text=_("In %(currency)s, at least %(minimum)s.")
            % {"currency": wallet.currency, "minimum": minimum},
        )
        self.order_fields(["amount", "reason"])


class LedgerEntryInline(admin.TabularInline):
    """The latest ledger entries of a wallet, read-only."""

    model = LedgerEntry
    fk_name = "wallet"
    fields = ("created_at", "kind", "amount", "balance_after", "message", "created_by", "reason")
    readonly_fields = fields
    ordering = ("-created_at", "-pk")
    extra = 0
    can_delete = False
    verbose_name_plural = _("latest ledger entries")
    classes = ["sms-ledger-inline"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("message", "created_by")


class WalletAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """Prepaid wallets. Registered for ``django_sms.Wallet``; a project that swaps the wallet
    model registers ``WalletAdmin`` for its own model."""

    form = WalletForm
    list_display = ("owner_display", "currency", "balance", "state_display", "created_at")
    list_filter = ("currency",)
    search_fields = ("=owner_id",)
    list_select_related = ("owner_type",)
    readonly_fields = (
        "owner_display",
        "balance",
        "state_display",
        "created_at",
        "first_deposit_at",
        "activates_at",
        "verified_at",
    )
    inlines = [LedgerEntryInline]
    actions = ["verify_now"]
    change_form_template = "admin/django_sms/wallet_change_form.html"
    deposit_template = "admin/django_sms/wallet_deposit.html"

    class Media:
        css = {"all": ["django_sms/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("owner")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A swapped-in model's own fields are the only ones an operator edits.
        own = own_fields(self.model, AbstractWallet)
        if obj is None:
            return ("owner_type", "owner_id", "currency", *own)
        return (
            "owner_display",
            "currency",
            "balance",
            "state_display",
            "created_at",
            "first_deposit_at",
            "activates_at",
            "verified_at",
            *own,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return (*self.readonly_fields, "currency")

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []  # a new wallet has no ledger

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a wallet's ledger is an accounting record

    def has_deposit_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    @admin.display(description=_("owner"))
    def owner_display(self, obj: AbstractWallet) -> str:
        return owner_label(obj)

    @admin.display(description=_("state"))
    def state_display(self, obj: AbstractWallet) -> str:
        return wallet_state(obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Only a swapped-in model's own fields are saved from a form: the balance and the
        # activation change through django_sms.wallets, under the wallet's row lock.
        own = own_fields(self.model, AbstractWallet)
        if change:
            if own:
                obj.save(update_fields=own)
            return
        wallet = get_or_create_wallet(form.cleaned_data["owner"], form.cleaned_data["currency"])
        if own:
            for name in own:  # as the form set them on ``obj`` (defaults kept when left out)
                setattr(wallet, name, getattr(obj, name))
            wallet.save(update_fields=own)
        obj.pk = wallet.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> Any:
        """Only the latest entries inline: a busy wallet has two per message sent."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LedgerEntryInline) and obj is not None and obj.pk is not None:
            cutoff = list(
                LedgerEntry.objects.filter(wallet=obj)
                .order_by("-pk")
                .values_list("pk", flat=True)[RECENT_LEDGER_ENTRIES - 1 : RECENT_LEDGER_ENTRIES]
            )
            if cutoff:
                kwargs["queryset"] = kwargs["queryset"].filter(pk__gte=cutoff[0])
        return kwargs

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            # Every field is read-only (except a swapped-in model's own): nothing to save.
            "show_save": bool(own_fields(self.model, AbstractWallet)),
            "show_save_and_continue": bool(own_fields(self.model, AbstractWallet)),
            "show_save_and_add_another": False,
            "ledger_changelist_url": admin_url(LedgerEntry, "changelist", site=self.admin_site),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # -- deposit -------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "<path:object_id>/deposit/",
                self.admin_site.admin_view(self.deposit_view),
                name=f"{opts.app_label}_{opts.model_name}_deposit",
            ),
            *super().get_urls(),
        ]

    def deposit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A form that credits the wallet through ``django_sms.wallets.deposit``."""
        wallet = self.get_object(request, object_id)
        if wallet is None:
            raise Http404(_("This wallet does not exist."))
        if not self.has_deposit_permission(request, wallet):
            raise PermissionDenied
        form = DepositForm(request.POST or None, wallet=wallet)
        if request.method == "POST" and form.is_valid():
            try:
                entry = deposit(
                    wallet,
                    form.cleaned_data["amount"],
                    currency=wallet.currency,
                    created_by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except WalletError as exc:  # InvalidDeposit, InvalidAmount
                form.add_error("amount", str(exc))
            else:
                amount = f"{entry.amount} {wallet.currency}"
                self.log_change(
                    request, wallet, gettext("Deposit of %(amount)s.") % {"amount": amount}
                )
                self.message_user(
                    request,
                    _("Deposited %(amount)s. The balance is now %(balance)s %(currency)s.")
                    % {
                        "amount": amount,
                        "balance": entry.balance_after,
                        "currency": wallet.currency,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(admin_change_url(wallet, self.admin_site))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Deposit into %(wallet)s") % {"wallet": owner_label(wallet)},
            "opts": self.opts,
            "original": wallet,
            "form": form,
            "state": wallet_state(wallet),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.deposit_template, context)

    # -- verify --------------------------------------------------------------------------------
    @admin.action(
        description=_("Verify now (activate at once)"), permissions=["change"], **CHANGE_FORM_TOO
    )
    def verify_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        for wallet in queryset.filter(verified_at__isnull=True):
            verify(wallet, by=request.user)
            self.log_change(request, wallet, gettext("Verified."))
            count += 1
        if count:
            self.message_user(
                request,
                ngettext("%(count)d wallet verified.", "%(count)d wallets verified.", count)
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("The selected wallets were already verified."), messages.INFO
            )


class LedgerEntryAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """Every ledger entry, read-only; ``?wallet__exact=<id>`` lists one wallet's ledger."""

    list_display = (
        "created_at",
        "wallet_link",
        "kind",
        "amount",
        "balance_after",
        "message_link",
        "created_by",
        "reason",
    )
    list_filter = ("kind", "created_at")
    list_select_related = ("wallet__owner_type", "created_by")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("wallet__owner")

    @admin.display(description=_("wallet"))
    def wallet_link(self, obj: LedgerEntry) -> Any:
        wallet = obj.wallet
        return admin_link(wallet, f"{owner_label(wallet)} ({wallet.currency})", self.admin_site)

    @admin.display(description=_("message"))
    def message_link(self, obj: LedgerEntry) -> Any:
        if obj.message_id is None:
            return "-"
        # The id is enough to link: no need to load the message row.
        model = LedgerEntry._meta.get_field("message").related_model
        url = admin_url(model, "change", (obj.message_id,), self.admin_site)
        return link(url, _("Message #%(pk)s") % {"pk": obj.message_id})


def wallet_state(wallet: AbstractWallet) -> str:
    """ "Active", "Pending until <date>" or "Pending: no deposit yet"."""
    if wallet.verified_at is not None:
        return _("Active (verified on %(date)s)") % {
            "date": date_format(timezone.localtime(wallet.verified_at), "DATETIME_FORMAT")
        }
    if wallet.activates_at is not None:
        when = date_format(timezone.localtime(wallet.activates_at), "DATETIME_FORMAT")
        if wallet.is_active:
            return _("Active (since %(date)s)") % {"date": when}
        return _("Pending: activates on %(date)s") % {"date": when}
    return _("Pending: activates %(delay)s after the first deposit") % {
        "delay": _delay_text(sms_settings.WALLET_ACTIVATION_DELAY)
    }


def _delay_text(delay: Any) -> str:
    now = timezone.now()
    return timeuntil(now + delay, now)
