"""Making values that come from outside (provider callbacks) safe to store.

A callback is attacker-reachable input until it is verified, and provider-shaped data after:
either way a string may carry a NUL character or a lone surrogate (PostgreSQL refuses both),
be longer than its column (PostgreSQL refuses that too, SQLite silently keeps it), and a
payload may hold values ``json`` cannot encode (``Decimal``, ``datetime``) or be nested deeper
than the encoder can follow. Storing such a value must never turn a callback into a 500, so
everything a webhook stores goes through these two functions first.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone


def storable_text(value: Any, max_length: int | None = None) -> str:
    """``value`` as a string any database accepts: no NUL, valid UTF-8, at most ``max_length``.

    ``None`` becomes ``""``; other non-strings are converted with ``str()``.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from "\ud800" in a JSON body
        text = text.encode("utf-8", "replace").decode("utf-8")
    if max_length is not None and len(text) > max_length:
        text = text[:max_length]
    return text


def storable_datetime(value: Any) -> datetime | None:
    """``value`` if it is a datetime every database can store, else None.

    A naive datetime is read as UTC (providers report UTC) when ``USE_TZ`` is on; a year
    outside 1900-9000 is refused, since converting it to UTC could overflow.
    """
    if not isinstance(value, datetime) or not 1900 <= value.year <= 9000:
        return None
    if settings.USE_TZ and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


def storable_int(value: Any, minimum: int = 0, maximum: int = 32767) -> int | None:
    """``value`` as an int within ``[minimum, maximum]``, or None if it is not a number."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(minimum, min(number, maximum))


def storable_json(value: Any) -> Any:
    """``value`` converted to plain JSON types with every string made storable.

    Decimals, dates and UUIDs become strings (``DjangoJSONEncoder``), NaN and infinities too,
    anything else the encoder does not know becomes its ``repr()``, and a payload that cannot
    be encoded at all (nested too deeply, circular) is replaced by a short note instead of
    failing the request.
    """
    try:
        encoded = json.dumps(value, cls=_LenientEncoder)
    except (RecursionError, ValueError):  # ValueError: circular reference
        return {"unstorable_payload": "nested too deeply or circular"}
    except TypeError:  # e.g. a tuple used as a dict key
        return {"unstorable_payload": storable_text(repr(value), 1000)}
    try:
        return _clean(json.loads(encoded))
    except RecursionError:
        return {"unstorable_payload": "nested too deeply"}


class _LenientEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            if isinstance(o, bytes):
                return o.decode("utf-8", "replace")
            if isinstance(o, (set, frozenset, tuple)):
                return list(o)
            return repr(o)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): _clean(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and Infinity are not JSON: PostgreSQL's jsonb refuses them
    return value
