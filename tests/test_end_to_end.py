"""The whole lifecycle of a message, for each provider backend, with nothing faked.

``send_sms(..., using=alias)`` runs the real pipeline; the backend talks HTTP to the provider
sandbox; the sandbox calls the app's real webhook views back over HTTP (``live_server``) with
its delivery reports, signed (Vonage) or secret-URL protected (OVH) as the provider does it;
Mailjet, which has no delivery webhook, is completed by the sweeper polling the sandbox (as is
OVH when its reports are lost). Every test checks where the message ends and that
``status_changed`` fired exactly once per real step — also when the sandbox sends duplicate,
out-of-order reports, and reports that arrive before the send answer — and, when a wallet
pays, that the charge follows the message's real fate.

The sandbox's scheduler is driven with ``flush()`` (run every pending report now, in order) and
``wait_idle()``: no test sleeps or depends on timings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from django_sms import send_sms
from django_sms.backends.handler import sms_backends
from django_sms.exceptions import OptedOut
from django_sms.models import AbstractMessage, OptOut, StatusEvent, get_message_model
from django_sms.status import Status
from django_sms.sweeper import sweep
from django_sms.testing.sandbox import Outcome, Sandbox, faults

pytestmark = pytest.mark.django_db(transaction=True)

#: The recipient of every test, as each provider receives it.
TO = "+33612345678"
PROVIDER_TO = {"vonage": "33612345678", "mailjet": TO, "ovh": TO}
#: OVH's callbacks are unsigned: the status webhook URL carries this secret.
OVH_SECRET = "e2e-ovh-callback-secret-0123456789"

#: The steps of a message that is delivered, as status_changed announces them.
SEND_STEPS = [(Status.QUEUED, Status.SENDING), (Status.SENDING, Status.ACCEPTED)]


def webhook_url(live_server: Any, alias: str, secret: str = "") -> str:
    return f"{live_server.url}/sms/webhooks/{alias}/{secret + '/' if secret else ''}status/"


@pytest.fixture
def sandbox(sms_sandbox: Sandbox, live_server: Any, settings: Any) -> Iterator[Sandbox]:
    """One alias per provider backend, each pointed at the sandbox with the sandbox's
    development credentials; the sandbox reports to the live server's webhook URLs."""
    creds = sms_sandbox.credentials
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "vonage": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {
                "base_url": sms_sandbox.url,
                "application_id": creds.vonage_application_id,
                "private_key": creds.vonage_private_key,
                # What the sandbox signs its reports with: they are verified for real.
                "signature_secret": creds.vonage_signature_secret,
            },
        },
        "mailjet": {
            "BACKEND": "django_sms.backends.mailjet.SmsBackend",
            "OPTIONS": {"base_url": sms_sandbox.url, "token": creds.mailjet_token},
        },
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "endpoint": sms_sandbox.url,
                "application_key": creds.ovh_application_key,
                "application_secret": creds.ovh_application_secret,
                "consumer_key": creds.ovh_consumer_key,
                "webhook_secret": OVH_SECRET,
            },
        },
    }
    # Poll every pending message at each sweep, however recent.
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "POLL_MIN_AGE": 0}
    sms_sandbox.set_callback_url("vonage", webhook_url(live_server, "vonage"))
    sms_sandbox.set_callback_url("ovh", webhook_url(live_server, "ovh", OVH_SECRET))
    yield sms_sandbox
    sms_backends.close_all()


def reload(message: AbstractMessage) -> AbstractMessage:
    return get_message_model().objects.get(pk=message.pk)


def timeline(message: AbstractMessage) -> list[tuple[str, str, bool]]:
    """(status, source, applied) of every event of the message, in the order stored."""
    return [
        (e.status, e.source, e.applied) for e in message.events.order_by("received_at", "pk")
    ]


def assert_callbacks_answered_ok(sandbox: Sandbox, count: int) -> None:
    attempts = sandbox.callbacks.attempts
    assert [a.status_code for a in attempts] == [200] * count, [
        (a.status_code, a.response_body, a.error) for a in attempts
    ]


# -- providers with delivery reports: Vonage (signed JSON POST), OVH (GET, secret URL) ----------

#: The aliases whose provider sends delivery reports.
REPORTING = ["vonage", "ovh"]
#: Provider status the message keeps once delivered.
DELIVERED_PROVIDER_STATUS = {"vonage": "delivered", "ovh": "dlr-1/ptt-4"}


