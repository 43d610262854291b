from django.db import models

from django_sms.models import AbstractMessage


class CustomMessage(AbstractMessage):
    """A project's own message model: adds a campaign field."""

    campaign = models.CharField(max_length=50, blank=True)

    class Meta(AbstractMessage.Meta):
        app_label = "swapped"
