"""Phone verification through the real pipeline (locmem backend unless said otherwise)."""

from __future__ import annotations

import io
import logging
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import RequestFactory, TestCase, TransactionTestCase
from django.utils import timezone

import django_sms
from django_sms import encoding
from django_sms.exceptions import (
    CountryNotAllowed,
    InsufficientFunds,
    InvalidRecipient,
    VerificationRateLimited,
)
from django_sms.message import SMS
from django_sms.models import (
    CountryBlock,
    LedgerEntry,
    OptOut,
    StatusEvent,
    Verification,
    get_message_model,
)
from django_sms.sending import send_messages
from django_sms.signals import (
    verification_approved,
    verification_blocked,
    verification_failed,
    verification_started,
)
from django_sms.tasks import deliver
from django_sms.testing import VerificationTestMixin, last_verification_code
from django_sms.verification import check_verification, start_verification
from django_sms.verification import codes as code_module
from django_sms.wallets import deposit, get_or_create_wallet, verify

pytestmark = pytest.mark.django_db

TO = "+33612345678"
OTHER = "+33698765432"


def request_from(ip: str = "192.0.2.10", host: str = "shop.example.com") -> Any:
    return RequestFactory().post("/", REMOTE_ADDR=ip, HTTP_HOST=host)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def verification_settings(settings: Any, **values: Any) -> None:
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "VERIFICATION": {**settings.DJANGO_SMS.get("VERIFICATION", {}), **values},
    }


def age(verification: Verification, seconds: float) -> None:
    """Move a verification (and its expiry) ``seconds`` into the past."""
    delta = timedelta(seconds=seconds)
    Verification.objects.filter(pk=verification.pk).update(
        created_at=verification.created_at - delta, expires_at=verification.expires_at - delta
    )


