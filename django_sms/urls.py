"""URLs of the app (webhooks and the REST API); include them under any prefix::

    path("sms/", include("django_sms.urls")),

Webhook URLs (see docs/webhooks.rst): ``webhooks/<alias>/status/`` and
``webhooks/<alias>/inbound/``, and the same with a secret path segment,
``webhooks/<alias>/<secret>/status/``, for providers protected by an unguessable URL (OVH).
``django_sms.webhooks.webhook_path()`` builds them. Phone verification lives under
``verify/`` (docs/verification.rst).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from django_sms.webhooks import InboundWebhookView, StatusWebhookView

app_name = "django_sms"

urlpatterns: list[URLPattern | URLResolver] = [
    # The Mailjet-compatible REST API: v4/sms-send, v4/sms, v4/sms/<id>, v4/sms/count.
    path("", include("django_sms.api.urls")),
    # Phone verification: verify/start, verify/check (JSON), verify/ (a form), verify/schema.
    path("verify/", include("django_sms.verification.urls")),
    path("webhooks/<str:alias>/status/", StatusWebhookView.as_view(), name="webhook-status"),
    path("webhooks/<str:alias>/inbound/", InboundWebhookView.as_view(), name="webhook-inbound"),
    path(
        "webhooks/<str:alias>/<str:secret>/status/",
        StatusWebhookView.as_view(),
        name="webhook-status-secret",
    ),
    path(
        "webhooks/<str:alias>/<str:secret>/inbound/",
        InboundWebhookView.as_view(),
        name="webhook-inbound-secret",
    ),
]