@pytest.mark.parametrize("alias", REPORTING)
def test_message_is_delivered_by_its_reports(sandbox, status_signals, alias):
    message = send_sms("Your code is 123456", to=TO, using=alias)
    assert message.status == Status.ACCEPTED
    assert status_signals.transitions == SEND_STEPS

    sandbox.callbacks.flush()  # the "sent" report, then the "delivered" one, to the webhook

    assert_callbacks_answered_ok(sandbox, 2)
    message = reload(message)
    stored = sandbox.messages.last()
    assert message.status == Status.DELIVERED
    assert message.provider_status == DELIVERED_PROVIDER_STATUS[alias]
    assert message.provider_message_id == stored.id
    # Our id went as Vonage's client_ref, or as OVH's tag (its first 20 hex digits: OVH
    # allows 20 characters).
    sent_as = message.reference.hex[:20] if alias == "ovh" else str(message.reference)
    assert stored.reference == sent_as
    assert message.delivered_at is not None
    assert status_signals.transitions == [
        *SEND_STEPS,
        (Status.ACCEPTED, Status.SENT),
        (Status.SENT, Status.DELIVERED),
    ]
    assert all(call["message"].pk == message.pk for call in status_signals.calls)
    assert timeline(message) == [
        ("queued", "send", True),
        ("sending", "send", True),
        ("accepted", "send", True),
        ("sent", "webhook", True),
        ("delivered", "webhook", True),
    ]


def test_vonage_reports_are_signed_and_carry_the_cost(sandbox):
    message = send_sms("Your code is 123456", to=TO, using="vonage")
    sandbox.callbacks.flush()

    assert all(
        a.request.headers["Authorization"].startswith("Bearer ")
        for a in sandbox.callbacks.attempts
    )
    message = reload(message)
    assert (message.cost, message.cost_currency) == (Decimal("0.0333"), "EUR")  # usage.price


def test_ovh_reports_without_the_url_secret_are_refused(sandbox, live_server):
    sandbox.set_callback_url("ovh", webhook_url(live_server, "ovh"))  # the secret left out
    message = send_sms("Your code is 123456", to=TO, using="ovh")

    sandbox.callbacks.flush()

    assert [a.status_code for a in sandbox.callbacks.attempts] == [401, 401]
    assert reload(message).status == Status.ACCEPTED
    assert not StatusEvent.objects.filter(source="webhook").exists()


@pytest.mark.parametrize("alias", REPORTING)
def test_duplicate_and_out_of_order_reports_change_each_step_once(
    sandbox, status_signals, alias
):
    # "delivered" first, twice more, then the stale "sent".
    sandbox.set_outcome(Outcome(duplicates=2, out_of_order=True), to=PROVIDER_TO[alias])
    message = send_sms("Your code is 123456", to=TO, using=alias)

    sandbox.callbacks.flush()

    assert_callbacks_answered_ok(sandbox, 4)  # a duplicate is answered 200 too
    assert [a.request.stage for a in sandbox.callbacks.attempts] == [
        "delivered", "delivered", "delivered", "sent"
    ]
    message = reload(message)
    assert message.status == Status.DELIVERED
    # The stale report did not overwrite what the final one said.
    assert message.provider_status == DELIVERED_PROVIDER_STATUS[alias]
    assert status_signals.transitions == [*SEND_STEPS, (Status.ACCEPTED, Status.DELIVERED)]
    assert timeline(message) == [
        ("queued", "send", True),
        ("sending", "send", True),
        ("accepted", "send", True),
        ("delivered", "webhook", True),
        ("sent", "webhook", False),  # kept in the history, changes nothing
    ]


