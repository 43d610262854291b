"""The demo page in a real headless browser: a visitor verifies a number, the message card
refreshes itself without losing the code being typed, five wrong codes lock the code.

Run with ``pytest -m browser tests/test_demo_browser.py`` (Debian's Chromium, see
tests/test_admin_browser.py).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_sms.models import get_message_model
from django_sms.signals import pre_send
from example_project import settings as example_settings
from example_project.demo import phone

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(tempfile.gettempdir()) / "django-sms-demo-screenshots"

pytest.importorskip("playwright", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--no-first-run"]}


@pytest.fixture(scope="session", autouse=True)
def _orm_from_playwright_tests() -> Iterator[None]:
    # Playwright's sync API runs an event loop in this thread (see test_admin_browser.py).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def demo(settings: Any) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "example_project.demo"]
    settings.ROOT_URLCONF = "example_project.urls"
    settings.DJANGO_SMS = {**settings.DJANGO_SMS,
                           "VERIFICATION": example_settings.DJANGO_SMS["VERIFICATION"]}
    phone.clear()
    pre_send.connect(phone.receive, dispatch_uid="demo.phone.receive")


def send_code(page: Any, base: str, number: str) -> str:
    page.goto(base + "/")
    page.fill("input[name=phone]", number)
    page.click("text=Send code")
    page.wait_for_selector("#phone pre")
    found = re.search(r"#(\d{6})", page.inner_text("#phone pre"))
    assert found
    return found.group(1)


def test_a_visitor_verifies_a_number(page: Any, live_server: Any) -> None:
    code = send_code(page, live_server.url, "06 12 34 56 78")
    # A delivery report still to come: the card refreshes itself, the typed digits stay.
    get_message_model().objects.update(status="sent")
    page.reload()
    assert page.get_attribute("#message", "data-refresh") == "2"
    page.fill("input[name=code]", code[:3])
    get_message_model().objects.update(status="delivered")
    page.wait_for_selector("#message h2 .status.delivered", timeout=10_000)
    assert page.get_attribute("#message", "data-refresh") is None
    assert page.input_value("input[name=code]") == code[:3]

    page.fill("input[name=code]", code)
    page.click("text=Verify")
    page.wait_for_selector(".verified")
    assert "+33612345678 is verified." in page.inner_text(".verified")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "verified.png"), full_page=True)


def test_five_wrong_codes_show_the_lock_out(page: Any, live_server: Any) -> None:
    code = send_code(page, live_server.url, "+33698765432")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        page.fill("input[name=code]", wrong)
        page.click("text=Verify")
        page.wait_for_selector(f"text={left} attempt")
    page.fill("input[name=code]", wrong)
    page.click("text=Verify")
    page.wait_for_selector(".locked")
    assert "Locked: too many wrong codes." in page.inner_text(".locked")
    assert page.locator("input[name=code]").count() == 0  # nothing left to type into
    page.screenshot(path=str(SCREENSHOTS / "locked.png"), full_page=True)
