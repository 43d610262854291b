"""The OVHcloud SMS backend over real HTTP against the sandbox's OVH handler.

Oracles independent of our code: the signature example verified against python-ovh in
shared/reference/providers.md §3.2, a recomputation with ``hashlib`` of the signature of every
request on the wire, and the official ``ovh`` library itself (pointed at the sandbox, it signs
the same request with the same clock: the signatures must be equal, and the sandbox must
accept its requests).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from django.core.management import call_command

from django_sms import SMS, send_sms
from django_sms.backends import ovh as ovh_backend
from django_sms.backends.handler import sms_backends
from django_sms.backends.ovh import (
    DLR_TABLE,
    PTT_TABLE,
    SmsBackend,
    resolve_endpoint,
    signature,
    status_for,
)
from django_sms.checks import check_backends
from django_sms.encoding import analyze
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    MalformedResponse,
    MessageTooLong,
    PermanentProviderError,
    TransientProviderError,
)
from django_sms.models import EventSource, StatusEvent, get_message_model
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome, Sandbox, SandboxCredentials, faults
from django_sms.testing.sandbox.providers.ovh import OvhHandler
from django_sms.transitions import apply_status

CREDS = SandboxCredentials()
SERVICE = CREDS.ovh_service_name
TO = "+33612345678"
JOBS = f"/1.0/sms/{SERVICE}/jobs"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(providers=[OvhHandler]) as running:
        yield running


def handler(sandbox: Sandbox) -> OvhHandler:
    found = sandbox.handler("ovh")
    assert isinstance(found, OvhHandler)
    return found


def make_backend(sandbox: Sandbox, **options: Any) -> SmsBackend:
    defaults = {
        "application_key": CREDS.ovh_application_key,
        "application_secret": CREDS.ovh_application_secret,
        "consumer_key": CREDS.ovh_consumer_key,
        "endpoint": sandbox.url,
        "timeout": (2, 5),
    }
    return SmsBackend(alias="ovh", **{**defaults, **options})


def make_sms(text: str = "Your code is 123456", to: str = TO, sender: str | None = "TestShop",
             **kwargs: Any) -> SMS:
    analysis = analyze(text)
    return SMS(text=text, to=to, sender=sender, reference=str(uuid.uuid4()),
               encoding=analysis.encoding, segments=analysis.segments, **kwargs)


def send(backend: SmsBackend, sms: SMS | None = None) -> Any:
    [result] = backend.send_messages([sms or make_sms()])
    return result


def jobs_requests(sandbox: Sandbox) -> list[Any]:
    return [r for r in sandbox.requests if r.method == "POST" and r.path == JOBS]


def recompute(request: Any, *, secret: str = CREDS.ovh_application_secret,
              consumer: str = CREDS.ovh_consumer_key) -> str:
    """OVH's signature of a recorded request, written here from the documented algorithm."""
    url = f"http://{request.headers['Host']}{request.path}"
    if request.query_string:
        url += f"?{request.query_string}"
    timestamp = request.headers["X-Ovh-Timestamp"]
    data = (f"{secret}+{consumer}+{request.method}+{url}+".encode() + request.body
            + f"+{timestamp}".encode())
    return "$1$" + hashlib.sha1(data).hexdigest()


class Polled:
    """What fetch_status() reads from a stored message."""

    def __init__(self, provider_message_id: str) -> None:
        self.provider_message_id = provider_message_id


# -- success -------------------------------------------------------------------------------------


def test_send_posts_the_job_and_returns_ovhs_id(sandbox: Sandbox) -> None:
    sms = make_sms()

    result = send(make_backend(sandbox), sms)

    assert result.error is None
    assert result.status == Status.ACCEPTED
    time_call, discovery, job = sandbox.requests
    assert (time_call.method, time_call.path) == ("GET", "/1.0/auth/time")
    assert (discovery.method, discovery.path) == ("GET", "/1.0/sms")
    assert (job.method, job.path, job.status) == ("POST", JOBS, 200)
    expected = {
        "message": "Your code is 123456", "receivers": [TO], "sender": "TestShop",
        "noStopClause": True, "priority": "high",
        "tag": uuid.UUID(sms.reference).hex[:20], "charset": "UTF-8",
    }
    assert job.body == json.dumps(expected, separators=(",", ":")).encode()
    assert job.headers["Content-Type"] == "application/json"
    assert job.headers["User-Agent"].startswith("django-transactional-sms/")
    assert job.headers["X-Ovh-Application"] == CREDS.ovh_application_key
    assert job.headers["X-Ovh-Consumer"] == CREDS.ovh_consumer_key
    answer = json.loads(job.response_body)
    assert result.provider_message_id == str(answer["ids"][0])
    assert (result.cost, result.cost_currency) == (Decimal("1"), "CRD")
    assert result.raw == answer
    stored = sandbox.messages.get(result.provider_message_id)
    assert stored is not None
    assert (stored.to, stored.sender, stored.reference) == (
        TO, "TestShop", uuid.UUID(sms.reference).hex[:20])


def test_every_request_carries_a_correct_signature(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    result = send(backend, make_sms("Café 😀"))
    backend.fetch_status(Polled(result.provider_message_id))

    signed = [r for r in sandbox.requests if r.path != "/1.0/auth/time"]
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in signed] == [
        ("GET", "sms"), ("POST", "jobs"), ("GET", result.provider_message_id),
        ("GET", result.provider_message_id)]  # outgoing (404: not sent yet), then jobs
    for request in signed:
        assert request.headers["X-Ovh-Signature"] == recompute(request)
        assert abs(int(request.headers["X-Ovh-Timestamp"]) - time.time()) < 60
    # The body is signed as sent: ASCII escapes, exactly as python-ovh serialises it.
    assert b'"Caf\\u00e9 \\ud83d\\ude00"' in signed[1].body


def test_the_reference_signature_example() -> None:
    body = ('{"message":"Hello","receivers":["+33600000000"],"sender":"MyBrand",'
            '"noStopClause":true,"priority":"high","senderForResponse":false,'
            '"validityPeriod":2880,"charset":"UTF-8","coding":"7bit","class":"phoneDisplay",'
            '"tag":"t1"}')
    url = "http://127.0.0.1:18765/1.0/sms/sms-ab12345-1/jobs"

    assert signature("AS", "CK", "POST", url, body, 1700000000) == \
        "$1$a06c524e231f67a11850af795db3863ab711e11e"
    assert signature("AS", "CK", "post", url, body.encode(), "1700000000") == \
        "$1$a06c524e231f67a11850af795db3863ab711e11e"


