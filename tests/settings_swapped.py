"""The suite again with the message model swapped for tests.swapped.CustomMessage."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.swapped"]
DJANGO_SMS_MESSAGE_MODEL = "swapped.CustomMessage"
