"""django.tasks on every supported Django: built in from 6.0, the django-tasks backport on 5.2
(a dependency of the package on every Python version, pyproject.toml). Without either, the
app stops with an error that says what to install."""

from __future__ import annotations

import importlib
import sys

import pytest

from django_sms.exceptions import ConfigurationError


def test_the_task_api_comes_from_django_or_the_backport():
    from django_sms import compat

    try:
        import django.tasks as expected
    except ImportError:  # pragma: no cover - Django 5.2
        import django_tasks as expected  # type: ignore[no-redef]
    assert compat.task is expected.task
    assert compat.task_backends is expected.task_backends


@pytest.mark.parametrize("module", ["django_sms.compat", "django_sms.tasks", "django_sms.checks"])
def test_without_a_task_framework_the_error_says_what_to_install(monkeypatch, module):
    # As on Django 5.2 without the backport: neither django.tasks nor django_tasks imports.
    monkeypatch.setitem(sys.modules, "django.tasks", None)
    monkeypatch.setitem(sys.modules, "django_tasks", None)
    for name in ("django_sms.compat", "django_sms.tasks", "django_sms.checks"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ConfigurationError, match=r"pip install django-tasks") as raised:
        importlib.import_module(module)
    assert "django_sms needs django.tasks" in str(raised.value)
