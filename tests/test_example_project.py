"""The example project: its demo page and demo-user command inside the test settings, its
sandbox configuration end to end, and ``scripts/run-demo`` itself."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

import django_sms
from django_sms.backends.handler import sms_backends
from django_sms.models import Verification, get_message_model
from django_sms.signals import pre_send
from django_sms.sweeper import sweep
from django_sms.testing import last_verification_code
from example_project import settings as example_settings
from example_project.demo import phone

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TO = "+33612345678"


@pytest.fixture(autouse=True)
def demo_project(settings):
    """Serve the example project's URLs, with its demo app installed, on the test settings
    (locmem backend, so every message lands in django_sms.outbox)."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "example_project.demo"]
    settings.ROOT_URLCONF = "example_project.urls"
    settings.DJANGO_SMS = {**settings.DJANGO_SMS,
                           "VERIFICATION": example_settings.DJANGO_SMS["VERIFICATION"]}
    phone.clear()
    # The demo app's ready() connects this receiver; with the app added by the settings
    # fixture here, connect it the same way (dispatch_uid: at most once).
    pre_send.connect(phone.receive, dispatch_uid="demo.phone.receive")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_the_page_offers_the_form_without_a_fixed_line_example_or_setting_names(client):
    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="phone"' in html and "Send code" in html
    assert 'placeholder="06 12 34 56 78"' in html
    assert "01 23" not in html and "DJANGO_SMS" not in html
    assert Verification.objects.count() == 0


def test_send_a_code_type_it_and_see_verified(client):
    response = client.post("/", {"phone": "06 12 34 56 78"})

    verification = Verification.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("demo:verification", args=[verification.pk])
    assert (verification.phone, verification.purpose) == (TO, "demo")
    code = last_verification_code(TO)
    message = get_message_model().objects.get()
    assert message.text.startswith("****** is your DemoShop code.")  # BRAND of the tests below

    page = client.get(response["Location"]).content.decode()
    assert f"Message #{message.pk}" in page
    assert escape(message.text) in page  # what was stored: masked
    assert code in page  # on the simulated phone only
    assert page.count(code) == 2  # the text and its autofill line, in the phone's card
    assert 'autocomplete="one-time-code"' in page
    for event in message.events.all():
        assert event.get_status_display() in page

    done = client.post(response["Location"], {"code": code}).content.decode()
    assert f"{TO} is verified." in done
    assert Verification.objects.get().status == "approved"


def test_five_wrong_codes_show_the_lock_out(client):
    url = client.post("/", {"phone": TO})["Location"]
    code = last_verification_code(TO)
    for left in (4, 3, 2, 1):
        page = client.post(url, {"code": wrong(code)}).content.decode()
        assert "This code is not correct or no longer valid." in page
        assert f"{left} attempt{'s' if left > 1 else ''} left." in page
    page = client.post(url, {"code": wrong(code)}).content.decode()
    assert "Locked: too many wrong codes." in page
    assert 'name="code"' not in page  # no field left to type into
    page = client.post(url, {"code": code}).content.decode()  # even the right one, posted
    assert "Locked: too many wrong codes." in page and "is verified" not in page


def test_an_invalid_or_fixed_line_number_is_refused_in_words_for_end_users(client):
    for number, said in [
        ("12", "This phone number is too short."),
        ("01 23 45 67 89", "This number cannot receive text messages: enter a mobile number."),
    ]:
        html = client.post("/", {"phone": number}).content.decode()
        assert escape(said) in html
        assert "DJANGO_SMS" not in html and "REQUIRE_MOBILE" not in html
    assert Verification.objects.count() == 0 and django_sms.outbox == []


