"""System checks report every misconfiguration we can detect, by id."""

from __future__ import annotations

from django.core import checks


def ids(deploy=False):
    return sorted(
        {m.id for m in checks.run_checks(tags=["django_sms"], include_deployment_checks=deploy)}
    )


def test_the_test_settings_are_clean():
    assert ids() == []


def test_no_backend_outside_debug_is_an_error(settings):
    del settings.SMS_BACKENDS
    settings.DEBUG = False
    assert "django_sms.E001" in ids()
    settings.DEBUG = True
    assert "django_sms.E001" not in ids()


def test_unknown_backend_path(settings):
    settings.SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.nope.SmsBackend"}}
    assert ids() == ["django_sms.E004"]


def test_malformed_backends(settings):
    settings.SMS_BACKENDS = {"default": {"OPTIONS": {}}}
    assert ids() == ["django_sms.E003"]
    settings.SMS_BACKENDS = {"other": {"BACKEND": "django_sms.backends.dummy.SmsBackend"}}
    assert ids() == ["django_sms.E003"]


def test_unknown_option_of_a_backend(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.dummy.SmsBackend", "OPTIONS": {"tokn": "x"}}
    }
    assert ids() == ["django_sms.W010"]


def test_bad_app_options(settings):
    settings.DJANGO_SMS = {
        "MAX_SEGMENTS": 0,
        "DEFAULT_SENDER": "Way too long sender",
        "DENIED_COUNTRIES": ["France"],
        "ROUTES": {"FR": "ovh"},
        "SPELLING": 1,
    }
    messages = checks.run_checks(tags=["django_sms"])
    assert sorted(m.id for m in messages) == [
        "django_sms.E005",
        "django_sms.E005",
        "django_sms.E005",
        "django_sms.E006",
        "django_sms.W002",
    ]
    text = " ".join(m.msg for m in messages)
    assert "MAX_SEGMENTS" in text and "France" in text and "'ovh'" in text and "SPELLING" in text


def test_async_with_a_queue_the_task_backend_refuses(settings):
    settings.TASKS = {
        "default": {
            "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }
    settings.DJANGO_SMS = {"ASYNC": True, "QUEUE_NAME": "sms"}
    assert ids() == ["django_sms.E007"]


def test_deploy_checks_flag_development_backends_and_local_urls(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.console.SmsBackend"},
    }
    assert "django_sms.W101" in ids(deploy=True)
    assert "django_sms.W101" not in ids(deploy=False)
