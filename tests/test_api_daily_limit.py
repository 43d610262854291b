"""``API_DAILY_LIMIT`` is exact under concurrency (issue 13 item 6): the check and the count
are one conditional UPDATE of a per-owner-per-day counter."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.cache import cache
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread
from django.utils import timezone

from django_sms.models import APIDailyUsage, get_message_model
from django_sms.tokens import create_token
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify

BODY = {"From": "MJPilot", "To": "+33600000000", "Text": "hello"}


@pytest.fixture
def tenant(django_user_model, settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"default": "0.05"}},
        "API_THROTTLE_RATE": None,
        "API_DAILY_LIMIT": 10,
    }
    cache.clear()
    owner = django_user_model.objects.create(username="daily")
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "100")
    verify(wallet)
    return owner, wallet


class RoomyServer(ThreadedWSGIServer):
    # Django's server queues 10 connections; 30 clients connecting at once would see
    # resets that have nothing to do with the API.
    request_queue_size = 64


class RoomyServerThread(LiveServerThread):
    server_class = RoomyServer


@pytest.fixture
def server_url():
    """A live server (a thread per request, each with its own database connection)."""
    thread = RoomyServerThread("127.0.0.1", lambda handler: handler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
    thread.join()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency is proven on PostgreSQL")
def test_30_concurrent_requests_with_a_limit_of_10_send_exactly_10(server_url, tenant):
    owner, wallet = tenant
    # Several tokens of one owner share its limit.
    secrets = [create_token(owner)[1] for _ in range(3)]
    url = server_url + "/sms/v4/sms-send"
    barrier = threading.Barrier(30)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.post(
                url,
                json={**BODY, "Text": f"hello {i}"},
                headers={"Authorization": f"Bearer {secrets[i % 3]}"},
                timeout=60,
            )
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 10 + [400] * 20, answers
    assert {body["ErrorCode"] for status, body in answers if status == 400} == {"sms-0003"}
    assert get_message_model().objects.count() == 10
    usage = APIDailyUsage.objects.get()
    assert (usage.parts, usage.day) == (10, timezone.localdate())
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("99.50") == ledger_balance(wallet)


@pytest.mark.django_db
def test_refused_and_released_sends_give_their_parts_back(client, tenant, settings):
    owner, _ = tenant
    auth = {"HTTP_AUTHORIZATION": f"Bearer {create_token(owner)[1]}"}
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "API_DAILY_LIMIT": 2}

    def send(body=BODY):
        return client.post("/sms/v4/sms-send", body, content_type="application/json", **auth)

    # Refused by the pipeline (not a mobile number): nothing counted.
    assert send({**BODY, "To": "+33142685300"}).json()["ErrorCode"] == "sms-0002"
    # Refused by the provider before reaching a carrier: the charge and the parts are released.
    backends = settings.SMS_BACKENDS
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.dummy.SmsBackend",
            "OPTIONS": {"status": "rejected"},
        }
    }
    assert send().json()["Status"]["Name"] == "rejected_operator"
    settings.SMS_BACKENDS = backends
    assert APIDailyUsage.objects.get().parts == 0

    assert send().status_code == 200
    assert send({**BODY, "Text": "again"}).status_code == 200
    refused = send({**BODY, "Text": "third"})
    assert (refused.status_code, refused.json()["ErrorCode"]) == (400, "sms-0003")
    assert "2 of 2 SMS parts" in refused.json()["ErrorMessage"]
    assert APIDailyUsage.objects.get().parts == 2

    # A new day starts from zero.
    APIDailyUsage.objects.update(day=timezone.localdate() - timedelta(days=1))
    assert send({**BODY, "Text": "tomorrow"}).status_code == 200
    # Only today's counter is kept.
    assert list(APIDailyUsage.objects.values_list("day", "parts")) == [(timezone.localdate(), 1)]