@pytest.mark.parametrize(
    ("alias", "outcome", "status", "error_code", "steps"),
    [
        ("vonage", Outcome("rejected"), Status.REJECTED, "1250", [Status.REJECTED]),
        ("vonage", Outcome("undelivered"), Status.UNDELIVERED, "1260",
         [Status.SENT, Status.UNDELIVERED]),
        ("vonage", Outcome("expired"), Status.EXPIRED, "1360", [Status.SENT, Status.EXPIRED]),
        ("ovh", Outcome("rejected"), Status.REJECTED, "ptt-23", [Status.REJECTED]),
        ("ovh", Outcome("undelivered", provider_code=24), Status.UNDELIVERED, "ptt-24",
         [Status.SENT, Status.UNDELIVERED]),
        ("ovh", Outcome("expired"), Status.EXPIRED, "ptt-8", [Status.SENT, Status.EXPIRED]),
    ],
    ids=[
        "vonage-rejected", "vonage-undeliverable", "vonage-expired",
        "ovh-rejected", "ovh-absent-subscriber", "ovh-expired",
    ],
)
def test_failure_reports(sandbox, status_signals, alias, outcome, status, error_code, steps):
    sandbox.set_outcome(outcome, to=PROVIDER_TO[alias])
    message = send_sms("Your code is 123456", to=TO, using=alias)

    sandbox.callbacks.flush()

    assert_callbacks_answered_ok(sandbox, len(steps))
    message = reload(message)
    assert message.status == status
    assert message.error_code == error_code
    assert message.error_message  # the provider's reason, for the operator
    expected = [*SEND_STEPS]
    for new in steps:
        expected.append((expected[-1][1], new))
    assert status_signals.transitions == expected
    assert not OptOut.objects.exists()  # none of these means "opted out"


def test_vonage_opt_out_report_blocks_the_next_send(sandbox, status_signals):
    sandbox.set_outcome(Outcome("rejected", provider_code=1240), to=PROVIDER_TO["vonage"])
    message = send_sms("Your code is 123456", to=TO, using="vonage")

    sandbox.callbacks.flush()

    message = reload(message)
    assert (message.status, message.error_code) == (Status.REJECTED, "1240")
    assert status_signals.transitions == [*SEND_STEPS, (Status.ACCEPTED, Status.REJECTED)]
    opt_out = OptOut.objects.get()
    assert (opt_out.phone_number, opt_out.source) == (TO, OptOut.Source.PROVIDER)

    with pytest.raises(OptedOut):
        send_sms("Your code is 654321", to=TO, using="vonage")
    assert get_message_model().objects.count() == 1  # nothing stored for the refused send
    assert len(sandbox.messages) == 1  # and nothing sent


@pytest.mark.parametrize("alias", REPORTING)
def test_reports_with_real_delays_arrive_by_themselves(sandbox, status_signals, alias):
    # No flush(): the sandbox's own thread sends the reports when they are due.
    sandbox.set_outcome(Outcome(sent_after=0.05, final_after=0.1), to=PROVIDER_TO[alias])
    message = send_sms("Your code is 123456", to=TO, using=alias)

    assert sandbox.callbacks.wait_idle(timeout=30)

    assert_callbacks_answered_ok(sandbox, 2)
    assert reload(message).status == Status.DELIVERED
    assert status_signals.transitions == [
        *SEND_STEPS,
        (Status.ACCEPTED, Status.SENT),
        (Status.SENT, Status.DELIVERED),
    ]


# -- Mailjet: no delivery webhook; the sweeper polls -----------------------------------------------


def test_mailjet_message_is_delivered_by_the_sweeper(sandbox, status_signals):
    sandbox.set_outcome(Outcome(sent_after=0, final_after=3600), to=PROVIDER_TO["mailjet"])
    message = send_sms("Your code is 123456", to=TO, using="mailjet")
    assert message.status == Status.ACCEPTED
    stored = sandbox.messages.last()
    assert sandbox.messages.wait_for(stored.id, "sent", timeout=30)

    assert sweep().poll_changes == 1
    assert reload(message).status == Status.SENT

    sandbox.callbacks.flush()  # the final status is due now
    assert sweep().poll_changes == 1
    assert sweep().poll_changes == 0  # polling the same state again changes nothing

    message = reload(message)
    assert message.status == Status.DELIVERED
    assert sandbox.callbacks.attempts == []  # Mailjet calls nobody back
    assert status_signals.transitions == [
        *SEND_STEPS,
        (Status.ACCEPTED, Status.SENT),
        (Status.SENT, Status.DELIVERED),
    ]
    assert [(s, src) for s, src, _ in timeline(message)] == [
        ("queued", "send"),
        ("sending", "send"),
        ("accepted", "send"),
        ("sent", "poll"),
        ("delivered", "poll"),
    ]


