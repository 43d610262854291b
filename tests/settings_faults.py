"""Settings of the fault-injection suite (tests/test_faults.py) and of its ``db_worker``s.

The backends talk to the provider sandbox whose URL is in ``SMS_SANDBOX_URL``; the test
process applies the same configuration (``fault_settings()``) with its own sandbox's URL, so
both sides of an ASYNC test send through the same sandbox with the same options.
``SMS_WORKER_DB_NAME`` is the test database (set by the test that starts the worker).
"""

from __future__ import annotations

import os
from typing import Any

from django_sms.testing.sandbox.credentials import SandboxCredentials
from tests.settings import *  # noqa: F403
from tests.settings import DATABASES
from tests.settings import DJANGO_SMS as BASE_SMS_SETTINGS

if os.environ.get("SMS_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["SMS_WORKER_DB_NAME"]
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

#: The read timeout of every backend; the sandbox's ``hang`` fault waits longer (HANG_SECONDS).
READ_TIMEOUT = 1.0
HANG_SECONDS = 1.6

#: Price list of the wallets in the suite.
PRICES = {"EUR": {"default": "0.07", "FR": "0.05"}}


def sandbox_backends(url: str) -> dict[str, Any]:
    """One alias per provider, named after it, all pointed at the sandbox at ``url``."""
    creds = SandboxCredentials()
    http = {"base_url": url, "timeout": (2, READ_TIMEOUT)}
    backends: dict[str, Any] = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "mailjet": {
            "BACKEND": "django_sms.backends.mailjet.SmsBackend",
            "OPTIONS": {"token": creds.mailjet_token, **http},
        },
        "vonage": {
            "BACKEND": "django_sms.backends.vonage.SmsBackend",
            "OPTIONS": {
                "application_id": creds.vonage_application_id,
                "private_key": creds.vonage_private_key,
                "signature_secret": creds.vonage_signature_secret,
                **http,
            },
        },
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "application_key": creds.ovh_application_key,
                "application_secret": creds.ovh_application_secret,
                "consumer_key": creds.ovh_consumer_key,
                "service_name": creds.ovh_service_name,
                "endpoint": url,
                "timeout": (2, READ_TIMEOUT),
            },
        },
        "twilio": {
            "BACKEND": "django_sms.backends.twilio.SmsBackend",
            "OPTIONS": {"account_sid": creds.twilio_account_sid,
                        "auth_token": creds.twilio_auth_token, **http},
        },
        "aws": {
            "BACKEND": "django_sms.backends.aws.SmsBackend",
            "OPTIONS": {
                "region_name": creds.aws_region,
                "endpoint_url": f"{url}/aws",
                "aws_access_key_id": creds.aws_access_key_id,
                "aws_secret_access_key": creds.aws_secret_access_key,
                "timeout": (2, READ_TIMEOUT),
                # botocore retries nothing by itself: each attempt the suite counts is one
                # request in the sandbox's log, and the pipeline decides about retries.
                "max_attempts": 1,
            },
        },
    }
    return backends


def fault_sms_settings(**extra: Any) -> dict[str, Any]:
    """DJANGO_SMS of the suite: quick retries, few attempts, the suite's price list."""
    return {
        **BASE_SMS_SETTINGS,
        "ASYNC": True,
        "QUEUE_NAME": "sms",
        "RETRY_BACKOFF": 0.2,
        "RETRY_BACKOFF_MAX": 1,
        "MAX_ATTEMPTS": 4,
        "BULK_CONCURRENCY": 4,
        "POLL_MIN_AGE": 0,
        "WALLET_ACTIVATION_DELAY": 0,
        "PRICES": PRICES,
        **extra,
    }


TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "sms"]}}
SMS_BACKENDS = sandbox_backends(os.environ.get("SMS_SANDBOX_URL", "http://127.0.0.1:9"))
DJANGO_SMS = fault_sms_settings()
