"""Settings for the test suite: SQLite by default, PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

import importlib.util
import os

import dj_database_url

try:  # Django 6.0+ has django.tasks built in; 5.2 uses the django-tasks backport.
    import django.tasks  # noqa: F401

    TASKS_APPS: list[str] = []
except ImportError:  # pragma: no cover - depends on the Django version
    TASKS_APPS = ["django_tasks"]

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",  # the `spectacular` command, for the API schema test
    "phonenumber_field",
    *TASKS_APPS,
    # The real-worker tests (tests/test_background.py) enqueue into django-tasks-db's table
    # from the test process; with the app installed it exists in every test database.
    *(["django_tasks_db"] if importlib.util.find_spec("django_tasks_db") else []),
    "django_sms",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default="sqlite:///:memory:", conn_max_age=0, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Each run gets its own test database so parallel runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_django_sms")}

STATIC_URL = "/static/"
PHONENUMBER_DEFAULT_REGION = "FR"

SMS_BACKENDS = {
    "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
}
DJANGO_SMS = {"DEFAULT_SENDER": "TestShop"}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
if TASKS_APPS:  # pragma: no cover
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"django_sms": {"handlers": ["null"], "level": "DEBUG"}},
}

# Fast hashing: the admin tests log users in (the default PBKDF2 costs ~0.5 s per login).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
