"""Test-only django.tasks backends, and the dotted paths of the built-in ones.

Django 6.0+ has ``django.tasks``; on 5.2 the same classes come from the ``django_tasks``
backport.
"""

from __future__ import annotations

import importlib.util
from typing import Any

TASKS_PACKAGE = "django.tasks" if importlib.util.find_spec("django.tasks") else "django_tasks"
DUMMY = f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"
IMMEDIATE = f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"

try:
    from django.tasks.backends.dummy import DummyBackend
except ImportError:  # pragma: no cover - Django 5.2
    from django_tasks.backends.dummy import DummyBackend  # type: ignore[no-redef]


def default_task_backend() -> Any:
    from django_sms.compat import task_backends

    return task_backends["default"]


class UnreachableBackend(DummyBackend):
    """A task backend whose broker is down: every enqueue fails."""

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        raise ConnectionError("task broker unreachable (test)")
