"""Models. Message, Wallet and APIToken are swappable: load them with the getters below."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.apps import apps

from django_sms.models.api import APIDailyUsage, SMSExport
from django_sms.models.inbound import InboundMessage, OptOut
from django_sms.models.messages import (
    AbstractMessage,
    ChargeStatus,
    EventSource,
    Message,
    StatusEvent,
)
from django_sms.models.swappable import (
    message_model_label,
    token_model_label,
    wallet_model_label,
)
from django_sms.models.tokens import AbstractAPIToken, APIToken
from django_sms.models.verifications import (
    BlockReason,
    CountryBlock,
    Verification,
    VerificationLock,
    VerificationStatus,
)
from django_sms.models.wallets import AbstractWallet, Currency, LedgerEntry, Wallet

__all__ = [
    "APIDailyUsage",
    "APIToken",
    "AbstractAPIToken",
    "AbstractMessage",
    "AbstractWallet",
    "BlockReason",
    "ChargeStatus",
    "CountryBlock",
    "Currency",
    "EventSource",
    "InboundMessage",
    "LedgerEntry",
    "Message",
    "OptOut",
    "SMSExport",
    "StatusEvent",
    "Verification",
    "VerificationLock",
    "VerificationStatus",
    "Wallet",
    "get_message_model",
    "get_token_model",
    "get_wallet_model",
]

if TYPE_CHECKING:
    pass


def get_message_model() -> type[AbstractMessage]:
    """The active message model (``DJANGO_SMS_MESSAGE_MODEL``, default ``Message``)."""
    return cast("type[AbstractMessage]", apps.get_model(message_model_label(), require_ready=False))


def get_wallet_model() -> type[AbstractWallet]:
    return cast("type[AbstractWallet]", apps.get_model(wallet_model_label(), require_ready=False))


def get_token_model() -> type[AbstractAPIToken]:
    return cast("type[AbstractAPIToken]", apps.get_model(token_model_label(), require_ready=False))
