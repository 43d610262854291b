"""Request parsing and content negotiation for the API: JSON in, JSON out, always.

Mailjet's clients send JSON, but ``curl -d '{...}'`` without ``-H 'Content-Type:
application/json'`` labels it as a form: the body is read as JSON whatever its label, and
every answer is JSON whatever ``Accept`` asks for, so an error is never a 415 or a 406
nobody can read.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from django_sms.api.errors import MALFORMED_JSON, PAYLOAD_TOO_LARGE, MailjetError

#: Largest request body read (a 5-part text is under 2 KB; Mailjet's mj-0011 names a size).
MAX_BODY_BYTES = 1024 * 1024


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class MailjetJSONParser(BaseParser):
    """JSON with Mailjet's errors: ``mj-0002`` when malformed, ``mj-0011`` when too large."""

    media_type = "application/json"

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise MailjetError(400, PAYLOAD_TOO_LARGE, "Input payload must be less than 1MB.")
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "utf-8"
        try:
            return json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            reason = "the JSON is nested too deeply" if isinstance(exc, RecursionError) else exc
            raise MailjetError(400, MALFORMED_JSON, f"Malformed JSON: {reason}.") from None


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Always the first parser and the first renderer (both JSON), whatever the headers say."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type
