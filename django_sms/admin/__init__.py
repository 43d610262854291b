"""The Django admin of django_sms.

The app's own models are registered on ``admin.site`` when Django's admin autodiscovery
imports this package. Message, Wallet and APIToken are swappable: Django ignores the
registration of a swapped-out model, so a project that swaps one registers the matching
admin class for its own model::

    from django.contrib import admin
    from django_sms.admin import MessageAdmin

    admin.site.register(CustomMessage, MessageAdmin)
"""

from __future__ import annotations

from django.contrib import admin

from django_sms.admin.inbound import InboundMessageAdmin, OptOutAdmin
from django_sms.admin.messages import MessageAdmin
from django_sms.admin.tokens import APITokenAdmin
from django_sms.admin.verifications import CountryBlockAdmin, VerificationAdmin
from django_sms.admin.wallets import LedgerEntryAdmin, WalletAdmin
from django_sms.models import (
    APIToken,
    CountryBlock,
    InboundMessage,
    LedgerEntry,
    Message,
    OptOut,
    Verification,
    Wallet,
)

__all__ = [
    "APITokenAdmin",
    "CountryBlockAdmin",
    "InboundMessageAdmin",
    "LedgerEntryAdmin",
    "MessageAdmin",
    "OptOutAdmin",
    "VerificationAdmin",
    "WalletAdmin",
]

# Registering the concrete defaults is a no-op for any of them that is swapped out.
admin.site.register(Message, MessageAdmin)
admin.site.register(Wallet, WalletAdmin)
admin.site.register(APIToken, APITokenAdmin)
admin.site.register(LedgerEntry, LedgerEntryAdmin)
admin.site.register(InboundMessage, InboundMessageAdmin)
admin.site.register(OptOut, OptOutAdmin)
admin.site.register(Verification, VerificationAdmin)
admin.site.register(CountryBlock, CountryBlockAdmin)
