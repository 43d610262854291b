"""pytest plugin (registered as a ``pytest11`` entry point): empties ``django_sms.outbox``
before every test, like Django's test runner does for ``mail.outbox``, and offers the
``sms_outbox`` fixture and the ``sms_sandbox`` fixture (a running provider sandbox).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _django_sms_empty_outbox() -> Iterator[None]:
    import django_sms

    django_sms.outbox.clear()
    yield


@pytest.fixture
def sms_outbox() -> list[Any]:
    """The messages the locmem backend "sent" during this test (a list of ``SMS``)."""
    import django_sms

    return django_sms.outbox


@pytest.fixture
def verification_code() -> Any:
    """``verification_code(number)``: the code of the last SMS sent to ``number`` (from the
    outbox), for tests of sign-up and login flows that use ``django_sms.verification``."""
    from django_sms.testing.verification import last_verification_code

    return last_verification_code


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sms_sandbox(**kwargs): keyword arguments for the sms_sandbox fixture's Sandbox(...)",
    )


@pytest.fixture
def sms_sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A running provider sandbox (``django_sms.testing.sandbox.Sandbox``) for this test.

    Configure it with a marker: ``@pytest.mark.sms_sandbox(latency_ms=50, seed=1)``. It is
    stopped after the test, even when the test fails.
    """
    from django_sms.testing.sandbox import Sandbox

    marker = request.node.get_closest_marker("sms_sandbox")
    sandbox = Sandbox(**(marker.kwargs if marker else {}))
    with sandbox:
        yield sandbox
