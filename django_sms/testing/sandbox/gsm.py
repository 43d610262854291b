"""An independent GSM-7 / UCS-2 segment counter for the provider handlers.

Deliberately separate from ``django_sms.encoding`` (the code under test): the sandbox
validates lengths the way a provider does, so a bug in the app's counter shows up as a
disagreement instead of being copied into the oracle. Rules: 3GPP TS 23.038 (basic table +
extension table, whose characters count twice), 160/153 septets, 70/67 UTF-16 code units,
an escape pair or a surrogate pair never split across parts.
"""

from __future__ import annotations

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> tuple[str, int, int]:
    """``(encoding, units, parts)``: ``("GSM-7", 161, 2)`` for 161 plain letters."""
    if is_gsm7(text):
        units = [2 if c in GSM_EXTENSION else 1 for c in text]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi, encoding = 70, 67, "UCS-2"
    total = sum(units)
    if total <= single:
        return encoding, total, 1
    parts = current = 0
    for unit in units:
        if parts == 0 or current + unit > multi:
            parts, current = parts + 1, 0
        current += unit
    return encoding, total, parts


def max_units(encoding: str, parts: int) -> int:
    """The capacity of ``parts`` segments: ``max_units("GSM-7", 5) == 765``."""
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    return single if parts == 1 else multi * parts