@pytest.fixture
def ovh_library(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """python-ovh pointed at the sandbox, with our clock and the library's frozen together."""
    ovh_client = pytest.importorskip("ovh.client")
    for name in list(os.environ):
        if name.startswith("OVH_"):
            monkeypatch.delenv(name)
    frozen = int(time.time())
    handler(sandbox).clock = lambda: frozen + 42.0  # OVH's clock is 42 s ahead of ours
    monkeypatch.setattr(ovh_client, "time", SimpleNamespace(time=lambda: frozen))
    monkeypatch.setattr(ovh_backend, "_now", lambda: frozen)
    monkeypatch.setitem(ovh_client.ENDPOINTS, "django-sms-sandbox", f"{sandbox.url}/1.0")
    client = ovh_client.Client(endpoint="django-sms-sandbox",
                        application_key=CREDS.ovh_application_key,
                        application_secret=CREDS.ovh_application_secret,
                        consumer_key=CREDS.ovh_consumer_key)
    return SimpleNamespace(client=client, frozen=frozen)


def test_our_signatures_equal_the_official_ovh_librarys(sandbox: Sandbox,
                                                        ovh_library: Any) -> None:
    result = send(make_backend(sandbox), make_sms("Héllo from both 😀"))
    assert result.error is None
    ours_list, ours_job = sandbox.requests[1], sandbox.requests[2]

    names = ovh_library.client.get("/sms")
    answer = ovh_library.client.post(f"/sms/{SERVICE}/jobs", **json.loads(ours_job.body))
    theirs_time, theirs_list, theirs_job = sandbox.requests[3:]

    assert names == [SERVICE]
    assert answer["validReceivers"] == [TO]
    assert theirs_time.path == "/1.0/auth/time"
    for ours, theirs in ((ours_list, theirs_list), (ours_job, theirs_job)):
        assert (theirs.method, theirs.path, theirs.status) == (ours.method, ours.path, 200)
        assert theirs.body == ours.body
        for header in ("X-Ovh-Application", "X-Ovh-Consumer", "X-Ovh-Timestamp",
                       "X-Ovh-Signature"):
            assert theirs.headers[header] == ours.headers[header], header
    assert ours_job.headers["X-Ovh-Timestamp"] == str(ovh_library.frozen + 42)


def test_the_timestamp_is_the_servers_clock(sandbox: Sandbox) -> None:
    handler(sandbox).clock_offset = 3600  # OVH's clock one hour ahead of ours

    result = send(make_backend(sandbox), make_sms())

    assert result.status == Status.ACCEPTED
    job = jobs_requests(sandbox)[0]
    assert abs(int(job.headers["X-Ovh-Timestamp"]) - (time.time() + 3600)) < 60


def test_the_time_delta_is_fetched_once_per_instance(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    for _ in range(3):
        result = send(backend, make_sms())
    backend.fetch_status(Polled(result.provider_message_id))
    backend.credits_left()

    time_calls = [r for r in sandbox.requests if r.path == "/1.0/auth/time"]
    assert len(time_calls) == 1
    assert sandbox.requests[0].path == "/1.0/auth/time"
    # Unauthenticated, as python-ovh does it: the application key, no signature.
    assert time_calls[0].headers["X-Ovh-Application"] == CREDS.ovh_application_key
    assert "X-Ovh-Signature" not in time_calls[0].headers


def test_a_stale_clock_is_transient_and_refetched(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    assert send(backend).status == Status.ACCEPTED
    handler(sandbox).clock_offset = 3600  # OVH's clock jumps: our cached delta is stale

    stale = send(backend)
    again = send(backend)

    assert isinstance(stale.error, TransientProviderError)
    assert (stale.error.code, stale.error.status_code) == ("QUERY_TIME_OUT", 400)
    assert again.status == Status.ACCEPTED
    assert len([r for r in sandbox.requests if r.path == "/1.0/auth/time"]) == 2


def test_an_auth_refusal_makes_the_next_request_refetch_the_time(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    sandbox.inject(faults.error("invalid_signature"), path=JOBS)

    refused_send = send(backend)
    ok = send(backend)

    assert refused_send.status == Status.FAILED
    assert ok.status == Status.ACCEPTED
    assert [r.path for r in sandbox.requests].count("/1.0/auth/time") == 2


def test_an_unavailable_server_time_fails_before_anything_is_sent(sandbox: Sandbox) -> None:
    sandbox.inject(faults.status(503), path="/1.0/auth/time")

    result = send(make_backend(sandbox))

    assert isinstance(result.error, TransientProviderError)
    assert result.status == Status.QUEUED
    assert [r.path for r in sandbox.requests] == ["/1.0/auth/time"]


def test_a_wrong_server_time_heals_itself(sandbox: Sandbox) -> None:
    # Half of "1795329008" is "17953": valid JSON, absurd time. OVH then refuses the
    # timestamp; the backend forgets the delta and the next attempt works.
    sandbox.inject(faults.malformed_json(), path="/1.0/auth/time")
    backend = make_backend(sandbox)

    first = send(backend)
    second = send(backend)

    assert isinstance(first.error, TransientProviderError)
    assert first.error.code == "QUERY_TIME_OUT"
    assert second.status == Status.ACCEPTED
    assert len(jobs_requests(sandbox)) == 1


# -- the SMS account -----------------------------------------------------------------------------


def test_the_only_service_is_discovered_once(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    for _ in range(3):
        send(backend)

    assert len([r for r in sandbox.requests if r.path == "/1.0/sms"]) == 1
    assert backend.service_name() == SERVICE


def test_a_configured_service_name_skips_discovery(sandbox: Sandbox) -> None:
    send(make_backend(sandbox, service_name=SERVICE))
    assert [r.path for r in sandbox.requests] == ["/1.0/auth/time", JOBS]


def test_no_service_fails_clearly(sandbox: Sandbox) -> None:
    handler(sandbox).service_names = []

    result = send(make_backend(sandbox))

    assert isinstance(result.error, PermanentProviderError)
    assert result.status == Status.FAILED
    assert "see no SMS account" in str(result.error)
    assert jobs_requests(sandbox) == []


def test_several_services_must_be_chosen(sandbox: Sandbox) -> None:
    handler(sandbox).service_names = ["sms-zz99999-2", "sms-aa11111-1"]

    result = send(make_backend(sandbox))

    assert result.status == Status.FAILED
    assert "2 SMS accounts (sms-aa11111-1, sms-zz99999-2)" in str(result.error)
    assert "'service_name'" in str(result.error)
    assert jobs_requests(sandbox) == []
    ok = send(make_backend(sandbox, service_name="sms-zz99999-2"))
    assert ok.status == Status.ACCEPTED


def test_an_unknown_service_name_is_ovhs_404(sandbox: Sandbox) -> None:
    result = send(make_backend(sandbox, service_name="sms-nope-1"))

    assert type(result.error) is PermanentProviderError
    assert result.status == Status.FAILED
    assert (result.error.code, result.error.status_code) == ("Client::NotFound", 404)
    assert "This service does not exist" in str(result.error)


def test_credits_left_and_account(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    assert backend.credits_left() == Decimal("1000")
    send(backend, make_sms("x" * 200))  # 2 parts
    assert backend.credits_left() == Decimal("998")
    account = backend.account()
    assert (account["name"], account["status"]) == (SERVICE, "enable")


def test_set_callback_url(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    backend.set_callback_url("https://example.com/sms/webhooks/ovh/s3cr3t/status/")
    assert backend.account()["callBack"] == "https://example.com/sms/webhooks/ovh/s3cr3t/status/"
    put = next(r for r in sandbox.requests if r.method == "PUT")
    assert put.headers["X-Ovh-Signature"] == recompute(put)


# -- payload -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments", "encoding"),
    [
        ("Hello", 1, "GSM-7"),
        ("x" * 161, 2, "GSM-7"),
        ("Prix: 10€ {promo}", 1, "GSM-7"),
        ("Привет, как дела?", 1, "UCS-2"),
        ("Café ça va ? " * 10, 2, "UCS-2"),
        ("😀" * 36, 2, "UCS-2"),
        ("x" * 918, 6, "GSM-7"),
    ],
)
def test_unicode_and_multipart_texts(sandbox: Sandbox, text: str, segments: int,
                                     encoding: str) -> None:
    sms = make_sms(text)
    assert (sms.segments, sms.encoding) == (segments, encoding)

    result = send(make_backend(sandbox), sms)

    assert result.status == Status.ACCEPTED, result.error
    assert jobs_requests(sandbox)[0].json["message"] == text
    stored = sandbox.messages.last()
    assert (stored.segments, stored.encoding) == (segments, encoding)
    assert result.cost == Decimal(segments)  # one credit per part to France


def test_options_shape_the_job(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox, priority="low", validity_period=60, no_stop_clause=False)
    send(backend, make_sms(options={"priority": "veryLow"}))

    body = jobs_requests(sandbox)[0].json
    assert (body["priority"], body["validityPeriod"], body["noStopClause"]) == (
        "veryLow", 60, False)
    # OVH's marketing rule, played by the sandbox: the STOP mention is appended.
    assert sandbox.messages.last().text.endswith("\nSTOP 36111")


def test_per_message_validity_period(sandbox: Sandbox) -> None:
    send(make_backend(sandbox), make_sms(options={"validity_period": 5}))
    assert jobs_requests(sandbox)[0].json["validityPeriod"] == 5


def test_sender_for_response_replaces_the_sender(sandbox: Sandbox) -> None:
    result = send(make_backend(sandbox, sender_for_response=True), make_sms())

    assert result.status == Status.ACCEPTED
    body = jobs_requests(sandbox)[0].json
    assert body["senderForResponse"] is True
    assert "sender" not in body


def test_no_sender_lets_ovh_choose(sandbox: Sandbox) -> None:
    result = send(make_backend(sandbox), make_sms(sender=None))
    assert result.status == Status.ACCEPTED
    assert "sender" not in jobs_requests(sandbox)[0].json


def test_a_reference_too_long_for_a_tag_is_not_sent(sandbox: Sandbox) -> None:
    sms = make_sms()
    sms.reference = "r" * 21  # not a UUID (an SMS built by hand) and over 20 characters
    assert send(make_backend(sandbox), sms).status == Status.ACCEPTED
    assert "tag" not in jobs_requests(sandbox)[0].json


def test_the_tag_is_20_characters_of_the_reference(sandbox: Sandbox) -> None:
    # Issue 14 item 5: OVH documents tag as at most 20 characters; the sandbox enforces it,
    # and every tag sent is the first 20 hex digits of the message's reference.
    for _ in range(3):
        sms = make_sms()
        assert send(make_backend(sandbox), sms).error is None
        assert jobs_requests(sandbox)[-1].json["tag"] == uuid.UUID(sms.reference).hex[:20]
    assert ovh_backend.tag_for("6f1c7a52-3a4b-4c1e-9d63-2f0e5b8a9c10") == "6f1c7a523a4b4c1e9d63"
    assert ovh_backend.tag_for("short-ref") == "short-ref"


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"priority": "urgent"}, "'priority' must be one of"),
        ({"validity_period": 0}, "'validity_period' must be a positive"),
        ({"no_stop_clause": "yes"}, "'no_stop_clause' must be True or False"),
    ],
)
def test_bad_options_fail_the_message_without_a_request(sandbox: Sandbox,
                                                        options: dict[str, Any],
                                                        reason: str) -> None:
    result = send(make_backend(sandbox, **options))
    assert result.status == Status.FAILED
    assert reason in str(result.error)
    assert jobs_requests(sandbox) == []


def test_missing_credentials_refuse_to_create_the_backend(sandbox: Sandbox) -> None:
    with pytest.raises(ConfigurationError, match="'consumer_key' OPTION, missing or empty"):
        make_backend(sandbox, consumer_key="")
    assert sandbox.requests == []


# -- refusals and errors -------------------------------------------------------------------------


def test_an_invalid_receiver_is_rejected(sandbox: Sandbox) -> None:
    result = send(make_backend(sandbox), make_sms(to="+99912345678"))

    assert type(result.error) is PermanentProviderError
    assert result.status == Status.REJECTED
    assert result.error.code == "invalidReceivers"
    assert "+99912345678" in str(result.error)
    assert json.loads(jobs_requests(sandbox)[0].response_body)["invalidReceivers"] == [
        "+99912345678"]
    assert len(sandbox.messages) == 0


@pytest.mark.parametrize(
    ("fault", "exception", "status", "code", "http"),
    [
        (faults.auth_rejection(), PermanentProviderError, Status.FAILED, "INVALID_CREDENTIAL",
         403),
        (faults.error("invalid_signature"), PermanentProviderError, Status.FAILED,
         "INVALID_SIGNATURE", 400),
        (faults.error("not_granted_call"), PermanentProviderError, Status.FAILED,
         "NOT_GRANTED_CALL", 403),
        (faults.error("invalid_key"), PermanentProviderError, Status.FAILED, "INVALID_KEY", 403),
        (faults.error("service_not_found"), PermanentProviderError, Status.FAILED,
         "Client::NotFound", 404),
        (faults.error("invalid_sender"), PermanentProviderError, Status.REJECTED,
         "Client::BadRequest", 400),
        (faults.error("not_enough_credits"), PermanentProviderError, Status.REJECTED,
         "Client::Forbidden", 403),
        (faults.error("query_time_out"), TransientProviderError, Status.QUEUED,
         "QUERY_TIME_OUT", 400),
        (faults.status(429), TransientProviderError, Status.QUEUED, "Client::TooManyRequests",
         429),
        (faults.status(500), TransientProviderError, Status.QUEUED,
         "Server::InternalServerError", 500),
        (faults.status(502), TransientProviderError, Status.QUEUED, "", 502),
        (faults.status(503), TransientProviderError, Status.QUEUED, "", 503),
    ],
    ids=str,
)
def test_errors_are_mapped(sandbox: Sandbox, fault: Any, exception: type, status: str,
                           code: str, http: int) -> None:
    sandbox.inject(fault, path=JOBS)

    result = send(make_backend(sandbox), make_sms())

    assert type(result.error) is exception
    assert result.status == status
    assert (result.error.code, result.error.status_code) == (code, http)
    assert result.error.provider == "ovh"
    assert len(sandbox.messages) == 0


def test_the_query_id_is_kept_in_the_error(sandbox: Sandbox) -> None:
    sandbox.inject(faults.error("invalid_sender"), path=JOBS)

    result = send(make_backend(sandbox))

    query_id = jobs_requests(sandbox)[0]
    assert "Invalid sender" in str(result.error)
    assert "[X-OVH-QueryID EU.ext-sandbox." in str(result.error)
    assert query_id.status == 400


@pytest.mark.parametrize(
    ("options", "code", "http"),
    [
        ({"application_secret": "not-the-secret"}, "INVALID_SIGNATURE", 400),
        ({"consumer_key": "not-the-consumer-key"}, "INVALID_CREDENTIAL", 403),
        ({"application_key": "otherapp"}, "INVALID_KEY", 403),
    ],
)
def test_wrong_credentials_are_permanent_failures(sandbox: Sandbox, options: dict[str, Any],
                                                  code: str, http: int) -> None:
    result = send(make_backend(sandbox, service_name=SERVICE, **options))

    assert type(result.error) is PermanentProviderError
    assert result.status == Status.FAILED
    assert (result.error.code, result.error.status_code) == (code, http)
    for value in options.values():
        assert value not in str(result.error)
    assert len(sandbox.messages) == 0


def test_an_unvalidated_sender_is_rejected(sandbox: Sandbox) -> None:
    result = send(make_backend(sandbox), make_sms(sender="Unvalidated"))

    assert result.status == Status.REJECTED
    assert result.error.code == "Client::BadRequest"
    assert "waitingValidation" in str(result.error)


def test_429_honours_retry_after(sandbox: Sandbox) -> None:
    sandbox.inject(faults.status(429, retry_after=7), path=JOBS)

    result = send(make_backend(sandbox))

    assert isinstance(result.error, TransientProviderError)
    assert result.error.retry_after == 7


def test_a_hang_past_the_read_timeout_is_ambiguous(sandbox: Sandbox) -> None:
    sandbox.inject(faults.hang(3, accept=True), path=JOBS)

    result = send(make_backend(sandbox, timeout=(2, 0.5)))

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert "may have been accepted" in str(result.error)
    assert len(sandbox.messages) == 1  # it was, in fact


def test_malformed_json_is_ambiguous_not_a_crash(sandbox: Sandbox) -> None:
    sandbox.inject(faults.malformed_json(), path=JOBS)

    result = send(make_backend(sandbox))

    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN
    assert "could not be understood" in str(result.error)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"ids": [], "validReceivers": [TO], "invalidReceivers": []}, "no message id"),
        ({"ids": [1], "validReceivers": [], "invalidReceivers": []}, "neither validReceivers"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_an_answer_without_our_receiver_and_an_id_is_ambiguous(answer: Any,
                                                               reason: str) -> None:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(answer).encode()
    with pytest.raises(MalformedResponse, match=reason):
        SmsBackend(**COMPLETE).parse_send_response(make_sms(), response)


def test_receivers_echoed_with_00_are_recognised() -> None:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps({"ids": [7], "validReceivers": ["0033612345678"],
                                    "invalidReceivers": []}).encode()
    assert SmsBackend(**COMPLETE).parse_send_response(make_sms(),
                                                      response).provider_message_id == "7"


def test_a_connection_refused_is_transient() -> None:
    backend = SmsBackend(alias="ovh", application_key="k", application_secret="s",
                         consumer_key="c", endpoint="http://127.0.0.1:9")
    result = send(backend)
    assert isinstance(result.error, TransientProviderError)


def test_secrets_are_masked_in_debug_logs(sandbox: Sandbox, caplog: Any) -> None:
    caplog.set_level("DEBUG", logger="django_sms.http")
    send(make_backend(sandbox, debug=True))
    assert "/1.0/sms/" in caplog.text
    assert CREDS.ovh_application_secret not in caplog.text
    assert CREDS.ovh_consumer_key not in caplog.text


# -- status polling ------------------------------------------------------------------------------


def test_fetch_status_follows_the_job_to_delivery(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    sms = make_sms("x" * 200)
    sent = send(backend, sms)

    pending = backend.fetch_status(Polled(sent.provider_message_id))
    sandbox.callbacks.flush()
    delivered = backend.fetch_status(Polled(sent.provider_message_id))

    assert pending is not None and delivered is not None
    assert pending.status == Status.ACCEPTED
    assert pending.provider_status == "dlr-0"
    assert delivered.status == Status.DELIVERED
    assert (delivered.provider_status, delivered.provider_status_text) == (
        "dlr-1/ptt-4", "Delivered (DLR 1); PTT 4: Delivered")
    assert delivered.message_ref == uuid.UUID(sms.reference).hex[:20]  # the tag sent
    assert (delivered.segments, delivered.cost, delivered.cost_currency) == (
        2, Decimal("2"), "CRD")
    assert delivered.occurred_at is not None and delivered.occurred_at.utcoffset() is not None
    assert pending.dedupe_key != delivered.dedupe_key
    assert delivered.dedupe_key == f"ovh:{sent.provider_message_id}:1:4"
    polled = [r.path for r in sandbox.requests if r.method == "GET" and "outgoing" in r.path]
    assert polled == [f"/1.0/sms/{SERVICE}/outgoing/{sent.provider_message_id}"] * 2


def test_fetch_status_of_a_message_handed_to_the_operator(sandbox: Sandbox) -> None:
    sandbox.set_outcome(Outcome(sent_after=0, final_after=3600), to=TO)
    backend = make_backend(sandbox)
    sent = send(backend)
    assert sandbox.messages.wait_for(sent.provider_message_id, "sent", timeout=5)

    update = backend.fetch_status(Polled(sent.provider_message_id))

    assert update is not None
    assert (update.status, update.provider_status) == (Status.SENT, "dlr-4/ptt-3")
    assert update.error_code == ""


@pytest.mark.parametrize(
    ("outcome", "status", "provider_status", "error_code", "error_message"),
    [
        (Outcome("undelivered", provider_code=24), Status.UNDELIVERED, "dlr-2/ptt-24",
         "ptt-24", "Subscriber absent"),
        (Outcome("undelivered"), Status.UNDELIVERED, "dlr-2/ptt-5", "ptt-5",
         "Undelivered, no detail given"),
        (Outcome("expired"), Status.EXPIRED, "dlr-2/ptt-8", "ptt-8", "Expired in the SMSC"),
        (Outcome("rejected"), Status.REJECTED, "dlr-16/ptt-23", "ptt-23",
         "Invalid or barred number"),
        (Outcome("rejected", provider_code=28), Status.REJECTED, "dlr-16/ptt-28", "ptt-28",
         "Refused: spam suspicion"),
        (Outcome("failed"), Status.REJECTED, "dlr-16/ptt-5", "ptt-5",
         "Undelivered, no detail given"),
    ],
    ids=str,
)
def test_fetch_status_failures(sandbox: Sandbox, outcome: Outcome, status: str,
                               provider_status: str, error_code: str,
                               error_message: str) -> None:
    sandbox.set_outcome(outcome, to=TO)
    backend = make_backend(sandbox)
    sent = send(backend)
    sandbox.callbacks.flush()

    update = backend.fetch_status(Polled(sent.provider_message_id))

    assert update is not None
    assert (update.status, update.provider_status) == (status, provider_status)
    assert (update.error_code, update.error_message) == (error_code, error_message)


def test_fetch_status_of_an_unknown_id_is_permanent(sandbox: Sandbox) -> None:
    with pytest.raises(PermanentProviderError, match="neither sent nor pending"):
        make_backend(sandbox).fetch_status(Polled("999"))


def test_fetch_status_without_a_provider_id_asks_nothing(sandbox: Sandbox) -> None:
    assert make_backend(sandbox).fetch_status(Polled("")) is None
    assert sandbox.requests == []


def test_fetch_status_errors_are_classified(sandbox: Sandbox) -> None:
    backend = make_backend(sandbox)
    sent = send(backend)
    sandbox.inject(faults.status(503), path=f"/1.0/sms/{SERVICE}/outgoing/*")
    with pytest.raises(TransientProviderError):
        backend.fetch_status(Polled(sent.provider_message_id))
    sandbox.inject(faults.auth_rejection(), path=f"/1.0/sms/{SERVICE}/outgoing/*")
    with pytest.raises(PermanentProviderError, match="INVALID_CREDENTIAL"):
        backend.fetch_status(Polled(sent.provider_message_id))


# -- the status tables ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dlr", "ptt", "status"),
    [
        (0, None, Status.ACCEPTED),
        (0, 3, Status.SENT),
        (1, 4, Status.DELIVERED),
        (1, None, Status.DELIVERED),
        (2, 24, Status.UNDELIVERED),
        (2, 8, Status.EXPIRED),
        (2, 23, Status.UNDELIVERED),  # billed: it reached the operator
        (4, 3, Status.SENT),
        (8, 1, Status.SENT),
        (16, 23, Status.REJECTED),
        (16, None, Status.REJECTED),
        (None, 4, Status.DELIVERED),
        (None, 5, Status.UNDELIVERED),
        (None, 6, Status.SENT),
        (None, 8, Status.EXPIRED),
        (None, 28, Status.REJECTED),
        (None, 999, Status.ACCEPTED),
        (3, None, Status.ACCEPTED),
        (3, 4, Status.DELIVERED),
        (None, None, Status.ACCEPTED),
    ],
)
def test_status_for_dlr_and_ptt(dlr: int | None, ptt: int | None, status: str) -> None:
    assert status_for(dlr, ptt) == status


def test_the_tables_cover_the_reference() -> None:
    assert sorted(DLR_TABLE) == [0, 1, 2, 4, 8, 16]
    assert {1, 2, 3, 4, 5, 6, 8, 20, 21, 23, 24, 25, 26, 27, 28, 29, 33, 39, 73, 74, 76,
            202} == set(PTT_TABLE)


# -- configuration -------------------------------------------------------------------------------


def test_endpoints() -> None:
    def base_url(**options: Any) -> str:
        return SmsBackend(**COMPLETE, **options).base_url

    assert base_url() == "https://eu.api.ovh.com/1.0"
    assert base_url(endpoint="ovh-ca") == "https://ca.api.ovh.com/1.0"
    assert base_url(endpoint="OVH-US") == "https://api.us.ovhcloud.com/1.0"
    assert base_url(endpoint="http://127.0.0.1:8025") == "http://127.0.0.1:8025/1.0"
    assert base_url(endpoint="https://proxy.example/ovh/1.0/") == "https://proxy.example/ovh/1.0"
    assert base_url(endpoint="ovh-eu", base_url="http://127.0.0.1:1") == "http://127.0.0.1:1/1.0"
    assert resolve_endpoint("ovh-mars") == ""


def check_ids(backend: SmsBackend) -> list[tuple[str, str]]:
    return [(m.id or "", m.msg) for m in backend.check()]


COMPLETE = {"application_key": "a", "application_secret": "s", "consumer_key": "c"}


def test_check_accepts_a_complete_configuration() -> None:
    assert check_ids(SmsBackend(**COMPLETE)) == []
    assert check_ids(SmsBackend(**COMPLETE, endpoint="ovh-ca", service_name="sms-x-1",
                                priority="low", validity_period=60,
                                webhook_secret=["a" * 32, "b" * 32],
                                callback_timezone="UTC")) == []


def test_check_reports_missing_keys(settings: Any) -> None:
    settings.SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.ovh.SmsBackend",
                                         "OPTIONS": {"application_key": "a",
                                                     "consumer_key": "  "}}}
    [message] = [m for m in check_backends() if m.id == "django_sms.E010"]
    assert message.msg == (
        "SMS backend 'default' (django_sms.backends.ovh) needs the 'application_secret' and "
        "'consumer_key' OPTIONS, missing or empty in SMS_BACKENDS['default']['OPTIONS']."
    )


