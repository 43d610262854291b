"""Names of the swappable models, read from settings with their defaults.

Like django-oauth-toolkit: the settings are not namespaced (Django's swappable mechanism reads
``Meta.swappable`` from top-level settings) and a project that swaps nothing needs none of
them, because the shipped migrations call these functions instead of ``settings.X``.
"""

from __future__ import annotations

from django.conf import settings

MESSAGE_SETTING = "DJANGO_SMS_MESSAGE_MODEL"
WALLET_SETTING = "DJANGO_SMS_WALLET_MODEL"
TOKEN_SETTING = "DJANGO_SMS_TOKEN_MODEL"


def message_model_label() -> str:
    return getattr(settings, MESSAGE_SETTING, "django_sms.Message")


def wallet_model_label() -> str:
    return getattr(settings, WALLET_SETTING, "django_sms.Wallet")


def token_model_label() -> str:
    return getattr(settings, TOKEN_SETTING, "django_sms.APIToken")
