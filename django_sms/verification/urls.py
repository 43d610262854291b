"""URLs of phone verification, included by ``django_sms.urls`` under ``verify/``:
``verify/start``, ``verify/check`` (JSON, for front ends and apps), ``verify/`` (the
server-rendered form) and, with drf-spectacular, ``verify/schema``."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path

import django_sms.verification.api as api
import django_sms.verification.views as views
from django_sms.api.schema import HAS_SPECTACULAR

urlpatterns: list[URLPattern | URLResolver] = [
    path("start", api.StartVerificationView.as_view(), name="verification-start"),
    path("check", api.CheckVerificationView.as_view(), name="verification-check"),
    path("", views.PhoneVerificationView.as_view(), name="verification-form"),
]

if HAS_SPECTACULAR:
    from drf_spectacular.views import SpectacularJSONAPIView

    from django_sms.verification.schema import SCHEMA_SETTINGS

    class VerificationSchemaView(SpectacularJSONAPIView):
        """The OpenAPI document of the verification endpoints, as JSON."""

        authentication_classes: list[Any] = []
        custom_settings = SCHEMA_SETTINGS

    urlpatterns.append(
        path("schema", VerificationSchemaView.as_view(), name="verification-schema")
    )