def test_check_reports_bad_values() -> None:
    messages = check_ids(SmsBackend(**COMPLETE, endpoint="ovh-mars", priority="urgent",
                                    validity_period=-1, no_stop_clause="no",
                                    webhook_secret=["ok" * 20, ""],
                                    callback_timezone="Mars/Olympus"))
    assert {m[0] for m in messages} == {"django_sms.E012"}
    text = " ".join(m[1] for m in messages)
    for fragment in ("'ovh-mars'", "'priority'", "'validity_period'", "'no_stop_clause'",
                     "'webhook_secret'", "'callback_timezone'"):
        assert fragment in text


def test_check_warns_about_stop_clauses_and_weak_secrets() -> None:
    messages = check_ids(SmsBackend(**COMPLETE, no_stop_clause=False,
                                    webhook_secret="short"))
    # One id, one meaning: W012 is the stop clause, W013 a weak webhook secret.
    assert sorted(m[0] for m in messages) == ["django_sms.W012", "django_sms.W013"]
    by_id = dict(messages)
    assert "STOP 36111" in by_id["django_sms.W012"]
    assert "shorter than 20" in by_id["django_sms.W013"]


def test_check_reports_unknown_options() -> None:
    [(check_id, msg)] = check_ids(SmsBackend(**COMPLETE, sevice_name="typo"))
    assert (check_id, "'sevice_name'" in msg) == ("django_sms.W010", True)


