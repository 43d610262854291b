"""URLs of the benchmark project: the app's URLs under ``sms/`` and the two baseline views of
the webhook benchmark."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from benchmarks.bare_webhook import bare_status
from benchmarks.peer_webhook import VonageStatusView

urlpatterns: list[URLPattern | URLResolver] = [
    path("sms/", include("django_sms.urls")),
    path("peer/status/", VonageStatusView.as_view(), name="peer-status"),
    path("bare/status/", bare_status, name="bare-status"),
]
