"""Recording SMS received from handsets, once, and acting on opt-out keywords.

:func:`record_inbound` stores an :class:`~django_sms.backends.base.InboundSMS` as an
:class:`~django_sms.models.InboundMessage` (unique per provider and provider message id, so
a retried callback is stored once), maintains the opt-out list when the text is a keyword
(``STOP``, ``START``... see ``django_sms.optouts``), and sends ``inbound_received`` after
the transaction commits, with ``send_robust``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError

from django_sms.backends.base import BaseSmsBackend, InboundSMS
from django_sms.models import InboundMessage, OptOut
from django_sms.optouts import (
    add_opt_out,
    keyword_action,
    normalize_number,
    remove_opt_out,
    scope_for,
)
from django_sms.signals import inbound_received
from django_sms.storable import storable_datetime, storable_json, storable_text
from django_sms.transactions import after_commit, atomic_for

logger = logging.getLogger("django_sms.inbound")

__all__ = ["RecordedInbound", "record_inbound"]


@dataclass
class RecordedInbound:
    """What happened to one inbound SMS.

    ``created`` is False for a duplicate (``inbound`` is then the row stored the first time).
    ``opt_out`` is ``"opt-out"``, ``"opt-in"`` or ``""``: what the keyword did (only for a
    new message).
    """

    inbound: InboundMessage
    created: bool
    opt_out: str = ""


def record_inbound(backend: BaseSmsBackend, sms: InboundSMS) -> RecordedInbound:
    """Store ``sms`` received through ``backend`` once; act on its keyword; signal it.

    Numbers are stored in E.164 (``+447700900000``) whatever form the provider used, so
    they compare with the recipients of sent messages and with the opt-out list.
    """
    provider = storable_text(backend.provider_name, 32)
    from_number = storable_text(normalize_number(sms.from_number), 20)
    to_number = storable_text(normalize_number(sms.to_number), 20)
    text = storable_text(sms.text)
    action, word = keyword_action(text)
    if sms.opt_out in ("opt-out", "opt-in"):
        # The provider matched its own keyword list (Twilio's OptOutType): it decides.
        action, word = sms.opt_out, storable_text(sms.keyword, 32) or word
    provider_message_id = storable_text(sms.provider_message_id, 100) or _fingerprint(
        from_number, to_number, text, sms
    )
    row = InboundMessage(
        backend_alias=storable_text(backend.alias, 64),
        provider=provider,
        provider_message_id=provider_message_id,
        from_number=from_number,
        to_number=to_number,
        text=text,
        keyword=storable_text(sms.keyword or word, 32),
        occurred_at=storable_datetime(sms.occurred_at),
        raw=storable_json(sms.raw) if sms.raw is not None else None,
    )
    inserted = False
    try:
        with atomic_for(InboundMessage):
            row.save(force_insert=True)
            inserted = True
            if action:
                _apply_keyword(backend, action, word, from_number, to_number)
    except IntegrityError:
        if inserted:
            raise
        existing = InboundMessage.objects.get(
            provider=provider, provider_message_id=provider_message_id
        )
        return RecordedInbound(existing, created=False)
    _announce(row)
    return RecordedInbound(row, created=True, opt_out=action)


def _fingerprint(from_number: str, to_number: str, text: str, sms: InboundSMS) -> str:
    """An id for an inbound SMS the provider gave none: the same callback, the same id."""
    occurred_at = storable_datetime(sms.occurred_at)
    when = occurred_at.isoformat() if occurred_at else ""
    payload = json.dumps([from_number, to_number, text, when])
    return "fp:" + hashlib.sha256(payload.encode()).hexdigest()


def _apply_keyword(
    backend: BaseSmsBackend, action: str, word: str, from_number: str, to_number: str
) -> None:
    sender = scope_for(backend, to_number)
    if action == "opt-out":
        reason = f"Replied {word!r}" + (f" to {to_number}" if to_number else "")
        add_opt_out(from_number, sender, source=OptOut.Source.KEYWORD, reason=reason)
        logger.info("%s opted out (keyword %r, scope %r).", from_number, word, sender or "all")
    else:
        removed = remove_opt_out(from_number, sender)
        logger.info(
            "%s opted back in (keyword %r, scope %r): %d opt-out(s) removed.",
            from_number,
            word,
            sender or "all",
            removed,
        )


def _announce(row: InboundMessage) -> None:
    def send() -> None:
        results: list[tuple[Any, Any]] = inbound_received.send_robust(
            sender=InboundMessage, inbound=row
        )
        for receiver, result in results:
            if isinstance(result, Exception):
                logger.error(
                    "inbound_received receiver %r failed for inbound message %s",
                    receiver,
                    row.pk,
                    exc_info=result,
                )

    after_commit(row, send)
