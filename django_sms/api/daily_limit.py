"""``API_DAILY_LIMIT``: SMS parts an owner may send through the API per day, exactly.

A send reserves its parts on the owner's counter for today (:class:`APIDailyUsage`) with one
conditional UPDATE (``parts + needed <= limit``) before the message exists, and gives them
back if the send is refused or the message is released without reaching a carrier. The
database runs that UPDATE one request at a time per row (PostgreSQL re-checks the condition
once the row lock is granted; SQLite serialises writes), so concurrent requests can never
pass the limit together, and the counter is the same on every database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone

from django_sms.models import AbstractAPIToken, APIDailyUsage

__all__ = ["DailyLimitReached", "Reservation", "reserve"]


class DailyLimitReached(Exception):
    def __init__(self, used: int, limit: int, needed: int) -> None:
        self.used, self.limit, self.needed = used, limit, needed
        super().__init__(
            f"{used} of {limit} SMS parts were sent today; this message needs {needed}."
        )


@dataclass
class Reservation:
    """Parts counted for one send; :meth:`release` gives them back (once)."""

    owner_type_id: int
    owner_id: str
    day: date
    parts: int

    def release(self) -> None:
        if not self.parts:
            return
        APIDailyUsage._default_manager.filter(
            owner_type_id=self.owner_type_id,
            owner_id=self.owner_id,
            day=self.day,
            parts__gte=self.parts,
        ).update(parts=F("parts") - self.parts)
        self.parts = 0


def reserve(token: AbstractAPIToken, needed: int, limit: int) -> Reservation:
    """Count ``needed`` parts against the limit of ``token``'s owner for today (in the site's
    time zone), or raise :class:`DailyLimitReached` and count nothing."""
    day = timezone.localdate()
    manager = APIDailyUsage._default_manager
    with transaction.atomic(using=router.db_for_write(APIDailyUsage)):
        # get_or_create settles two first requests of the day racing to create the row.
        row, created = manager.get_or_create(
            owner_type_id=token.owner_type_id, owner_id=token.owner_id, day=day
        )
        if created:
            # The owner's first send of the day: its earlier counters are of no more use
            # (the messages are the history), so the table keeps about a row per owner.
            manager.filter(
                owner_type_id=token.owner_type_id, owner_id=token.owner_id, day__lt=day
            ).delete()
        counted = manager.filter(pk=row.pk, parts__lte=limit - needed).update(
            parts=F("parts") + needed
        )
    if not counted:
        used = manager.filter(pk=row.pk).values_list("parts", flat=True).first() or 0
        raise DailyLimitReached(used, limit, needed)
    return Reservation(token.owner_type_id, token.owner_id, day, needed)
