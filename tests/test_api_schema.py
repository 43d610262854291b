"""The API's OpenAPI schema: valid with --fail-on-warn, and true to the implementation
(schemathesis generates requests from it, valid and invalid, and checks every answer)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from django_sms.models import LedgerEntry
from django_sms.tokens import create_token
from django_sms.wallets import deposit, get_or_create_wallet, ledger_balance, verify

SCHEMA_URL = "/sms/v4/schema"


def test_schema_validates_with_fail_on_warn(tmp_path):
    path = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format=openapi-json",
        "--custom-settings=django_sms.api.schema.SCHEMA_SETTINGS",
        f"--file={path}",
    )
    schema = json.loads(path.read_text())
    assert set(schema["paths"]) == {
        "/sms/v4/sms-send",
        "/sms/v4/sms",
        "/sms/v4/sms/{message_id}",
        "/sms/v4/sms/count",
        "/sms/v4/sms/export",
        "/sms/v4/sms/export/{export_id}",
    }
    assert schema["components"]["securitySchemes"]["smsApiToken"]["scheme"] == "bearer"


def test_schema_view_serves_only_the_api(client):
    schema = client.get(SCHEMA_URL).json()
    assert set(schema["paths"]) == {
        "/sms/v4/sms-send",
        "/sms/v4/sms",
        "/sms/v4/sms/{message_id}",
        "/sms/v4/sms/count",
        "/sms/v4/sms/export",
        "/sms/v4/sms/export/{export_id}",
    }
    send = schema["paths"]["/sms/v4/sms-send"]["post"]
    assert send["security"] == [{"smsApiToken": []}]
    body = schema["components"]["schemas"]["SendSMSRequest"]
    assert sorted(body["required"]) == ["From", "Text", "To"]


@pytest.fixture
def keep_db_connection():
    """The WSGI handler closes connections after each request (CONN_MAX_AGE=0), which would
    close the test's transaction on PostgreSQL; Django's test client disconnects the same
    receivers for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def paying_token(keep_db_connection, django_user_model, settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"default": "0.07"}},
        "API_THROTTLE_RATE": None,
    }
    cache.clear()
    owner = django_user_model.objects.create(username="schemathesis")
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "100000")
    verify(wallet)
    return wallet, create_token(owner)[1]


# Loaded at collection (pytest-django has set Django up by then); serving the schema needs
# no database.
schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, get_wsgi_application())


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, paying_token):
    wallet, secret = paying_token
    # A schema-valid value can still be refused (a well-formed but unassigned number): a 400
    # with a reason, covered by tests/test_api.py.
    excluded = [schemathesis.checks.positive_data_acceptance]
    if case.path in ("/sms/v4/sms", "/sms/v4/sms/count"):
        # Unknown query parameters are ignored, as Mailjet does, so that clients sending
        # filters we do not implement still work; schemathesis counts them as invalid input.
        excluded.append(schemathesis.checks.negative_data_rejection)
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, excluded_checks=excluded)
    wallet.refresh_from_db()
    assert wallet.balance == ledger_balance(wallet) <= Decimal("100000")
    assert not LedgerEntry.objects.filter(kind="hold", message__isnull=True).exists()


@pytest.mark.django_db
def test_the_api_enforces_the_lengths_its_schema_publishes(client, paying_token):
    """The serializer is both the schema and the validator: the limits are written once."""
    _, secret = paying_token
    body = client.get(SCHEMA_URL).json()["components"]["schemas"]["SendSMSRequest"]["properties"]
    valid = {"From": "MJPilot", "To": "+33600000000", "Text": "hi"}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    for name in ("From", "To", "Text"):
        minimum, maximum = body[name]["minLength"], body[name]["maxLength"]
        for length, code in ((minimum - 1, "mj-0020"), (maximum + 1, "mj-0006")):
            value = ("+" + "3" * (length - 1)) if name == "To" and length else "a" * length
            answer = client.post(
                "/sms/v4/sms-send", {**valid, name: value}, content_type="application/json", **auth
            ).json()
            assert (answer["ErrorCode"], answer["ErrorRelatedTo"]) == (code, [name]), answer
            limit = minimum if code == "mj-0020" else maximum
            assert answer["ErrorMessage"].endswith(f"allowed - {max(limit, 1)}.")
