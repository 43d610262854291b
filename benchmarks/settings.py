"""Django settings of every process of ``python -m benchmarks``: the measuring process,
gunicorn and the ``db_worker`` processes.

Configured by environment variables set by :mod:`benchmarks.runner`:

``SMS_BENCH_DATABASE_URL``
    The benchmark's own PostgreSQL database (created and dropped by the command).
``SMS_BENCH_SANDBOX_URL``
    The provider sandbox the ``default`` alias (Vonage) sends to.
``SMS_BENCH_ROLE``
    PostgreSQL ``application_name`` of the process (``smsbench``, ``smsbench-worker``...).
``SMS_BENCH_PREPARED``
    ``1``: PostgreSQL prepared statements (``server_side_binding`` and
    ``prepare_threshold`` in the database OPTIONS), for the webhook benchmark's second run.

A production-like configuration: ``DEBUG`` off, Django's usual middleware, persistent
database connections (``CONN_MAX_AGE``) as docs/background.rst recommends for workers,
django-tasks-db as the task backend.
"""

from __future__ import annotations

import os

import dj_database_url

from benchmarks.providers import vonage_backend

try:  # Django 6.0+ has django.tasks built in; 5.2 uses the django-tasks backport.
    import django.tasks  # noqa: F401

    TASKS_APPS: list[str] = []
    TASKS_MODULE = "django.tasks"
except ImportError:  # pragma: no cover - depends on the Django version
    TASKS_APPS = ["django_tasks"]
    TASKS_MODULE = "django_tasks"

SECRET_KEY = "smsbench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "benchmarks.urls"
WSGI_APPLICATION = "benchmarks.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PHONENUMBER_DEFAULT_REGION = "FR"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "phonenumber_field",
    *TASKS_APPS,
    "django_tasks_db",
    "django_sms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
    "default": dj_database_url.parse(
        os.environ.get("SMS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_bench"),
        conn_max_age=600,
        conn_health_checks=True,
    )
}
DATABASES["default"]["OPTIONS"] = {
    "application_name": os.environ.get("SMS_BENCH_ROLE", "smsbench"),
}
if os.environ.get("SMS_BENCH_PREPARED") == "1":
    # The webhook benchmark's second configuration (docs/webhooks.rst): parameters bound
    # by the server, and statements run 5 times prepared, so PostgreSQL plans them once.
    DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "sms"],
    }
}



# The ``default`` alias: Vonage (application JWT, signed webhooks). The per-message rows
# override it with the ``--provider`` of the run.
SMS_BACKENDS = {
    "default": vonage_backend(os.environ.get("SMS_BENCH_SANDBOX_URL", "http://127.0.0.1:9")),
}
DJANGO_SMS = {
    "DEFAULT_SENDER": "BenchShop",
    "QUEUE_NAME": "sms",
    "ASYNC": os.environ.get("SMS_BENCH_ASYNC") == "1",
    "PRICES": {"EUR": {"default": "0.07"}},
    "WALLET_ACTIVATION_DELAY": 0,
    # The callbacks are generated before the run: keep them valid for all of it.
    "WEBHOOK_MAX_AGE": 3600,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_sms": {"handlers": ["stderr"], "level": "WARNING"}},
}
