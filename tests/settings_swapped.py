"""The suite again with all three pluggable models swapped: messages, wallets and API tokens
(tests/swapped/models.py; each adds a field of its own)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.swapped"]
DJANGO_SMS_MESSAGE_MODEL = "swapped.CustomMessage"
DJANGO_SMS_WALLET_MODEL = "swapped.CustomWallet"
DJANGO_SMS_TOKEN_MODEL = "swapped.CustomToken"
