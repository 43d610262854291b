"""The same scenarios leave the same rows, events, ledger entries and signals on every database.

CI runs this module on SQLite and on PostgreSQL (``DATABASE_URL``). Each scenario is compared
with the shape recorded below, not with the other database's run: a database-specific write
path (one that skips ``post_save``, orders events differently, writes another ledger entry)
fails here on the database it runs on, whichever it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_save

from django_sms import SMS, send_sms
from django_sms.models import LedgerEntry, StatusEvent, get_message_model
from django_sms.signals import post_send, pre_send, status_changed
from django_sms.wallets import deposit, get_or_create_wallet, verify
from tests.backends import FlakyBackend

pytestmark = pytest.mark.django_db

TO = "+33612345678"
SECRET = "parity-webhook-secret"


@pytest.fixture(autouse=True)
def backends(settings):
    FlakyBackend.reset()
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
        "flaky": {"BACKEND": "tests.backends.FlakyBackend", "OPTIONS": {"fail_times": 1}},
    }
    settings.DJANGO_SMS = {
        "DEFAULT_SENDER": "TestShop",
        "FAILOVER": {"flaky": ["default"]},
        "PRICES": {"EUR": {"default": "0.05"}},
        "REFUND_POLICY": "undelivered",
    }


class Signals:
    """Every signal the app's writes cause, as plain comparable tuples, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.receivers = [
            (post_save, self.on_event_saved, StatusEvent),
            (post_save, self.on_message_saved, get_message_model()),
            (status_changed, self.on_status_changed, None),
            (pre_send, self.on_pre_send, None),
            (post_send, self.on_post_send, None),
        ]

    def on_event_saved(self, sender: Any, instance: StatusEvent, created: bool, **kw: Any) -> None:
        self.seen.append(("post_save", "StatusEvent", instance.status, created))

    def on_message_saved(self, sender: Any, instance: Any, created: bool, **kw: Any) -> None:
        self.seen.append(("post_save", "Message", instance.status, created))

    def on_status_changed(self, sender: Any, old: Any, new: Any, **kw: Any) -> None:
        self.seen.append(("status_changed", old, new, type(old).__name__, type(new).__name__))

    def on_pre_send(self, sender: Any, message: Any, **kw: Any) -> None:
        self.seen.append(("pre_send", message.status))

    def on_post_send(self, sender: Any, message: Any, result: Any, **kw: Any) -> None:
        self.seen.append(("post_send", message.status))

    def __enter__(self) -> Signals:
        for signal, receiver, sender in self.receivers:
            signal.connect(receiver, sender=sender, weak=False)
        return self

    def __exit__(self, *exc: object) -> None:
        for signal, receiver, sender in self.receivers:
            signal.disconnect(receiver, sender=sender)


@pytest.fixture
def signals() -> Iterator[Signals]:
    with Signals() as recorder:
        yield recorder


@pytest.fixture
def wallet(django_user_model):
    owner = django_user_model.objects.create(username="tenant")
    w = get_or_create_wallet(owner, "EUR")
    deposit(w, "1")
    verify(w)
    return w


def shape(message: Any) -> dict[str, Any]:
    """What a scenario left in the database about ``message``, without ids or times."""
    message.refresh_from_db()
    return {
        "message": (
            message.status,
            message.attempts,
            message.backend_alias,
            message.charge_status,
            message.price,
        ),
        "events": [
            (e.status, e.source, e.attempt, e.backend_alias, e.applied)
            for e in StatusEvent.objects.filter(message=message).order_by("pk")
        ],
        "ledger": [
            (e.kind, e.amount, e.balance_after)
            for e in LedgerEntry.objects.filter(message_id=message.pk).order_by("pk")
        ],
    }


def post_status(client: Any, message: Any, status: str, event_id: str) -> int:
    payload = {"id": message.provider_message_id, "status": status, "event_id": event_id}
    response = client.post(
        "/sms/webhooks/hook/status/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"X-Test-Secret": SECRET},
    )
    return int(response.status_code)


