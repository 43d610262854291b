"""``POST v4/sms/export`` and ``GET v4/sms/export/{ID}`` (issue 14 item 4): an export job of
the token owner's messages over a period, then its CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from django_sms.api import exports
from django_sms.compat import task_backends
from django_sms.models import SMSExport, get_message_model
from django_sms.tokens import create_token
from django_sms.wallets import deposit, get_or_create_wallet, verify

pytestmark = pytest.mark.django_db

SEND, EXPORT = "/sms/v4/sms-send", "/sms/v4/sms/export"
ERROR_KEYS = ["ErrorIdentifier", "ErrorCode", "StatusCode", "ErrorMessage", "ErrorRelatedTo"]


@pytest.fixture(autouse=True)
def api_settings(settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"default": "0.05"}},
        "API_THROTTLE_RATE": None,
    }
    cache.clear()


def tenant(django_user_model, name):
    owner = django_user_model.objects.create(username=name)
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "10")
    verify(wallet)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(owner)[1]}")
    return client


@pytest.fixture
def api(django_user_model):
    return tenant(django_user_model, "exporter")


def send(api, to, text):
    response = api.post(SEND, {"From": "MJPilot", "To": to, "Text": text}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def period(days=1):
    now = timezone.now()
    return {
        "FromTS": int((now - timedelta(days=days)).timestamp()),
        "ToTS": int(now.timestamp()) + 5,
    }


def assert_error(response, status, code, related):
    data = response.json()
    assert response.status_code == status, data
    assert list(data) == ERROR_KEYS
    assert (data["ErrorCode"], data["StatusCode"], data["ErrorRelatedTo"]) == (
        code,
        status,
        related,
    )
    return data


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_a_small_export_is_completed_at_once(api, django_user_model, client):
    mine = [send(api, f"+3361234567{i}", f"text {i}") for i in range(3)]
    send(tenant(django_user_model, "other"), "+33612345679", "not mine")
    old = get_message_model().objects.get(reference=mine[0]["MessageId"])
    get_message_model().objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=3)
    )

    body = period()
    job = api.post(EXPORT, body, format="json").json()
    assert list(job) == [
        "ID", "CreationTS", "ExpirationTS", "Status", "URL", "FromTs", "ToTs", "FromTS", "ToTS",
    ]  # fmt: skip
    assert job["Status"] == {
        "Code": 3,
        "Name": "COMPLETED",
        "Description": "The export completed without errors.",
    }
    assert (job["FromTs"], job["ToTs"]) == (body["FromTS"], body["ToTS"])
    assert job["ExpirationTS"] - job["CreationTS"] == 7 * 86400
    assert api.get(f"{EXPORT}/{job['ID']}").json() == job

    # The URL needs no token, as Mailjet's.
    download = client.get(job["URL"])
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(download.content.decode())
    assert list(rows[0]) == exports.COLUMNS
    assert [row["MessageId"] for row in rows] == [m["MessageId"] for m in mine[1:]]
    first = rows[0]
    assert (first["From"], first["To"], first["SmsCount"]) == ("MJPilot", "+33612345671", "1")
    assert (first["StatusCode"], first["StatusName"]) == ("3", "delivered")
    assert (first["CostValue"], first["CostCurrency"]) == ("0.05", "EUR")
    assert first["CreationTS"] == str(mine[1]["CreationTS"])


def test_a_large_export_is_built_in_the_background(
    api, settings, monkeypatch, client, django_capture_on_commit_callbacks
):
    message = send(api, "+33612345670", "hello")
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    # The dummy backend keeps what is enqueued without running it (django.tasks on Django 6,
    # the django-tasks backport on 5.2).
    immediate = settings.TASKS["default"]["BACKEND"]
    dummy = immediate.replace("immediate.ImmediateBackend", "dummy.DummyBackend")
    settings.TASKS = {"default": {"BACKEND": dummy}}
    monkeypatch.setattr(exports, "INLINE_MAX_MESSAGES", 0)
    backend = task_backends["default"]

    with django_capture_on_commit_callbacks(execute=True):
        job = api.post(EXPORT, period(), format="json").json()
    assert job["Status"] == {
        "Code": 1,
        "Name": "PENDING",
        "Description": "The request is accepted.",
    }
    assert (job["URL"], job["CreationTS"], job["ExpirationTS"]) == (None, None, None)
    assert api.get(f"{EXPORT}/{job['ID']}").json()["Status"]["Name"] == "PENDING"

    # The task was enqueued (after the commit) with the export's id; a worker runs it.
    (result,) = backend.results
    assert (result.task.name, result.args) == ("build_export", [job["ID"]])
    assert exports.build_export.call(job["ID"]) == "COMPLETED"
    assert exports.build_export.call(job["ID"]) == "COMPLETED"  # a duplicate does nothing

    done = api.get(f"{EXPORT}/{job['ID']}").json()
    assert done["Status"]["Name"] == "COMPLETED"
    rows = read_csv(client.get(done["URL"]).content.decode())
    assert [row["MessageId"] for row in rows] == [message["MessageId"]]


def test_a_failed_build_is_an_error_state(api, monkeypatch):
    def broken(export):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "render_csv", broken)
    job = api.post(EXPORT, period(), format="json").json()
    assert job["Status"] == {
        "Code": 4,
        "Name": "ERROR",
        "Description": "The export is in error state.",
    }
    assert job["URL"] is None
    assert SMSExport.objects.get().error == "RuntimeError: disk full"


def test_export_request_errors(api):
    def post(body):
        return api.post(EXPORT, body, format="json")

    assert_error(post({}), 400, "mj-0003", ["FromTS", "ToTS"])
    assert_error(post({"FromTS": 1}), 400, "mj-0003", ["ToTS"])
    now = int(timezone.now().timestamp())
    for wrong in (True, 1.5, None, [1], {"a": 1}):
        related = ["FromTS"]
        code = "mj-0003" if wrong is None else "mj-0004"
        assert_error(post({"FromTS": wrong, "ToTS": now}), 400, code, related)
    assert_error(post({"FromTS": "yesterday", "ToTS": now}), 400, "mj-0009", ["FromTS"])
    assert_error(post({"FromTS": -1, "ToTS": now}), 400, "mj-0009", ["FromTS"])
    assert_error(post({"FromTS": now, "ToTS": "0001-01-01T00:00:00Z"}), 400, "mj-0009", ["ToTS"])
    data = assert_error(
        post({"FromTS": now - 366 * 86400, "ToTS": now}), 400, "djsms-0006", ["FromTS"]
    )
    assert data["ErrorMessage"].startswith("FromTS must not be older than one year")
    assert_error(post({"FromTS": now, "ToTS": now - 60}), 400, "djsms-0006", ["ToTS"])
    assert_error(api.post(EXPORT, "[]", content_type="application/json"), 400, "mj-0004", [])
    assert SMSExport.objects.count() == 0
    # RFC 3339 works as well as Unix seconds.
    start = (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = post({"FromTS": start, "ToTS": timezone.now().isoformat()})
    assert ok.status_code == 200, ok.json()
    assert ok.json()["FromTs"] == int(datetime.fromisoformat(start).timestamp())


def test_exports_are_the_owners_own(api, django_user_model):
    job = api.post(EXPORT, period(), format="json").json()
    other = tenant(django_user_model, "other")
    assert_error(other.get(f"{EXPORT}/{job['ID']}"), 404, "djsms-0003", [])
    assert_error(api.get(f"{EXPORT}/{job['ID'] + 1000}"), 404, "djsms-0003", [])
    assert_error(api.get(f"{EXPORT}/abc"), 400, "mj-0004", ["ID"])
    assert_error(APIClient().get(f"{EXPORT}/{job['ID']}"), 401, "mj-0015", [])


def test_the_download_url_is_checked_and_expires(api, client):
    job = api.post(EXPORT, period(), format="json").json()
    url = job["URL"]
    assert client.get(url).status_code == 200
    assert_error(client.get(url.replace("key=", "key=x")), 404, "djsms-0003", [])
    assert_error(client.get(url.split("?")[0]), 404, "djsms-0003", [])
    SMSExport.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    data = assert_error(client.get(url), 404, "djsms-0003", [])
    assert "expired" in data["ErrorMessage"]
    # The next export request deletes expired ones.
    api.post(EXPORT, period(), format="json")
    assert SMSExport.objects.filter(pk=job["ID"]).exists() is False
