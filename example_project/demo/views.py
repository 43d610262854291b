"""The demo: verify a phone number with ``django_sms.verification``.

``/`` asks for a number and sends a code; ``/verifications/<id>/`` asks for the code, says
"verified" when it is right (five wrong codes lock it), and shows what the site stored: the
message (its text has the code masked) and its status timeline, plus the texts the demo's
simulated phone received (see ``phone.py``).
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse

from django_sms.models import AbstractMessage, Verification
from django_sms.verification.forms import CheckVerificationForm
from example_project.demo import phone
from example_project.demo.forms import DemoStartForm

PURPOSE = "demo"


def start(request: HttpRequest) -> HttpResponse:
    form = DemoStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verification = form.send(request, PURPOSE, using=form.cleaned_data["backend"] or None)
        if verification is not None:
            return redirect("demo:verification", pk=verification.pk)
    return render(request, "demo/start.html", {"form": form})


def verification(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The code form, the verification's state and the stored message.

    While the message's status is not final, the page fetches itself every 2 seconds and
    replaces the message's card only (delivery reports arrive after the send), so a code
    being typed is never lost.
    """
    verification = get_object_or_404(Verification, pk=pk, purpose=PURPOSE)
    form = CheckVerificationForm(
        request.POST or None, to=verification.phone, purpose=PURPOSE, request=request
    )
    verified = verification.status == "approved"
    if request.method == "POST" and form.is_valid():
        verified = True
    verification.refresh_from_db()
    message = verification.message
    context = {
        "verification": verification,
        "form": form,
        "verified": verified,
        "locked": verification.status == "max_attempts_reached",
        "attempts_left": form.result.attempts_left if form.result is not None else None,
        "message": message,
        "admin_url": admin_url(message),
        "received": phone.texts_of(verification.phone),
    }
    return render(request, "demo/verification.html", context)


def admin_url(message: AbstractMessage | None) -> str | None:
    """The message's change page in the admin, whichever model ``DJANGO_SMS_MESSAGE_MODEL``
    names; None when that model is not registered in the admin."""
    if message is None:
        return None
    opts = message._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[message.pk])
    except NoReverseMatch:
        return None