def test_capabilities() -> None:
    backend = SmsBackend(**COMPLETE)
    assert (backend.supports_status_polling, backend.supports_status_webhooks,
            backend.supports_inbound, backend.max_segments) == (True, True, True, 6)


# -- through the pipeline ------------------------------------------------------------------------


@pytest.fixture
def ovh_alias(settings: Any, sms_sandbox: Sandbox) -> Iterator[Sandbox]:
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "ovh": {
            "BACKEND": "django_sms.backends.ovh.SmsBackend",
            "OPTIONS": {
                "application_key": CREDS.ovh_application_key,
                "application_secret": CREDS.ovh_application_secret,
                "consumer_key": CREDS.ovh_consumer_key,
                "endpoint": sms_sandbox.url,
                "read_timeout": 2,
            },
        },
    }
    yield sms_sandbox
    sms_backends.close_all()


@pytest.mark.django_db
def test_send_sms_through_ovh_stores_the_provider_answer(ovh_alias: Sandbox) -> None:
    message = send_sms("Café ça va ? " * 10, to="06 12 34 56 78", using="ovh")

    message.refresh_from_db()
    stored = ovh_alias.messages.last()
    assert message.status == Status.ACCEPTED
    assert (message.provider, message.backend_alias) == ("ovh", "ovh")
    assert message.provider_message_id == stored.id
    assert stored.reference == message.reference.hex[:20]  # the tag finds the message later
    assert (message.encoding, message.segments, stored.segments) == ("UCS-2", 2, 2)
    assert (message.cost, message.cost_currency) == (Decimal("2"), "CRD")
    assert jobs_requests(ovh_alias)[0].json["sender"] == "TestShop"


