"""URLs of the REST API, included by ``django_sms.urls``. No trailing slashes, as Mailjet.

Everything under ``v4/`` answers JSON: a URL the API does not have is a ``404`` in
Mailjet's error shape (naming the right URL when only a trailing slash is wrong), never
the site's HTML 404 page.

``mailjet-rest`` (the official Python client) puts ``REST/`` in every v4 URL its endpoint
helpers build (``client.sms_send.create()`` posts to ``v4/REST/sms/send``,
``client.sms_export.get(id=7)`` reads ``v4/REST/sms/7/export``; providers.md §1.10): the
endpoints are served at those paths too, so the client works unchanged. The aliases are left
out of the OpenAPI schema.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from django_sms.api import export_views, schema, views


def endpoints(prefix: str, name_prefix: str, **initkwargs: bool) -> list[URLPattern]:
    return [
        path(f"{prefix}sms-send", views.SendView.as_view(**initkwargs), name=f"{name_prefix}send"),
        path(
            f"{prefix}sms", views.MessageListView.as_view(**initkwargs), name=f"{name_prefix}list"
        ),
        path(
            f"{prefix}sms/export",
            export_views.ExportCreateView.as_view(**initkwargs),
            name=f"{name_prefix}export",
        ),
        path(
            f"{prefix}sms/export/<str:export_id>",
            export_views.ExportDetailView.as_view(**initkwargs),
            name=f"{name_prefix}export-detail",
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
    # An export's URL: no token, a signed key (before v4/sms/export/<export_id>).
    path(
        "v4/sms/export/<int:export_id>/download",
        export_views.ExportDownloadView.as_view(),
        name="api-sms-export-download",
    ),
    # mailjet-rest's client.sms_send.create() (before v4/REST/sms/<message_id>).
    path(
        "v4/REST/sms/send",
        views.SendView.as_view(in_schema=False),
        name="api-rest-sms-send-helper",
    ),
    # mailjet-rest's client.sms_export.get(id=...) puts the id before "export".
    path(
        "v4/REST/sms/<str:export_id>/export",
        export_views.ExportDetailView.as_view(in_schema=False),
        name="api-rest-sms-export-detail-helper",
    ),
    *endpoints("v4/REST/", "api-rest-sms-", in_schema=False),
]

if schema.HAS_SPECTACULAR:
    from django_sms.api.openapi import ApiSchemaView

    urlpatterns.append(path("v4/schema", ApiSchemaView.as_view(), name="api-schema"))

# Last: whatever else is under v4 gets a JSON 404.
urlpatterns.append(re_path(r"^v4(?:/.*)?$", views.UnknownURLView.as_view(), name="api-unknown"))
