"""``Authorization: Bearer <token>`` authentication, as Mailjet's SMS API does it."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from django_sms.exceptions import InvalidToken
from django_sms.models import AbstractAPIToken
from django_sms.tokens import authenticate

logger = logging.getLogger("django_sms")


class TokenUser:
    """``request.user`` for a request made with an API token.

    A token belongs to any kind of owner (a user, a team, a tenant), not necessarily to a
    Django user, so the request's user is this stand-in; the token is ``request.auth``.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, token: AbstractAPIToken) -> None:
        self.token = token
        self.pk = None

    def __str__(self) -> str:
        return f"API token {self.token.prefix}"


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticate with an API token sent as ``Authorization: Bearer <secret>``.

    Every failure (missing, malformed, unknown, revoked, expired) is the same 401 to the
    client, so nothing is revealed about which tokens exist; the reason is logged.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, AbstractAPIToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # -> NotAuthenticated, 401 with WWW-Authenticate
        if len(parts) != 2:
            raise AuthenticationFailed("Malformed Authorization header.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Malformed Authorization header.") from None
        try:
            token = authenticate(secret)
        except InvalidToken as exc:
            logger.info("API request refused: %s", exc.reason)
            raise AuthenticationFailed("Not authorised.") from None
        return TokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class HasAPIToken(BasePermission):
    """Only requests authenticated with an API token."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, AbstractAPIToken)
