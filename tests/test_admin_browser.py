"""The admin in a real headless browser (Playwright driving Debian's Chromium).

An operator logs in, filters the message list, opens a message and reads its timeline,
resends it through the confirmation page, creates an API token and sees its secret once,
and makes a deposit. The screenshots taken on the way illustrate docs/admin.rst.

Run with ``pytest -m browser tests/test_admin_browser.py`` (needs ``apt-get install
chromium``; no browser is downloaded).
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from django_sms import send_sms
from django_sms.models import StatusEvent, get_message_model
from django_sms.status import Status

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The docs' screenshots are refreshed only on request (UPDATE_SCREENSHOTS=1), so an ordinary
# run never dirties the checkout; otherwise they go to a scratch directory.
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "_static" / "admin"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "django-sms-admin-screenshots"
)

pytest.importorskip("playwright", reason="playwright is not installed")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
    pytest.mark.skipif(
        getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", "django_sms.Message") != "django_sms.Message",
        reason="drives the default message admin",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium instead of a downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}, "locale": "en"}


@pytest.fixture(scope="session", autouse=True)
def _orm_from_playwright_tests() -> Iterator[None]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # test and by pytest-django's database fixtures would otherwise raise
    # SynchronousOnlyOperation. Session-scoped, so it is set before the browser starts.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("operator", "ops@example.com", "s3cret-pw")


def shot(page: Any, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def log_in(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "s3cret-pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    # Fold the navigation sidebar (the admin remembers it in localStorage): wider pages.
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")


def history() -> Any:
    """Two weeks of messages, for the summary and the chart, and one failed message."""
    model = get_message_model()
    now = timezone.now()
    rows = []
    for day in range(14):
        for i in range(3 + day % 4):
            status = "failed" if (day + i) % 7 == 0 else "delivered" if i else "sent"
            rows.append(
                model(
                    to=f"+336{day:02d}{i:02d}1234",
                    country="FR",
                    sender="MyShop",
                    text=f"Your order {day}{i} has shipped.",
                    encoding="GSM-7",
                    backend_alias="default",
                    provider="locmem",
                    status=status,
                    created_at=now - datetime.timedelta(days=day, hours=i + 1),
                )
            )
    model.objects.bulk_create(rows)
    send_sms("Bienvenue ! Votre code est 482913. Il expire dans 10 minutes.", to="+447400123456")
    failed = model.objects.create(
        to="+33612345678",
        country="FR",
        sender="MyShop",
        text="Your verification code is 736204",
        encoding="GSM-7",
        backend_alias="default",
        provider="locmem",
        provider_message_id="locmem-7f3a",
        status="failed",
        error_code="unreachable",
        error_message="The handset was unreachable.",
        created_at=now - datetime.timedelta(minutes=5),
    )
    for status, source, code, text, minutes in [
        ("queued", "send", "", "", 5),
        ("sending", "send", "", "", 5),
        ("sent", "send", "ACCEPTD", "Accepted by the carrier", 4),
        ("failed", "webhook", "UNDELIV", "Handset unreachable", 2),
    ]:
        StatusEvent.objects.create(
            message=failed,
            status=status,
            source=source,
            provider="locmem",
            provider_status=code,
            provider_status_text=text,
            occurred_at=now - datetime.timedelta(minutes=minutes, seconds=10),
            received_at=now - datetime.timedelta(minutes=minutes),
        )
    return failed


def test_operator_reads_history_and_resends(page: Any, live_server: Any, operator: Any) -> None:
    failed = history()
    log_in(page, live_server)

    page.goto(f"{live_server.url}/admin/django_sms/message/")
    page.wait_for_selector(".sms-summary")
    assert page.locator(".sms-chart-day").count() == 14
    shot(page, "changelist")

    # Filter: failed messages only.
    page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
    page.wait_for_url("**status__exact=failed**")
    badges = page.locator("#result_list .sms-badge").all_inner_texts()
    assert badges and set(badges) == {"Failed"}
    shot(page, "changelist-filtered")

    # Open the failed message: its timeline.
    page.get_by_role("link", name="+33612345678").click()
    page.wait_for_selector(".sms-timeline")
    timeline = page.locator(".sms-timeline tbody tr")
    assert timeline.count() == 4
    assert "Handset unreachable" in timeline.nth(3).inner_text()
    assert "Webhook" in timeline.nth(3).inner_text()
    shot(page, "message-detail", full_page=True)

    # Resend it from the list, through the confirmation page.
    page.goto(f"{live_server.url}/admin/django_sms/message/?status__exact=failed")
    page.check(f"input.action-select[value='{failed.pk}']")
    page.select_option("select[name=action]", "resend")
    page.click("button[name=index]")
    page.wait_for_selector(".sms-resend-list")
    assert "+33612345678" in page.inner_text(".sms-resend-list")
    assert "free" in page.inner_text(".sms-resend-list")
    shot(page, "resend-confirmation")
    page.click("input[value='Yes, resend']")
    page.wait_for_selector(".messagelist")
    new = get_message_model().objects.get(resent_from=failed)
    assert f"resent as message #{new.pk} (Delivered)" in page.inner_text(".messagelist")
    shot(page, "resend-done")

    page.goto(f"{live_server.url}/admin/django_sms/message/{failed.pk}/change/")
    assert f"Message #{new.pk}" in page.inner_text(".sms-resends")


@pytest.mark.skipif(
    importlib.util.find_spec("django_sms.wallets") is None
    or importlib.util.find_spec("django_sms.tokens") is None,
    reason="django_sms.wallets / django_sms.tokens are not merged yet",
)
def test_operator_creates_a_token_and_makes_a_deposit(
    page: Any, live_server: Any, operator: Any, django_user_model: Any
) -> None:
    from django_sms.models import APIToken, LedgerEntry
    from django_sms.wallets import get_or_create_wallet

    customer = django_user_model.objects.create_user("acme")
    user_type = ContentType.objects.get_for_model(customer)
    log_in(page, live_server)

    # A token: the secret is shown once.
    page.goto(f"{live_server.url}/admin/django_sms/apitoken/add/")
    page.select_option("#id_owner_type", str(user_type.pk))
    page.fill("#id_owner_id", str(customer.pk))
    page.fill("#id_name", "ACME production")
    page.click("input[name=_save]")
    page.wait_for_selector("#sms-token-secret")
    secret = page.inner_text("#sms-token-secret").strip()
    token = APIToken.objects.get(name="ACME production")
    assert secret.startswith(token.prefix)
    assert "only time this secret is shown" in page.inner_text("#content")
    shot(page, "token-secret")
    page.reload()
    assert page.locator("#sms-token-secret").count() == 0
    assert "cannot be shown again" in page.inner_text("#content")

    # A deposit into the customer's wallet.
    wallet = get_or_create_wallet(customer, "EUR")
    page.goto(f"{live_server.url}/admin/django_sms/wallet/{wallet.pk}/change/")
    page.click("a.sms-deposit-link")
    page.fill("#id_amount", "50")
    page.fill("#id_reason", "Bank transfer 2026-118")
    shot(page, "wallet-deposit")
    page.click("input[type=submit][value=Deposit]")
    page.wait_for_selector(".messagelist")
    assert "The balance is now 50" in page.inner_text(".messagelist")
    assert "Bank transfer 2026-118" in page.inner_text("#content")
    shot(page, "wallet", full_page=True)
    assert LedgerEntry.objects.get(wallet=wallet).created_by == operator


def fits(page: Any) -> tuple[int, int]:
    """(document width, window width): the page overflows when the first is larger."""
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


#: Window widths the message list is measured at: the two of the report, and a sweep between.
LIST_WIDTHS = [1280, *range(1250, 390, -40), 390]


def assert_list_fits(page: Any, url: str) -> None:
    """The list with its 14-day chart is never wider than the window, and every day shows."""
    page.goto(url)
    page.wait_for_selector(".sms-chart")
    for width in LIST_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        document_width, window_width = fits(page)
        assert document_width <= window_width, f"the list is {document_width}px wide at {width}px"
        last_day = page.locator(".sms-chart-day").last.bounding_box()
        assert last_day is not None and last_day["x"] + last_day["width"] <= window_width
        if width in (1280, 390):
            shot(page, f"changelist-{width}")


def test_message_list_fits_the_window_at_any_width(
    page: Any, live_server: Any, operator: Any
) -> None:
    history()
    log_in(page, live_server)
    # The navigation sidebar as a new operator has it: open on wide windows.
    page.evaluate("localStorage.removeItem('django.admin.navSidebarIsOpen')")
    url = f"{live_server.url}/admin/django_sms/message/"
    assert_list_fits(page, url)

    # A message in every status today: the widest the summary's periods get.
    model = get_message_model()
    model.objects.bulk_create(
        model(
            to="+33612345678",
            country="FR",
            text="x",
            encoding="GSM-7",
            backend_alias="default",
            provider="locmem",
            status=status,
        )
        for status in Status.values
    )
    assert_list_fits(page, url)


@pytest.mark.parametrize("width", [1280, 390])
def test_long_unbroken_text_wraps_in_the_message_page(
    page: Any, live_server: Any, operator: Any, width: int
) -> None:
    long_text = "a" * 765
    long_url = "https://example.com/track/" + "x7Gq2" * 60 + "?ref=" + "9" * 80
    texts = {text: send_sms(text, to="+33612345678") for text in (long_text, long_url)}
    log_in(page, live_server)
    page.evaluate("localStorage.removeItem('django.admin.navSidebarIsOpen')")
    page.set_viewport_size({"width": width, "height": 900})
    for text, message in texts.items():
        page.goto(f"{live_server.url}/admin/django_sms/message/{message.pk}/change/")
        field = page.locator(".field-text .readonly")
        field.wait_for()
        document_width, window_width = fits(page)
        assert document_width <= window_width, f"{text[:20]}...: {document_width}px at {width}px"
        scroll, client = field.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert scroll <= client, f"the Text field is clipped: {scroll}px in {client}px"
        box = field.bounding_box()
        assert box is not None and box["x"] + box["width"] <= window_width
        assert field.inner_text().replace("\n", "") == text
        shot(page, f"message-long-text-{width}")


def test_timeline_shows_seconds_and_delays(page: Any, live_server: Any, operator: Any) -> None:
    failed = history()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/django_sms/message/{failed.pk}/change/")
    rows = page.locator(".sms-timeline tbody tr")
    assert rows.count() == 4
    events = list(failed.events.order_by("received_at", "pk"))
    for index, event in enumerate(events):
        row = rows.nth(index).inner_text()
        received = timezone.localtime(event.received_at).strftime("%H:%M:%S")
        assert received in row, row
    # Reported at -5:10, -5:10, -4:10 and -2:10 minutes.
    delays = page.locator(".sms-timeline tbody .sms-delay").all_inner_texts()
    assert [d.strip() for d in delays] == ["-", "+0 s", "+1 min 00 s", "+2 min 00 s"]
    shot(page, "message-timeline", full_page=True)


def test_resend_from_the_message_page_reports_the_refusal(
    page: Any, live_server: Any, operator: Any, settings: Any
) -> None:
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "refusing": {
            "BACKEND": "django_sms.backends.locmem.SmsBackend",
            "OPTIONS": {"status": "failed"},
        },
    }
    original = get_message_model().objects.create(
        to="+33612345678",
        country="FR",
        sender="MyShop",
        text="Your code is 1234",
        encoding="GSM-7",
        backend_alias="refusing",
        provider="locmem",
        status="failed",
    )
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/django_sms/message/{original.pk}/change/")
    page.select_option("select[name='CHANGE_FORM-action']", "resend")
    page.click("button[name=index]")
    page.wait_for_selector(".sms-resend-list")
    page.click("input[value='Yes, resend']")
    page.wait_for_selector(".messagelist")
    new = get_message_model().objects.get(resent_from=original)
    assert new.status == "failed"
    notice = page.locator(".messagelist li").filter(has_text=f"message #{new.pk}")
    assert f"resent as message #{new.pk} (Failed)" in notice.inner_text()
    assert "warning" in (notice.get_attribute("class") or "")
    shot(page, "resend-refused")
