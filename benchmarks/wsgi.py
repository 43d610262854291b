"""WSGI application of the benchmark project (served by gunicorn in the webhook benchmark)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
application = get_wsgi_application()
# Import every view now (Django would on the first request): gunicorn loads this module once
# before forking its workers (--preload), so no measured request pays for the imports, and no
# endpoint pays for them more than another.
get_resolver().url_patterns  # noqa: B018