class Recorder:
    def __init__(self, *signals: Any) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        self.signals = signals

    def __enter__(self) -> Recorder:
        for signal in self.signals:
            signal.connect(self.receive, weak=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signal in self.signals:
            signal.disconnect(self.receive)

    def receive(self, signal: Any, sender: Any, **kwargs: Any) -> None:
        self.calls.append((signal, kwargs))

    def of(self, signal: Any) -> list[dict[str, Any]]:
        return [kwargs for s, kwargs in self.calls if s is signal]


# -- the text, the code and what is stored -------------------------------------------------------


def test_a_start_sends_a_code_whose_last_line_is_the_autofill_line():
    verification = start_verification(TO, purpose="signup", request=request_from())

    (sms,) = django_sms.outbox
    code = last_verification_code(TO)
    assert len(code) == 6 and code.isdigit()
    assert sms.to == TO
    assert sms.text == (
        f"{code} is your shop.example.com code. Don't share it.\n\n@shop.example.com #{code}"
    )
    assert sms.text.splitlines()[-1] == f"@shop.example.com #{code}"
    assert sms.text == sms.text.rstrip()  # the WICG parser fails on a trailing newline
    assert encoding.analyze(sms.text).encoding == "GSM-7"
    assert verification.status == "pending"
    assert (verification.country, verification.purpose, verification.ip) == (
        "FR", "signup", "192.0.2.10"
    )


def test_the_code_is_nowhere_in_clear_in_the_database():
    verification = start_verification(TO, request=request_from())
    code = last_verification_code(TO)

    message = get_message_model().objects.get()
    assert message.text == (
        "****** is your shop.example.com code. Don't share it.\n\n@shop.example.com #******"
    )
    assert (message.encoding, message.segments) == ("GSM-7", 1)
    assert message.status == "delivered"
    row = Verification.objects.get()
    assert code not in (row.code_mac, row.sealed_code)
    assert row.code_mac == code_module.code_mac(verification.pk, TO, "default", code)
    for event in StatusEvent.objects.all():
        assert code not in str(event.raw)


def test_the_sealed_copy_is_erased_once_the_code_is_sent():
    verification = start_verification(TO)
    assert verification.sealed_code == "" == Verification.objects.get().sealed_code
    assert check_verification(TO, last_verification_code(TO))


def test_a_worker_unseals_the_code_then_erases_the_sealed_copy(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    start_verification(TO)
    assert Verification.objects.get().sealed_code  # queued: the worker will need it
    deliver.call(get_message_model().objects.get().pk)
    assert Verification.objects.get().sealed_code == ""
    assert check_verification(TO, last_verification_code(TO))


def test_expired_codes_are_swept_and_old_verifications_purged(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    age(start_verification(TO), 601)
    start_verification(OTHER)
    out = io.StringIO()
    call_command("smsverifications", stdout=out)
    assert "1 expired code" in out.getvalue()
    rows = dict(Verification.objects.values_list("phone", "status"))
    assert rows == {TO: "expired", OTHER: "pending"}
    assert Verification.objects.get(phone=TO).sealed_code == ""
    assert Verification.objects.get(phone=OTHER).sealed_code
    Verification.objects.filter(phone=TO).update(created_at=timezone.now() - timedelta(days=31))
    call_command("smsverifications", "--purge-days", "30", stdout=out)
    assert "1 verification deleted" in out.getvalue()
    assert list(Verification.objects.values_list("phone", flat=True)) == [OTHER]


def test_brand_domain_app_hash_and_french(settings):
    verification_settings(settings, BRAND="DemoShop", DOMAIN="demo.example", APP_HASH="FA+9qCX9VSu")
    start_verification(TO, language="fr")
    code = last_verification_code(TO)
    text = django_sms.outbox[-1].text
    assert text == (
        f"{code} est votre code DemoShop. Ne le partagez pas.\n\n@demo.example #{code} FA+9qCX9VSu"
    )
    assert encoding.analyze(text).encoding == "GSM-7"


def test_code_length_is_a_setting(settings):
    verification_settings(settings, CODE_LENGTH=8)
    verification = start_verification(TO)
    assert len(last_verification_code(TO)) == 8 == verification.code_length


def test_a_template_of_your_own(settings, tmp_path):
    (tmp_path / "mine.txt").write_text("Code {{ code }} for {{ purpose }}, valid {{ minutes }} min")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    verification_settings(settings, TEMPLATE="mine.txt", DOMAIN="x.example")
    start_verification(TO, purpose="login")
    code = last_verification_code(TO)
    text = django_sms.outbox[-1].text
    assert text == f"Code {code} for login, valid 10 min\n\n@x.example #{code}"


# -- checking --------------------------------------------------------------------------------------


def test_right_code_approves_once_and_a_replay_is_refused():
    start_verification(TO)
    code = last_verification_code(TO)

    result = check_verification(TO, code)
    assert result and result.status == "approved"
    assert Verification.objects.get().status == "approved"
    replay = check_verification(TO, code)
    assert (replay.approved, replay.status) == (False, "not_found")


def test_national_spelling_and_spaces_are_accepted():
    start_verification("06 12 34 56 78")
    code = last_verification_code(TO)
    assert check_verification("+33 6 12 34 56 78", f"{code[:3]} {code[3:]}")


def test_a_code_is_bound_to_its_purpose_and_number():
    start_verification(TO, purpose="signup")
    code = last_verification_code(TO)
    start_verification(OTHER, purpose="signup")

    assert check_verification(TO, code, purpose="login").status == "not_found"
    other = check_verification(OTHER, code, purpose="signup")
    assert not other  # OTHER's own code is another one
    assert check_verification(TO, code, purpose="signup")


def test_an_expired_code_is_refused():
    verification = start_verification(TO)
    code = last_verification_code(TO)
    age(verification, 601)

    result = check_verification(TO, code)
    assert (result.approved, result.status) == (False, "expired")
    assert Verification.objects.get().status == "expired"
    assert check_verification(TO, code).status == "expired"


def test_a_new_code_cancels_the_previous_one(settings):
    verification_settings(settings, RESEND_COOLDOWN=0)
    start_verification(TO)
    first = last_verification_code(TO)
    start_verification(TO)
    second = last_verification_code(TO)

    statuses = list(Verification.objects.order_by("created_at").values_list("status", flat=True))
    assert statuses == ["canceled", "pending"]
    if first != second:
        assert not check_verification(TO, first)
    assert check_verification(TO, second)


def test_five_wrong_codes_lock_the_code_even_for_the_right_one():
    start_verification(TO)
    code = last_verification_code(TO)
    lefts = [check_verification(TO, wrong(code)).attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    last = check_verification(TO, wrong(code))
    assert (last.status, last.attempts_left) == ("max_attempts_reached", 0)

    assert check_verification(TO, code).status == "max_attempts_reached"
    assert Verification.objects.get().failed_checks == 5


def test_brute_force_script_until_locked(settings):
    """An attacker asks for codes and guesses until refused: the guesses are bounded."""
    verification_settings(settings, RESEND_COOLDOWN=0, NUMBER_LIMITS=[[100, 600]])
    guesses = 0
    starts = 0
    refused = None
    candidate = 0
    for _ in range(50):
        try:
            start_verification(TO, purpose="login")
        except VerificationRateLimited as exc:
            refused = exc
            break
        starts += 1
        while True:
            result = check_verification(TO, f"{candidate:06d}", purpose="login")
            candidate += 1
            if result.approved:  # pragma: no cover - one chance in 10**5
                pytest.fail("guessed")
            guesses += 1
            if result.status != "pending":
                break
    # 5 wrong checks per code, 10 per number and purpose in a series: 2 codes, then refused.
    assert (starts, guesses) == (2, 10)
    assert refused is not None and refused.scope == "failures"
    assert 590 <= refused.retry_after <= 600
    assert Verification.objects.filter(phone=TO).count() == 2


def test_a_new_code_does_not_reset_the_failures(settings):
    verification_settings(settings, RESEND_COOLDOWN=0)
    start_verification(TO)
    for _ in range(4):
        check_verification(TO, "000000" if last_verification_code(TO) != "000000" else "111111")
    start_verification(TO)
    second = Verification.objects.order_by("-created_at").first()
    assert (second.failures_before, second.failed_checks) == (4, 0)
    # Per code: 5 more; per number: 10 - 4 = 6: the per-code limit comes first.
    code = last_verification_code(TO)
    assert check_verification(TO, wrong(code)).attempts_left == 4


def test_the_failure_series_ends_after_its_window(settings):
    verification_settings(settings, RESEND_COOLDOWN=0)
    for _ in range(2):
        start_verification(TO)
        code = last_verification_code(TO)
        for _ in range(5):
            check_verification(TO, wrong(code))
    with pytest.raises(VerificationRateLimited):
        start_verification(TO)
    Verification.objects.update(failures_since=timezone.now() - timedelta(seconds=601))
    start_verification(TO)
    assert Verification.objects.order_by("-created_at").first().failures_before == 0
    assert check_verification(TO, last_verification_code(TO))


def test_an_approval_ends_the_failure_series(settings):
    verification_settings(settings, RESEND_COOLDOWN=0)
    start_verification(TO)
    code = last_verification_code(TO)
    check_verification(TO, wrong(code))
    assert check_verification(TO, code)
    start_verification(TO)
    assert Verification.objects.order_by("-created_at").first().failures_before == 0


def test_a_check_without_any_start_or_with_an_invalid_number():
    assert check_verification(TO, "123456").status == "not_found"
    assert check_verification("12", "123456").status == "not_found"


# -- sending limits --------------------------------------------------------------------------------


def test_resend_cooldown():
    start_verification(TO)
    with pytest.raises(VerificationRateLimited) as info:
        start_verification(TO)
    assert info.value.scope == "cooldown" and 29 <= info.value.retry_after <= 30
    assert Verification.objects.count() == 1 and len(django_sms.outbox) == 1


def test_five_codes_per_number_per_ten_minutes(settings):
    verification_settings(settings, RESEND_COOLDOWN=0)
    for _ in range(5):
        start_verification(TO)
    with pytest.raises(VerificationRateLimited) as info:
        start_verification(TO, purpose="other")
    assert info.value.scope == "number"
    for verification in Verification.objects.all():
        age(verification, 601)
    start_verification(TO)
    assert len(django_sms.outbox) == 6


@pytest.mark.parametrize(
    ("setting", "numbers", "scope"),
    [
        ("IP_LIMITS", ["+33612345678", "+33698765432", "+33612340000"], "ip"),
        ("PREFIX_LIMITS", ["+33612340001", "+33612340002", "+33612340003"], "prefix"),
    ],
)
def test_velocity_per_ip_and_per_prefix(settings, setting, numbers, scope):
    verification_settings(settings, **{setting: [[2, 3600]]})
    request = request_from("198.51.100.7")
    start_verification(numbers[0], request=request)
    start_verification(numbers[1], request=request)
    with pytest.raises(VerificationRateLimited) as info:
        start_verification(numbers[2], request=request)
    assert info.value.scope == scope


def test_velocity_per_country(settings):
    verification_settings(settings, COUNTRY_LIMITS={"FR": [[2, 3600]], "*": [[100, 3600]]})
    start_verification("+33612345678")
    start_verification("+33687654321")
    with pytest.raises(VerificationRateLimited) as info:
        start_verification("+33698765432")
    assert info.value.scope == "country"
    start_verification("+4915112345678")  # Germany: the "*" limit


def test_ip_header_behind_a_proxy(settings):
    verification_settings(settings, IP_HEADER="HTTP_X_FORWARDED_FOR")
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1",
                                    HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    assert start_verification(TO, request=request).ip == "203.0.113.9"


def test_denied_and_allowed_countries_are_respected(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": ["DE"]}
    with pytest.raises(CountryNotAllowed):
        start_verification("+4915112345678")
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": [],
                           "ALLOWED_COUNTRIES": ["BE"]}
    with pytest.raises(CountryNotAllowed):
        start_verification(TO)
    assert Verification.objects.count() == 0 and django_sms.outbox == []


def test_invalid_and_fixed_line_numbers_are_refused():
    with pytest.raises(InvalidRecipient):
        start_verification("12")
    with pytest.raises(InvalidRecipient):
        start_verification("+33123456789")  # a French fixed line


# -- no enumeration --------------------------------------------------------------------------------


def test_an_opted_out_number_gets_the_same_answer_and_nothing(settings):
    OptOut.objects.create(phone_number=OTHER)
    with Recorder(verification_started, verification_blocked) as signals:
        blocked = start_verification(OTHER)
    normal = start_verification(TO)

    assert django_sms.outbox and all(sms.to == TO for sms in django_sms.outbox)
    assert (blocked.status, blocked.block_reason) == ("pending", "opted_out")
    assert normal.block_reason == ""
    assert blocked.sealed_code == "" and Verification.objects.get(pk=blocked.pk).sealed_code == ""
    assert [c["reason"] for c in signals.of(verification_blocked)] == ["opted_out"]
    assert len(signals.of(verification_started)) == 1
    # Checks answer as for any number: wrong code, attempts left, then the lock-out.
    lefts = [check_verification(OTHER, "123456").attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    assert check_verification(OTHER, "123456").status == "max_attempts_reached"
    # And the limits apply the same way.
    with pytest.raises(VerificationRateLimited):
        start_verification(OTHER)


def test_a_blocked_verification_is_never_approved(monkeypatch):
    OptOut.objects.create(phone_number=TO)
    monkeypatch.setattr(code_module, "generate_code", lambda length: "424242")
    start_verification(TO)
    assert not check_verification(TO, "424242")


def test_start_and_check_take_comparable_time_whether_or_not_the_number_is_known(settings):
    """Blocked (opted-out) numbers and real sends: median times within a factor of 3."""
    verification_settings(settings, RESEND_COOLDOWN=0, NUMBER_LIMITS=[], PREFIX_LIMITS=[],
                          IP_LIMITS=[])
    blocked = [f"+3361111{i:04d}" for i in range(15)]
    sent = [f"+3362222{i:04d}" for i in range(15)]
    OptOut.objects.bulk_create([OptOut(phone_number=n) for n in blocked])

    def medians(action: Any) -> tuple[float, float]:
        # Interleaved, so that the machine's load weighs on both alike.
        times: dict[bool, list[float]] = {True: [], False: []}
        for pair in zip(blocked, sent, strict=True):
            for is_blocked, number in zip((True, False), pair, strict=True):
                started = time.perf_counter()
                action(number)
                times[is_blocked].append(time.perf_counter() - started)
        return statistics.median(times[True]), statistics.median(times[False])

    start_blocked, start_sent = medians(start_verification)
    check_blocked, check_sent = medians(lambda n: check_verification(n, "123456"))
    assert 1 / 3 < start_blocked / start_sent < 3, (start_blocked, start_sent)
    assert 1 / 3 < check_blocked / check_sent < 3, (check_blocked, check_sent)


# -- the conversion guard --------------------------------------------------------------------------


def pump(country_numbers: list[str], settings: Any) -> None:
    for number in country_numbers:
        verification = start_verification(number)
        age(verification, 300)


def test_the_conversion_guard_blocks_a_pumped_country_until_lifted(settings, admin_client):
    verification_settings(
        settings, RESEND_COOLDOWN=0, PREFIX_LIMITS=[], IP_LIMITS=[],
        CONVERSION_GUARD={"MIN_VERIFICATIONS": 10, "MAX_UNCONVERTED": 0.8, "EVERY": 0},
    )
    numbers = [f"+4915112{i:06d}" for i in range(10)]
    with Recorder(verification_blocked) as signals:
        pump(numbers[:9], settings)  # below the minimum volume: never blocked
        assert not CountryBlock.objects.exists()
        pump(numbers[9:], settings)
        assert not CountryBlock.objects.exists()  # the check runs at the next start
        blocked = start_verification("+4915199999999")
    block = CountryBlock.objects.get()
    assert block.country == "DE" and "10 of the 10 codes" in block.reason
    assert blocked.block_reason == "country_blocked"
    assert [(c["reason"], c["country"]) for c in signals.of(verification_blocked)] == [
        ("country_blocked", "DE"), ("conversion_guard", "DE")
    ]
    assert len(django_sms.outbox) == 10
    start_verification(TO)  # France is not affected
    assert len(django_sms.outbox) == 11

    response = admin_client.post(
        "/admin/django_sms/countryblock/",
        {"action": "lift_blocks", "_selected_action": [block.pk]},
    )
    assert response.status_code == 302
    block.refresh_from_db()
    assert block.lifted_at is not None and block.lifted_by == "admin"
    start_verification("+4915188888888")
    assert len(django_sms.outbox) == 12  # codes go again; older codes no longer count


def test_a_quiet_sites_first_users_are_never_blocked(settings):
    verification_settings(settings, RESEND_COOLDOWN=0)
    for i in range(20):  # well below the default minimum of 50
        age(start_verification(f"+33611{i:06d}"), 300)
    start_verification(TO)
    assert not CountryBlock.objects.exists()
    assert len(django_sms.outbox) == 21


# -- signals, wallets, async, testing helpers ------------------------------------------------------


def test_signals():
    with Recorder(verification_started, verification_approved, verification_failed) as rec:
        verification = start_verification(TO)
        code = last_verification_code(TO)
        check_verification(TO, wrong(code))
        check_verification(TO, code)
        check_verification(OTHER, code)
    assert [c["verification"] for c in rec.of(verification_started)] == [verification]
    assert [c["reason"] for c in rec.of(verification_failed)] == ["invalid_code", "not_found"]
    assert [c["verification"].pk for c in rec.of(verification_approved)] == [verification.pk]


def test_a_wallet_pays_for_the_code(settings, django_user_model):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "0.05"}}}
    wallet = get_or_create_wallet(django_user_model.objects.create(username="t"), "EUR")
    deposit(wallet, "1")
    verify(wallet)
    start_verification(TO, wallet=wallet)
    message = get_message_model().objects.get()
    assert (message.price, message.charge_status) == (Decimal("0.05"), "captured")
    assert LedgerEntry.objects.filter(wallet=wallet, kind="hold").count() == 1
    assert check_verification(TO, last_verification_code(TO))


def test_async_delivery_puts_the_code_in_the_worker(settings):
    """ASYNC: the task carries the message's id only; the worker unseals the code."""
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    start_verification(TO)
    message = get_message_model().objects.get()
    assert message.status == "delivered"
    assert message.text.startswith("******")
    assert check_verification(TO, last_verification_code(TO))


def test_a_queued_code_of_a_canceled_verification_is_never_sent(settings):
    """A worker that gets to an old code after a new one was asked for cancels it."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    verification_settings(settings, RESEND_COOLDOWN=0)
    start_verification(TO)
    start_verification(TO)
    first, second = get_message_model().objects.order_by("created_at")
    deliver.call(first.pk)  # what the worker runs
    deliver.call(second.pk)
    statuses = [m.status for m in get_message_model().objects.order_by("created_at")]
    assert statuses == ["canceled", "delivered"]
    assert len(django_sms.outbox) == 1
    assert check_verification(TO, last_verification_code(TO))


def test_an_admin_resend_of_a_code_message_sends_nothing():

    start_verification(TO)
    original = get_message_model().objects.get()
    again = SMS.from_message(original)
    again.idempotency_key = None
    (resent,) = send_messages([again], resent_from=original)
    assert resent.status == "canceled"
    assert len(django_sms.outbox) == 1


def test_the_pytest_fixture(verification_code):
    start_verification(TO)
    assert check_verification(TO, verification_code("06 12 34 56 78"))


def test_the_helper_says_what_was_sent_when_there_is_no_code():
    with pytest.raises(AssertionError, match="No verification code was sent to"):
        last_verification_code(TO)


class VerificationMixinTests(VerificationTestMixin, TransactionTestCase):
    def test_mixin(self) -> None:
        start_verification(TO)
        self.assertTrue(check_verification(TO, self.last_verification_code(TO)))


def test_the_http_log_never_shows_the_code(sms_sandbox, settings, caplog):
    creds = sms_sandbox.credentials
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.mailjet.SmsBackend",
            "OPTIONS": {"base_url": sms_sandbox.url, "token": creds.mailjet_token,
                        "debug": True},  # logs request and response bodies
        }
    }
    with caplog.at_level(logging.DEBUG, logger="django_sms.http"):
        start_verification(TO, request=request_from())
    (request,) = sms_sandbox.requests
    code = request.json["Text"][:6]
    assert code.isdigit() and request.json["Text"].endswith(f"#{code}")
    assert any("shop.example.com" in r.getMessage() for r in caplog.records)
    assert all(code not in r.getMessage() for r in caplog.records)
    message = get_message_model().objects.get()
    assert message.status == "accepted"
    for event in message.events.all():  # Mailjet echoes the text in its answer
        assert code not in str(event.raw)
    assert check_verification(TO, code)


@pytest.mark.django_db(transaction=True)
def test_through_the_vonage_sandbox_over_http_with_its_delivery_report(
    sms_sandbox, live_server, settings
):
    creds = sms_sandbox.credentials
    settings.SMS_BACKENDS = {
        "default": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {
                "base_url": sms_sandbox.url,
                "application_id": creds.vonage_application_id,
                "private_key": creds.vonage_private_key,
                "signature_secret": creds.vonage_signature_secret,
            },
        }
    }
    sms_sandbox.set_callback_url("vonage", f"{live_server.url}/sms/webhooks/default/status/")
    start_verification(TO, request=request_from())

    (request,) = sms_sandbox.requests
    text = request.json["text"]
    code = text.rsplit("#", 1)[1]
    assert text == (
        f"{code} is your shop.example.com code. Don't share it.\n\n@shop.example.com #{code}"
    )
    message = get_message_model().objects.get()
    assert message.status == "accepted" and code not in message.text
    sms_sandbox.callbacks.flush()  # the signed delivery reports reach the webhook
    message.refresh_from_db()
    assert message.status == "delivered"
    for event in message.events.all():
        assert code not in str(event.raw)
    assert check_verification(TO, code)


def test_system_checks(settings):
    def ids() -> set[str]:
        return {m.id for m in run_checks() if m.id and m.id.startswith("django_sms.")}

    assert not ids() & {"django_sms.E060", "django_sms.E061", "django_sms.E062",
                        "django_sms.W060"}
    verification_settings(settings, CODE_LENGTH=3, CODE_TTL=900, NUMBER_LIMITS=[5, 600],
                          COUNTRY_LIMITS={"*": [[0, 60]]}, TYPO=1)
    assert {"django_sms.E060", "django_sms.E061", "django_sms.E062", "django_sms.W060"} <= ids()


def test_a_code_that_could_not_be_sent_is_canceled(settings, django_user_model):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "PRICES": {"EUR": {"default": "2"}}}
    wallet = get_or_create_wallet(django_user_model.objects.create(username="poor"), "EUR")
    deposit(wallet, "1")  # less than one message
    verify(wallet)
    with pytest.raises(InsufficientFunds):
        start_verification(TO, wallet=wallet)
    verification = Verification.objects.get()
    assert (verification.status, verification.sealed_code) == ("canceled", "")
    assert django_sms.outbox == []


class VerificationMixinInTestCaseTests(VerificationTestMixin, TestCase):
    """The documented TestCase use: the send waits for the commit, captured here."""

    def test_mixin_with_captured_commit(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            start_verification(TO)
        self.assertTrue(check_verification(TO, self.last_verification_code(TO)))