def test_a_denied_country_and_the_cooldown_are_explained_without_settings(client, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": ["DE"]}
    html = client.post("/", {"phone": "+4915112345678"}).content.decode()
    assert "Text messages cannot be sent to this country." in html
    client.post("/", {"phone": TO})
    again = client.post("/", {"phone": TO}).content.decode()
    assert "seconds before asking for another code." in again
    assert "DJANGO_SMS" not in html + again


def test_times_use_one_format_and_the_provider_status_shows_once(client):
    url = client.post("/", {"phone": TO})["Location"]
    message = get_message_model().objects.get()
    message.events.update(provider_status="submitted", provider_status_text="submitted")
    html = client.get(url).content.decode()
    assert "submitted submitted" not in html and "(submitted)" not in html
    assert "a.m." not in html and "p.m." not in html
    assert re.search(r"<dd>\d\d:\d\d:\d\d</dd>", html)  # Created, as the events


def test_an_unknown_verification_is_not_found(client):
    assert client.get("/verifications/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_createdemouser_creates_then_resets_the_superuser():
    call_command("createdemouser", stdout=io.StringIO())
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed")
    user.is_superuser = False
    user.save()

    call_command("createdemouser", stdout=io.StringIO())

    user = get_user_model().objects.get(username="demo")
    assert user.is_staff and user.is_superuser
    assert user.check_password("demo")
    assert get_user_model().objects.filter(username="demo").count() == 1


# -- the provider selector and the self-refreshing message card ----------------------------------


def test_the_form_offers_every_configured_alias_and_sends_through_the_chosen_one(
    client, settings
):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "backup": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
    }
    page = client.get("/").content.decode()
    assert '<option value="default" selected>default (locmem)</option>' in page
    assert '<option value="backup">backup (locmem)</option>' in page

    client.post("/", {"phone": TO, "backend": "backup"})

    assert get_message_model().objects.get().backend_alias == "backup"


def test_an_unknown_alias_is_refused_by_the_form(client):
    response = client.post("/", {"phone": TO, "backend": "nope"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert get_message_model().objects.count() == 0


def test_the_message_card_refreshes_itself_until_the_status_is_final(client):
    url = client.post("/", {"phone": TO})["Location"]
    message = get_message_model().objects.get()
    refresh = 'data-refresh="2"'

    assert message.status == "delivered"  # what the locmem backend answers
    assert refresh not in client.get(url).content.decode()
    get_message_model().objects.filter(pk=message.pk).update(status="sent")
    assert refresh in client.get(url).content.decode()


# -- the demo's whole lifecycle against the provider sandbox -------------------------------------


def demo_send(base_url: str, number: str, backend: str) -> str:
    """Send a code from the demo page as a browser does; return the verification page's URL."""
    with requests.Session() as browser:
        form = browser.get(base_url + "/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text
        sent = browser.post(
            base_url + "/",
            data={"csrfmiddlewaretoken": token[1], "phone": number, "backend": backend},
            headers={"Referer": base_url + "/"},
            allow_redirects=False,
            timeout=10,
        )
    assert sent.status_code == 302, sent.text
    return base_url + sent.headers["Location"]


def shown_status(page_url: str) -> str:
    html = requests.get(page_url, timeout=10).text
    match = re.search(r'<h2>Message #\d+ <span class="status (\w+)">', html)
    assert match, html
    return match[1]


@pytest.fixture
def demo_on_sandbox(sms_sandbox, live_server, settings):
    """The example project's sandbox configuration (what run-demo selects with
    DEMO_SANDBOX_URL), served by live_server, with the sandbox reporting to its webhook."""
    from example_project.settings import OVH_WEBHOOK_SECRET, sandbox_backends

    settings.SMS_BACKENDS = sandbox_backends(sms_sandbox.url, live_server.url)
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "POLL_MIN_AGE": 0}
    webhooks = live_server.url + "/sms/webhooks"
    sms_sandbox.set_callback_url("aws", f"{webhooks}/aws/status/")
    sms_sandbox.set_callback_url("vonage", f"{webhooks}/default/status/")
    sms_sandbox.set_callback_url("ovh", f"{webhooks}/ovh/{OVH_WEBHOOK_SECRET}/status/")
    yield sms_sandbox
    sms_backends.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("alias", "provider", "reports"), [
    ("default", "vonage", 2), ("ovh", "ovh", 2), ("twilio", "twilio", 3), ("aws", "aws", 2),
])
def test_a_demo_send_ends_delivered_by_the_sandbox_reports(
    demo_on_sandbox, live_server, alias, provider, reports
):
    page = demo_send(live_server.url, "06 12 34 56 78", alias)
    assert shown_status(page) == "accepted"

    demo_on_sandbox.callbacks.flush()  # the sandbox calls the demo's webhook back

    assert [a.status_code for a in demo_on_sandbox.callbacks.attempts] == [200] * reports
    assert shown_status(page) == "delivered"
    message = get_message_model().objects.get()
    assert (message.provider, message.to) == (provider, "+33612345678")
    assert "data-refresh" not in requests.get(page, timeout=10).text  # final: no more reloads


@pytest.mark.django_db(transaction=True)
def test_a_demo_send_through_mailjet_ends_delivered_by_the_sweeper(
    demo_on_sandbox, live_server
):
    page = demo_send(live_server.url, "+33612345678", "mailjet")
    demo_on_sandbox.callbacks.flush()  # the sandbox's message reaches its final status

    sweep()  # what run-demo's `manage.py smssync --loop` does every 2 s

    assert shown_status(page) == "delivered"
    assert get_message_model().objects.get().provider == "mailjet"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_run_demo_delivers_a_message_sent_from_the_page(tmp_path):
    """scripts/run-demo itself (sandbox, sweeper and dev server in their own processes, the
    example project's real settings): a code sent from the page ends delivered, then
    stopping the script stops everything it started."""
    web, sandbox = free_port(), free_port()
    env = {
        **os.environ,
        "DEMO_PYTHON": sys.executable,  # this interpreter has the project: skip scripts/setup
        "DEMO_ADDR": f"127.0.0.1:{web}",
        "DEMO_SANDBOX_PORT": str(sandbox),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (tmp_path / "run-demo.log").open("w")
    demo = subprocess.Popen(
        ["sh", str(ROOT / "scripts" / "run-demo")], env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{web}"
    try:
        wait_until(lambda: listening(web), demo, tmp_path)
        # One number per provider: a number gets one code per 30 s (the resend cooldown).
        for backend, number in [("default", "+33612345678"), ("mailjet", "+33612345679"),
                                ("ovh", "+33612345680"), ("twilio", "+33612345681"),
                                ("aws", "+33612345682")]:
            page = demo_send(base, number, backend)
            wait_until(lambda page=page: shown_status(page) == "delivered", demo, tmp_path)
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if the trap is broken
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        log.close()
    output = (tmp_path / "run-demo.log").read_text()
    assert "callback delivered POST" in output  # the sandbox reported to Vonage's webhook
    assert "callback delivered GET" in output  # and to OVH's
    assert "Sandbox stopped." in output
    assert not listening(web) and not listening(sandbox)


def wait_until(condition: Any, demo: subprocess.Popen[bytes], tmp_path: Path) -> None:
    """Poll ``condition`` until it holds; fail with the demo's output if the script died or
    nothing happened for a minute (a safety net, not a timing assertion)."""
    deadline = time.monotonic() + 60
    while not condition():
        log = (tmp_path / "run-demo.log").read_text()
        assert demo.poll() is None, f"run-demo exited with {demo.returncode}:\n{log}"
        assert time.monotonic() < deadline, f"run-demo never got there:\n{log}"
        time.sleep(0.25)
