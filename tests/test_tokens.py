"""API tokens: shown once, stored as a digest, found by prefix, revocable, expiring."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from django_sms import tokens
from django_sms.exceptions import ConfigurationError, InvalidToken
from django_sms.models import get_token_model
from django_sms.tokens import authenticate, create_token, find_token, revoke

APIToken = get_token_model()  # swapped.CustomToken in the swapped run

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"smsk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username="tenant")


def test_a_new_token_returns_its_secret_once_and_stores_only_a_digest(owner):
    token, secret = create_token(owner, name="shop backend")

    match = SECRET.fullmatch(secret)
    assert match, secret
    assert token.prefix == f"smsk_{match[1]}"
    assert str(token) == f"{token.prefix}… (shop backend)"
    assert token.owner == owner
    # Nothing the database holds for the token contains its secret or its random part.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {APIToken._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert secret not in stored
    assert match[2] not in stored
    assert token.digest in stored and len(token.digest) == 64


def test_secrets_are_unique(owner):
    secrets = {create_token(owner)[1] for _ in range(20)}
    assert len(secrets) == 20


def test_authenticate_finds_the_token(owner):
    token, secret = create_token(owner)
    assert authenticate(secret).pk == token.pk


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"), "no token matches"),
        (lambda s: "smsk_00000000_" + s[-43:], "no token matches"),
        (lambda s: s[:-2], "malformed"),
        (lambda s: "", "malformed"),
        (lambda s: s + "x", "malformed"),
        (lambda s: s.replace("_", "-", 1), "malformed"),
    ],
)
def test_wrong_secrets_are_refused(owner, mangle, reason):
    _, secret = create_token(owner)
    with pytest.raises(InvalidToken, match=reason):
        authenticate(mangle(secret))


def test_revoked_tokens_are_refused(owner):
    token, secret = create_token(owner)
    revoke(token)
    first = token.revoked_at
    assert first is not None
    revoke(token)
    assert token.revoked_at == first  # idempotent
    with pytest.raises(InvalidToken, match="was revoked"):
        authenticate(secret)


def test_expired_tokens_are_refused(owner):
    token, secret = create_token(owner, expires_at=timezone.now() + timedelta(hours=1))
    assert authenticate(secret).pk == token.pk
    APIToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidToken, match="expired"):
        authenticate(secret)


def test_last_used_at_is_written_at_most_once_a_minute(owner, django_assert_num_queries):
    token, secret = create_token(owner)
    assert token.last_used_at is None
    with django_assert_num_queries(2):  # lookup + last_used_at
        authenticate(secret)
    with django_assert_num_queries(1):  # lookup only
        authenticate(secret)
    token.refresh_from_db()
    assert token.last_used_at is not None
    APIToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(2):
        authenticate(secret)


def test_token_prefix_setting(owner, settings):
    _, old_secret = create_token(owner)
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "TOKEN_PREFIX": "acme"}
    token, secret = create_token(owner)
    assert secret.startswith("acme_") and token.prefix.startswith("acme_")
    assert authenticate(old_secret)  # tokens made before the change keep working
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "TOKEN_PREFIX": "Not OK"}
    with pytest.raises(ConfigurationError, match="TOKEN_PREFIX"):
        create_token(owner)


def test_a_prefix_collision_is_retried(owner, monkeypatch):
    first, _ = create_token(owner)
    hexes = iter([first.prefix.split("_")[1], "abcdef01"])
    monkeypatch.setattr(tokens.secrets, "token_hex", lambda n: next(hexes))
    token, secret = create_token(owner)
    assert token.prefix == "smsk_abcdef01"
    assert authenticate(secret).pk == token.pk


def test_find_token_by_prefix_or_secret(owner):
    token, secret = create_token(owner)
    assert find_token(token.prefix).pk == token.pk
    assert find_token(secret).pk == token.pk
    assert find_token(f"{token.prefix}…").pk == token.pk
    with pytest.raises(InvalidToken, match="no token has the prefix 'smsk_nope'"):
        find_token("smsk_nope")
