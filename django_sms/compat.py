"""Imports that differ between the supported Django versions."""

from __future__ import annotations

import django

from django_sms.exceptions import ConfigurationError

try:  # Django 6.0+
    from django.tasks import task, task_backends
    from django.tasks.exceptions import InvalidTask, InvalidTaskBackend
except ImportError:
    try:  # Django 5.2: the django-tasks backport, whose exceptions end in "Error"
        from django_tasks import task, task_backends  # type: ignore[no-redef,assignment]
        from django_tasks.exceptions import (  # type: ignore[assignment]
            InvalidTaskBackendError as InvalidTaskBackend,
        )
        from django_tasks.exceptions import (  # type: ignore[assignment]
            InvalidTaskError as InvalidTask,
        )
    except ImportError as exc:
        # A clear error instead of "No module named 'django_tasks'" (the backport is a
        # dependency of the package; only a --no-deps install or a hand-written requirements
        # file leaves it out).
        raise ConfigurationError(
            f"django_sms needs django.tasks (background sending, the sweeper's task), which "
            f"Django {django.get_version()} does not have: install the django-tasks backport "
            "(python -m pip install django-tasks), "
            "a dependency of django-transactional-sms that a --no-deps install or a "
            "hand-written requirements file can leave out."
        ) from exc

__all__ = ["InvalidTask", "InvalidTaskBackend", "task", "task_backends"]
