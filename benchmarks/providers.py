"""The providers the per-message rows can send through (``--provider``), one table entry each.

An entry holds two things, side by side so that a reader can compare them:

``backend(url)``
    The app's ``SMS_BACKENDS`` entry for that provider's sandbox at ``url`` (the sandbox's
    public development credentials).
``connect(session, url)``
    The request a developer writes by hand to send one SMS through that provider with
    ``requests`` — the same endpoint, the same authentication, the same body as the app's
    backend — returning ``post(text, to, reference)``, which returns the provider's id for
    the message. The bare loop, the hand-written peer and the floor all send with it.

To add a provider: write its two functions and add a :class:`Provider` to :data:`PROVIDERS`
(the ``--provider`` choices come from it).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from benchmarks.processes import BenchmarkError
from django_sms.testing.sandbox.credentials import SandboxCredentials

#: Sends one SMS (text, E.164 number, our reference) by hand; returns the provider's id.
Post = Callable[[str, str, str], str]

#: The sender of every benchmark message (``DJANGO_SMS["DEFAULT_SENDER"]`` in the settings).
SENDER = "BenchShop"
#: ``requests``' (connect, read) timeouts, as the app's backends use them.
TIMEOUT = (5, 30)
CREDENTIALS = SandboxCredentials()


@dataclass(frozen=True)
class Provider:
    name: str  # the --provider choice
    title: str  # its name in the table
    backend: Callable[[str], dict[str, Any]]
    connect: Callable[[requests.Session, str], Post]


def refused(provider: str, response: requests.Response) -> BenchmarkError:
    return BenchmarkError(
        f"{provider} (hand-written request): HTTP {response.status_code} {response.text[:300]}"
    )


# -- Vonage: Messages API, application JWT (RS256) ------------------------------------------------


def vonage_backend(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_sms.backends.vonage.SmsBackend",
        "OPTIONS": {
            "application_id": CREDENTIALS.vonage_application_id,
            "private_key": CREDENTIALS.vonage_private_key,
            "signature_secret": CREDENTIALS.vonage_signature_secret,
            "base_url": url,
        },
    }


def vonage_connect(session: requests.Session, url: str) -> Post:
    # One application JWT for the whole run, as the app's backend caches its own.
    now = int(time.time())
    token = jwt.encode(
        {"application_id": CREDENTIALS.vonage_application_id, "iat": now, "exp": now + 3600,
         "jti": str(uuid.uuid4())},
        CREDENTIALS.vonage_private_key,
        algorithm="RS256",
    )
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def post(text: str, to: str, reference: str) -> str:
        payload = {"message_type": "text", "channel": "sms", "to": to.removeprefix("+"),
                   "from": SENDER, "text": text, "client_ref": reference,
                   "sms": {"encoding_type": "text"}}
        response = session.post(f"{url}/v1/messages", json=payload, headers=headers,
                                timeout=TIMEOUT)
        if response.status_code != 202:
            raise refused("vonage", response)
        return str(response.json()["message_uuid"])

    return post


# -- Mailjet: SMS API v4, Bearer token -----------------------------------------------------------


def mailjet_backend(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_sms.backends.mailjet.SmsBackend",
        "OPTIONS": {"token": CREDENTIALS.mailjet_token, "base_url": url},
    }


def mailjet_connect(session: requests.Session, url: str) -> Post:
    headers = {"Authorization": f"Bearer {CREDENTIALS.mailjet_token}"}

    def post(text: str, to: str, reference: str) -> str:
        # Mailjet takes no reference of ours.
        response = session.post(f"{url}/v4/sms-send", json={"From": SENDER, "To": to,
                                                             "Text": text},
                                headers=headers, timeout=TIMEOUT)
        if response.status_code != 200:
            raise refused("mailjet", response)
        return str(response.json()["MessageId"])

    return post


# -- OVHcloud: /1.0/sms/{service}/jobs, each request signed ($1$ + SHA-1) ------------------------


def ovh_backend(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_sms.backends.ovh.SmsBackend",
        "OPTIONS": {
            "endpoint": url,
            "application_key": CREDENTIALS.ovh_application_key,
            "application_secret": CREDENTIALS.ovh_application_secret,
            "consumer_key": CREDENTIALS.ovh_consumer_key,
            "service_name": CREDENTIALS.ovh_service_name,
        },
    }


def ovh_connect(session: requests.Session, url: str) -> Post:
    jobs = f"{url}/1.0/sms/{CREDENTIALS.ovh_service_name}/jobs"
    # OVH checks the timestamp against its own clock: ask it once, as python-ovh does.
    delta = int(session.get(f"{url}/1.0/auth/time", timeout=TIMEOUT).json()) - int(time.time())

    def post(text: str, to: str, reference: str) -> str:
        # OVH takes a tag of at most 20 characters: the first 20 hex digits of our reference,
        # as the app's backend sends it.
        tag = reference.replace("-", "")[:20]
        body = json.dumps(
            {"message": text, "receivers": [to], "sender": SENDER, "noStopClause": True,
             "priority": "high", "tag": tag, "charset": "UTF-8"}
        )
        timestamp = str(int(time.time()) + delta)
        signed = "+".join([CREDENTIALS.ovh_application_secret, CREDENTIALS.ovh_consumer_key,
                           "POST", jobs, body, timestamp])
        headers = {
            "Content-Type": "application/json",
            "X-Ovh-Application": CREDENTIALS.ovh_application_key,
            "X-Ovh-Consumer": CREDENTIALS.ovh_consumer_key,
            "X-Ovh-Timestamp": timestamp,
            "X-Ovh-Signature": "$1$" + hashlib.sha1(signed.encode()).hexdigest(),  # noqa: S324
        }
        response = session.post(jobs, data=body.encode(), headers=headers, timeout=TIMEOUT)
        if response.status_code != 200:
            raise refused("ovh", response)
        return str(response.json()["ids"][0])

    return post


# -- Twilio: Messages resource, HTTP Basic, form body ---------------------------------------------


def twilio_backend(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_sms.backends.twilio.SmsBackend",
        "OPTIONS": {
            "account_sid": CREDENTIALS.twilio_account_sid,
            "auth_token": CREDENTIALS.twilio_auth_token,
            "base_url": url,
        },
    }


def twilio_connect(session: requests.Session, url: str) -> Post:
    sid = CREDENTIALS.twilio_account_sid
    messages = f"{url}/2010-04-01/Accounts/{sid}/Messages.json"
    auth = (sid, CREDENTIALS.twilio_auth_token)

    def post(text: str, to: str, reference: str) -> str:
        # Twilio takes no reference of ours in the body (the app puts it in StatusCallback).
        response = session.post(messages, data={"To": to, "From": SENDER, "Body": text},
                                auth=auth, headers={"Accept": "application/json"},
                                timeout=TIMEOUT)
        if response.status_code != 201:
            raise refused("twilio", response)
        return str(response.json()["sid"])

    return post


PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        Provider("vonage", "Vonage", vonage_backend, vonage_connect),
        Provider("mailjet", "Mailjet", mailjet_backend, mailjet_connect),
        Provider("ovh", "OVH", ovh_backend, ovh_connect),
        Provider("twilio", "Twilio", twilio_backend, twilio_connect),
    )
}
