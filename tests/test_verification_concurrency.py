"""Verification limits under concurrency: threads racing on PostgreSQL (row locks)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.db import connection, connections

import django_sms
from django_sms.exceptions import VerificationRateLimited
from django_sms.models import Verification
from django_sms.testing import last_verification_code
from django_sms.verification import check_verification, start_verification

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]

TO = "+33612345678"


def race(count: int, action: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``action(i)`` in ``count`` threads released at once; results and exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcome = action(i)
            with lock:
                results.append(outcome)
        except BaseException as exc:  # collected and asserted on by the test
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_concurrent_checks_of_the_right_code_approve_exactly_once():
    start_verification(TO)
    code = last_verification_code(TO)
    results, errors = race(12, lambda i: check_verification(TO, code))
    assert errors == []
    assert Counter(r.status for r in results) == {"approved": 1, "not_found": 11}
    assert Verification.objects.get().status == "approved"


def test_concurrent_wrong_checks_are_all_counted():
    start_verification(TO)
    code = last_verification_code(TO)
    bad = "111111" if code != "111111" else "222222"
    results, errors = race(12, lambda i: check_verification(TO, bad))
    assert errors == []
    assert Counter(r.status for r in results) == {"pending": 4, "max_attempts_reached": 8}
    assert Verification.objects.get().failed_checks == 5
    assert not check_verification(TO, code)


def test_concurrent_starts_to_one_number_respect_the_limits(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "VERIFICATION": {"RESEND_COOLDOWN": 0}}
    results, errors = race(12, lambda i: start_verification(TO, ip=f"192.0.2.{i}"))
    assert len(results) == 5
    assert len(errors) == 7 and all(
        isinstance(e, VerificationRateLimited) and e.scope == "number" for e in errors
    )
    assert Verification.objects.count() == 5 and len(django_sms.outbox) == 5
    # One code pending (the last), the four others canceled by their successors.
    assert Counter(Verification.objects.values_list("status", flat=True)) == {
        "pending": 1, "canceled": 4
    }


def test_concurrent_starts_respect_the_cooldown():
    results, errors = race(8, lambda i: start_verification(TO, ip=f"192.0.2.{i}"))
    assert len(results) == 1 and len(errors) == 7
    assert {e.scope for e in errors} == {"cooldown"}  # type: ignore[attr-defined]


def test_concurrent_starts_from_one_ip_and_to_one_country(settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "VERIFICATION": {"IP_LIMITS": [[4, 600]], "COUNTRY_LIMITS": {"*": [[6, 3600]]}},
    }
    numbers = [f"+3361234{i:04d}" for i in range(10)]
    results, errors = race(10, lambda i: start_verification(numbers[i], ip="198.51.100.1"))
    assert len(results) == 4
    assert {e.scope for e in errors} == {"ip"}  # type: ignore[attr-defined]
    others = [f"+3369876{i:04d}" for i in range(10)]
    results, errors = race(10, lambda i: start_verification(others[i], ip=f"192.0.2.{i}"))
    assert len(results) == 2  # 4 + 2 = the country's 6
    assert {e.scope for e in errors} == {"country"}  # type: ignore[attr-defined]
    assert Verification.objects.count() == 6


def test_parallel_http_requests_to_the_start_endpoint_respect_the_limits(live_server, settings):
    """The same race through the DRF endpoint: parallel HTTP requests to a threaded server."""
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "VERIFICATION": {"RESEND_COOLDOWN": 0,
                         "API_THROTTLE_RATES": {"start": None, "check": None}},
    }
    url = f"{live_server.url}/sms/verify/start"

    def post(i: int) -> tuple[int, str]:
        response = requests.post(url, json={"to": TO}, timeout=30)
        return response.status_code, response.json().get("scope", "")

    results, errors = race(12, post)
    assert errors == []
    assert Counter(results) == {(202, ""): 5, (429, "number"): 7}
    assert Verification.objects.count() == 5 and len(django_sms.outbox) == 5
