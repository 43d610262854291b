"""django.tasks on every supported Django: built in from 6.0, the django-tasks backport on 5.2
(a dependency of the package, pyproject.toml). Without either, background sending fails with
a clear message and ``manage.py check`` says what to install (django_sms.E008)."""

from __future__ import annotations

import importlib
import sys

import pytest
from django.core import checks

from django_sms.exceptions import ConfigurationError


@pytest.fixture
def no_task_framework(monkeypatch):
    """As on Django 5.2 without the backport: neither django.tasks nor django_tasks imports."""
    monkeypatch.setitem(sys.modules, "django.tasks", None)
    monkeypatch.setitem(sys.modules, "django_tasks", None)
    for name in ("django_sms.compat", "django_sms.tasks"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_the_task_api_comes_from_django_or_the_backport():
    from django_sms import compat

    try:
        import django.tasks as expected
    except ImportError:  # pragma: no cover - Django 5.2
        import django_tasks as expected  # type: ignore[no-redef]
    assert compat.task is expected.task
    assert compat.task_backends is expected.task_backends


@pytest.mark.usefixtures("no_task_framework")
def test_without_a_task_framework_the_import_error_says_what_to_install():
    with pytest.raises(ConfigurationError, match=r"pip install django-tasks"):
        importlib.import_module("django_sms.tasks")


@pytest.mark.usefixtures("no_task_framework")
def test_without_a_task_framework_async_is_a_check_error(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": True}
    errors = [m for m in checks.run_checks(tags=["django_sms"]) if m.id.startswith("django_sms")]
    assert [m.id for m in errors] == ["django_sms.E008"]
    assert "django-tasks backport is not installed" in errors[0].msg
    assert "pip install django-tasks" in errors[0].hint


@pytest.mark.usefixtures("no_task_framework")
def test_without_a_task_framework_sync_sending_needs_nothing(settings):
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "ASYNC": False}
    assert not [m for m in checks.run_checks(tags=["django_sms"]) if m.id.startswith("django_sms")]