@pytest.mark.django_db
def test_fetch_status_updates_the_stored_message(ovh_alias: Sandbox,
                                                 status_signals: Any) -> None:
    message = send_sms("Hello", to=TO, using="ovh")
    ovh_alias.callbacks.flush()

    update = sms_backends["ovh"].fetch_status(message)
    assert update is not None
    event = StatusEvent(status=update.status, source=EventSource.POLL, backend_alias="ovh",
                        provider="ovh", provider_message_id=update.provider_message_id,
                        provider_status=update.provider_status,
                        provider_status_text=update.provider_status_text,
                        occurred_at=update.occurred_at, dedupe_key=update.dedupe_key)
    apply_status(message, update.status, event=event)

    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    # The provider's time (whole seconds), never earlier than the message itself.
    assert message.delivered_at == max(update.occurred_at, message.created_at)
    assert status_signals.transitions[-1] == (Status.ACCEPTED, Status.DELIVERED)


@pytest.mark.django_db
def test_send_sms_through_ovh_records_a_refusal(ovh_alias: Sandbox) -> None:
    handler(ovh_alias).refused_receivers.add(TO)

    with pytest.raises(PermanentProviderError, match="invalidReceivers"):
        send_sms("hello", to=TO, using="ovh")

    message = get_message_model().objects.get()
    assert message.status == Status.REJECTED
    assert message.error_code == "invalidReceivers"


