"""The delivery summary shown above the message list.

One aggregate query over the last :data:`CHART_DAYS` days (a range on the ``created_at``
index) groups the messages by day and status and counts, in the same pass, those of the
last 24 hours and of the last 7 days: the rolling totals, the delivery rates and the chart
all come from it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from django_sms.admin.common import status_badge
from django_sms.status import FINAL_STATUSES, Status

#: Days shown in the chart.
CHART_DAYS = 14

#: Final statuses that count as a failure in the chart and in the delivery rate.
FAILED_STATUSES = frozenset(FINAL_STATUSES - {Status.DELIVERED, Status.CANCELED})


@dataclass
class Period:
    """Counts for one rolling period ("last 24 hours", "last 7 days")."""

    label: Any
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def delivered(self) -> int:
        return self.by_status.get(Status.DELIVERED, 0)

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.by_status.items() if status in FAILED_STATUSES)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among messages with a final outcome (canceled ones excluded), in %."""
        decided = self.delivered + self.failed
        return 100.0 * self.delivered / decided if decided else None

    def rows(self) -> list[tuple[str, SafeString, int]]:
        """(status, badge, count) for every status with messages, in the lifecycle order."""
        return [
            (status.value, status_badge(status.value), self.by_status[status.value])
            for status in Status
            if self.by_status.get(status.value)
        ]


@dataclass
class Day:
    """One day of the chart: messages sent that day, and how many of them were delivered or
    failed (so far)."""

    date: datetime.date
    sent: int = 0
    delivered: int = 0
    failed: int = 0


@dataclass
class Summary:
    periods: list[Period]
    days: list[Day]

    @property
    def chart_max(self) -> int:
        return max([1, *(max(d.sent, d.delivered, d.failed) for d in self.days)])

    def bars(self) -> list[dict[str, Any]]:
        """The chart's bars as percentages of the tallest one, for the template."""
        top = self.chart_max
        return [
            {
                "date": day.date,
                "sent": day.sent,
                "delivered": day.delivered,
                "failed": day.failed,
                "sent_pct": round(100 * day.sent / top, 1),
                "delivered_pct": round(100 * day.delivered / top, 1),
                "failed_pct": round(100 * day.failed / top, 1),
            }
            for day in self.days
        ]


def delivery_summary(queryset: QuerySet[Any], now: datetime.datetime | None = None) -> Summary:
    """Counts by status for the last 24 hours and 7 days, and per day for the chart."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now, tz).date()
    first_day = today - datetime.timedelta(days=CHART_DAYS - 1)
    start = datetime.datetime.combine(first_day, datetime.time.min, tzinfo=tz)
    since_7d = now - datetime.timedelta(days=7)
    since_24h = now - datetime.timedelta(hours=24)
    rows = (
        queryset.order_by()
        .filter(created_at__gte=min(start, since_7d))
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "status")
        .annotate(
            total=Count("pk"),
            last_7d=Count("pk", filter=Q(created_at__gte=since_7d)),
            last_24h=Count("pk", filter=Q(created_at__gte=since_24h)),
        )
    )
    day_week = Period(_("Last 24 hours")), Period(_("Last 7 days"))
    dates = [first_day + datetime.timedelta(days=i) for i in range(CHART_DAYS)]
    days = {date: Day(date) for date in dates}
    for row in rows:
        status = row["status"]
        for period, key in zip(day_week, ("last_24h", "last_7d"), strict=True):
            if row[key]:
                period.by_status[status] = period.by_status.get(status, 0) + row[key]
        bucket = days.get(row["day"])
        if bucket is None:
            continue
        bucket.sent += row["total"]
        if status == Status.DELIVERED:
            bucket.delivered += row["total"]
        elif status in FAILED_STATUSES:
            bucket.failed += row["total"]
    return Summary(periods=list(day_week), days=list(days.values()))
