"""URLs of the REST API, included by ``django_sms.urls``. No trailing slashes, as Mailjet.

Everything under ``v4/`` answers JSON: a URL the API does not have is a ``404`` in
Mailjet's error shape (naming the right URL when only a trailing slash is wrong), never
the site's HTML 404 page.

``mailjet-rest`` (the official Python client) puts ``REST/`` in every v4 URL its endpoint
helpers build (``client.sms_send.create()`` posts to ``v4/REST/sms/send``; providers.md
§1.10): the endpoints are served at those paths too, so the client works unchanged. The
aliases are left out of the OpenAPI schema.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from django_sms.api import schema, views


def endpoints(prefix: str, name_prefix: str, **initkwargs: bool) -> list[URLPattern]:
    return [
        path(f"{prefix}sms-send", views.SendView.as_view(**initkwargs), name=f"{name_prefix}send"),
        path(
            f"{prefix}sms", views.MessageListView.as_view(**initkwargs), name=f"{name_prefix}list"
        ),
        path(
            f"{prefix}sms/count",
            views.MessageCountView.as_view(**initkwargs),
            name=f"{name_prefix}count",
        ),
        path(
            f"{prefix}sms/<str:message_id>",
            views.MessageDetailView.as_view(**initkwargs),
            name=f"{name_prefix}detail",
        ),
    ]


urlpatterns: list[URLPattern | URLResolver] = [
    *endpoints("v4/", "api-sms-"),
    # mailjet-rest's client.sms_send.create() (before v4/REST/sms/<message_id>).
    path(
        "v4/REST/sms/send",
        views.SendView.as_view(in_schema=False),
        name="api-rest-sms-send-helper",
    ),
    *endpoints("v4/REST/", "api-rest-sms-", in_schema=False),
]

if schema.HAS_SPECTACULAR:
    from django_sms.api.openapi import ApiSchemaView

    urlpatterns.append(path("v4/schema", ApiSchemaView.as_view(), name="api-schema"))

# Last: whatever else is under v4 gets a JSON 404.
urlpatterns.append(re_path(r"^v4(?:/.*)?$", views.UnknownURLView.as_view(), name="api-unknown"))
