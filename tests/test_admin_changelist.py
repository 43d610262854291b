"""The pieces that keep the message changelist fast: counting, distinct values, search."""

from __future__ import annotations

import pytest
from django.db import connection

from django_sms.admin.changelist import (
    EstimatedCountPaginator,
    distinct_values,
    number_condition,
    prefix_condition,
)
from django_sms.models import get_message_model
from tests.test_admin_messages import make_message

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL estimates (set DATABASE_URL)"
)


class SmallLimitPaginator(EstimatedCountPaginator):
    exact_count_limit = 5


def messages_qs():
    return get_message_model().objects.order_by("-created_at", "-pk")


def test_small_lists_are_counted_exactly():
    for _ in range(3):
        make_message()
    paginator = SmallLimitPaginator(messages_qs(), 2)
    assert (paginator.count, paginator.count_is_estimate) == (3, False)
    filtered = SmallLimitPaginator(messages_qs().filter(status="delivered"), 2)
    assert (filtered.count, filtered.count_is_estimate) == (3, False)


@on_postgresql
@pytest.mark.postgres
def test_a_large_unfiltered_list_uses_the_table_estimate(django_assert_num_queries):
    get_message_model().objects.bulk_create(
        [
            get_message_model()(to="+33612345678", text="x", encoding="GSM-7", backend_alias="d")
            for _ in range(20)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {get_message_model()._meta.db_table}")
    paginator = SmallLimitPaginator(messages_qs(), 2)
    assert paginator.count == 20  # ANALYZE counted every row of this small table
    assert paginator.count_is_estimate is True


@on_postgresql
@pytest.mark.postgres
def test_a_stale_estimate_never_goes_below_what_was_counted():
    model = get_message_model()
    row = {"to": "+33612345678", "text": "x", "encoding": "GSM-7", "backend_alias": "d"}
    model.objects.bulk_create([model(**row) for _ in range(3)])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")  # the estimate is now 3
    model.objects.bulk_create([model(**row) for _ in range(20)])
    paginator = SmallLimitPaginator(messages_qs(), 2)
    assert (paginator.count, paginator.count_is_estimate) == (6, True)


@on_postgresql
@pytest.mark.postgres
def test_a_large_filtered_list_is_counted_up_to_the_limit_then_estimated(
    django_assert_num_queries,
):
    model = get_message_model()
    model.objects.bulk_create(
        [
            model(to="+33612345678", text="x", encoding="GSM-7", backend_alias="d", status="failed")
            for _ in range(12)
        ]
    )
    paginator = SmallLimitPaginator(messages_qs().filter(status="failed"), 2)
    with django_assert_num_queries(2):  # the capped count and the planner's estimate
        assert paginator.count >= 6  # more than the limit: never below what was counted
    assert paginator.count_is_estimate is True
    few = SmallLimitPaginator(messages_qs().filter(status="queued"), 2)
    with django_assert_num_queries(2):  # the same queries below the limit
        assert (few.count, few.count_is_estimate) == (0, False)


def test_distinct_values_by_skip_scan():
    for country in ["GB", "FR", "FR", "", "DE", "FR"]:
        make_message(country=country)
    assert distinct_values(messages_qs(), "country") == ["", "DE", "FR", "GB"]
    get_message_model().objects.all().delete()
    assert distinct_values(messages_qs(), "country") == []


@pytest.mark.parametrize(
    ("prefix", "low", "high"),
    [("+336", "+336", "+337"), ("+3369", "+3369", "+337"), ("+99", "+99", None)],
)
def test_prefix_condition_is_a_range(prefix, low, high):
    condition = prefix_condition("to", prefix)
    expected = {"to__gte": low, **({"to__lt": high} if high else {})}
    assert dict(condition.children) == expected


def test_number_condition_ignores_text():
    assert number_condition("smith", "to") is None
    assert dict(number_condition("+33 6 12 34 56 78", "to").children) == {"to": "+33612345678"}