@pytest.mark.django_db
def test_a_transient_failure_requeues_the_message(ovh_alias: Sandbox) -> None:
    ovh_alias.inject(faults.status(503, retry_after=120), path=JOBS)

    message = send_sms("Hello", to=TO, using="ovh")

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.next_attempt_at is not None
    assert len(ovh_alias.messages) == 0


@pytest.mark.django_db
def test_ovh_caps_texts_at_six_parts(ovh_alias: Sandbox, settings: Any) -> None:
    settings.DJANGO_SMS = {**settings.DJANGO_SMS, "MAX_SEGMENTS": 10}
    with pytest.raises(MessageTooLong, match="at most 6"):
        send_sms("x" * (153 * 6 + 1), to=TO, using="ovh")
    assert send_sms("x" * (153 * 6), to=TO, using="ovh").segments == 6


@pytest.mark.django_db
def test_sequential_sends_reuse_one_connection(ovh_alias: Sandbox) -> None:
    for _ in range(200):
        send_sms("hello", to=TO, using="ovh")
    assert len(ovh_alias.messages) == 200
    assert ovh_alias.connection_count == 1
    assert len([r for r in ovh_alias.requests if r.path == "/1.0/auth/time"]) == 1


@pytest.mark.django_db
def test_sendtestsms_against_the_sandbox(ovh_alias: Sandbox) -> None:
    out = io.StringIO()

    call_command("sendtestsms", TO, "--using", "ovh", "--text", "Hi", stdout=out)

    text = out.getvalue()
    assert "Status:       accepted" in text
    assert "Backend:      ovh (ovh)" in text
    assert f"Provider id:  {ovh_alias.messages.last().id}" in text
    assert jobs_requests(ovh_alias)[0].json["message"] == "Hi"


