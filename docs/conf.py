"""Sphinx configuration. Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django_sms  # noqa: E402  (needs the path above; imports nothing Django-related)

project = "django-transactional-sms"
author = "django-transactional-sms contributors"
copyright = "django-transactional-sms contributors"
release = django_sms.__version__
version = ".".join(release.split(".")[:2])

# The reference pages are written by hand. autodoc is loaded for a page that wants to pull a
# docstring in; it imports the app, so Django is set up with the test settings when possible.
extensions = ["sphinx.ext.autodoc"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
try:
    import django

    django.setup()
except Exception as exc:  # the hand-written pages build without Django; autodoc would warn
    print(f"docs/conf.py: Django not set up ({exc!r}); autodoc directives will fail")

root_doc = "index"
exclude_patterns = ["_build"]
nitpicky = False
suppress_warnings: list[str] = []
highlight_language = "python3"
pygments_style = "sphinx"

html_theme = "alabaster"
html_title = f"{project} {release}"
html_theme_options = {
    "description": "Transactional SMS for Django",
    "fixed_sidebar": True,
    "page_width": "1100px",
}
