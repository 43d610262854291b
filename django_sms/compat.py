"""Imports that differ between the supported Django versions."""

from __future__ import annotations

try:  # Django 6.0+
    from django.tasks import task, task_backends
    from django.tasks.exceptions import InvalidTask, InvalidTaskBackend
except ImportError:  # Django 5.2: the django-tasks backport, whose exceptions end in "Error"
    from django_tasks import task, task_backends  # type: ignore[no-redef,assignment]
    from django_tasks.exceptions import (  # type: ignore[assignment]
        InvalidTaskBackendError as InvalidTaskBackend,
    )
    from django_tasks.exceptions import (  # type: ignore[assignment]
        InvalidTaskError as InvalidTask,
    )

__all__ = ["InvalidTask", "InvalidTaskBackend", "task", "task_backends"]
