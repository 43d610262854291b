"""Changelist parameters no database can store are answered as Django answers a bad lookup.

PostgreSQL refuses a NUL byte in a text parameter (``DataError``), so ``?country=%00`` was a
500 there. Every filter, the search box and the date drill-down of every model admin of the
app now get what Django's changelist gives invalid lookup parameters: a redirect to the
unfiltered list with ``?e=1``. The parameters are read from the changelists themselves, so
a filter added later is covered too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin

from django_sms.admin.changelist import SafeChangeList
from django_sms.models import APIToken, InboundMessage, LedgerEntry, OptOut, Wallet
from django_sms.models import get_message_model as message_model
from tests.test_admin_messages import make_message

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        any(
            hasattr(settings, name)
            for name in (
                "DJANGO_SMS_MESSAGE_MODEL",
                "DJANGO_SMS_WALLET_MODEL",
                "DJANGO_SMS_TOKEN_MODEL",
            )
        ),
        reason="the admins of the default models (see test_admin_swapped.py)",
    ),
]

#: Every model of the app with an admin: a model admin added later is covered at once.
MODELS = [
    model
    for model in apps.get_app_config("django_sms").get_models()
    if admin.site.is_registered(model)
]


def changelist_url(model: Any) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def parameters(client: Any, model: Any) -> set[str]:
    """Every query parameter the changelist of ``model`` reads: its filters' parameters,
    the search box and the date drill-down."""
    response = client.get(changelist_url(model))
    assert response.status_code == 200
    cl = response.context["cl"]
    names = {name for spec in cl.filter_specs for name in spec.expected_parameters()}
    if cl.search_fields:
        names.add("q")
    if cl.date_hierarchy:
        names |= {f"{cl.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    return names


@pytest.fixture
def settings_with_two_providers(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "polling": {"BACKEND": "tests.polling_backend.SmsBackend"},
    }


def test_every_changelist_of_the_app_checks_its_parameters():
    assert {message_model(), Wallet, LedgerEntry, APIToken, InboundMessage, OptOut} <= set(MODELS)
    for model in MODELS:
        model_admin = admin.site.get_model_admin(model)
        assert issubclass(model_admin.get_changelist(None), SafeChangeList), model


def test_the_filters_named_in_the_report_are_covered(admin_client, settings_with_two_providers):
    make_message()
    assert {"country", "provider", "backend_alias", "encoding", "status__exact", "q"} <= (
        parameters(admin_client, message_model())
    )
    assert "currency__exact" in parameters(admin_client, Wallet)
    assert "kind__exact" in parameters(admin_client, LedgerEntry)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
@pytest.mark.parametrize("value", ["\x00", "FR\x00", "\x00' OR 1=1"])
def test_a_nul_byte_in_any_parameter_redirects_with_e1(
    admin_client, settings_with_two_providers, model, value
):
    make_message()
    url = changelist_url(model)
    names = parameters(admin_client, model)
    assert names
    for name in sorted(names):
        response = admin_client.get(url, {name: value})
        assert (name, response.status_code) == (name, 302)
        assert response["Location"] == f"{url}?e=1"
        # Alongside a valid parameter too.
        response = admin_client.get(url, {"o": "1", name: value})
        assert (name, response.status_code) == (name, 302)


def test_the_redirect_target_is_the_unfiltered_list(admin_client):
    make_message()
    response = admin_client.get(changelist_url(message_model()), {"country": "\x00"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(f"{changelist_url(message_model())}?e=1", 302)]
    assert [m.to for m in response.context["cl"].result_list] == ["+33612345678"]


def test_ordinary_values_still_filter(admin_client, settings_with_two_providers):
    make_message(country="FR")
    make_message(to="+447400123456", country="GB")
    response = admin_client.get(changelist_url(message_model()), {"country": "GB"})
    assert response.status_code == 200
    assert [m.to for m in response.context["cl"].result_list] == ["+447400123456"]
