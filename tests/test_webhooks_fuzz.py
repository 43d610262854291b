"""Property-based fuzzing of the webhook endpoints: whatever arrives, never a 5xx.

Random methods, aliases, secrets, content types, headers, query strings and bodies — from
raw bytes to well-formed payloads with hostile values (NUL characters, lone surrogates, huge
numbers, wrong types) that pass verification and reach the parser and the storage. The test
client re-raises any exception a view lets escape, so a crash fails the test with its
traceback, and a 5xx answer fails the assertion.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_sms import send_sms

pytestmark = pytest.mark.django_db

SECRET = "fuzz-secret"

ALIASES = st.one_of(
    st.sampled_from(["hook", "default", "nope", "HOOK"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.é", min_size=1, max_size=12),
)
SECRET_SEGMENTS = st.one_of(st.just(""), st.just(SECRET), st.text(min_size=1, max_size=20))
METHODS = st.sampled_from(
    ["GET", "POST", "POST", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=utf-16",
        "application/json; charset=bogus",
        "application/vnd.provider+json",
        "text/json",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "multipart/form-data; boundary=fuzz",
        "multipart/form-data",
        "text/plain",
        "",
    ]
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "\ud800",
            "0.0333",
            "1e400",
            "NaN",
            "-1",
            "2026-01-01T00:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "x" * 300,
        ]
    ),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
VALID_STATUS_WORDS = st.sampled_from(
    ["submitted", "sent", "delivered", "failed", "rejected", "expired"]
)
STATUS_WORDS = st.one_of(VALID_STATUS_WORDS, SCALARS)


def optional_fields(ids):
    return {
        "id": st.one_of(st.sampled_from(ids), SCALARS),
        "ref": st.one_of(st.sampled_from(ids), SCALARS),
        "event_id": st.one_of(st.sampled_from(["e1", "e2", "e3"]), SCALARS),
        "cost": st.one_of(st.sampled_from(["0.05", "1e400", "-0", "12345678901234"]), SCALARS),
        "currency": SCALARS,
        "segments": st.one_of(st.sampled_from(["2", 10**9, -4]), SCALARS),
        "error": SCALARS,
        "error_text": SCALARS,
        "opted_out": SCALARS,
        "at": st.one_of(st.sampled_from(["2026-01-01T00:00:00+00:00", "2026-01-01"]), SCALARS),
        "to": SCALARS,
        "text": st.one_of(st.sampled_from(["STOP", "Arrêt", "start", "hello"]), SCALARS),
    }


def report(ids):
    """Any payload with the keys the test backend reads, each with hostile values."""
    return st.fixed_dictionaries(
        {},
        optional={
            **optional_fields(ids),
            "status": STATUS_WORDS,
            "from": st.one_of(st.sampled_from(["+33612345678", "33612345679"]), SCALARS),
            "events": st.lists(JSON_VALUES, max_size=3),
        },
    )


def status_report(ids):
    """A status report that mostly parses: it reaches matching, dedupe and storage."""
    # one_of() flattens nested one_of()s, so weights are given by repetition here.
    words = ["submitted", "sent", "delivered", "failed", "rejected", "expired"]
    optional = optional_fields(ids)
    optional["id"] = st.sampled_from([*ids, *ids, "unknown-id", "", 7, None])
    return st.fixed_dictionaries(
        {"status": st.sampled_from([*words, *words, *words, "lost", "", None, 3])},
        optional=optional,
    )


def inbound_report(ids):
    """An inbound SMS that mostly parses: it reaches storage and the keyword rules."""
    return st.fixed_dictionaries(
        {
            "from": st.one_of(
                st.sampled_from(["+33612345678", "33612345679", "0612345678"]), SCALARS
            )
        },
        optional=optional_fields(ids),
    )


def bodies(ids):
    as_json = st.one_of(report(ids), JSON_VALUES).map(lambda value: json.dumps(value).encode())
    as_form = report(ids).map(
        lambda value: urlencode({k: str(v) for k, v in value.items()}, errors="replace").encode()
    )
    return st.one_of(st.binary(max_size=200), as_json, as_form)


HEADERS = st.dictionaries(
    st.sampled_from(
        ["X-Test-Secret", "Authorization", "Accept", "X-Forwarded-Proto", "X-Anything"]
    ),
    st.one_of(
        st.just(SECRET),
        st.sampled_from(
            [
                "Basic Og==",
                "Basic !!!",
                "Bearer a.b.c",
                "Basic " + "A" * 50,
                "application/xml",
                "*/*",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    max_size=4,
)

QUERIES = report(["x"]).map(lambda value: {k: str(v) for k, v in value.items()})


@pytest.fixture
def hook_settings(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "hook": {"BACKEND": "tests.webhook_backend.SmsBackend", "OPTIONS": {"secrets": [SECRET]}},
    }


def sent_ids():
    message = send_sms("hello", to="+33612345678", using="hook")
    return [message.provider_message_id, str(message.reference), message.reference.hex]


FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def call(client, method, path, query, body, content_type, headers):
    if query:
        path += "?" + urlencode(query, errors="replace")
    return client.generic(method, path, data=body, content_type=content_type, headers=headers)


@pytest.mark.parametrize("kind", ["status", "inbound"])
def test_random_requests_never_get_a_5xx(hook_settings, kind):
    client = Client(enforce_csrf_checks=True)
    ids = sent_ids()

    @FUZZ
    @given(
        alias=ALIASES,
        secret=SECRET_SEGMENTS,
        method=METHODS,
        query=QUERIES,
        body=bodies(ids),
        content_type=CONTENT_TYPES,
        headers=HEADERS,
    )
    def fuzz(alias, secret, method, query, body, content_type, headers):
        segments = [quote(alias, safe="")] + ([quote(secret, safe="")] if secret else [])
        path = "/sms/webhooks/" + "/".join(segments) + f"/{kind}/"
        response = call(client, method, path, query, body, content_type, headers)
        assert response.status_code < 500, response.content

    fuzz()


@pytest.mark.parametrize("kind", ["status", "inbound"])
def test_well_formed_authenticated_requests_never_get_a_5xx(hook_settings, kind):
    """The same, always past verification: every example reaches the parser and storage."""
    client = Client()
    ids = sent_ids()

    payloads = status_report(ids) if kind == "status" else inbound_report(ids)

    @FUZZ
    @given(
        payload=payloads,
        as_form=st.booleans(),
        method=st.sampled_from(["GET", "POST"]),
    )
    def fuzz(payload, as_form, method):
        path = f"/sms/webhooks/hook/{kind}/"
        headers = {"X-Test-Secret": SECRET}
        if method == "GET":
            query = {k: str(v) for k, v in payload.items()}
            response = call(client, "GET", path, query, b"", "", headers)
        elif as_form:
            body = urlencode({k: str(v) for k, v in payload.items()}, errors="replace").encode()
            response = call(
                client, "POST", path, {}, body, "application/x-www-form-urlencoded", headers
            )
        else:
            response = call(
                client, "POST", path, {}, json.dumps(payload).encode(), "application/json", headers
            )
        assert response.status_code in (200, 400), response.content

    fuzz()
