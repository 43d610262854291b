"""Lenient readers of the values providers put in their answers and callbacks, written once.

Provider payloads are loosely typed: Vonage sends numbers as strings (``"count_total": "3"``),
OVH's callbacks arrive as query strings (a repeated field is a list), Mailjet's ids are
numbers or strings. A provider module reads every scalar through these functions, which
never raise on odd input: junk becomes ``""`` or None, so the module decides whether a missing
value is an error (``WebhookPayloadError``) or just absent.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django_sms.exceptions import WebhookPayloadError

if TYPE_CHECKING:
    from django_sms.backends.base import WebhookRequest


def as_text(value: Any) -> str:
    """``value`` as a string: None is ``""``; of a list (a repeated form field) the last item.

    >>> as_text(None), as_text(3), as_text(["a", "b"])
    ('', '3', 'b')
    """
    if value is None:
        return ""
    if isinstance(value, list):
        return as_text(value[-1]) if value else ""
    return str(value)


def as_int(value: Any) -> int | None:
    """A whole number from an int, an integral float or a numeric string; else None.

    Booleans are not numbers here (``True`` is not a segment count).

    >>> as_int("3"), as_int(" 42 "), as_int(3.0), as_int(2.5), as_int(True), as_int("x")
    (3, 42, 3, None, None, None)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    try:
        return int(as_text(value).strip())
    except ValueError:
        return None


def as_decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a number or a numeric string (a price, credits); else None.

    Read through ``str()`` so ``0.0012`` does not carry the binary float's noise; NaN and
    infinities are not amounts.

    >>> as_decimal("0.0333"), as_decimal(0.0012), as_decimal("NaN"), as_decimal("")
    (Decimal('0.0333'), Decimal('0.0012'), None, None)
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(as_text(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def from_epoch(value: Any) -> datetime | None:
    """An aware UTC datetime from Unix seconds (a number or digits); None when out of range.

    >>> from_epoch("1521626400")
    datetime.datetime(2018, 3, 21, 10, 0, tzinfo=datetime.timezone.utc)
    """
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 12:
            return None
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def as_datetime(value: Any, default_tz: tzinfo = UTC) -> datetime | None:
    """An aware datetime from ISO 8601 (``2020-01-01T14:00:03.010Z``, with or without an
    offset: ``default_tz`` when without) or Unix seconds; None when absent or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return from_epoch(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=default_tz)


def json_object(request: WebhookRequest) -> dict[str, Any]:
    """The callback's JSON object: what the view parsed, else the raw body.

    Raises :class:`WebhookPayloadError` (HTTP 400) when it is not a JSON object.
    """
    if isinstance(request.data, dict):
        return request.data
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WebhookPayloadError(f"the body is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise WebhookPayloadError(f"expected a JSON object, got {type(data).__name__}")
    return data
