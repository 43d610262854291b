"""Timestamps as the API reads them: Unix seconds or RFC 3339 date-times, in a range that
date arithmetic and the database can always handle."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django_sms.api import errors
from django_sms.api.errors import MailjetError

_UNIX = re.compile(r"-?[0-9]{1,12}")
#: The timestamps the API accepts: from the Unix epoch to the last second Python's datetime
#: holds in UTC. Outside, date arithmetic (the default 3-month window, the conversion to
#: UTC) would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def rfc3339(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def parse_timestamp(value: str | int, name: str) -> datetime:
    """Unix seconds (an int, or digits) or an RFC 3339 date-time (naive ones are read as
    UTC), in UTC, between :data:`EARLIEST` and :data:`LATEST`; else ``400 mj-0009``."""
    text = str(value).strip()
    try:
        if _UNIX.fullmatch(text):
            parsed = datetime.fromtimestamp(int(text), tz=UTC)
        else:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise MailjetError(
            400,
            errors.INVALID_DATETIME,
            f"{name} is not a valid RFC3339 datetime nor a Unix timestamp: {text[:50]!r}. "
            f"It must be between {rfc3339(EARLIEST)} and {rfc3339(LATEST)}.",
            [name],
        ) from None
    if not EARLIEST <= parsed <= LATEST:
        raise MailjetError(
            400,
            errors.INVALID_DATETIME,
            f"{name} is out of range: {text[:50]!r} is not between "
            f"{rfc3339(EARLIEST)} (0) and {rfc3339(LATEST)} ({int(LATEST.timestamp())}).",
            [name],
        )
    return parsed