# -- the sandbox plays OVH strictly --------------------------------------------------------------


def raw_call(sandbox: Sandbox, method: str, path: str, body: Any = None, *,
             timestamp: int | None = None, secret: str = CREDS.ovh_application_secret,
             consumer: str | None = CREDS.ovh_consumer_key,
             application: str = CREDS.ovh_application_key,
             signature_override: str | None = None) -> requests.Response:
    """One request signed by hand (the test's own implementation of OVH's algorithm)."""
    url = f"{sandbox.url}/1.0{path}"
    data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hashlib.sha1(f"{secret}+{consumer}+{method}+{url}+".encode() + data
                          + f"+{ts}".encode()).hexdigest()
    headers = {"X-Ovh-Application": application, "X-Ovh-Timestamp": ts,
               "X-Ovh-Signature": signature_override or f"$1${digest}"}
    if consumer is not None:
        headers["X-Ovh-Consumer"] = consumer
    if body is not None:
        headers["Content-Type"] = "application/json"
    return requests.request(method, url, data=data or None, headers=headers, timeout=5)


VALID_JOB = {"message": "hi", "receivers": [TO], "sender": "TestShop", "noStopClause": True}


def test_sandbox_answers_a_hand_signed_request(sandbox: Sandbox) -> None:
    response = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", VALID_JOB)
    assert response.status_code == 200, response.text
    assert response.json()["validReceivers"] == [TO]
    assert response.headers["X-OVH-QueryID"].startswith("EU.ext-sandbox.")


def test_sandbox_time_is_a_bare_integer(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/1.0/auth/time", timeout=5)
    assert response.text.isdigit()
    assert abs(int(response.text) - time.time()) < 5


@pytest.mark.parametrize(
    ("changes", "status", "code", "reason"),
    [
        ({"secret": "wrong"}, 400, "INVALID_SIGNATURE", "does not match"),
        ({"signature_override": "$1$" + "0" * 40}, 400, "INVALID_SIGNATURE", "does not match"),
        ({"consumer": "wrong"}, 403, "INVALID_CREDENTIAL", "unknown X-Ovh-Consumer"),
        ({"consumer": None}, 401, "NOT_AUTHENTICATED", "no X-Ovh-Consumer"),
        ({"application": "wrong"}, 403, "INVALID_KEY", "X-Ovh-Application"),
        ({"timestamp": int(time.time()) - 3600}, 400, "QUERY_TIME_OUT", "from the server"),
    ],
)
def test_sandbox_checks_the_signature_like_ovh(sandbox: Sandbox, changes: dict[str, Any],
                                               status: int, code: str, reason: str) -> None:
    response = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", VALID_JOB, **changes)

    assert response.status_code == status
    assert response.json()["errorCode"] == code
    assert response.json()["httpCode"].startswith(str(status))
    assert reason in response.headers["X-Sandbox-Reason"]
    assert len(sandbox.messages) == 0


def test_sandbox_signature_covers_the_body_bytes(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/1.0/sms/{SERVICE}/jobs"
    signed_body = json.dumps(VALID_JOB, separators=(",", ":"))
    ts = str(int(time.time()))
    digest = hashlib.sha1(
        f"{CREDS.ovh_application_secret}+{CREDS.ovh_consumer_key}+POST+{url}+{signed_body}+{ts}"
        .encode()).hexdigest()
    sent_body = json.dumps(VALID_JOB)  # same JSON, other bytes
    response = requests.post(url, data=sent_body, timeout=5, headers={
        "X-Ovh-Application": CREDS.ovh_application_key, "X-Ovh-Consumer": CREDS.ovh_consumer_key,
        "X-Ovh-Timestamp": ts, "X-Ovh-Signature": f"$1${digest}",
        "Content-Type": "application/json"})
    assert (response.status_code, response.json()["errorCode"]) == (400, "INVALID_SIGNATURE")


def test_sandbox_enforces_access_rules(sandbox: Sandbox) -> None:
    handler(sandbox).access_rules = [("GET", "/sms"), ("GET", "/sms/*")]
    response = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", VALID_JOB)
    assert (response.status_code, response.json()["errorCode"]) == (403, "NOT_GRANTED_CALL")
    assert raw_call(sandbox, "GET", f"/sms/{SERVICE}/outgoing").status_code == 200


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"colour": "blue"}, "Invalid parameter: colour"),
        ({"message": ""}, "Missing parameter: message"),
        ({"receivers": []}, "receivers"),
        ({"senderForResponse": True}, "cannot be used together"),
        ({"sender": "WayTooLongSender"}, "Invalid sender"),
        ({"sender": "Refused"}, "it is refused"),
        ({"priority": "urgent"}, "priority"),
        ({"noStopClause": "yes"}, "noStopClause"),
        ({"validityPeriod": 0}, "validityPeriod"),
        ({"charset": "latin-1"}, "charset"),
        ({"tag": "t" * 21}, "tag: at most 20 characters"),
        ({"message": "x" * 919}, "Message too long: 7 SMS parts"),
    ],
)
def test_sandbox_validates_jobs_like_ovh(sandbox: Sandbox, changes: dict[str, Any],
                                         fragment: str) -> None:
    response = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", {**VALID_JOB, **changes})

    assert response.status_code == 400
    assert response.json()["class"] == "Client::BadRequest"
    assert fragment in response.json()["message"]
    assert len(sandbox.messages) == 0


