"""API tokens: create one (its secret is shown once), list, revoke.

Only a hash of the secret is stored (``django_sms.tokens.create_token``). After the add
form, the secret is kept in the operator's session just long enough to redirect to a page
that shows it and removes it from the session: reloading that page, or the form post, can
neither show it again nor create a second token.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from django_sms.admin.changelist import SafeChangeListMixin
from django_sms.admin.common import CHANGE_FORM_TOO, admin_change_url, admin_url, own_fields
from django_sms.admin.owners import OwnerFormMixin, owner_label
from django_sms.models import AbstractAPIToken
from django_sms.tokens import create_token, revoke

#: Session key holding a new token's secret until the page that shows it is opened.
SECRET_SESSION_KEY = "django_sms_token_secret:{pk}"


class TokenForm(OwnerFormMixin):
    class Meta:
        fields = ("owner_type", "owner_id", "name", "expires_at")


class APITokenAdmin(SafeChangeListMixin, admin.ModelAdmin):
    """API tokens. Registered for ``django_sms.APIToken``; a project that swaps the token
    model registers ``APITokenAdmin`` for its own model."""

    form = TokenForm
    list_display = (
        "prefix",
        "name",
        "owner_display",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "is_usable",
    )
    list_display_links = ("prefix", "name")
    list_filter = ("revoked_at", "expires_at", "created_at")
    search_fields = ("=prefix", "name", "=owner_id")
    list_select_related = ("owner_type",)
    actions = ["revoke_tokens"]
    secret_template = "admin/django_sms/token_secret.html"

    class Media:
        css = {"all": ["django_sms/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("owner")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A swapped-in model's own fields are editable on both forms.
        own = own_fields(self.model, AbstractAPIToken)
        if obj is None:
            return ("owner_type", "owner_id", "name", "expires_at", *own)
        return (
            "prefix",
            "name",
            "owner_display",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "revoked_at",
            *own,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # The name and the expiry can be changed; nothing that identifies the token can.
        return ("prefix", "owner_display", "created_at", "created_by", "last_used_at", "revoked_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: messages keep pointing at the token that sent them

    @admin.display(description=_("owner"))
    def owner_display(self, obj: AbstractAPIToken) -> str:
        return owner_label(obj)

    @admin.display(description=_("usable"), boolean=True)
    def is_usable(self, obj: AbstractAPIToken) -> bool:
        return obj.is_usable

    # -- creation: the secret is shown once -------------------------------------------------
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, secret = create_token(
            form.cleaned_data["owner"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            created_by=request.user,
        )
        own = own_fields(self.model, AbstractAPIToken)
        if own:
            for name in own:  # as the form set them on ``obj`` (defaults kept when left out)
                setattr(token, name, getattr(obj, name))
            token.save(update_fields=own)
        # The admin goes on with ``obj`` (log entry, redirect): make it the stored token.
        obj.pk = token.pk
        obj._state.adding = False
        obj.refresh_from_db()
        request.session[SECRET_SESSION_KEY.format(pk=token.pk)] = secret

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(admin_url(obj, "secret", (obj.pk,), self.admin_site))

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "<path:object_id>/secret/",
                self.admin_site.admin_view(self.secret_view),
                name=f"{opts.app_label}_{opts.model_name}_secret",
            ),
            *super().get_urls(),
        ]

    def secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show a new token's secret, once: it leaves the session as it is displayed."""
        token = self.get_object(request, object_id)
        if token is None:
            raise Http404(_("This API token does not exist."))
        if not self.has_view_or_change_permission(request, token):
            raise PermissionDenied
        secret = request.session.pop(SECRET_SESSION_KEY.format(pk=token.pk), None)
        context = {
            **self.admin_site.each_context(request),
            "title": _("API token %(prefix)s") % {"prefix": token.prefix},
            "opts": self.opts,
            "original": token,
            "owner": owner_label(token),
            "secret": secret,
            "change_url": admin_change_url(token, self.admin_site),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        # admin_view() marks the response never_cache ("no-store"): no copy of the secret is
        # kept by a cache or the browser.
        return TemplateResponse(request, self.secret_template, context)

    # -- revoke ----------------------------------------------------------------------------------
    @admin.action(
        description=_("Revoke selected tokens"), permissions=["change"], **CHANGE_FORM_TOO
    )
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke(token)
            self.log_change(request, token, gettext("Revoked."))
            count += 1
        if count:
            self.message_user(
                request,
                ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("The selected tokens were already revoked."), messages.INFO
            )
