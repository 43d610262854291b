"""The lenient value readers every provider module shares (django_sms.backends.values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from django_sms.backends.base import WebhookRequest
from django_sms.backends.values import (
    as_datetime,
    as_decimal,
    as_int,
    as_text,
    from_epoch,
    json_object,
)
from django_sms.exceptions import WebhookPayloadError


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("a", "a"), (3, "3"), (["x", "y"], "y"), ([], ""), (Decimal("1.5"), "1.5")],
)
def test_as_text(value, expected):
    assert as_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), ("3", 3), (" 42 ", 42), (3.0, 3), (2.5, None), (float("nan"), None),
     (True, None), (None, None), ("", None), ("x", None), (["7"], 7), ("1e3", None)],
)
def test_as_int(value, expected):
    assert as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.0333", Decimal("0.0333")), (0.0012, Decimal("0.0012")), (2, Decimal(2)),
     (Decimal("1.10"), Decimal("1.10")), (" 1 ", Decimal(1)), ("NaN", None), ("Infinity", None),
     (Decimal("sNaN"), None), ("", None), (None, None), (False, None), ("abc", None)],
)
def test_as_decimal(value, expected):
    assert as_decimal(value) == expected


def test_from_epoch():
    moment = datetime(2018, 3, 21, 10, 0, tzinfo=UTC)
    assert from_epoch(1521626400) == from_epoch("1521626400") == moment
    assert from_epoch(1521626400.0) == moment
    for junk in ("", "12a", "9" * 13, 10**20, True, None, [1]):
        assert from_epoch(junk) is None


def test_as_datetime():
    assert as_datetime("2020-01-01T14:00:03.010Z") == datetime(2020, 1, 1, 14, 0, 3, 10000,
                                                                tzinfo=UTC)
    paris = timezone(timedelta(hours=1))
    assert as_datetime("2020-01-01 14:00:03", paris).utcoffset() == timedelta(hours=1)
    assert as_datetime("2020-01-01T14:00:03+02:00").utcoffset() == timedelta(hours=2)
    assert as_datetime("1521626400") == from_epoch(1521626400)
    for junk in ("", "yesterday", None, True, {}):
        assert as_datetime(junk) is None


def test_json_object():
    assert json_object(WebhookRequest("POST", {}, b'{"a": 1}')) == {"a": 1}
    assert json_object(WebhookRequest("POST", {}, b"ignored", data={"b": 2})) == {"b": 2}
    for body, reason in ((b"[1]", "expected a JSON object"), (b"{", "not valid JSON"),
                         (b"\xff", "not valid JSON")):
        with pytest.raises(WebhookPayloadError, match=reason):
            json_object(WebhookRequest("POST", {}, body))