def test_sandbox_splits_valid_and_invalid_receivers(sandbox: Sandbox) -> None:
    body = {**VALID_JOB, "receivers": [TO, "0033612345679", "+447700900123", "+99912345678"]}

    answer = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", body).json()

    assert answer["validReceivers"] == [TO, "+447700900123"]
    assert answer["invalidReceivers"] == ["0033612345679", "+99912345678"]
    assert len(answer["ids"]) == 2
    assert answer["totalCreditsRemoved"] == 2.0


def test_sandbox_refuses_a_send_beyond_the_credits(sandbox: Sandbox) -> None:
    handler(sandbox).credits[SERVICE] = Decimal("1")
    response = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs",
                        {**VALID_JOB, "message": "x" * 200})
    assert (response.status_code, response.json()["class"]) == (403, "Client::Forbidden")


def test_sandbox_requires_validated_senders_when_asked(sandbox: Sandbox) -> None:
    handler(sandbox).require_validated_senders = True
    refused = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", VALID_JOB)
    handler(sandbox).senders["TestShop"] = "enable"
    accepted = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", VALID_JOB)
    assert (refused.status_code, accepted.status_code) == (400, 200)


def test_sandbox_moves_jobs_to_outgoing_once_sent(sandbox: Sandbox) -> None:
    sandbox.set_outcome(Outcome(sent_after=0.2, final_after=3600), to=TO)
    [job_id] = raw_call(sandbox, "POST", f"/sms/{SERVICE}/jobs", VALID_JOB).json()["ids"]

    pending_jobs = raw_call(sandbox, "GET", f"/sms/{SERVICE}/jobs").json()
    before = raw_call(sandbox, "GET", f"/sms/{SERVICE}/outgoing/{job_id}")
    assert sandbox.messages.wait_for(str(job_id), "sent", timeout=5)
    after = raw_call(sandbox, "GET", f"/sms/{SERVICE}/outgoing/{job_id}")
    gone = raw_call(sandbox, "GET", f"/sms/{SERVICE}/jobs/{job_id}")

    assert pending_jobs == [job_id]
    assert (before.status_code, before.json()["class"]) == (404, "Client::NotFound")
    assert (after.json()["deliveryReceipt"], after.json()["ptt"]) == (4, 3)
    assert gone.status_code == 404
    assert raw_call(sandbox, "GET", f"/sms/{SERVICE}/outgoing",
                    ).json() == [job_id]


# -- manage.py smsovhinfo ------------------------------------------------------------------------


WEBHOOK_SECRET = "Zq3hV8kPp0xW2mJr7tYb4nLc6dGf1sAe"


@pytest.mark.django_db
def test_smsovhinfo_shows_the_account(ovh_alias: Sandbox) -> None:
    out = io.StringIO()

    call_command("smsovhinfo", stdout=out)

    text = out.getvalue()
    assert "Alias:        ovh" in text
    assert f"SMS account:  {SERVICE}" in text
    assert "Credits left: 1000.0" in text
    assert "Callback URL: (none: delivery reports only by polling)" in text
    assert "Status:       enable (channel: both)" in text


@pytest.mark.django_db
def test_smsovhinfo_sets_the_callback_url_and_masks_the_secret(ovh_alias: Sandbox,
                                                               settings: Any) -> None:
    settings.SMS_BACKENDS["ovh"]["OPTIONS"]["webhook_secret"] = WEBHOOK_SECRET
    url = f"https://example.com/sms/webhooks/ovh/{WEBHOOK_SECRET}/status/"
    out = io.StringIO()

    call_command("smsovhinfo", "--using", "ovh", "--set-callback", url, stdout=out)

    assert handler(ovh_alias).callback_url(SERVICE) == url
    text = out.getvalue()
    assert "Callback URL: https://example.com/sms/webhooks/ovh/***/status/" in text
    assert WEBHOOK_SECRET not in text
    assert "Callback URL set." in text


@pytest.mark.django_db
def test_smsovhinfo_errors(ovh_alias: Sandbox, settings: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an OVH backend"):
        call_command("smsovhinfo", "--using", "default", stdout=io.StringIO())
    with pytest.raises(CommandError, match="expects an http"):
        call_command("smsovhinfo", "--set-callback", "example.com", stdout=io.StringIO())
    handler(ovh_alias).access_rules = [("GET", "/sms"), ("GET", "/sms/*")]
    with pytest.raises(CommandError, match="NOT_GRANTED_CALL"):
        call_command("smsovhinfo", "--set-callback", "https://example.com/x/",
                     stdout=io.StringIO())
    settings.SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"}}
    with pytest.raises(CommandError, match="No SMS_BACKENDS alias uses"):
        call_command("smsovhinfo", stdout=io.StringIO())


def test_the_deploy_check_sees_an_endpoint_on_this_machine(settings: Any) -> None:
    from django_sms.checks import check_deploy

    settings.SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.ovh.SmsBackend",
                                         "OPTIONS": {**COMPLETE,
                                                     "endpoint": "http://127.0.0.1:8025"}}}
    assert [w.id for w in check_deploy()] == ["django_sms.W102"]
    settings.SMS_BACKENDS["default"]["OPTIONS"]["endpoint"] = "ovh-eu"
    assert check_deploy() == []
