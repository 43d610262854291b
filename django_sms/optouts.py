"""The opt-out list: who asked not to receive messages, and from which sender.

``send_sms()`` refuses an opted-out number before anything is stored
(``django_sms.sending.check_opt_outs``), and a message stored earlier is checked again when
it is claimed for delivery (``django_sms.delivery``): it ends ``canceled`` instead of being
sent after its recipient replied STOP. The list is maintained here from two sources: keyword
replies (``STOP`` / ``START`` received as inbound SMS, see ``django_sms.inbound``) and provider
reports that a recipient opted out (``StatusUpdate.opted_out``, see ``django_sms.events``).

Scope: an opt-out with ``sender=""`` blocks every sender; one with a sender blocks only that
sender. Replies are recorded for every sender unless the backend declares that its provider
scopes opt-outs per sender (a backend class attribute ``opt_out_per_sender = True``), in which
case the scope is the number the reply was sent to (our sender). Blocking every sender is the
default because it is the reading of "STOP" that never texts someone who asked us to stop.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

import phonenumbers
from django.conf import settings

from django_sms.conf import sms_settings
from django_sms.models import OptOut
from django_sms.storable import storable_text

#: Characters stripped around a keyword: "Stop." and "STOP!" are STOP.
_KEYWORD_PUNCTUATION = ".,;:!?¡¿'\"()[]{}<>*-_~`«»"


def normalize_keyword(word: str) -> str:
    """``word`` upper-cased, without accents or surrounding punctuation.

    ``"Arrêt."`` → ``"ARRET"``.
    """
    decomposed = unicodedata.normalize("NFKD", word.strip().strip(_KEYWORD_PUNCTUATION))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def first_word(text: str) -> str:
    """The first word of ``text``, normalised by :func:`normalize_keyword` ("" if none)."""
    for word in text.split():
        keyword = normalize_keyword(word)
        if keyword:
            return keyword
    return ""


def keyword_action(text: str) -> tuple[str, str]:
    """``("opt-out" | "opt-in" | "", keyword)`` for an inbound text.

    The first word decides, compared case- and accent-insensitively with
    ``DJANGO_SMS["OPT_OUT_KEYWORDS"]`` and ``["OPT_IN_KEYWORDS"]`` (so ``ARRÊT`` matches
    ``ARRET``, and a keyword configured with its accent matches a reply without it).
    """
    word = first_word(text)
    if not word:
        return "", ""
    if word in {normalize_keyword(k) for k in sms_settings.OPT_OUT_KEYWORDS or ()}:
        return "opt-out", word
    if word in {normalize_keyword(k) for k in sms_settings.OPT_IN_KEYWORDS or ()}:
        return "opt-in", word
    return "", word


def normalize_number(value: str) -> str:
    """A number reported by a provider, in the E.164 form messages are stored with.

    Providers write numbers differently (Vonage ``447700900000``, OVH ``+33612345678`` or
    ``0033612345678``), while ``send_sms()`` stores and checks ``+447700900000``. Digits
    without a ``+`` are read as international first, then as a national number of
    ``PHONENUMBER_DEFAULT_REGION``. A value that is no phone number (a short code, an
    alphanumeric sender) is returned stripped, unchanged otherwise.
    """
    text = storable_text(value).strip()
    compact = "".join(c for c in text if c not in " .-()")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    candidates = [compact] if compact.startswith("+") else [f"+{compact}", compact]
    region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None) or None
    for candidate in candidates:
        if len(candidate) > 20:
            break
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


def scope_for(backend: Any, our_number: str) -> str:
    """The ``sender`` an opt-out from ``backend`` applies to: "" (all) or our number."""
    if getattr(backend, "opt_out_per_sender", False) and our_number:
        return storable_text(normalize_number(our_number), 20)
    return ""


def add_opt_out(number: str, sender: str, *, source: str, reason: str = "") -> bool:
    """Record that ``number`` opted out (of ``sender``, or of all when ""); True if new.

    Race-safe: two identical reports store one row (the unique constraint decides).
    """
    _, created = OptOut.objects.get_or_create(
        phone_number=storable_text(number, 20),
        sender=storable_text(sender, 20),
        defaults={"source": source, "reason": storable_text(reason, 255)},
    )
    return created


def add_refusal_opt_out(backend: Any, number: str, our_number: str, *, code: str = "",
                        text: str = "") -> bool:
    """The provider refused a send because ``number`` opted out (Twilio 21610): record it,
    so the next ``send_sms()`` refuses the number before calling the provider."""
    provider = getattr(backend, "provider_name", "") or "provider"
    reason = f"{provider} refused a send: the recipient opted out"
    if code or text:
        reason += f" ({code} {text}".rstrip() + ")"
    return add_opt_out(number, scope_for(backend, our_number), source=OptOut.Source.PROVIDER,
                       reason=reason)


#: Opt-outs a keyword reply may lift. One an operator or the API recorded stays until an
#: operator removes it: it may come from a complaint made outside SMS.
REMOVABLE_BY_REPLY = (OptOut.Source.KEYWORD, OptOut.Source.PROVIDER)


def remove_opt_out(number: str, sender: str) -> int:
    """Lift the keyword/provider opt-outs of ``number`` for ``sender``; return how many."""
    deleted, _ = OptOut.objects.filter(
        phone_number=storable_text(number, 20),
        sender=storable_text(sender, 20),
        source__in=REMOVABLE_BY_REPLY,
    ).delete()
    return deleted


def opted_out(recipients: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which ``(number, sender)`` pairs may not be sent to, in one query: each blocked pair
    maps to the scope of its opt-out (``""`` when the number opted out of every sender, else
    the sender)."""
    pairs = set(recipients)
    if not pairs:
        return {}
    found = set(
        OptOut._default_manager.filter(phone_number__in={number for number, _ in pairs})
        .order_by()
        .values_list("phone_number", "sender")
    )
    blocked: dict[tuple[str, str], str] = {}
    for number, sender in pairs:
        if (number, "") in found:
            blocked[(number, sender)] = ""
        elif sender and (number, sender) in found:
            blocked[(number, sender)] = sender
    return blocked
