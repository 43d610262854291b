"""The drf-spectacular parts of the API: imported only when drf-spectacular is installed
(from ``AppConfig.ready()``, so that the authentication extension is registered before any
schema is generated, and from ``django_sms.api.urls`` for the schema view)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularJSONAPIView

from django_sms.api.schema import SCHEMA_SETTINGS
from django_sms.api.views import MailjetAPIView


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes :class:`~django_sms.api.authentication.BearerTokenAuthentication`."""

    target_class = "django_sms.api.authentication.BearerTokenAuthentication"
    name = "smsApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "smsk_<8 hex>_<43 characters>",
            "description": "An API token (create_token() or manage.py smstoken).",
        }


class ApiSchemaView(SpectacularJSONAPIView):
    """The OpenAPI document of the SMS API (and of nothing else in the project), as JSON;
    public, like Mailjet's documentation."""

    authentication_classes: list[Any] = []
    custom_settings = SCHEMA_SETTINGS


def only_sms_api(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """drf-spectacular preprocessing hook: keep the SMS API's endpoints only."""
    return [
        endpoint
        for endpoint in endpoints
        if isinstance(getattr(endpoint[3], "cls", None), type)
        and issubclass(endpoint[3].cls, MailjetAPIView)
        and getattr(endpoint[3], "initkwargs", {}).get("in_schema", True)
    ]
