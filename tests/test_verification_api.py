"""The verification endpoints (DRF), the server-rendered view, the admin and the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

import django_sms
from django_sms.models import CountryBlock, OptOut, Verification, get_message_model
from django_sms.testing import last_verification_code

pytestmark = pytest.mark.django_db

TO = "+33612345678"
START = "/sms/verify/start"
CHECK = "/sms/verify/check"


@pytest.fixture(autouse=True)
def _empty_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def post(client: Any, url: str, body: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def test_start_then_check(client):
    response = post(client, START, {"to": "06 12 34 56 78", "purpose": "signup"},
                    HTTP_HOST="shop.example.com")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["to"] == TO and body["purpose"] == "signup"
    assert body["code_length"] == 6 and body["resend_after"] == 30
    assert "expires_at" in body and "id" not in body
    code = last_verification_code(TO)
    assert django_sms.outbox[-1].text.endswith(f"@shop.example.com #{code}")

    wrong = post(client, CHECK, {"to": TO, "code": "abc", "purpose": "signup"})
    assert wrong.status_code == 400
    assert wrong.json() == {"code": "invalid_code",
                            "detail": "The code is not correct or no longer valid."}
    right = post(client, CHECK, {"to": TO, "code": code, "purpose": "signup"})
    assert right.status_code == 200
    assert right.json() == {"status": "approved", "to": TO, "purpose": "signup"}
    replay = post(client, CHECK, {"to": TO, "code": code, "purpose": "signup"})
    assert (replay.status_code, replay.json()) == (wrong.status_code, wrong.json())


def test_a_check_tells_nobody_whether_a_code_is_pending(client, settings):
    # A wrong code for a number that is verifying, a number that never asked for one, and an
    # expired code answer alike: probing numbers shows nobody who is verifying right now.
    post(client, START, {"to": TO})
    pending = post(client, CHECK, {"to": TO, "code": "000000"})
    unknown = post(client, CHECK, {"to": "+33611111111", "code": "000000"})
    assert (pending.status_code, pending.json()) == (unknown.status_code, unknown.json())
    Verification.objects.filter(phone=TO).update(expires_at=timezone.now())
    expired = post(client, CHECK, {"to": TO, "code": last_verification_code(TO)})
    assert (expired.status_code, expired.json()) == (unknown.status_code, unknown.json())


def test_opted_out_numbers_get_the_same_answers(client):
    OptOut.objects.create(phone_number="+33698765432")
    normal = post(client, START, {"to": TO})
    blocked = post(client, START, {"to": "+33698765432"})
    assert normal.status_code == blocked.status_code == 202
    strip = lambda body: {k: v for k, v in body.items() if k not in ("to", "expires_at")}  # noqa: E731
    assert strip(normal.json()) == strip(blocked.json())
    assert [sms.to for sms in django_sms.outbox] == [TO]
    answers = [post(client, CHECK, {"to": n, "code": "000000"}) for n in (TO, "+33698765432")]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].json() == answers[1].json()


def test_the_lock_out(client):
    post(client, START, {"to": TO})
    code = last_verification_code(TO)
    bad = "111111" if code != "111111" else "222222"
    statuses = [post(client, CHECK, {"to": TO, "code": bad}).status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    locked = post(client, CHECK, {"to": TO, "code": code})
    assert (locked.status_code, locked.json()["code"]) == (429, "max_attempts_reached")


def test_errors_have_stable_codes(client, settings):
    invalid = post(client, START, {"to": "12"})
    assert invalid.status_code == 400
    assert invalid.json() == {"code": "invalid_number", "reason": "too_short",
                              "detail": "This phone number is too short."}
    missing = post(client, START, {})
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid_request")
    assert "to" in missing.json()["fields"]
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "DENIED_COUNTRIES": ["DE"]}
    denied = post(client, START, {"to": "+4915112345678"})
    assert (denied.status_code, denied.json()["code"]) == (400, "country_not_allowed")
    post(client, START, {"to": TO})
    again = post(client, START, {"to": TO})
    assert again.status_code == 429
    assert again.json()["code"] == "rate_limited" and again.json()["scope"] == "cooldown"
    assert 0 < int(again["Retry-After"]) <= 30 and again.json()["retry_after"] <= 30
    expired_row = Verification.objects.get()
    Verification.objects.filter(pk=expired_row.pk).update(expires_at=expired_row.created_at)
    expired = post(client, CHECK, {"to": TO, "code": "123456"})
    assert (expired.status_code, expired.json()["code"]) == (400, "invalid_code")
    method = client.get(START)
    assert method.status_code == 405 and method.json()["code"] == "method_not_allowed"


def test_endpoints_are_throttled_per_ip(client, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS,
                           "VERIFICATION": {"API_THROTTLE_RATES": {"check": "3/minute"}}}
    answers = [post(client, CHECK, {"to": TO, "code": "123456"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1].json()["code"] == "rate_limited" and "Retry-After" in answers[-1]
    other_ip = post(client, CHECK, {"to": TO, "code": "123456"}, REMOTE_ADDR="192.0.2.99")
    assert other_ip.status_code == 400


def test_the_schema_describes_the_endpoints(client, tmp_path):
    document = client.get("/sms/verify/schema").json()
    assert set(document["paths"]) == {"/sms/verify/start", "/sms/verify/check"}
    assert document["paths"]["/sms/verify/check"]["post"]["operationId"] == "verification_check"
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out),
                 "--custom-settings", "django_sms.verification.schema.SCHEMA_SETTINGS")
    assert "/sms/verify/start" in out.read_text()


# -- the server-rendered view --------------------------------------------------------------------


def test_the_form_flow(client):
    page = client.get("/sms/verify/")
    assert page.status_code == 200 and b'name="phone"' in page.content
    sent = client.post("/sms/verify/", {"action": "start", "phone": "06 12 34 56 78"})
    assert b"We sent a code to +33612345678." in sent.content
    assert b'autocomplete="one-time-code"' in sent.content
    code = last_verification_code(TO)
    bad = "111111" if code != "111111" else "222222"
    wrong = client.post("/sms/verify/", {"action": "check", "code": bad})
    assert b"This code is not correct or no longer valid." in wrong.content
    done = client.post("/sms/verify/", {"action": "check", "code": code})
    assert b"+33612345678 is verified." in done.content
    assert client.session["django_sms_verified_phone"]["phone"] == TO


def test_the_form_lock_out_resend_and_french(client, settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "VERIFICATION": {"RESEND_COOLDOWN": 0}}
    client.post("/sms/verify/", {"phone": TO})
    code = last_verification_code(TO)
    bad = "111111" if code != "111111" else "222222"
    for _ in range(5):
        page = client.post("/sms/verify/", {"action": "check", "code": bad})
    assert b"Too many wrong codes." in page.content and b"This code is locked." in page.content
    resent = client.post("/sms/verify/", {"action": "resend"})
    assert b"We sent a code to" in resent.content
    assert len(django_sms.outbox) == 2
    client.get("/sms/verify/?restart")
    french = client.post("/sms/verify/", {"phone": "12"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert b"This phone number is too short." in french.content
    assert b"REQUIRE_MOBILE" not in french.content


def test_the_form_says_how_long_to_wait(client):
    client.post("/sms/verify/", {"phone": TO})
    client.get("/sms/verify/?restart")
    again = client.post("/sms/verify/", {"phone": TO})
    assert b"before asking for another code." in again.content
    assert b"DJANGO_SMS" not in again.content


# -- admin -----------------------------------------------------------------------------------------


def test_the_admin_never_shows_the_code(admin_client):
    post(admin_client, START, {"to": TO})
    code = last_verification_code(TO)
    verification = Verification.objects.get()
    listing = admin_client.get("/admin/django_sms/verification/")
    detail = admin_client.get(f"/admin/django_sms/verification/{verification.pk}/change/")
    assert listing.status_code == detail.status_code == 200
    for page in (listing, detail):
        assert code.encode() not in page.content
        assert verification.code_mac.encode() not in page.content
    assert b"+33612345678" in listing.content and b"127.0.0.1" in detail.content
    model = get_message_model()
    if admin.site.is_registered(model):  # not with a swapped model of the tests' own
        opts = model._meta
        message = admin_client.get(
            f"/admin/{opts.app_label}/{opts.model_name}/{verification.message_id}/change/"
        )
        assert message.status_code == 200 and code.encode() not in message.content


def test_the_funnel(admin_client):
    post(admin_client, START, {"to": TO})
    post(admin_client, CHECK, {"to": TO, "code": last_verification_code(TO)})
    OptOut.objects.create(phone_number="+33698765432")
    post(admin_client, START, {"to": "+33698765432"})
    CountryBlock.objects.create(country="DE", reason="pumped")
    page = admin_client.get("/admin/django_sms/verification/funnel/")
    assert page.status_code == 200
    html = page.content.decode()
    # started 2, sent 1, delivered 1 (locmem), approved 1, 100 %.
    assert "<td>FR</td><td>2</td>\n        <td>1</td><td>1</td><td>1</td><td>100%</td>" in html
    assert "Verifications to DE are blocked" in html
    listing = admin_client.get("/admin/django_sms/verification/")
    assert b"/admin/django_sms/verification/funnel/" in listing.content


def test_the_form_speaks_french(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"]
    settings.LANGUAGES = [("en", "English"), ("fr", "French")]
    french = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    refused = client.post("/sms/verify/", {"phone": "12"}, **french).content.decode()
    assert "Ce numéro de téléphone est trop court." in refused
    sent = client.post("/sms/verify/", {"phone": TO}, **french).content.decode()
    assert "Nous avons envoyé un code au +33612345678." in sent
    assert django_sms.outbox[-1].text.startswith(f"{last_verification_code(TO)} est votre code")
    code = last_verification_code(TO)
    bad = "111111" if code != "111111" else "222222"
    wrong = client.post("/sms/verify/", {"action": "check", "code": bad}, **french)
    html = wrong.content.decode()
    assert "Ce code n&#x27;est pas correct ou n&#x27;est plus valable." in html
