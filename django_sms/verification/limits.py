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

from django.core.cache import cache
from django.db import IntegrityError
from django.db.models import Count, Max, Q, QuerySet

from django_sms.exceptions import VerificationRateLimited
from django_sms.models import CountryBlock, Verification, VerificationLock, VerificationStatus
from django_sms.transactions import atomic_for
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


#: Up to this many timestamps are read in one query to evaluate all the limits of one key;
#: above it (a country's 1,000 per hour) each limit is one indexed "n-th newest" query.
FETCH_LIMIT = 100


def _retry_after(qs: QuerySet[Verification], limits: Sequence[tuple[str, int, int]],
                 now: datetime) -> tuple[str, int] | None:
    """The first ``(scope, count, seconds)`` limit ``qs`` has reached, with the seconds until
    it is under it again; None when every limit lets one more through."""
    if not limits:
        return None
    largest = max(count for _scope, count, _seconds in limits)
    if largest <= FETCH_LIMIT:
        longest = max(seconds for _scope, _count, seconds in limits)
        recent = list(
            qs.filter(created_at__gt=now - timedelta(seconds=longest))
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:largest]
        )
    for scope, count, seconds in limits:
        window_start = now - timedelta(seconds=seconds)
        # The count-th most recent start inside the window: while it exists, the limit is
        # reached, and it leaves the window ``seconds`` after it was made.
        if largest <= FETCH_LIMIT:
            nth = recent[count - 1 : count]
        else:
            nth = list(
                qs.filter(created_at__gt=window_start)
                .order_by("-created_at")
                .values_list("created_at", flat=True)[count - 1 : count]
            )
        if nth and nth[0] > window_start:
            return scope, max(1, math.ceil((nth[0] - window_start).total_seconds()))
    return None


def _pairs(scope: str, limits: Iterable[Sequence[int]] | None) -> list[tuple[str, int, int]]:
    return [(scope, int(count), int(seconds)) for count, seconds in limits or []]


def enforce(phone: str, ip: str | None, country: str, prefix: str, now: datetime) -> None:
    """Raise :class:`VerificationRateLimited` when a start would pass a limit (one query per
    key: number, prefix, IP, country)."""
    settings = verification_settings
    rows = Verification.objects.all()
    cooldown = int(settings.RESEND_COOLDOWN)
    country_limits = settings.COUNTRY_LIMITS or {}
    checks: list[tuple[QuerySet[Verification], list[tuple[str, int, int]]]] = [
        (
            rows.filter(phone=phone),
            ([("cooldown", 1, cooldown)] if cooldown else [])
            + _pairs("number", settings.NUMBER_LIMITS),
        ),
        (rows.filter(prefix=prefix), _pairs("prefix", settings.PREFIX_LIMITS)),
        (
            rows.filter(country=country),
            _pairs("country", country_limits.get(country, country_limits.get("*"))),
        ),
    ]
    if ip:
        checks.insert(2, (rows.filter(ip=ip), _pairs("ip", settings.IP_LIMITS)))
    for qs, limits in checks:
        reached = _retry_after(qs, limits, now)
        if reached:
            raise VerificationRateLimited(*reached)


def country_blocked(country: str) -> bool:
    return CountryBlock.objects.filter(country=country, lifted_at__isnull=True).exists()


def evaluate_conversion(country: str, now: datetime) -> CountryBlock | None:
    """Block ``country`` when its recent codes are mostly never approved (SMS pumping).

    Runs at most once per ``EVERY`` seconds per country. Counts the codes really sent to
    ``country`` in the guard's window (since the last lift, if later) that are older than
    ``GRACE``; does nothing below ``MIN_VERIFICATIONS``, so a quiet site's first users are
    never blocked. Returns the new block, if any.
    """
    guard = verification_settings.CONVERSION_GUARD
    if not guard["ENABLED"] or not country:
        return None
    every = int(guard["EVERY"])
    # At most one evaluation per country every EVERY seconds (cache.add is atomic in the
    # shared caches): the guard watches trends, it need not run its two queries per start.
    if every and not cache.add(f"django_sms:verification:guard:{country}", 1, every):
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
        with atomic_for(CountryBlock):
            return CountryBlock.objects.create(country=country, reason=reason)
    except IntegrityError:  # an active block exists already (unique constraint)
        return None
