"""The generic webhook endpoints and the storage behind them, through a test-only backend
(tests/webhook_backend.py) so that nothing here depends on a real provider's format."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from django_sms import send_sms
from django_sms.events import match_pending_events
from django_sms.exceptions import OptedOut, WebhookAuthenticationError
from django_sms.models import InboundMessage, OptOut, StatusEvent, get_message_model
from django_sms.signals import inbound_received, status_changed
from django_sms.webhooks import webhook_path

pytestmark = pytest.mark.django_db

SECRET = "current-webhook-secret"
OLD_SECRET = "previous-webhook-secret"


@pytest.fixture(autouse=True)
def hook_backend(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {
            "BACKEND": "tests.webhook_backend.SmsBackend",
            "OPTIONS": {"secrets": [SECRET, OLD_SECRET]},
        },
    }


def post_status(client, payload, *, secret=SECRET, alias="hook"):
    headers = {"X-Test-Secret": secret} if secret else {}
    return client.post(
        f"/sms/webhooks/{alias}/status/",
        data=json.dumps(payload),
        content_type="application/json",
        headers=headers,
    )


def post_inbound(client, payload, *, secret=SECRET, alias="hook"):
    return client.post(
        f"/sms/webhooks/{alias}/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"X-Test-Secret": secret},
    )


def hook_message(**kwargs):
    """A message sent through the test backend: ``accepted``, provider id ``th-<ref>``."""
    return send_sms("Your code is 123456", to="+33612345678", using="hook", **kwargs)


def report(message, status, event_id, **extra):
    return {"id": message.provider_message_id, "status": status, "event_id": event_id, **extra}


# -- URLs ---------------------------------------------------------------------------------------


def test_webhook_path_builds_the_mounted_urls():
    assert webhook_path("hook", "status") == "/sms/webhooks/hook/status/"
    assert webhook_path("fr", "inbound", "s3cr3t") == "/sms/webhooks/fr/s3cr3t/inbound/"
    with pytest.raises(ValueError, match="'status' or 'inbound'"):
        webhook_path("hook", "delivery")


# -- status reports -----------------------------------------------------------------------------


def test_a_status_callback_moves_the_message_and_records_what_the_provider_reported(
    client, status_signals
):
    message = hook_message()
    assert message.status == "accepted"
    # The provider's time, to the millisecond, becomes the message's delivery time.
    delivered_at = (message.created_at + timedelta(seconds=3)).replace(microsecond=10000)

    response = post_status(
        client,
        report(
            message,
            "delivered",
            "evt-1",
            cost="0.0333",
            currency="eur",
            segments=2,
            at=delivered_at.isoformat(),
        ),
    )

    assert response.status_code == 200
    assert response.json() == {
        "received": 1,
        "applied": 1,
        "stale": 0,
        "unmatched": 0,
        "duplicate": 0,
    }
    message.refresh_from_db()
    assert message.status == "delivered"
    assert (message.cost, message.cost_currency) == (Decimal("0.0333"), "EUR")
    assert message.segments == 2
    assert message.provider_status == "delivered"
    assert message.delivered_at == delivered_at
    event = message.events.get(source="webhook")
    assert (event.status, event.applied, event.dedupe_key) == ("delivered", True, "hook:evt-1")
    assert event.provider == "testhook" and event.backend_alias == "hook"
    assert event.raw["cost"] == "0.0333"
    assert status_signals.transitions[-1] == ("accepted", "delivered")
    assert status_signals.calls[-1]["event"].pk == event.pk


def test_an_error_report_stores_the_providers_code_and_text(client):
    message = hook_message()
    post_status(client, report(message, "rejected", "e1", error="1250", error_text="Unroutable"))
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_message) == (
        "rejected",
        "1250",
        "Unroutable",
    )
    assert message.events.get(source="webhook").provider_status_text == "Unroutable"


def test_the_same_callback_twice_changes_nothing_the_second_time(client, status_signals):
    message = hook_message()
    first = post_status(client, report(message, "delivered", "evt-1"))
    calls = len(status_signals.calls)
    again = post_status(client, report(message, "delivered", "evt-1"))

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["duplicate"] == 1
    assert StatusEvent.objects.filter(dedupe_key="hook:evt-1").count() == 1
    assert len(status_signals.calls) == calls


def test_a_report_without_an_id_is_deduplicated_by_what_it_says(client, status_signals):
    message = hook_message()
    payload = {
        "id": message.provider_message_id,
        "status": "delivered",
        "at": "2026-01-01T10:00:00+00:00",
    }
    post_status(client, payload)
    post_status(client, payload)
    assert message.events.filter(source="webhook").count() == 1
    assert status_signals.transitions.count(("accepted", "delivered")) == 1


def test_out_of_order_reports_leave_one_change_per_real_transition(client, status_signals):
    message = hook_message()
    before = len(status_signals.calls)

    post_status(client, report(message, "delivered", "evt-2"))
    late = post_status(client, report(message, "sent", "evt-1"))  # older, arrives last
    post_status(client, report(message, "delivered", "evt-2"))  # and a retry
    post_status(client, report(message, "sent", "evt-1"))

    assert late.json()["stale"] == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.provider_status == "delivered"  # the stale report did not rewrite it
    events = list(message.events.filter(source="webhook").values_list("status", "applied"))
    assert events == [("delivered", True), ("sent", False)]
    assert status_signals.transitions[before:] == [("accepted", "delivered")]


def test_a_stale_report_may_still_bring_the_cost(client):
    message = hook_message()
    post_status(client, report(message, "delivered", "e2"))
    post_status(client, report(message, "submitted", "e1", cost="0.05", currency="EUR"))
    message.refresh_from_db()
    assert (message.status, message.cost) == ("delivered", Decimal("0.05"))


def test_a_status_callback_costs_at_most_five_queries(client, django_assert_max_num_queries):
    message = hook_message()
    with django_assert_max_num_queries(5):
        response = post_status(
            client, report(message, "delivered", "e1", cost="0.04", currency="EUR")
        )
    assert response.json()["applied"] == 1
    # A retried callback: the SELECT, then the INSERT the unique dedupe key refuses (with
    # BEGIN and ROLLBACK). Nothing is stored, nothing changes.
    with django_assert_max_num_queries(4):
        assert post_status(client, report(message, "delivered", "e1")).json()["duplicate"] == 1
    assert message.events.filter(source="webhook").count() == 1


def test_a_broken_status_changed_receiver_does_not_break_the_callback(client):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    status_changed.connect(broken, weak=False)
    try:
        message = hook_message()
        response = post_status(client, report(message, "delivered", "e1"))
    finally:
        status_changed.disconnect(broken)
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_report_carrying_our_reference_finds_the_message_before_its_provider_id(client):
    # The provider's callback beat the send response: the row has no provider id yet.
    model = get_message_model()
    message = model.objects.create(
        to="+33612345678",
        text="hi",
        encoding="GSM-7",
        status="sending",
        backend_alias="hook",
        provider="testhook",
    )
    response = post_status(
        client,
        {
            "id": "th-42",
            "ref": str(message.reference).upper(),
            "status": "submitted",
            "event_id": "e1",
        },
    )
    assert response.json()["applied"] == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("accepted", "th-42")


def test_our_reference_wins_over_a_provider_id_naming_another_message(client):
    model = get_message_model()
    other = make_message("th-50")
    ours = model.objects.create(to="+33612345678", text="hi", encoding="GSM-7", status="sending",
                                backend_alias="hook", provider="testhook")
    payload = {"id": "th-50", "ref": str(ours.reference), "status": "delivered",
               "event_id": "e2"}
    assert post_status(client, payload).json()["applied"] == 1
    ours.refresh_from_db()
    other.refresh_from_db()
    assert (ours.status, other.status) == ("delivered", "accepted")


def test_a_reference_that_names_no_message_falls_back_on_the_provider_id(client):
    message = make_message("th-51")
    payload = {"id": "th-51", "ref": "5f0c8e1c-0d7e-4d7f-9a43-3c1d2b8f6e10", "status": "delivered",
               "event_id": "e3"}
    assert post_status(client, payload).json()["applied"] == 1
    message.refresh_from_db()
    assert message.status == "delivered"


# -- early reports ------------------------------------------------------------------------------


def make_message(provider_message_id, status="accepted"):
    return get_message_model().objects.create(
        to="+33612345678",
        text="hi",
        encoding="GSM-7",
        status=status,
        backend_alias="hook",
        provider="testhook",
        provider_message_id=provider_message_id,
    )


def test_an_early_report_is_kept_and_matched_once_the_message_exists(client, status_signals):
    response = post_status(
        client,
        {
            "id": "th-early",
            "status": "delivered",
            "event_id": "e1",
            "cost": "0.07",
            "currency": "EUR",
            "segments": 3,
        },
    )
    assert response.status_code == 200
    assert response.json()["unmatched"] == 1
    event = StatusEvent.objects.get(dedupe_key="hook:e1")
    assert event.message is None and event.provider_message_id == "th-early"
    # A retry of the unmatched report is still a duplicate.
    assert (
        post_status(client, {"id": "th-early", "status": "delivered", "event_id": "e1"}).json()[
            "duplicate"
        ]
        == 1
    )

    message = make_message("th-early")
    assert match_pending_events() == 1  # what the sweeper calls

    message.refresh_from_db()
    assert message.status == "delivered"
    assert (message.cost, message.cost_currency, message.segments) == (Decimal("0.07"), "EUR", 3)
    event.refresh_from_db()
    assert (event.message_id, event.applied) == (message.pk, True)
    assert event.raw == {
        "id": "th-early",
        "status": "delivered",
        "event_id": "e1",
        "cost": "0.07",
        "currency": "EUR",
        "segments": 3,
    }  # the pending envelope is gone
    assert status_signals.transitions == [("accepted", "delivered")]
    assert match_pending_events() == 0  # nothing left, nothing applied twice


def test_unmatched_reports_are_applied_when_a_later_report_about_the_message_arrives(
    client, status_signals
):
    post_status(client, {"id": "th-7", "status": "sent", "event_id": "e1"})
    message = make_message("th-7")

    post_status(client, {"id": "th-7", "status": "delivered", "event_id": "e2"})

    message.refresh_from_db()
    assert message.status == "delivered"
    assert list(message.events.values_list("status", "applied")) == [
        ("sent", True),
        ("delivered", True),
    ]
    assert status_signals.transitions == [("accepted", "sent"), ("sent", "delivered")]


def test_a_retry_of_an_early_report_applies_it_once_the_message_exists(client, status_signals):
    post_status(client, {"id": "th-6", "status": "delivered", "event_id": "e1"})
    message = make_message("th-6")
    response = post_status(client, {"id": "th-6", "status": "delivered", "event_id": "e1"})
    assert response.json()["duplicate"] == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    assert StatusEvent.objects.get(dedupe_key="hook:e1").message_id == message.pk
    assert status_signals.transitions == [("accepted", "delivered")]


def test_an_early_report_that_carried_our_reference_is_matched_by_it(client, status_signals):
    import uuid

    reference = uuid.uuid4()
    post_status(client, {"ref": str(reference), "status": "sent", "event_id": "e1"})
    message = make_message("th-5")
    get_message_model().objects.filter(pk=message.pk).update(reference=reference)
    message.refresh_from_db()

    # A later report names the message only by its provider id: the reference-matched
    # early report is found in the same query (SQL that compares the UUID column as text).
    post_status(client, {"id": "th-5", "status": "delivered", "event_id": "e2"})

    assert list(message.events.values_list("status", "applied")) == [
        ("sent", True),
        ("delivered", True),
    ]
    assert status_signals.transitions == [("accepted", "sent"), ("sent", "delivered")]


def test_match_pending_events_for_one_message(client):
    post_status(client, {"id": "th-8", "status": "delivered", "event_id": "e1"})
    post_status(client, {"id": "th-9", "status": "delivered", "event_id": "e2"})
    message = make_message("th-8")
    other = make_message("th-9")
    assert match_pending_events(message) == 1
    message.refresh_from_db()
    other.refresh_from_db()
    assert (message.status, other.status) == ("delivered", "accepted")


# -- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "reason"), [("", "Missing X-Test-Secret"), ("guess", "Wrong webhook secret")]
)
def test_a_callback_that_does_not_verify_is_refused_and_nothing_is_stored(
    client, secret, reason, status_signals, caplog
):
    message = hook_message()
    events = StatusEvent.objects.count()
    calls = len(status_signals.calls)

    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = post_status(client, report(message, "delivered", "e1"), secret=secret)

    assert response.status_code == 401
    assert issubclass(WebhookAuthenticationError, SuspiciousOperation)
    [record] = [r for r in caplog.records if r.name.startswith("django.security.")]
    assert record.name == "django.security.WebhookAuthenticationError"
    assert reason in record.getMessage() and "'hook'" in record.getMessage()
    assert (record.status_code, record.request.method) == (401, "POST")
    assert reason in response.json()["detail"]
    assert response.headers["WWW-Authenticate"] == 'Basic realm="SMS webhooks"'
    assert StatusEvent.objects.count() == events
    message.refresh_from_db()
    assert message.status == "accepted"
    assert len(status_signals.calls) == calls
    refused = post_inbound(
        client, {"id": "i1", "from": "+33612345678", "text": "STOP"}, secret=secret
    )
    assert refused.status_code == 401
    assert not InboundMessage.objects.exists() and not OptOut.objects.exists()


def test_a_bearer_attempt_gets_a_bearer_challenge(client):
    response = client.post(
        "/sms/webhooks/hook/status/",
        data="{}",
        content_type="application/json",
        headers={"Authorization": "Bearer abc"},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_the_challenge_can_come_from_the_error_or_the_backend(client, settings):
    response = client.post(
        "/sms/webhooks/hook/status/",
        data="{}",
        content_type="application/json",
        headers={"X-Test-Challenge": 'Signature realm="x"'},
    )
    assert response.headers["WWW-Authenticate"] == 'Signature realm="x"'

    from tests.webhook_backend import SmsBackend

    SmsBackend.webhook_auth_scheme = "Bearer"
    try:
        response = post_status(client, {}, secret="")
    finally:
        del SmsBackend.webhook_auth_scheme
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="SMS webhooks"'


def test_a_previous_secret_still_works_during_rotation(client):
    message = hook_message()
    assert (
        post_status(client, report(message, "delivered", "e1"), secret=OLD_SECRET).status_code
        == 200
    )


def test_the_secret_may_be_a_url_segment(client):
    message = hook_message()
    url = webhook_path("hook", "status", SECRET)
    ok = client.get(url, {"id": message.provider_message_id, "status": "sent", "event_id": "e1"})
    bad = client.get(
        webhook_path("hook", "status", "wrong"),
        {"id": message.provider_message_id, "status": "delivered", "event_id": "e2"},
    )
    assert (ok.status_code, bad.status_code) == (200, 401)
    message.refresh_from_db()
    assert message.status == "sent"


def test_views_are_csrf_exempt_and_work_with_login_required_middleware(settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    client = Client(enforce_csrf_checks=True)
    message = hook_message()
    assert post_status(client, report(message, "delivered", "e1")).status_code == 200
    assert (
        post_inbound(client, {"id": "i1", "from": "+33612345678", "text": "hi"}).status_code == 200
    )


def test_atomic_requests_does_not_wrap_the_views(settings, client, status_signals):
    settings.DATABASES["default"]["ATOMIC_REQUESTS"] = True
    try:
        message = hook_message()
        assert post_status(client, report(message, "delivered", "e1")).status_code == 200
    finally:
        settings.DATABASES["default"]["ATOMIC_REQUESTS"] = False
    assert status_signals.transitions[-1] == ("accepted", "delivered")


# -- bad requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("{not json", "application/json", "not valid JSON"),
        ("[1, 2]", "application/json", "Expected a JSON object"),
        ('{"id": "x", "status": "lost-in-space"}', "application/json", "KeyError"),
        (
            '{"id": "x", "status": "delivered", "cost": "lots"}',
            "application/json",
            "InvalidOperation",
        ),
        ('{"events": [1]}', "application/json", "AttributeError"),
        ('{"id": "x", "status": "sent", "at": 12}', "application/json", "TypeError"),
        ("[" * 100_000 + "]" * 100_000, "application/json", "not valid JSON"),
        ('{"a": 1}', "application/json; charset=klingon", "Unknown charset"),
        ("state=delivered", "application/x-www-form-urlencoded", "KeyError"),
        ("--x\r\nbroken", "multipart/form-data", "multipart"),
        ("", "text/plain", "Expected a JSON object"),
    ],
)
def test_a_malformed_body_is_a_400_with_a_reason(client, body, content_type, reason):
    response = client.generic(
        "POST",
        "/sms/webhooks/hook/status/",
        data=body.encode(),
        content_type=content_type,
        headers={"X-Test-Secret": SECRET},
    )
    assert response.status_code == 400, response.content
    assert reason in response.json()["detail"]
    assert not StatusEvent.objects.exists()


def test_an_unauthenticated_malformed_body_is_a_401_not_a_400(client):
    response = client.post(
        "/sms/webhooks/hook/status/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 401


def test_an_unknown_alias_is_404_and_a_backend_without_webhooks_too(client):
    assert post_status(client, {}, alias="nope").status_code == 404
    response = post_status(client, {}, alias="default")
    assert response.status_code == 404
    assert "does not receive status webhooks" in response.json()["detail"]


def test_only_get_and_post_are_allowed(client):
    response = client.put("/sms/webhooks/hook/status/", headers={"X-Test-Secret": SECRET})
    assert response.status_code == 405


def test_form_bodies_and_query_strings_are_parsed(client):
    message = hook_message()
    response = client.post(
        "/sms/webhooks/hook/status/",
        data={"id": message.provider_message_id, "status": "delivered", "event_id": "f1"},
        headers={"X-Test-Secret": SECRET},
    )  # multipart, Django's default
    assert response.status_code == 200
    response = client.post(
        "/sms/webhooks/hook/status/",
        data=f"id={message.provider_message_id}&status=sent&event_id=f2",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Test-Secret": SECRET},
    )
    assert response.json()["stale"] == 1


def test_an_odd_accept_header_does_not_change_the_answer(client):
    message = hook_message()
    response = client.post(
        "/sms/webhooks/hook/status/",
        data=json.dumps(report(message, "delivered", "e1")),
        content_type="application/json",
        headers={"X-Test-Secret": SECRET, "Accept": "application/xml"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_unstorable_values_are_cleaned_not_a_500(client):
    message = hook_message()
    payload = report(
        message,
        "delivered",
        "e\x00" + "x" * 400,
        error_text="nul\x00 \ud800",
        at="1000-01-01T00:00:00+14:00",
        segments=10**9,
    )
    response = client.post(
        "/sms/webhooks/hook/status/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"X-Test-Secret": SECRET},
    )
    assert response.status_code == 200
    event = message.events.get(source="webhook")
    assert len(event.dedupe_key) <= 255 and "\x00" not in event.raw["event_id"]
    assert event.occurred_at is None


# -- opt-outs from provider reports -------------------------------------------------------------


def test_a_provider_opt_out_report_adds_the_number_to_the_opt_out_list(client):
    message = hook_message()
    post_status(
        client,
        report(
            message,
            "rejected",
            "e1",
            error="1240",
            opted_out=True,
            error_text="Illegal number (opted out)",
        ),
    )
    opt_out = OptOut.objects.get(phone_number="+33612345678")
    assert (opt_out.sender, opt_out.source) == ("", "provider")
    assert "1240" in opt_out.reason
    with pytest.raises(OptedOut):
        hook_message()


# -- inbound ------------------------------------------------------------------------------------


@pytest.fixture
def inbound_signals():
    received = []

    def receiver(sender, inbound, **kwargs):
        received.append(inbound)

    inbound_received.connect(receiver, weak=False)
    yield received
    inbound_received.disconnect(receiver)


def test_an_inbound_sms_is_stored_once_and_announced_once(client, inbound_signals):
    payload = {"id": "in-1", "from": "33612345678", "to": "33612345679", "text": "Hello there"}
    first = post_inbound(client, payload)
    again = post_inbound(client, payload)

    assert first.json() == {"received": 1, "stored": 1, "duplicate": 0}
    assert again.json() == {"received": 1, "stored": 0, "duplicate": 1}
    inbound = InboundMessage.objects.get()
    assert (inbound.from_number, inbound.to_number) == ("+33612345678", "+33612345679")
    assert (inbound.provider, inbound.backend_alias, inbound.text) == (
        "testhook",
        "hook",
        "Hello there",
    )
    assert inbound.raw == payload
    assert [i.pk for i in inbound_signals] == [inbound.pk]
    assert not OptOut.objects.exists()


def test_an_inbound_sms_without_a_provider_id_is_still_deduplicated(client, inbound_signals):
    payload = {"from": "+33612345678", "text": "hi"}
    post_inbound(client, payload)
    post_inbound(client, payload)
    assert InboundMessage.objects.count() == 1
    assert len(inbound_signals) == 1


def test_a_broken_inbound_receiver_does_not_break_the_callback(client):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    inbound_received.connect(broken, weak=False)
    try:
        response = post_inbound(client, {"id": "in-1", "from": "+33612345678", "text": "hi"})
    finally:
        inbound_received.disconnect(broken)
    assert response.status_code == 200
    assert InboundMessage.objects.count() == 1


def test_an_inbound_sms_without_a_sender_is_a_400(client):
    response = post_inbound(client, {"id": "in-1", "from": " ", "text": "hi"})
    assert response.status_code == 400
    assert "no sender number" in response.json()["detail"]


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop please", "ARRÊT", "arret.", " Stopall"])
def test_opt_out_keywords_block_further_messages(client, text):
    post_inbound(client, {"id": "in-1", "from": "33612345678", "to": "33612345679", "text": text})

    opt_out = OptOut.objects.get()
    assert (opt_out.phone_number, opt_out.sender, opt_out.source) == ("+33612345678", "", "keyword")
    with pytest.raises(OptedOut):
        send_sms("hello", to="+33612345678")


@pytest.mark.parametrize("text", ["Stopped by the shop", "Please STOP", "START"])
def test_other_texts_do_not_opt_out(client, text):
    post_inbound(client, {"id": "in-1", "from": "+33612345678", "text": text})
    assert not OptOut.objects.exists()


def test_start_opts_back_in(client):
    post_inbound(client, {"id": "in-1", "from": "+33612345678", "text": "STOP"})
    OptOut.objects.create(phone_number="+33612345678", sender="Other", source="admin")
    post_inbound(client, {"id": "in-2", "from": "+33612345678", "text": "start"})

    assert list(OptOut.objects.values_list("sender", "source")) == [("Other", "admin")]
    assert send_sms("welcome back", to="+33612345678").status == "delivered"


def test_an_operator_opt_out_is_not_lifted_by_a_reply(client):
    OptOut.objects.create(phone_number="+33612345678", sender="", source="admin")
    post_inbound(client, {"id": "in-1", "from": "+33612345678", "text": "START"})
    assert OptOut.objects.count() == 1


def test_keywords_are_configurable(client, settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "OPT_OUT_KEYWORDS": ["Désabonner"],
        "OPT_IN_KEYWORDS": ["REPRENDRE"],
    }
    post_inbound(client, {"id": "in-1", "from": "+33612345678", "text": "STOP"})
    assert not OptOut.objects.exists()
    post_inbound(client, {"id": "in-2", "from": "+33612345678", "text": "desabonner"})
    assert OptOut.objects.count() == 1
    post_inbound(client, {"id": "in-3", "from": "+33612345678", "text": "Reprendre"})
    assert not OptOut.objects.exists()


def test_a_backend_whose_provider_scopes_opt_outs_per_sender(client, settings):
    hook = settings.SMS_BACKENDS["hook"]
    settings.SMS_BACKENDS = {
        **settings.SMS_BACKENDS,
        "hook": {**hook, "OPTIONS": {**hook["OPTIONS"], "per_sender": True}},
    }
    post_inbound(client, {"id": "in-1", "from": "33612345678", "to": "33612345679", "text": "STOP"})

    assert OptOut.objects.get().sender == "+33612345679"
    with pytest.raises(OptedOut):
        send_sms("hello", to="+33612345678", sender="+33612345679")
    assert send_sms("hello", to="+33612345678", sender="Shop").status == "delivered"


# -- deploy check -------------------------------------------------------------------------------


def test_the_deploy_check_warns_about_unprotected_webhooks(settings):
    from django.core.checks import run_checks

    settings.SMS_BACKENDS = {
        **settings.SMS_BACKENDS,
        "open": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {}},
    }
    warnings = [m for m in run_checks(include_deployment_checks=True) if m.id == "django_sms.W103"]
    assert sorted(m.msg.split(" of SMS backend ")[0] for m in warnings) == [
        "The inbound webhook",
        "The status webhook",
    ]
    assert all("'open'" in m.msg for m in warnings)
    assert not [m for m in run_checks() if m.id == "django_sms.W103"]  # deploy only
