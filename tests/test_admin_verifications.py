"""The verification admin's pages do a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_sms.models import CountryBlock, Verification
from django_sms.verification import check_verification, start_verification

pytestmark = pytest.mark.django_db


def verify_some(count: int, first: int) -> None:
    for i in range(first, first + count):
        number = f"+336123456{i:02d}"
        start_verification(number)
        check_verification(number, "000000")  # a wrong check: the row shows its counts


@pytest.mark.parametrize(
    "url",
    [
        "/admin/django_sms/verification/",
        "/admin/django_sms/verification/funnel/",
        "/admin/django_sms/countryblock/",
    ],
)
def test_verification_pages_queries_do_not_grow(url, admin_client, django_assert_num_queries):
    verify_some(1, 0)
    CountryBlock.objects.create(country="FR", reason="test")
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    verify_some(9, 1)
    CountryBlock.objects.filter(country="FR").update(lifted_at="2026-01-01T00:00:00Z")
    for country in ("BE", "CH", "DE"):
        CountryBlock.objects.create(country=country, reason="test")
    assert Verification.objects.count() == 10

    with django_assert_num_queries(len(few.captured_queries)):
        assert admin_client.get(url).status_code == 200
