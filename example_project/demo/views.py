"""The demo page: send a verification code by SMS, then look at the stored message."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse

from django_sms import send_sms
from django_sms.exceptions import SMSError
from django_sms.models import AbstractMessage, get_message_model
from example_project.demo.forms import SendCodeForm


def send_code(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """``/``: the form; ``/messages/<pk>/``: the form and what became of message ``pk``.

    A successful POST redirects to the message's page, so reloading it shows the latest
    status (delivery reports arrive after the send) without sending a second code; the page
    reloads itself every 2 seconds until the status is final.
    """
    message = None
    if pk is not None:
        message = get_object_or_404(get_message_model(), pk=pk)

    if request.method == "POST":
        form = SendCodeForm(request.POST)
        if form.is_valid():
            code = f"{secrets.randbelow(1_000_000):06d}"
            try:
                sent = send_sms(
                    f"Your DemoShop code is {code}",
                    to=str(form.cleaned_data["phone"]),
                    using=form.cleaned_data["backend"] or None,
                )
            except SMSError as exc:
                # Refused before anything was sent (invalid number, opted out, too long...):
                # the exception says exactly why.
                form.add_error(None, str(exc))
            else:
                return redirect("demo:message", pk=sent.pk)
    else:
        form = SendCodeForm()

    context = {"form": form, "message": message, "admin_url": admin_url(message)}
    return render(request, "demo/send_code.html", context)


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
