"""Sending limits and the conversion guard, exact when requests race.

Every start locks one row per limited key (its number, client IP, country and number
prefix) with ``select_for_update`` in key order, then counts the verifications stored in each
window and inserts its own before the transaction commits: two starts sharing a key run one
after the other, so a limit of 5 lets exactly 5 through. The lock rows are created beforehand
(``bulk_create(ignore_conflicts=True)``, outside the locking transaction) so that the locks
are only ever taken in one global order and two starts cannot deadlock.

Blocked starts (opted-out numbers, blocked countries) are stored and counted like the others:
a number's limits behave the same whether or not anything was sent to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet

from django_sms.exceptions import VerificationRateLimited
from django_sms.models import CountryBlock, Verification, VerificationLock, VerificationStatus
from django_sms.verification.conf import verification_settings


def number_prefix(phone: str) -> str:
    """The number without its last ``PREFIX_DIGITS`` digits: pumping uses ranges of numbers."""
    digits = int(verification_settings.PREFIX_DIGITS)
    return phone[:-digits] if digits else phone


def lock_keys(phone: str, ip: str | None, country: str, prefix: str) -> list[str]:
    keys = [f"number:{phone}", f"country:{country or '?'}", f"prefix:{prefix}"]
    if ip:
        keys.append(f"ip:{ip}")
    return sorted(keys)


def ensure_lock_rows(keys: Sequence[str]) -> None:
    VerificationLock.objects.bulk_create(
        [VerificationLock(key=key) for key in keys], ignore_conflicts=True
    )


def lock(keys: Sequence[str]) -> None:
    """Lock the rows of ``keys`` until the current transaction ends (in key order)."""
    list(VerificationLock.objects.select_for_update().filter(key__in=keys).order_by("key"))


def _retry_after(qs: QuerySet[Verification], limits: Iterable[Sequence[int]],
                 now: datetime) -> int | None:
    """Seconds until ``qs`` is under every ``[count, seconds]`` limit; None if it is already."""
    wait = 0.0
    for count, seconds in limits:
        window_start = now - timedelta(seconds=seconds)
        # The count-th most recent start inside the window: while it exists, the limit is
        # reached, and it leaves the window ``seconds`` after it was made.
        nth = (
            qs.filter(created_at__gt=window_start)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[count - 1 : count]
        )
        for created_at in nth:
            wait = max(wait, (created_at - window_start).total_seconds())
    return math.ceil(wait) if wait else None


def enforce(phone: str, ip: str | None, country: str, prefix: str, now: datetime) -> None:
    """Raise :class:`VerificationRateLimited` when a start would pass a limit."""
    settings = verification_settings
    rows = Verification.objects.all()
    number = rows.filter(phone=phone)
    cooldown = int(settings.RESEND_COOLDOWN)
    checks: list[tuple[str, QuerySet[Verification], Iterable[Sequence[int]]]] = [
        ("cooldown", number, [[1, cooldown]] if cooldown else []),
        ("number", number, settings.NUMBER_LIMITS or []),
        ("prefix", rows.filter(prefix=prefix), settings.PREFIX_LIMITS or []),
    ]
    if ip:
        checks.append(("ip", rows.filter(ip=ip), settings.IP_LIMITS or []))
    country_limits = settings.COUNTRY_LIMITS or {}
    checks.append(
        ("country", rows.filter(country=country),
         country_limits.get(country, country_limits.get("*", [])))
    )
    for scope, qs, limits in checks:
        wait = _retry_after(qs, limits, now)
        if wait:
            raise VerificationRateLimited(scope, wait)


def country_blocked(country: str) -> bool:
    return CountryBlock.objects.filter(country=country, lifted_at__isnull=True).exists()


def evaluate_conversion(country: str, now: datetime) -> CountryBlock | None:
    """Block ``country`` when its recent codes are mostly never approved (SMS pumping).

    Counts the codes really sent to ``country`` in the guard's window (since the last lift,
    if later) that are older than ``GRACE``; does nothing below ``MIN_VERIFICATIONS``, so a
    quiet site's first users are never blocked. Returns the new block, if any.
    """
    guard = verification_settings.CONVERSION_GUARD
    if not guard["ENABLED"] or not country:
        return None
    since = now - timedelta(seconds=guard["WINDOW"])
    last_lift = CountryBlock.objects.filter(country=country).aggregate(last=Max("lifted_at"))
    if last_lift["last"] and last_lift["last"] > since:
        since = last_lift["last"]
    stats = Verification.objects.filter(
        country=country,
        block_reason="",
        created_at__gte=since,
        created_at__lte=now - timedelta(seconds=guard["GRACE"]),
    ).aggregate(
        total=Count("pk"), approved=Count("pk", filter=Q(status=VerificationStatus.APPROVED))
    )
    total, approved = stats["total"], stats["approved"]
    if total < guard["MIN_VERIFICATIONS"]:
        return None
    unconverted = (total - approved) / total
    if unconverted <= guard["MAX_UNCONVERTED"]:
        return None
    reason = (
        f"{total - approved} of the {total} codes sent since {since:%Y-%m-%d %H:%M:%S} UTC "
        f"were never approved ({unconverted:.0%} > {guard['MAX_UNCONVERTED']:.0%})."
    )
    try:
        with transaction.atomic():
            return CountryBlock.objects.create(country=country, reason=reason)
    except IntegrityError:  # an active block exists already (unique constraint)
        return None
