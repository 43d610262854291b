"""URLs of the benchmark project: the app's URLs under ``sms/`` and the bare baseline view."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from django_sms.benchmarks.views import bare_status

urlpatterns: list[URLPattern | URLResolver] = [
    path("sms/", include("django_sms.urls")),
    path("bare/status/", bare_status, name="bare-status"),
]
