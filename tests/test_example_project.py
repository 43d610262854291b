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
from django_sms.models import get_message_model
from django_sms.sweeper import sweep

pytestmark = pytest.mark.django_db

CODE_TEXT = re.compile(r"Your DemoShop code is (\d{6})")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def demo_project(settings):
    """Serve the example project's URLs, with its demo app installed, on the test settings
    (locmem backend, so every message lands in django_sms.outbox)."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "example_project.demo"]
    settings.ROOT_URLCONF = "example_project.urls"


def test_the_page_offers_the_form(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b'name="phone"' in response.content
    assert b"Send code" in response.content
    assert get_message_model().objects.count() == 0


def test_posting_a_number_sends_a_code_and_shows_the_stored_message(client):
    response = client.post("/", {"phone": "06 12 34 56 78"})

    message = get_message_model().objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("demo:message", args=[message.pk])
    assert message.to == "+33612345678"  # national number read in region FR
    assert CODE_TEXT.fullmatch(message.text)
    assert [(sms.to, sms.text) for sms in django_sms.outbox] == [(message.to, message.text)]

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Message #{message.pk}" in html
    assert message.text in html
    assert message.to in html
    assert message.get_status_display() in html
    assert message.provider_message_id in html
    for event in message.events.all():
        assert event.get_status_display() in html


def test_every_post_sends_a_fresh_code(client):
    client.post("/", {"phone": "+33612345678"})
    client.post("/", {"phone": "+33612345678"})

    texts = [sms.text for sms in django_sms.outbox]
    assert len(texts) == 2
    assert all(CODE_TEXT.fullmatch(text) for text in texts)
    assert get_message_model().objects.count() == 2


def test_an_invalid_number_is_refused_by_the_form(client):
    response = client.post("/", {"phone": "12"})

    assert response.status_code == 200
    assert b"Enter a valid phone number" in response.content
    assert get_message_model().objects.count() == 0
    assert django_sms.outbox == []


def test_a_refusal_from_send_sms_is_shown_in_the_form(client, settings):
    # A valid number that the app itself refuses: send_sms() raises an SMSError.
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": ["FR"]}

    response = client.post("/", {"phone": "+33612345678"})

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1
    assert "+33612345678" in errors[0]
    assert escape(errors[0]) in response.content.decode()
    assert get_message_model().objects.count() == 0
    assert django_sms.outbox == []


def test_an_unknown_message_is_not_found(client):
    assert client.get(reverse("demo:message", args=[999999])).status_code == 404


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


# -- the provider selector and the self-refreshing message page ----------------------------------


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

    client.post("/", {"phone": "+33612345678", "backend": "backup"})

    assert get_message_model().objects.get().backend_alias == "backup"


def test_an_unknown_alias_is_refused_by_the_form(client):
    response = client.post("/", {"phone": "+33612345678", "backend": "nope"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert get_message_model().objects.count() == 0


def test_the_message_page_refreshes_itself_until_the_status_is_final(client):
    client.post("/", {"phone": "+33612345678"})
    message = get_message_model().objects.get()
    url = reverse("demo:message", args=[message.pk])
    refresh = '<meta http-equiv="refresh" content="2">'

    assert message.status == "delivered"  # what the locmem backend answers
    assert refresh not in client.get(url).content.decode()
    get_message_model().objects.filter(pk=message.pk).update(status="sent")
    assert refresh in client.get(url).content.decode()
    assert refresh not in client.get("/").content.decode()  # no message, nothing to watch


# -- the demo's whole lifecycle against the provider sandbox -------------------------------------


def demo_send(base_url: str, phone: str, backend: str) -> str:
    """Send a code from the demo page as a browser does; return the message page's URL."""
    with requests.Session() as browser:
        form = browser.get(base_url + "/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text
        sent = browser.post(
            base_url + "/",
            data={"csrfmiddlewaretoken": token[1], "phone": phone, "backend": backend},
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
    assert "refresh" not in requests.get(page, timeout=10).text  # final: no more reloads


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
        for backend in ("default", "mailjet", "ovh", "twilio", "aws"):
            page = demo_send(base, "+33612345678", backend)
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