def test_mailjet_opt_out_found_by_polling_blocks_the_next_send(sandbox, status_signals):
    # Mailjet status 11: "rejected_to_blacklist", the recipient is on the blocklist.
    sandbox.set_outcome(Outcome("rejected", provider_code=11), to=PROVIDER_TO["mailjet"])
    message = send_sms("Your code is 123456", to=TO, using="mailjet")
    sandbox.callbacks.flush()

    sweep()

    message = reload(message)
    assert message.status == Status.REJECTED
    assert status_signals.transitions == [*SEND_STEPS, (Status.ACCEPTED, Status.REJECTED)]
    assert OptOut.objects.filter(phone_number=TO, source=OptOut.Source.PROVIDER).exists()
    with pytest.raises(OptedOut):
        send_sms("Your code is 654321", to=TO, using="mailjet")
    assert len(sandbox.messages) == 1


# -- several providers at once -------------------------------------------------------------------


def test_each_alias_completes_its_own_lifecycle(sandbox, status_signals):
    by_vonage = send_sms("Your code is 111111", to=TO, using="vonage")
    by_mailjet = send_sms("Your code is 222222", to="+33612345679", using="mailjet")
    by_ovh = send_sms("Your code is 333333", to="+33612345670", using="ovh")

    sandbox.callbacks.flush()  # Vonage's and OVH's reports reach their own webhooks
    sweep()  # Mailjet's status is polled

    for message in (by_vonage, by_mailjet, by_ovh):
        assert reload(message).status == Status.DELIVERED
    per_message = Counter(call["message"].pk for call in status_signals.calls)
    # Mailjet is polled after the fact: accepted → delivered in one step.
    assert per_message == {by_vonage.pk: 4, by_mailjet.pk: 3, by_ovh.pk: 4}


# -- reports that beat the send answer -------------------------------------------------------------


def test_vonage_reports_arriving_before_the_send_answer_are_matched(sandbox, status_signals):
    # The sandbox sends every report of the message, then answers the send request: the
    # reports find the message by our reference (client_ref) while it is still "sending".
    sandbox.inject(faults.reports_first(), provider="vonage")

    message = send_sms("Your code is 123456", to=TO, using="vonage")

    assert_callbacks_answered_ok(sandbox, 2)
    message = reload(message)
    assert message.status == Status.DELIVERED
    assert message.provider_message_id == sandbox.messages.last().id  # from the late answer
    assert message.claimed_at is None
    # Each step once; the send answer came last and changed nothing.
    assert Counter(status_signals.transitions) == {
        (Status.QUEUED, Status.SENDING): 1,
        (Status.SENDING, Status.SENT): 1,
        (Status.SENT, Status.DELIVERED): 1,
    }
    assert sorted(timeline(message)) == sorted([
        ("queued", "send", True),
        ("sending", "send", True),
        ("sent", "webhook", True),
        ("delivered", "webhook", True),
        ("accepted", "send", False),
    ])


def test_an_early_failure_report_keeps_its_error_when_the_send_answer_arrives(
    sandbox, status_signals
):
    sandbox.inject(faults.reports_first(), provider="vonage")
    sandbox.set_outcome(Outcome("rejected", provider_code=1240), to=PROVIDER_TO["vonage"])

    message = send_sms("Your code is 123456", to=TO, using="vonage")

    message = reload(message)
    assert message.status == Status.REJECTED
    # The provider's "accepted" answer, recorded after the report, must not erase the
    # report's reason: the operator needs to see why the message failed.
    assert (message.error_code, message.provider_status) == ("1240", "rejected")
    assert "Illegal number" in message.error_message
    assert OptOut.objects.filter(phone_number=TO).exists()
    assert Counter(status_signals.transitions) == {
        (Status.QUEUED, Status.SENDING): 1,
        (Status.SENDING, Status.REJECTED): 1,
    }


