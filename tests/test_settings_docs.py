"""The settings reference in docs/ lists every option with the default the code uses.

``docs/settings.rst`` documents each ``DJANGO_SMS`` key as ````KEY```` followed by its default
in parentheses; ``docs/verification.rst`` shows ``DJANGO_SMS["VERIFICATION"]`` as one Python
block. Both are compared with the defaults in the code, so neither can drift silently.
"""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django_sms import conf
from django_sms.verification import conf as verification_conf

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Defaults written in words in docs/settings.rst, where a literal would read worse.
PROSE_DEFAULTS: dict[str, Any] = {
    "7 days": 7 * 24 * 3600,
    "48 hours": timedelta(hours=48),
}


def documented_defaults(text: str) -> dict[str, Any]:
    """``KEY`` (``literal``) or ``KEY`` (prose) -> the value it names."""
    found: dict[str, Any] = {}
    for key, literal, prose in re.findall(r"``([A-Z_]+)``\s\((?:``(.+?)``|([^)`]+))", text):
        if literal.startswith("Decimal("):
            found[key] = Decimal(ast.literal_eval(literal[len("Decimal(") : -1]))
        elif literal:
            found[key] = ast.literal_eval(literal)
        else:
            found[key] = PROSE_DEFAULTS[prose.strip()]
    return found


def test_settings_rst_lists_every_option_with_its_default():
    text = (DOCS / "settings.rst").read_text()
    # The section of the DJANGO_SMS dict, up to the swappable models' top-level settings.
    text = text[text.index("``DJANGO_SMS``\n---") : text.index("Swappable models\n---")]
    documented = documented_defaults(text)
    # The keywords are written as the words they are, not as a Python list.
    for key in ("OPT_OUT_KEYWORDS", "OPT_IN_KEYWORDS"):
        words = re.search(rf"``{key}``", text)
        assert words, key
    keywords = re.search(r"Default ``([A-Z ]+)`` and ``([A-Z ]+)``", text)
    assert keywords
    documented["OPT_OUT_KEYWORDS"] = keywords.group(1).split()
    documented["OPT_IN_KEYWORDS"] = keywords.group(2).split()

    assert sorted(set(conf.DEFAULTS) - set(documented)) == []
    wrong = {k: (documented[k], v) for k, v in conf.DEFAULTS.items() if documented[k] != v}
    assert wrong == {}


def test_verification_rst_shows_every_option_with_its_default():
    text = (DOCS / "verification.rst").read_text()
    block = re.search(r"\n   DJANGO_SMS = \{\n(.*?)\n   \}\n", text, re.S)
    assert block, "the settings block of docs/verification.rst"
    source = "{" + "\n".join(line[3:] for line in block.group(1).splitlines()) + "}"
    documented = ast.literal_eval(source)["VERIFICATION"]
    assert documented == verification_conf.DEFAULTS
