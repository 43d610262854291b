"""Masking credentials in what the HTTP layer logs or reports.

A :class:`Redactor` masks three kinds of secrets: headers by name (``Authorization``,
``X-Ovh-Signature``...), body fields and query parameters by name (``api_secret``,
``sig``...), and the backend's own credential values wherever they appear (a token in a URL
path, in an error text echoed by the provider). ``HttpBackend.redactor`` builds one from the
backend's ``secret_headers``, ``secret_fields`` and ``secret_options``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: Headers never logged in clear (lower case).
SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-ovh-signature",
        "x-ovh-consumer",
        "x-ovh-application",
        "x-api-key",
    }
)

#: Body fields and query parameters never logged in clear (lower case).
SECRET_FIELDS: frozenset[str] = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "api_secret",
        "api_key",
        "secret",
        "client_secret",
        "password",
        "private_key",
        "sig",
        "signature",
    }
)

#: Longest body logged, in characters.
MAX_LOGGED_BODY = 4000


@dataclass(frozen=True)
class Redactor:
    """Masks ``values`` anywhere, ``headers`` and ``fields`` by (lower-case) name."""

    values: tuple[str, ...] = ()
    headers: frozenset[str] = SECRET_HEADERS
    fields: frozenset[str] = SECRET_FIELDS

    @classmethod
    def for_values(cls, values: Iterable[str], *, headers: Iterable[str] = (),
                   fields: Iterable[str] = ()) -> Redactor:
        # Longest first, so a secret containing another is masked whole. Values shorter
        # than 4 characters would mask innocent text everywhere.
        kept = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)
        return cls(tuple(kept), SECRET_HEADERS | frozenset(headers),
                   SECRET_FIELDS | frozenset(fields))

    def text(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***``."""
        for value in self.values:
            text = text.replace(value, MASK)
        return text

    def url(self, url: str | None) -> str:
        """``url`` with secret query parameters and secret values masked."""
        if not url:
            return ""
        parts = urlsplit(url)
        if parts.query:
            query = self._form(parts.query)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        return self.text(url)

    def header_map(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers with secret ones masked (keeping an auth scheme: ``Bearer ***``)."""
        result = {}
        for name, value in headers.items():
            if name.lower() in self.headers:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                result[name] = f"{scheme} {MASK}" if scheme else MASK
            else:
                result[name] = self.text(value)
        return result

    def body(self, body: bytes | str | None, content_type: str) -> str:
        """A request or response body for a log line: secret fields of JSON and form bodies
        masked, secret values masked anywhere, truncated."""
        if body is None or body == b"":
            return ""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if "json" in content_type:
            with contextlib.suppress(ValueError):
                text = json.dumps(self._mask(json.loads(text)), ensure_ascii=False)
        elif "x-www-form-urlencoded" in content_type:
            text = self._form(text)
        text = self.text(text)
        if len(text) > MAX_LOGGED_BODY:
            return text[:MAX_LOGGED_BODY] + "...(truncated)"
        return text

    def _form(self, encoded: str) -> str:
        pairs = parse_qsl(encoded, keep_blank_values=True)
        return urlencode([(k, MASK if k.lower() in self.fields else v) for k, v in pairs],
                         safe="*")

    def _mask(self, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: MASK if str(k).lower() in self.fields else self._mask(v)
                    for k, v in data.items()}
        if isinstance(data, list):
            return [self._mask(v) for v in data]
        return data
