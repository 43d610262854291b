"""A project's own models for all three swappable models (tests/settings_swapped.py).

Each adds a field of its own, so the tests can prove that the app stores, shows and keeps
what the project added.
"""

from django.db import models

from django_sms.models import AbstractAPIToken, AbstractMessage, AbstractWallet


class CustomMessage(AbstractMessage):
    """A project's own message model: adds a campaign field."""

    campaign = models.CharField(max_length=50, blank=True)

    class Meta(AbstractMessage.Meta):
        app_label = "swapped"


class CustomWallet(AbstractWallet):
    """A project's own wallet model: adds the cost center its invoices are booked to."""

    cost_center = models.CharField(max_length=30, blank=True)

    class Meta(AbstractWallet.Meta):
        app_label = "swapped"


class CustomToken(AbstractAPIToken):
    """A project's own token model: adds the environment a token is meant for."""

    class Environment(models.TextChoices):
        LIVE = "live", "Live"
        TEST = "test", "Test"

    # blank: a form that leaves it out (the app's own forms, older clients) keeps the default.
    environment = models.CharField(
        max_length=4, choices=Environment.choices, default=Environment.LIVE, blank=True
    )

    class Meta(AbstractAPIToken.Meta):
        app_label = "swapped"
