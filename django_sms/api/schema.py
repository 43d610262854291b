"""OpenAPI support through drf-spectacular, which is optional (``pip install
django-transactional-sms[api]``).

The views describe themselves with the helpers below. With drf-spectacular installed they
attach its annotations, :mod:`django_sms.api.openapi` registers the bearer-token extension
and serves ``<prefix>/v4/schema``; without it the helpers leave the views untouched and no
schema URL exists.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

Decorator = Callable[[Any], Any]

HAS_SPECTACULAR = importlib.util.find_spec("drf_spectacular") is not None

#: drf-spectacular settings of the API's schema (the schema view uses them, and so does
#: ``manage.py spectacular --custom-settings django_sms.api.schema.SCHEMA_SETTINGS``).
SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": "SMS API",
    "DESCRIPTION": (
        "Send SMS and read their status. Wire-compatible with Mailjet's SMS API v4: an "
        "existing Mailjet client works once its base URL points here."
    ),
    "VERSION": "v4",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["django_sms.api.openapi.only_sms_api"],
}


def _unchanged(obj: Any) -> Any:
    return obj


def extend_operation(**kwargs: Any) -> Decorator:
    """``extend_schema`` for a view method, based on drf-spectacular's ``AutoSchema`` whatever
    the project's ``DEFAULT_SCHEMA_CLASS`` is (``extend_schema`` alone would extend DRF's
    default schema class, which drf-spectacular cannot use)."""
    if not HAS_SPECTACULAR:
        return _unchanged
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.utils import extend_schema

    def decorate(method: Any) -> Any:
        method.kwargs = {"schema": AutoSchema}
        return extend_schema(**kwargs)(method)

    return decorate


def schema_field(schema: dict[str, Any]) -> Decorator:
    """Give a serializer field a raw OpenAPI schema."""
    if not HAS_SPECTACULAR:
        return _unchanged
    from drf_spectacular.utils import extend_schema_field

    return extend_schema_field(schema)


def parameter(name: str, schema: Any, location: str = "query", **kwargs: Any) -> Any:
    """An ``OpenApiParameter`` (None without drf-spectacular)."""
    if not HAS_SPECTACULAR:
        return None
    from drf_spectacular.utils import OpenApiParameter

    return OpenApiParameter(name, schema, location, **kwargs)  # type: ignore[arg-type]


def auto_schema() -> Any:
    """A drf-spectacular ``AutoSchema`` for a view class (None without drf-spectacular)."""
    if not HAS_SPECTACULAR:
        return None
    from drf_spectacular.openapi import AutoSchema

    return AutoSchema()
