"""A server-rendered verification page: a number form, then a code form, then "verified".

``PhoneVerificationView`` keeps the number being verified in the session. Subclass it to
set ``purpose``, ``template_name`` or ``success_url``, and override :meth:`verified` to record
the result (mark a user's number as verified...). Out of the box it stores
``{"phone", "purpose", "at"}`` in ``request.session[VERIFIED_SESSION_KEY]``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from django_sms.models import Verification
from django_sms.verification.forms import CheckVerificationForm, StartVerificationForm

PENDING_SESSION_KEY = "django_sms_verification"
VERIFIED_SESSION_KEY = "django_sms_verified_phone"


class PhoneVerificationView(View):
    purpose = "default"
    template_name = "django_sms/verification/form.html"
    #: Where to go once verified; None renders the template with ``verified`` set.
    success_url: str | None = None

    def get(self, request: HttpRequest) -> HttpResponse:
        pending = request.session.get(PENDING_SESSION_KEY)
        if request.GET.get("restart") is not None:
            request.session.pop(PENDING_SESSION_KEY, None)
            pending = None
        if pending and pending.get("purpose") == self.purpose:
            form = CheckVerificationForm(to=pending["phone"], purpose=self.purpose)
            return self.render(request, check_form=form, phone=pending["phone"])
        return self.render(request, start_form=StartVerificationForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action", "start")
        pending = request.session.get(PENDING_SESSION_KEY)
        if action in ("check", "resend") and pending and pending.get("purpose") == self.purpose:
            return self.post_code(request, pending["phone"], resend=action == "resend")
        form = StartVerificationForm(request.POST)
        if form.is_valid() and form.send(request, self.purpose) is not None:
            phone = form.cleaned_data["phone"]
            request.session[PENDING_SESSION_KEY] = {"phone": phone, "purpose": self.purpose}
            return self.render(
                request, check_form=CheckVerificationForm(to=phone, purpose=self.purpose),
                phone=phone, sent=True,
            )
        return self.render(request, start_form=form)

    def post_code(self, request: HttpRequest, phone: str, *, resend: bool) -> HttpResponse:
        if resend:
            again = StartVerificationForm({"phone": phone})
            sent = again.is_valid() and again.send(request, self.purpose) is not None
            form = CheckVerificationForm(to=phone, purpose=self.purpose)
            for error in again.non_field_errors():
                form.add_error(None, error)
            return self.render(request, check_form=form, phone=phone, sent=sent)
        form = CheckVerificationForm(request.POST, to=phone, purpose=self.purpose,
                                     request=request)
        if form.is_valid():
            assert form.result is not None and form.result.verification is not None
            request.session.pop(PENDING_SESSION_KEY, None)
            return self.verified(request, form.result.verification)
        # No count of attempts left: it would tell who types a code whether one is pending.
        locked = form.result is not None and form.result.status == "max_attempts_reached"
        return self.render(request, check_form=form, phone=phone, locked=locked)

    def verified(self, request: HttpRequest, verification: Verification) -> HttpResponse:
        """The code was right: remember it in the session, then redirect or show it."""
        request.session[VERIFIED_SESSION_KEY] = {
            "phone": verification.phone,
            "purpose": verification.purpose,
            "at": timezone.now().isoformat(),
        }
        if self.success_url:
            return HttpResponseRedirect(self.success_url)
        return self.render(request, verified=verification)

    def render(self, request: HttpRequest, **context: Any) -> HttpResponse:
        return render(request, self.template_name, self.get_context_data(**context))

    def get_context_data(self, **context: Any) -> dict[str, Any]:
        context.setdefault("purpose", self.purpose)
        return context
