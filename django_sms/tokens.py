"""API tokens (DESIGN §9): random secrets with a visible prefix; only a digest is stored.

A secret looks like ``smsk_3f9a1c2b_Jw7…`` (43 URL-safe characters at the end): ``smsk`` is
``DJANGO_SMS["TOKEN_PREFIX"]``, the 8 hex characters make the stored, unique and displayable
``prefix`` (``smsk_3f9a1c2b``) used to find the token, and the whole secret's SHA-256 digest is
compared in constant time. The random part carries 256 bits, so a fast hash is enough: there
is nothing to brute-force the way a password is. The full secret is returned once, by
:func:`create_token`, and can never be recovered.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, models
from django.utils import timezone

from django_sms.conf import sms_settings
from django_sms.exceptions import ConfigurationError, InvalidToken
from django_sms.models import AbstractAPIToken, get_token_model
from django_sms.owners import owner_filter
from django_sms.transactions import atomic_for

__all__ = ["authenticate", "create_token", "digest", "revoke"]

#: ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_RANDOM_LENGTH = 43  # secrets.token_urlsafe(32)
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}_[0-9a-f]{8}")
_RANDOM = re.compile(r"[A-Za-z0-9_-]{43}")
_PREFIX_SETTING = re.compile(r"[a-z][a-z0-9]{0,15}")


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored for a secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def valid_token_prefix(value: object) -> bool:
    """Whether ``value`` can be ``TOKEN_PREFIX``: 1-16 lowercase letters or digits, starting
    with a letter (so a secret is easy to recognise in logs and by secret scanners)."""
    return isinstance(value, str) and bool(_PREFIX_SETTING.fullmatch(value))


def split_secret(secret: str) -> tuple[str, str] | None:
    """``(prefix, random part)`` of a well-formed secret, else None.

    Parsed from the end (the random part has a fixed length and may contain ``_``), so tokens
    keep working after ``TOKEN_PREFIX`` is changed.
    """
    if not isinstance(secret, str) or len(secret) > 100:
        return None
    prefix, random_part = secret[: -_RANDOM_LENGTH - 1], secret[-_RANDOM_LENGTH:]
    if secret[-_RANDOM_LENGTH - 1 : -_RANDOM_LENGTH] != "_":
        return None
    if not (_PREFIX.fullmatch(prefix) and _RANDOM.fullmatch(random_part)):
        return None
    return prefix, random_part


def create_token(
    owner: models.Model,
    *,
    name: str = "",
    expires_at: datetime | None = None,
    created_by: Any = None,
) -> tuple[AbstractAPIToken, str]:
    """Create a token for ``owner`` (any saved model instance); return it and its secret.

    The secret is returned here and nowhere else: only its prefix and digest are stored.
    ``expires_at`` (aware datetime) makes it stop working at that time.
    """
    label = sms_settings.TOKEN_PREFIX
    if not valid_token_prefix(label):
        raise ConfigurationError(
            f"DJANGO_SMS['TOKEN_PREFIX'] must be 1-16 lowercase letters or digits starting with "
            f"a letter, not {label!r}."
        )
    model = get_token_model()
    owner_fields = owner_filter(owner)
    for _attempt in range(5):
        prefix = f"{label}_{secrets.token_hex(4)}"
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
        token = model(
            **owner_fields,
            name=name,
            prefix=prefix,
            digest=digest(secret),
            expires_at=expires_at,
            created_by=created_by,
        )
        try:
            with atomic_for(token):
                token.save(force_insert=True)
        except IntegrityError:
            # 8 hex characters: a collision with an existing prefix is rare but possible.
            continue
        return token, secret
    raise IntegrityError("Could not find a free token prefix after 5 attempts.")


def authenticate(secret: str) -> AbstractAPIToken:
    """The token whose secret is ``secret``; :class:`InvalidToken` saying why not.

    Looks the token up by its prefix, compares digests in constant time, refuses revoked and
    expired tokens, and records ``last_used_at`` (at most once a minute, so a busy client does
    not cost a write per request).
    """
    parts = split_secret(secret)
    if parts is None:
        raise InvalidToken("malformed secret")
    prefix = parts[0]
    token = get_token_model()._default_manager.filter(prefix=prefix).first()
    # Compare even for an unknown prefix, so both paths do the same work.
    matches = hmac.compare_digest(digest(secret), token.digest if token is not None else "")
    if token is None or not matches:
        raise InvalidToken(f"no token matches the secret with prefix {prefix}")
    now = timezone.now()
    if token.revoked_at is not None:
        raise InvalidToken(f"token {prefix} was revoked at {token.revoked_at:%Y-%m-%d %H:%M %Z}")
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidToken(f"token {prefix} expired at {token.expires_at:%Y-%m-%d %H:%M %Z}")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        type(token)._default_manager.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke(token: AbstractAPIToken) -> AbstractAPIToken:
    """Make ``token`` stop working now. Idempotent: the first revocation time is kept."""
    now = timezone.now()
    type(token)._default_manager.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    return token


def find_token(prefix_or_secret: str) -> AbstractAPIToken:
    """The token named by its prefix (``smsk_3f9a1c2b``) or its full secret, for operators.

    Raises :class:`InvalidToken` when none matches. A full secret is not verified here: use
    :func:`authenticate` for that.
    """
    value = (prefix_or_secret or "").strip()
    parts = split_secret(value)
    prefix = parts[0] if parts else value.rstrip("_…")
    token = get_token_model()._default_manager.filter(prefix=prefix).first()
    if token is None:
        raise InvalidToken(f"no token has the prefix {prefix!r}")
    return token
