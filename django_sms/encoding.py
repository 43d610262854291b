"""How a text travels as SMS: its encoding (GSM-7 or UCS-2), its length in the encoding's
units, how many segments it takes and where those segments split.

Everything here is pure and called on every send, so the alphabet lives in module-level
frozensets and compiled patterns, and the common case (a short GSM-7 text) costs two regex
scans and no Python-level loop.

Rules (GSM 03.38 / 3GPP TS 23.038, see docs/encoding.rst):

* A text is GSM-7 when every character is in the basic set or the extension table. Extension
  characters (``\\f ^ { } \\ [ ~ ] | €``) are sent as ESC + code and count 2 septets.
* Otherwise it is UCS-2 and counts UTF-16 code units: characters outside the Basic
  Multilingual Plane (most emoji) count 2.
* One segment holds 160 septets (GSM-7) or 70 units (UCS-2). A longer text is concatenated and
  each part loses room to the User Data Header: 153 septets or 67 units per part.
* A split never separates an ESC pair or a surrogate pair: such a character moves whole to the
  next part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from django_sms.conf import sms_settings
from django_sms.exceptions import MessageTooLong

__all__ = [
    "GSM7",
    "GSM7_BASIC_CHARACTERS",
    "GSM7_EXTENSION_CHARACTERS",
    "SEGMENT_LIMITS",
    "TRANSLITERATION_TABLE",
    "UCS2",
    "TextAnalysis",
    "analyze",
    "check_length",
    "transliterate",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = "\f^{}\\[~]|€"

#: The GSM 03.38 basic character set (1 septet each). Only the capital ``Ç`` is in it.
GSM7_BASIC_CHARACTERS: frozenset[str] = frozenset(_GSM7_BASIC)
#: The GSM 03.38 extension table: sent as ESC + code, 2 septets each.
GSM7_EXTENSION_CHARACTERS: frozenset[str] = frozenset(_GSM7_EXTENSION)
_GSM7_ALL: frozenset[str] = GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS

#: encoding -> (units in a single segment, units per part of a concatenated text)
SEGMENT_LIMITS: MappingProxyType[str, tuple[int, int]] = MappingProxyType(
    {GSM7: (160, 153), UCS2: (70, 67)}
)

# Every character that is not in the basic set: extension characters (which cost a second
# septet) and characters outside GSM-7 (which force UCS-2). One scan finds both, and for a
# plain text it finds nothing.
_NOT_BASIC = re.compile("[^" + re.escape(_GSM7_BASIC) + "]")
_NOT_GSM7 = re.compile("[^" + re.escape(_GSM7_BASIC + _GSM7_EXTENSION) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# Look-alikes a phone keyboard or a word processor puts in a text, with their GSM-7 twin.
# Conservative on purpose: punctuation and spaces only, never a letter (turning "ç" into "c"
# changes a word), and every replacement is pure GSM-7 basic set so the table is idempotent.
_TRANSLITERATIONS: dict[str, str] = {
    # single quotes and apostrophes
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark (the typographic apostrophe)
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u02bc": "'",  # modifier letter apostrophe
    "`": "'",  # grave accent used as an opening quote (not in GSM-7)
    "\u00b4": "'",  # acute accent used as an apostrophe
    # double quotes
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    # dashes and minus signs
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    # spaces
    "\u00a0": " ",  # no-break space
    "\u2000": " ",  # en quad
    "\u2001": " ",  # em quad
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\u2004": " ",  # three-per-em space
    "\u2005": " ",  # four-per-em space
    "\u2006": " ",  # six-per-em space
    "\u2007": " ",  # figure space
    "\u2008": " ",  # punctuation space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u202f": " ",  # narrow no-break space (French typography: "prix : 5 €")
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
    # invisible characters pasted along with text
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero width space
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero width no-break space / byte order mark
    # other punctuation
    "\u2026": "...",  # horizontal ellipsis
    "\u2022": "-",  # bullet (a list item "• Item" becomes "- Item")
}

#: The characters :func:`transliterate` replaces, with their replacement (read-only).
TRANSLITERATION_TABLE: MappingProxyType[str, str] = MappingProxyType(_TRANSLITERATIONS)
_TRANSLATE_TABLE = str.maketrans(_TRANSLITERATIONS)


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """What a text costs as SMS. Built by :func:`analyze`."""

    #: The text that will be sent (transliterated when transliteration applied).
    text: str
    #: ``GSM7`` or ``UCS2``.
    encoding: str
    #: Length in the encoding's units: septets (GSM-7) or UTF-16 code units (UCS-2).
    units: int
    #: Number of SMS segments (parts) the text takes; 1 for the empty text.
    segments: int
    #: The text split per segment; ``"".join(parts) == text`` and ``len(parts) == segments``.
    parts: tuple[str, ...]
    #: The distinct characters that forced UCS-2, in order of appearance (empty for GSM-7).
    non_gsm_characters: tuple[str, ...]


def transliterate(text: str) -> str:
    """Replace typographic look-alikes (curly quotes, long dashes, unicode spaces, ``…``)
    with their GSM-7 equivalent so that a text can stay in GSM-7.

    Only the characters of :data:`TRANSLITERATION_TABLE` change; characters already in GSM-7
    never do, and letters are never touched. Applying it twice changes nothing more.
    """
    if _NOT_GSM7.search(text) is None:
        return text
    return text.translate(_TRANSLATE_TABLE)


def analyze(text: str, *, transliterate: bool | None = None) -> TextAnalysis:
    """Encoding, length, segment count and split of ``text``.

    ``transliterate=None`` follows ``DJANGO_SMS["TRANSLITERATE"]``. When transliteration is
    on and the text is not GSM-7, the transliterated text is used only if it is GSM-7 and
    takes no more segments than the original; otherwise the original is kept, since the
    message is UCS-2 anyway and the author's typography costs nothing more.

    The empty text is reported as GSM-7, 0 units, 1 segment (``parts == ("",)``), the way
    handset counters show it; refusing empty messages is the caller's job.
    """
    analysis = _analyze(text)
    if analysis.encoding == GSM7:
        return analysis
    if transliterate is None:
        transliterate = bool(sms_settings.TRANSLITERATE)
    if transliterate:
        candidate = _analyze(text.translate(_TRANSLATE_TABLE))
        if candidate.encoding == GSM7 and candidate.segments <= analysis.segments:
            return candidate
    return analysis


def check_length(analysis: TextAnalysis, max_segments: int) -> None:
    """Raise :class:`~django_sms.exceptions.MessageTooLong` when the text needs more than
    ``max_segments`` segments (``DJANGO_SMS["MAX_SEGMENTS"]`` in the pipeline)."""
    if analysis.segments > max_segments:
        raise MessageTooLong(analysis.segments, max_segments, analysis.encoding)


def _analyze(text: str) -> TextAnalysis:
    special = _NOT_BASIC.findall(text)
    if not special:
        # Plain GSM-7 basic set: one septet per character.
        return _split(text, GSM7, len(text), None)
    if _GSM7_ALL.issuperset(special):
        # Only extension characters besides the basic set: each costs one more septet.
        return _split(text, GSM7, len(text) + len(special), GSM7_EXTENSION_CHARACTERS.__contains__)

    if _SURROGATE.search(text) is not None:
        # Broken input with surrogate code points: rejoin the pairs into the characters
        # they encode so a pair is counted, and kept, as one character.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    astral = len(_ASTRAL.findall(text))
    non_gsm = tuple(dict.fromkeys(c for c in special if c not in _GSM7_ALL))
    analysis = _split(text, UCS2, len(text) + astral, _is_astral if astral else None)
    return TextAnalysis(
        analysis.text,
        UCS2,
        analysis.units,
        analysis.segments,
        analysis.parts,
        non_gsm,
    )


def _split(
    text: str, encoding: str, units: int, is_wide: Callable[[str], bool] | None
) -> TextAnalysis:
    """Split ``text`` (``units`` long) into segments. ``is_wide`` tells the characters that
    count two units (extension characters, astral characters); None when there are none."""
    single, per_part = SEGMENT_LIMITS[encoding]
    if units <= single:
        return TextAnalysis(text, encoding, units, 1, (text,), ())
    if is_wide is None:
        # One unit per character: fixed-size slices.
        parts = tuple(text[i : i + per_part] for i in range(0, len(text), per_part))
        return TextAnalysis(text, encoding, units, len(parts), parts, ())

    parts_list: list[str] = []
    start = used = 0
    for index, char in enumerate(text):
        cost = 2 if is_wide(char) else 1
        if used + cost > per_part:
            # The two-unit character moves whole to the next part.
            parts_list.append(text[start:index])
            start, used = index, 0
        used += cost
    parts_list.append(text[start:])
    return TextAnalysis(text, encoding, units, len(parts_list), tuple(parts_list), ())


def _is_astral(char: str) -> bool:
    return char > "\uffff"