QUEUED_AND_CLAIMED = [("queued", "send", None, "", True), ("sending", "send", 1, "default", True)]
SEND_SIGNALS = [
    ("post_save", "Message", "sending", True),
    ("status_changed", "queued", "sending", "str", "str"),
    ("pre_send", "sending"),
]


def test_a_send(signals):
    message = send_sms("Your code is 123456", to=TO)

    assert shape(message) == {
        "message": ("delivered", 1, "default", "", None),
        "events": [*QUEUED_AND_CLAIMED, ("delivered", "send", 1, "default", True)],
        "ledger": [],
    }
    # Events are written with bulk_create (documented): no post_save for them.
    assert signals.seen == [
        *SEND_SIGNALS,
        ("status_changed", "sending", "delivered", "str", "str"),
        ("post_send", "delivered"),
    ]


def test_a_webhook(client, signals):
    message = send_sms("Your code is 123456", to=TO, using="hook")
    signals.seen.clear()

    assert post_status(client, message, "delivered", "r1") == 200
    assert post_status(client, message, "delivered", "r1") == 200  # the provider retries
    assert post_status(client, message, "sent", "r0") == 200  # late, after the final status

    hook = [("queued", "send", None, "", True), ("sending", "send", 1, "hook", True)]
    assert shape(message) == {
        "message": ("delivered", 1, "hook", "", None),
        "events": [
            *hook,
            ("accepted", "send", 1, "hook", True),
            ("delivered", "webhook", None, "hook", True),
            ("sent", "webhook", None, "hook", False),
        ],
        "ledger": [],
    }
    # A report is saved with save(): post_save fires for it, on every database.
    assert signals.seen == [
        ("post_save", "StatusEvent", "delivered", True),
        ("status_changed", "accepted", "delivered", "str", "str"),
        ("post_save", "StatusEvent", "sent", True),
    ]


def test_a_failover(signals):
    message = send_sms("Your code is 123456", to=TO, using="flaky")

    assert shape(message) == {
        "message": ("delivered", 2, "default", "", None),
        "events": [
            ("queued", "send", None, "", True),
            ("sending", "send", 1, "flaky", True),
            ("sending", "send", 1, "flaky", False),  # the transient error, failing over
            ("sending", "send", 2, "default", False),
            ("delivered", "send", 2, "default", True),
        ],
        "ledger": [],
    }
    assert signals.seen == [
        ("post_save", "Message", "sending", True),
        ("status_changed", "queued", "sending", "str", "str"),
        ("pre_send", "sending"),
        ("status_changed", "sending", "delivered", "str", "str"),
        ("post_send", "delivered"),
    ]


def test_a_wallet_pays_and_is_refunded(client, wallet, signals):
    message = SMS("Your code is 123456", TO).send(using="hook", wallet=wallet)
    assert post_status(client, message, "failed", "r1") == 200  # "undelivered": refunded

    price = Decimal("0.05")
    assert shape(message) == {
        "message": ("undelivered", 1, "hook", "refunded", price),
        "events": [
            ("queued", "send", None, "", True),
            ("sending", "send", 1, "hook", True),
            ("accepted", "send", 1, "hook", True),
            ("undelivered", "webhook", None, "hook", True),
        ],
        "ledger": [
            ("hold", -price, Decimal("0.95")),
            ("refund", price, Decimal("1.00")),
        ],
    }
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1.00")
    assert signals.seen == [
        ("post_save", "Message", "sending", True),
        ("status_changed", "queued", "sending", "str", "str"),
        ("pre_send", "sending"),
        ("status_changed", "sending", "accepted", "str", "str"),
        ("post_send", "accepted"),
        ("post_save", "StatusEvent", "undelivered", True),
        ("status_changed", "accepted", "undelivered", "str", "str"),
    ]


def test_the_database_under_test_is_the_one_ci_asked_for():
    # CI runs this module twice; a run that silently fell back to SQLite would prove nothing.
    import os

    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith("postgres") else "sqlite"
    assert connection.vendor == expected
