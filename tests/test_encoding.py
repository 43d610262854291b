"""GSM-7 / UCS-2 detection, segment counting, splitting and transliteration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_sms.encoding import (
    GSM7,
    GSM7_BASIC_CHARACTERS,
    GSM7_EXTENSION_CHARACTERS,
    SEGMENT_LIMITS,
    TRANSLITERATION_TABLE,
    UCS2,
    TextAnalysis,
    analyze,
    check_length,
    transliterate,
)
from django_sms.exceptions import InvalidMessage, MessageTooLong

EMOJI = "\U0001f600"  # 😀, outside the BMP: 2 UTF-16 code units
GSM7_ALPHABET = GSM7_BASIC_CHARACTERS | GSM7_EXTENSION_CHARACTERS


def reference_segments(text: str) -> tuple[str, int, int]:
    """The reference counter of shared/reference/providers.md §4, used as an oracle."""
    if all(c in GSM7_ALPHABET for c in text):
        units = [2 if c in GSM7_EXTENSION_CHARACTERS else 1 for c in text]
        single, multi, enc = 160, 153, GSM7
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi, enc = 70, 67, UCS2
    total = sum(units)
    if total <= single:
        return enc, total, 1
    parts = cur = 0
    for u in units:
        if parts == 0 or cur + u > multi:
            parts, cur = parts + 1, 0
        cur += u
    return enc, total, parts


def units_of(part: str, encoding: str) -> int:
    """Recount a part independently of the module under test."""
    if encoding == GSM7:
        return sum(2 if c in GSM7_EXTENSION_CHARACTERS else 1 for c in part)
    return len(part.encode("utf-16-le", "surrogatepass")) // 2


# --- hand-checked cases -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "part_lengths"),
    [
        pytest.param("", GSM7, 0, [0], id="empty"),
        pytest.param("a" * 160, GSM7, 160, [160], id="160 ascii fits one"),
        pytest.param("a" * 161, GSM7, 161, [153, 8], id="161 ascii needs two"),
        pytest.param("a" * 306, GSM7, 306, [153, 153], id="306 = 2x153"),
        pytest.param("a" * 307, GSM7, 307, [153, 153, 1], id="307 needs three"),
        pytest.param("a" * 918, GSM7, 918, [153] * 6, id="918 = 6x153"),
        pytest.param("a" * 919, GSM7, 919, [153] * 6 + [1], id="919 needs seven"),
        pytest.param("€" * 80, GSM7, 160, [80], id="80 euro signs = 160 septets"),
        pytest.param("€" * 81, GSM7, 162, [76, 5], id="81 euro signs split 76+5"),
        pytest.param("{}[]", GSM7, 8, [4], id="extension chars count 2"),
        pytest.param("a\fb", GSM7, 4, [3], id="form feed is an extension char"),
        pytest.param("a\r\nb", GSM7, 4, [4], id="CR and LF are basic"),
        pytest.param("é" * 160, GSM7, 160, [160], id="é is GSM-7"),
        pytest.param("Ça", GSM7, 2, [2], id="capital Ç is GSM-7"),
        pytest.param(EMOJI * 35, UCS2, 70, [35], id="35 emoji = 70 units"),
        pytest.param(EMOJI * 36, UCS2, 72, [33, 3], id="36 emoji split 33+3"),
        pytest.param("ж" * 70, UCS2, 70, [70], id="70 cyrillic fits one"),
        pytest.param("ж" * 71, UCS2, 71, [67, 4], id="71 cyrillic split 67+4"),
        pytest.param("ж" * 134, UCS2, 134, [67, 67], id="134 cyrillic = 2x67"),
        pytest.param("ça", UCS2, 2, [2], id="lower-case ç is UCS-2"),
        pytest.param("ê", UCS2, 1, [1], id="ê is UCS-2"),
        pytest.param("`", UCS2, 1, [1], id="backtick is UCS-2"),
        pytest.param("a\tb", UCS2, 3, [3], id="tab is UCS-2"),
    ],
)
def test_hand_checked_cases(text: str, encoding: str, units: int, part_lengths: list[int]) -> None:
    analysis = analyze(text, transliterate=False)

    assert analysis.encoding == encoding
    assert analysis.units == units
    assert analysis.segments == len(part_lengths)
    assert [len(part) for part in analysis.parts] == part_lengths
    assert "".join(analysis.parts) == text
    assert analysis.text == text


def test_empty_text_is_one_empty_gsm7_segment() -> None:
    assert analyze("", transliterate=False) == TextAnalysis(
        text="", encoding=GSM7, units=0, segments=1, parts=("",), non_gsm_characters=()
    )


def test_escape_pair_that_would_cross_the_153_boundary_moves_to_the_next_part() -> None:
    # 152 septets + "€" (2 septets) would be 154 > 153: the euro sign starts part two.
    text = "a" * 152 + "€" + "b" * 10
    analysis = analyze(text, transliterate=False)

    assert analysis.units == 164
    assert analysis.parts == ("a" * 152, "€" + "b" * 10)


def test_escape_pair_that_ends_exactly_at_153_stays_in_its_part() -> None:
    text = "a" * 151 + "€" + "b" * 10
    analysis = analyze(text, transliterate=False)

    assert analysis.parts == ("a" * 151 + "€", "b" * 10)


def test_mixed_extension_chars_around_the_boundary() -> None:
    # Septets before "[": 150 + "{" 2 = 152; "[" would end at 154, so it moves.
    text = "x" * 150 + "{" + "[" + "]" + "y" * 20
    analysis = analyze(text, transliterate=False)

    assert analysis.encoding == GSM7
    assert analysis.units == 150 + 6 + 20
    assert analysis.parts == ("x" * 150 + "{", "[]" + "y" * 20)
    assert [units_of(p, GSM7) for p in analysis.parts] == [152, 24]


def test_surrogate_pair_that_would_cross_the_67_boundary_moves_to_the_next_part() -> None:
    text = "a" * 66 + EMOJI + "b" * 10
    analysis = analyze(text, transliterate=False)

    assert analysis.encoding == UCS2
    assert analysis.units == 78
    assert analysis.parts == ("a" * 66, EMOJI + "b" * 10)


def test_surrogate_pair_that_ends_exactly_at_67_stays_in_its_part() -> None:
    text = "a" * 65 + EMOJI + "b" * 10
    analysis = analyze(text, transliterate=False)

    assert analysis.parts == ("a" * 65 + EMOJI, "b" * 10)


def test_surrogate_code_points_are_rejoined_and_never_split() -> None:
    # A string holding the UTF-16 surrogates of 😀 as two code points (broken input).
    high, low = "\ud83d", "\ude00"
    text = "a" * 66 + high + low + "b" * 10
    analysis = analyze(text, transliterate=False)

    assert analysis.text == "a" * 66 + EMOJI + "b" * 10
    assert analysis.units == 78
    assert not any("\ud800" <= part[-1] <= "\udbff" for part in analysis.parts)


def test_lone_surrogate_counts_one_unit() -> None:
    analysis = analyze("a\ud83d", transliterate=False)

    assert (analysis.encoding, analysis.units) == (UCS2, 2)


def test_non_gsm_characters_are_listed_once_in_order_of_appearance() -> None:
    analysis = analyze("ça coûte 5 € — ça `va`", transliterate=False)

    assert analysis.encoding == UCS2
    assert analysis.non_gsm_characters == ("ç", "û", "—", "`")


def test_gsm7_text_lists_no_non_gsm_characters() -> None:
    assert analyze("Prix: 5 € [promo]", transliterate=False).non_gsm_characters == ()


def test_segment_limits() -> None:
    assert SEGMENT_LIMITS[GSM7] == (160, 153)
    assert SEGMENT_LIMITS[UCS2] == (70, 67)


def test_analysis_is_immutable() -> None:
    analysis = analyze("hello", transliterate=False)
    with pytest.raises(AttributeError):
        analysis.segments = 2  # type: ignore[misc]


# --- transliteration ----------------------------------------------------------------------


def test_transliterate_typographic_punctuation() -> None:
    text = "It\u2019s \u201cfine\u201d \u2014 \u00abvraiment\u00bb \u2013 5\u22123\u2026 \u2022 ok"
    assert transliterate(text) == 'It\'s "fine" - "vraiment" - 5-3... - ok'


def test_transliterate_unicode_spaces_and_invisible_characters() -> None:
    text = "Prix\u202f: 5\u00a0€\u2009!\u200b\ufeff co\u00adde"
    assert transliterate(text) == "Prix : 5 € ! code"


def test_transliterate_never_changes_letters() -> None:
    assert transliterate("ça, où, ê, á, ж, 中") == "ça, où, ê, á, ж, 中"


def test_transliteration_table_maps_non_gsm_characters_to_gsm7_basic_text() -> None:
    for char, replacement in TRANSLITERATION_TABLE.items():
        assert char not in GSM7_ALPHABET, char
        assert set(replacement) <= GSM7_BASIC_CHARACTERS, char


def test_analyze_transliterates_when_asked() -> None:
    analysis = analyze("It\u2019s \u201cdone\u201d\u2026", transliterate=True)

    assert analysis.text == 'It\'s "done"...'
    assert analysis.encoding == GSM7
    assert analysis.units == 14
    assert analysis.non_gsm_characters == ()


def test_analyze_keeps_the_original_when_transliteration_cannot_reach_gsm7() -> None:
    text = "It\u2019s \u00e7a " + EMOJI
    analysis = analyze(text, transliterate=True)

    assert analysis.text == text
    assert analysis.encoding == UCS2
    assert analysis.non_gsm_characters == ("\u2019", "\u00e7", EMOJI)


def test_analyze_keeps_the_original_when_transliteration_needs_more_segments() -> None:
    # 70 ellipses: 70 UCS-2 units (1 segment) vs 210 GSM-7 septets (2 segments).
    text = "\u2026" * 70
    analysis = analyze(text, transliterate=True)

    assert (analysis.text, analysis.encoding, analysis.segments) == (text, UCS2, 1)


def test_analyze_follows_the_transliterate_setting(settings: object) -> None:
    text = "It\u2019s"
    assert analyze(text).encoding == UCS2  # default: off

    settings.DJANGO_SMS = {"TRANSLITERATE": True}  # type: ignore[attr-defined]
    assert analyze(text).text == "It's"
    assert analyze(text, transliterate=False).text == text


# --- check_length -------------------------------------------------------------------------


def test_check_length_accepts_up_to_max_segments() -> None:
    check_length(analyze("a" * 765, transliterate=False), 5)  # 5 x 153


def test_check_length_refuses_more_segments() -> None:
    with pytest.raises(MessageTooLong) as excinfo:
        check_length(analyze("ж" * 336, transliterate=False), 5)  # 5 x 67 = 335

    error = excinfo.value
    assert (error.segments, error.max_segments, error.encoding) == (6, 5, UCS2)
    assert isinstance(error, InvalidMessage)
    assert "6 UCS-2 segments; at most 5" in str(error)


# --- properties ---------------------------------------------------------------------------

_gsm7_chars = st.sampled_from(sorted(GSM7_ALPHABET))
_any_chars = st.one_of(
    _gsm7_chars,
    st.sampled_from(sorted(GSM7_EXTENSION_CHARACTERS)),
    st.sampled_from(sorted(TRANSLITERATION_TABLE)),
    st.sampled_from([EMOJI, "\U0001f44d", "ç", "ж", "中"]),
    st.characters(),
)
gsm7_texts = st.text(_gsm7_chars, max_size=1000)
texts = st.one_of(gsm7_texts, st.text(_any_chars, max_size=800))


@given(texts)
def test_property_split_is_consistent(text: str) -> None:
    analysis = analyze(text, transliterate=False)
    single, per_part = SEGMENT_LIMITS[analysis.encoding]

    assert analysis.text == text
    assert "".join(analysis.parts) == text
    assert analysis.segments == len(analysis.parts)
    recounted = [units_of(part, analysis.encoding) for part in analysis.parts]
    assert sum(recounted) == analysis.units
    limit = single if analysis.segments == 1 else per_part
    assert all(units <= limit for units in recounted)
    if analysis.segments > 1:
        # Greedy: each part is full but for at most one unit (a pair moved to the next).
        assert all(units >= per_part - 1 for units in recounted[:-1])
        assert all(part for part in analysis.parts)
    assert not any(part and "\ud800" <= part[-1] <= "\udbff" for part in analysis.parts)


@given(texts)
def test_property_matches_reference_counter(text: str) -> None:
    analysis = analyze(text, transliterate=False)

    assert (analysis.encoding, analysis.units, analysis.segments) == reference_segments(text)


@given(texts)
def test_property_gsm7_iff_every_character_in_the_alphabet(text: str) -> None:
    analysis = analyze(text, transliterate=False)

    assert (analysis.encoding == GSM7) == set(text).issubset(GSM7_ALPHABET)
    expected = tuple(dict.fromkeys(c for c in text if c not in GSM7_ALPHABET))
    assert analysis.non_gsm_characters == expected


@given(texts)
def test_property_transliterate_replaces_only_table_characters(text: str) -> None:
    result = transliterate(text)

    assert result == "".join(TRANSLITERATION_TABLE.get(c, c) for c in text)
    assert transliterate(result) == result


@given(gsm7_texts)
def test_property_transliterate_never_changes_gsm7_text(text: str) -> None:
    assert transliterate(text) == text


@given(texts)
def test_property_transliteration_never_costs_more_segments(text: str) -> None:
    plain = analyze(text, transliterate=False)
    converted = analyze(text, transliterate=True)

    assert converted.segments <= plain.segments
    assert converted.text in (text, transliterate(text))
    assert "".join(converted.parts) == converted.text
