"""Per-token request throttling (``DJANGO_SMS["API_THROTTLE_RATE"]``).

DRF throttles count in Django's default cache: with a per-process cache (LocMemCache) each
worker process counts on its own, so production sites that throttle use a shared cache
(Redis, Memcached, the database cache).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from django_sms.conf import sms_settings
from django_sms.models import AbstractAPIToken


class TokenRateThrottle(SimpleRateThrottle):
    """At most ``API_THROTTLE_RATE`` requests per token ("20/second", "600/minute"...).

    ``None`` disables it. Counted per token, not per owner: an owner with several tokens
    (one per application) gets the rate for each.
    """

    scope = "django_sms_api"

    def get_rate(self) -> str | None:
        rate: str | None = sms_settings.API_THROTTLE_RATE
        return rate

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, AbstractAPIToken):
            return None
        return f"throttle_{self.scope}_{token.prefix}"
