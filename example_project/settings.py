"""Settings of the example project: runs on embedded defaults, with no provider account.

SQLite in example_project/db.sqlite3 unless ``DATABASE_URL`` says otherwise (any URL
dj-database-url understands, e.g. ``postgres://postgres@127.0.0.1:5432/demo``). SMS go to
the console, or, when ``DEMO_SANDBOX_URL`` is set (``scripts/run-demo`` sets it), to the
provider sandbox through the real Vonage, Mailjet and OVH backends.
Not for production: DEBUG is on and the secret key is public.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

from django_sms.testing.sandbox.credentials import SandboxCredentials

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "example-project-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
USE_TZ = True
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "phonenumber_field",
    "django_sms",
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server's threads (pages, webhooks) and the sweeper's process write at once:
    # take the write lock when a transaction starts and wait for it, instead of failing
    # with "database is locked" when two transactions want to upgrade their locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"

# National numbers typed in the demo form ("06 12 34 56 78") are read as French numbers.
PHONENUMBER_DEFAULT_REGION = "FR"

# --- SMS ---------------------------------------------------------------------------------------
# Alone (`manage.py runserver`), the demo prints every message on the terminal (console backend).
SMS_BACKENDS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django_sms.backends.console.SmsBackend"},
}
DJANGO_SMS: dict[str, Any] = {
    "DEFAULT_SENDER": "DemoShop",
    # Codes read "123456 is your DemoShop code. ..." and end with the autofill line
    # "@<the page's host> #123456" (docs/verification.rst).
    "VERIFICATION": {"BRAND": "DemoShop"},
}


#: The secret in the OVH alias's status webhook URL (OVH does not sign its callbacks):
#: /sms/webhooks/ovh/<secret>/status/. Public, like SECRET_KEY above: for the demo only.
OVH_WEBHOOK_SECRET = "demo-ovh-webhook-secret-not-secret"


def sandbox_backends(sandbox_url: str, public_url: str = "http://127.0.0.1:8000"
                     ) -> dict[str, dict[str, Any]]:
    """Real provider backends pointed at the provider sandbox listening at ``sandbox_url``,
    with the sandbox's public development credentials: one alias per provider it speaks.

    Vonage is the default. The sandbox calls back the status webhooks of Vonage
    (``/sms/webhooks/default/status/``), OVH (``/sms/webhooks/ovh/<secret>/status/``) and
    AWS (``/sms/webhooks/aws/status/``, SNS notifications): ``scripts/run-demo`` gives it
    these URLs. Twilio's messages name their own status callback, built from ``public_url``
    (this site as the sandbox reaches it). Mailjet has no delivery webhook: its messages are
    completed by the sweeper (``manage.py smssync``), which run-demo keeps running.
    """
    creds = SandboxCredentials()
    return {
        "default": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {
                "base_url": sandbox_url,
                "application_id": creds.vonage_application_id,
                "private_key": creds.vonage_private_key,
                # The sandbox signs its delivery reports with it: they are verified for real.
                "signature_secret": creds.vonage_signature_secret,
            },
        },
        "mailjet": {
            "BACKEND": "django_sms.backends.mailjet.SmsBackend",
            "OPTIONS": {"base_url": sandbox_url, "token": creds.mailjet_token},
        },
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "endpoint": sandbox_url,
                "application_key": creds.ovh_application_key,
                "application_secret": creds.ovh_application_secret,
                "consumer_key": creds.ovh_consumer_key,
                "service_name": creds.ovh_service_name,
                "webhook_secret": OVH_WEBHOOK_SECRET,
            },
        },
        "twilio": {
            "BACKEND": "django_sms.backends.twilio.SmsBackend",
            "OPTIONS": {
                "base_url": sandbox_url,
                "account_sid": creds.twilio_account_sid,
                # Signs the sandbox's callbacks (X-Twilio-Signature): verified for real.
                "auth_token": creds.twilio_auth_token,
                "public_base_url": public_url,
            },
        },
        "aws": {
            "BACKEND": "django_sms.backends.aws.SmsBackend",
            "OPTIONS": {
                "endpoint_url": f"{sandbox_url}/aws",
                "region_name": creds.aws_region,
                "aws_access_key_id": creds.aws_access_key_id,
                "aws_secret_access_key": creds.aws_secret_access_key,
                "configuration_set_name": "demo",
                "topic_arns": [creds.aws_events_topic_arn, creds.aws_inbound_topic_arn],
                # The sandbox signs SNS messages with its own certificate: trusted here only.
                "sns_test_url_prefixes": [f"{sandbox_url}/aws/sns/"],
            },
        },
    }


# scripts/run-demo starts the provider sandbox (`manage.py smssandbox`) and exports its URL:
# every message then goes through a real provider backend over HTTP, and its delivery
# reports come back to this project's webhooks, so it ends "delivered" by itself.
if DEMO_SANDBOX_URL := os.environ.get("DEMO_SANDBOX_URL", ""):
    SMS_BACKENDS = sandbox_backends(
        DEMO_SANDBOX_URL, os.environ.get("DEMO_PUBLIC_URL", "http://127.0.0.1:8000")
    )
    # The sweeper polls Mailjet messages once they are a second old (default: a minute).
    DJANGO_SMS["POLL_MIN_AGE"] = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_sms": {"handlers": ["console"], "level": "INFO"}},
}
