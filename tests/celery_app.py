"""The Celery application of the ``celery worker`` started by tests/test_background.py, laid
out as docs/background.rst shows for a project (``proj/celery.py``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings_celery")

app = Celery("tests")
# CELERY_* Django settings configure Celery (tests/settings_celery.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
# Imports each installed app's tasks module: django_sms.tasks declares its tasks with @task,
# and the default TASKS backend (django-tasks-celery) registers them with this app.
app.autodiscover_tasks()
