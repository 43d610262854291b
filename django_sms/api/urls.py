"""URLs of the REST API, included by ``django_sms.urls``. No trailing slashes, as Mailjet."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from django_sms.api import schema, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("v4/sms-send", views.SendView.as_view(), name="api-sms-send"),
    path("v4/sms", views.MessageListView.as_view(), name="api-sms-list"),
    path("v4/sms/count", views.MessageCountView.as_view(), name="api-sms-count"),
    path("v4/sms/<str:message_id>", views.MessageDetailView.as_view(), name="api-sms-detail"),
]

if schema.HAS_SPECTACULAR:
    from django_sms.api.openapi import ApiSchemaView

    urlpatterns.append(path("v4/schema", ApiSchemaView.as_view(), name="api-schema"))
