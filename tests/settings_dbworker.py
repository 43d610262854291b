"""Settings of the ``db_worker`` processes started by tests/test_background.py.

The test passes its test database's name (``SMS_WORKER_DB_NAME``) and a directory where the
test backends record their calls (``SMS_WORKER_STATE_DIR``). The test process applies the
same TASKS / DJANGO_SMS / SMS_BACKENDS (see ``worker_settings()`` in the test).
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, DJANGO_SMS

if os.environ.get("SMS_WORKER_SWAPPED_MODELS"):
    # The test runs with --ds=tests.settings_swapped: the worker uses the same models.
    from tests.settings_swapped import *  # noqa: F403

if os.environ.get("SMS_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["SMS_WORKER_DB_NAME"]
# What docs/background.rst recommends for workers: keep connections between tasks.
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "sms"]}}

SMS_BACKENDS = {
    "default": {
        "BACKEND": "tests.backends.FlakyBackend",
        "OPTIONS": {"fail_times": 0, "state_dir": os.environ.get("SMS_WORKER_STATE_DIR", "")},
    },
    "slow": {
        "BACKEND": "tests.backends.SlowBackend",
        "OPTIONS": {"delay": 30, "state_dir": os.environ.get("SMS_WORKER_STATE_DIR", "")},
    },
}
DJANGO_SMS = {
    **DJANGO_SMS,
    "ASYNC": True,
    "QUEUE_NAME": "sms",
    "RETRY_BACKOFF": 1,
    "RETRY_BACKOFF_MAX": 2,
}
