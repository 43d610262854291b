"""Settings of the ``rqworker`` processes started by tests/test_background.py.

Like tests/settings_dbworker.py, with django-tasks-rq on a dedicated Redis database
(``SMS_TEST_REDIS_URL``, flushed by the test before and after).
"""

from __future__ import annotations

import os

from tests.settings_dbworker import *  # noqa: F403
from tests.settings_dbworker import INSTALLED_APPS

REDIS_URL = os.environ.get("SMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]
# The "default" queue must exist: django_sms's tasks are declared with plain @task, which
# django.tasks validates against the default backend's QUEUES when the module is imported.
RQ_QUEUES = {"default": {"URL": REDIS_URL}, "sms": {"URL": REDIS_URL}}
TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "sms"]}}
