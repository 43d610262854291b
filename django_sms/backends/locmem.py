"""Keeps sent messages in ``django_sms.outbox``, like Django's locmem email backend."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import django_sms
from django_sms.backends.base import LocalBackend

if TYPE_CHECKING:
    from django_sms.message import SMS


class SmsBackend(LocalBackend):
    provider_name = "locmem"

    def deliver_locally(self, sms: SMS) -> None:
        django_sms.outbox.append(copy.deepcopy(sms))
