"""The OpenAPI document of the verification endpoints (drf-spectacular, optional).

Separate from the Mailjet-compatible API's document (``django_sms.api.schema``): different
callers (a site's own front end and apps, not API-token holders), no authentication. Served
at ``<prefix>/verify/schema``; generated offline with::

    manage.py spectacular --custom-settings django_sms.verification.schema.SCHEMA_SETTINGS
"""

from __future__ import annotations

from typing import Any

from django_sms.verification.api import VerificationAPIView

SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": "Phone verification API",
    "DESCRIPTION": (
        "Send a one-time code by SMS and check it. Errors are JSON objects "
        '{"code": <stable code>, "detail": <text>}.'
    ),
    "VERSION": "1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["django_sms.verification.schema.only_verification_api"],
}


def only_verification_api(
    endpoints: list[tuple[Any, ...]], **kwargs: Any
) -> list[tuple[Any, ...]]:
    """drf-spectacular preprocessing hook: keep the verification endpoints only."""
    return [
        endpoint
        for endpoint in endpoints
        if isinstance(getattr(endpoint[3], "cls", None), type)
        and issubclass(endpoint[3].cls, VerificationAPIView)
    ]
