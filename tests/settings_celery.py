"""Settings of the ``celery worker`` processes started by tests/test_background.py.

Like tests/settings_dbworker.py, with django-tasks-celery as the default task backend on a
dedicated Redis database (``SMS_TEST_CELERY_REDIS_URL``, flushed by the test before and
after) used as broker and result backend.
"""

from __future__ import annotations

import os

from tests.settings_dbworker import *  # noqa: F403

CELERY_REDIS_URL = os.environ.get("SMS_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/13")

CELERY_BROKER_URL = CELERY_REDIS_URL
CELERY_RESULT_BACKEND = CELERY_REDIS_URL
CELERY_RESULT_EXTENDED = True  # django-tasks-celery's get_result() needs it (its check W002)
CELERY_TASK_DEFAULT_QUEUE = "default"
# The default backend must be Celery's: django_sms.tasks declares its tasks with plain @task,
# and django-tasks-celery registers a task with Celery when the default backend validates it.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_celery.CeleryBackend",
        "QUEUES": ["default", "sms"],
        "OPTIONS": {"CELERY_APP": "tests.celery_app.app"},
    }
}