def test_early_ovh_reports_are_kept_then_matched_when_the_send_answer_arrives(
    sandbox, status_signals
):
    # OVH's reports name the message only by OVH's id (no tag): sent before the send answer
    # told us that id, nothing can match them yet.
    sandbox.inject(faults.reports_first(), provider="ovh", path="/1.0/sms/*/jobs")

    message = send_sms("Your code is 123456", to=TO, using="ovh")

    assert_callbacks_answered_ok(sandbox, 2)  # kept, and OVH told to stop retrying
    message = reload(message)
    assert message.status == Status.DELIVERED  # matched once the answer stored the id
    assert Counter(status_signals.transitions) == {
        (Status.QUEUED, Status.SENDING): 1,
        (Status.SENDING, Status.ACCEPTED): 1,
        (Status.ACCEPTED, Status.SENT): 1,
        (Status.SENT, Status.DELIVERED): 1,
    }
    assert not StatusEvent.objects.filter(message__isnull=True).exists()
    assert timeline(message) == [  # in the order received: the reports before the answer
        ("queued", "send", True),
        ("sending", "send", True),
        ("sent", "webhook", True),  # applied once matched, in the order they happened
        ("delivered", "webhook", True),
        ("accepted", "send", True),
    ]
    assert sweep().matched == 0  # nothing left for the sweeper


# -- polling: Mailjet (no webhook at all), OVH when its reports are missed ----------------------


def test_ovh_message_whose_reports_are_lost_is_completed_by_polling(sandbox, status_signals):
    sandbox.set_callback_url("ovh", "")  # OVH's callbacks never reach us
    message = send_sms("Your code is 123456", to=TO, using="ovh")
    sandbox.callbacks.flush()

    assert sweep().poll_changes == 1

    message = reload(message)
    assert message.status == Status.DELIVERED
    assert sandbox.callbacks.attempts == []
    assert status_signals.transitions == [*SEND_STEPS, (Status.ACCEPTED, Status.DELIVERED)]
    assert timeline(message)[-1] == ("delivered", "poll", True)


@pytest.mark.parametrize(
    ("alias", "count"),
    [("vonage", 5), ("ovh", 6)],
    ids=["reports-name-our-reference", "reports-name-only-the-provider-id"],
)
def test_sql_statements_of_a_send_through_a_webhook_backend(sandbox, sql_statements, alias, count):
    # The five statements of any send, the same on every database. OVH's reports name only
    # OVH's id, so a report can beat the answer that stores it: OVH sends add the look for
    # such reports. Vonage's name our reference (client_ref) and are matched as they arrive.
    send_sms("warm-up", to=TO, using=alias)
    with sql_statements() as statements:
        send_sms("Your code is 123456", to=TO, using=alias)
    assert len(statements) == count, statements.sql


# -- a wallet pays: the money follows the message's real fate ----------------------------------


@pytest.fixture
def wallet(settings, django_user_model):
    from django_sms.wallets import deposit, get_or_create_wallet, verify

    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "0.05"}}}
    owner = django_user_model.objects.create(username="tenant")
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "1")
    verify(wallet)
    return wallet


@pytest.mark.parametrize(
    ("early", "charge_status"),
    [(False, "refunded"), (True, "released")],
    ids=["report-after-the-answer", "report-before-the-answer"],
)
def test_a_rejected_message_gives_its_wallet_charge_back(sandbox, wallet, early, charge_status):
    # Accepted, then rejected: the charge captured at "accepted" is refunded (REFUND_POLICY
    # "failed"). Rejected before the answer arrived: the hold is released, and the late
    # "accepted" answer must not capture it again.
    from django_sms import SMS, send_mass_sms
    from django_sms.wallets import ledger_balance

    sandbox.set_outcome(Outcome("rejected"), to=PROVIDER_TO["vonage"])
    if early:
        sandbox.inject(faults.reports_first(), provider="vonage")

    [message] = send_mass_sms([SMS("Your code is 123456", to=TO)], using="vonage", wallet=wallet)
    sandbox.callbacks.flush()

    message = reload(message)
    wallet.refresh_from_db()
    assert message.status == Status.REJECTED
    assert message.charge_status == charge_status
    assert wallet.balance == Decimal("1") == ledger_balance(wallet)


@pytest.mark.parametrize("early", [False, True], ids=["reports-after", "reports-first"])
def test_a_delivered_message_charges_its_wallet_once(sandbox, wallet, early):
    from django_sms import SMS, send_mass_sms
    from django_sms.wallets import ledger_balance

    if early:
        sandbox.inject(faults.reports_first(), provider="vonage")

    [message] = send_mass_sms([SMS("Your code is 123456", to=TO)], using="vonage", wallet=wallet)
    sandbox.callbacks.flush()

    message = reload(message)
    wallet.refresh_from_db()
    assert (message.status, message.charge_status) == (Status.DELIVERED, "captured")
    assert wallet.balance == Decimal("0.95") == ledger_balance(wallet)
