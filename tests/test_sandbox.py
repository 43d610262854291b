"""The provider sandbox itself: request log, faults, connections, delivery reports, the
``smssandbox`` command and the ``sms_sandbox`` fixture."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from django_sms.testing.sandbox import (
    CallbackRequest,
    Outcome,
    ProviderHandler,
    Sandbox,
    SandboxCredentials,
    SandboxMessage,
    SandboxRequest,
    SandboxResponse,
    faults,
)
from django_sms.testing.sandbox.providers import handler_classes, register
from django_sms.testing.sandbox.providers.mailjet import MailjetHandler

ROOT = Path(__file__).resolve().parent.parent
TOKEN = SandboxCredentials().mailjet_token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAYLOAD = {"From": "MyBrand", "To": "+33612345678", "Text": "Hello"}


class RelayHandler(ProviderHandler):
    """A webhook-style provider for the scheduler tests: POST /relay/send {"to", "ref"};
    one JSON report per stage to the callback URL (per message via "callback", or the
    sandbox's), and a GET report with the query string for "sent"."""

    name = "relay"
    prefixes = ("/relay/",)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.path == "/relay/boom":
            raise RuntimeError("handler bug")
        data = request.json or {}
        with self.lock:
            message = self.accept(message_id=f"r{len(self.sandbox.messages) + 1}",
                                  to=data.get("to", ""), sender="Relay", text="x",
                                  reference=data.get("ref", ""),
                                  callback_url=data.get("callback", ""))
        return SandboxResponse.json_body(202, {"id": message.id, "body": request.body.decode()})

    def build_status_callbacks(self, message: SandboxMessage,
                               outcome: Outcome) -> list[CallbackRequest]:
        url = self.callback_url_for(message)
        if not url:
            return []
        reports = []
        for stage, _ in outcome.stages:
            if stage == "sent":
                reports.append(CallbackRequest("GET", url, query={"id": message.id, "s": stage},
                                               stage=stage, message_id=message.id))
            else:
                reports.append(CallbackRequest(
                    "POST", url, headers={"Content-Type": "application/json"},
                    body=json.dumps({"id": message.id, "ref": message.reference,
                                     "status": stage}).encode(),
                    stage=stage, message_id=message.id,
                    prepare=lambda cb: CallbackRequest(
                        cb.method, cb.url, {**cb.headers, "X-Signed": "fresh"}, cb.body,
                        cb.query, cb.stage, cb.message_id),
                ))
        return reports


class Receiver:
    """A tiny webhook receiver: records requests, answers the statuses in ``answers``
    (then 200)."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers = list(answers or [])
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.arrived:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "body": body})
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(providers=[MailjetHandler, RelayHandler]) as running:
        yield running


def mailjet_send(sandbox: Sandbox, session: Any = requests, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return session.post(sandbox.url + "/v4/sms-send", json=PAYLOAD,
                        headers={**AUTH, **kwargs.pop("headers", {})}, **kwargs)


# -- request log -------------------------------------------------------------------------------
def test_request_log_records_everything(sandbox: Sandbox) -> None:
    response = mailjet_send(sandbox, params={"trace": "1"}, headers={"X-Custom": "yes"})

    (record,) = sandbox.requests
    assert response.status_code == 200
    assert (record.method, record.path, record.query, record.query_string) == (
        "POST", "/v4/sms-send", {"trace": "1"}, "trace=1")
    assert record.headers["x-custom"] == record.headers["X-CUSTOM"] == "yes"
    assert "X-Custom" in list(record.headers)
    assert record.json == PAYLOAD
    assert json.loads(record.body) == PAYLOAD
    assert (record.provider, record.status, record.fault) == ("mailjet", 200, "")
    assert record.response_body == response.content
    assert record.connection_id == 1
    assert record.timestamp > 0


def test_unknown_path_is_a_404_naming_the_providers(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.url + "/nothing/here", timeout=5)

    assert response.status_code == 404
    assert response.json()["providers"] == {"mailjet": ["/v4/"], "relay": ["/relay/"]}
    assert sandbox.requests[-1].provider == ""


def test_handler_bug_is_a_500_not_a_dead_connection(sandbox: Sandbox) -> None:
    response = requests.post(sandbox.url + "/relay/boom", timeout=5)

    assert response.status_code == 500
    assert "RuntimeError: handler bug" in response.json()["error"]


def test_chunked_request_bodies_are_read(sandbox: Sandbox) -> None:
    body = iter([b'{"to": "+3', b'3612345678"}'])
    response = requests.post(sandbox.url + "/relay/send", data=body, timeout=5)

    assert response.status_code == 202
    assert sandbox.requests[-1].headers["Transfer-Encoding"] == "chunked"
    assert sandbox.requests[-1].json == {"to": "+33612345678"}


def test_reset_forgets_everything(sandbox: Sandbox) -> None:
    mailjet_send(sandbox)
    sandbox.inject(faults.status(503))
    sandbox.set_outcome(Outcome("failed"), to="+33612345678")

    sandbox.reset()

    assert (sandbox.requests, len(sandbox.messages), sandbox.connection_count) == ([], 0, 0)
    assert mailjet_send(sandbox).status_code == 200  # the fault is gone
    assert sandbox.messages.last().outcome == sandbox.default_outcome


# -- faults ------------------------------------------------------------------------------------
def test_injected_faults_apply_to_matching_requests_only(sandbox: Sandbox) -> None:
    sandbox.inject(faults.status(503), provider="mailjet", path="/v4/sms/*", count=2)
    sandbox.inject(faults.status(500), provider="relay")

    statuses = [
        mailjet_send(sandbox).status_code,  # not matching the path
        requests.get(sandbox.url + "/v4/sms/1", headers=AUTH, timeout=5).status_code,
        requests.post(sandbox.url + "/relay/send", json={}, timeout=5).status_code,
        requests.get(sandbox.url + "/v4/sms/2", headers=AUTH, timeout=5).status_code,
        requests.get(sandbox.url + "/v4/sms/3", headers=AUTH, timeout=5).status_code,
    ]

    assert statuses == [200, 503, 500, 503, 404]
    assert [r.fault for r in sandbox.requests] == ["", "status(503)", "status(500)",
                                                   "status(503)", ""]


def test_faults_are_used_in_order(sandbox: Sandbox) -> None:
    sandbox.inject(faults.status(429, retry_after=2))
    sandbox.inject("auth_rejection")
    sandbox.inject(faults.error("insufficient_funds"))

    first, second, third, fourth = (mailjet_send(sandbox) for _ in range(4))

    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert (second.status_code, second.json()["ErrorCode"]) == (401, "mj-0015")
    assert (third.status_code, third.json()["ErrorCode"]) == (400, "sms-0001")
    assert fourth.status_code == 200
    assert len(sandbox.messages) == 1


def test_latency_fault_still_answers(sandbox: Sandbox) -> None:
    sandbox.inject(faults.latency(20))

    assert mailjet_send(sandbox).status_code == 200
    assert sandbox.requests[-1].fault == "latency(20ms)"


@pytest.mark.parametrize("accept", [False, True])
def test_hang_closes_or_answers_late(sandbox: Sandbox, accept: bool) -> None:
    sandbox.inject(faults.hang(0.5, accept=accept))

    if accept:
        response = mailjet_send(sandbox)  # a patient client gets the late answer
        assert response.status_code == 200
    else:
        with pytest.raises(requests.ConnectionError):
            mailjet_send(sandbox)
    assert len(sandbox.messages) == (1 if accept else 0)
    assert sandbox.requests[-1].fault == f"hang(accept={accept})"


def test_malformed_json_fault_breaks_the_body_but_accepts(sandbox: Sandbox) -> None:
    sandbox.inject(faults.malformed_json())

    response = mailjet_send(sandbox)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert len(sandbox.messages) == 1


def test_reset_fault_aborts_the_connection(sandbox: Sandbox) -> None:
    sandbox.inject(faults.reset())

    with pytest.raises(requests.ConnectionError):
        mailjet_send(sandbox)
    assert sandbox.requests[-1].status is None


def test_bad_fault_arguments(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="Unknown fault 'explode'"):
        sandbox.inject("explode")
    with pytest.raises(ValueError, match="No sandbox provider 'nope'"):
        sandbox.inject(faults.reset(), provider="nope")
    with pytest.raises(ValueError, match="count"):
        sandbox.inject(faults.reset(), count=0)
    with pytest.raises(ValueError, match="fail_rate"):
        Sandbox(fail_rate=2)
    with pytest.raises(ValueError, match="No provider error named 'no_such_error'"):
        sandbox.inject(faults.error("no_such_error"))
    with pytest.raises(ValueError, match="No provider error named 'insufficient_funds'"):
        sandbox.inject(faults.error("insufficient_funds"), provider="relay")


def test_random_faults_are_reproducible_with_a_seed() -> None:
    def run() -> list[str]:
        with Sandbox(providers=[MailjetHandler], fail_rate=0.5, seed=42,
                     random_faults=[faults.status(503), faults.status(429)]) as sandbox:
            for _ in range(12):
                mailjet_send(sandbox)
            return [r.fault for r in sandbox.requests]

    first, second = run(), run()

    assert first == second
    assert {"", "status(503)", "status(429)"} == set(first)


def test_random_faults_default_to_failures_before_acceptance() -> None:
    with Sandbox(providers=[MailjetHandler], fail_rate=1.0, seed=1) as sandbox:
        for _ in range(8):
            with contextlib.suppress(requests.ConnectionError):
                mailjet_send(sandbox)
        assert all(r.fault for r in sandbox.requests)
        assert len(sandbox.messages) == 0


# -- connections -------------------------------------------------------------------------------
def test_connection_counting(sandbox: Sandbox) -> None:
    with requests.Session() as session:
        for _ in range(3):
            mailjet_send(sandbox, session)
    assert sandbox.connection_count == 1

    for _ in range(3):
        mailjet_send(sandbox, headers={"Connection": "close"})
    assert sandbox.connection_count == 4
    assert sorted({r.connection_id for r in sandbox.requests}) == [1, 2, 3, 4]


def test_stop_closes_idle_keep_alive_connections() -> None:
    sandbox = Sandbox(providers=[MailjetHandler]).start()
    session = requests.Session()
    mailjet_send(sandbox, session)
    assert sandbox.open_connections == 1

    sandbox.stop()

    assert sandbox.open_connections == 0
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.url
    session.close()


def test_stop_interrupts_a_hang() -> None:
    sandbox = Sandbox(providers=[MailjetHandler]).start()
    sandbox.inject(faults.hang(600))
    outcome: list[str] = []

    def call() -> None:
        try:
            mailjet_send(sandbox, timeout=60)
        except requests.ConnectionError as exc:
            outcome.append(type(exc).__name__)

    client = threading.Thread(target=call)
    client.start()
    while not sandbox.requests:
        threading.Event().wait(0.01)

    sandbox.stop()  # returns although the hang asked for ten minutes
    client.join(timeout=10)

    assert not client.is_alive()
    assert outcome == ["ConnectionError"]


# -- messages, outcomes and delivery reports ---------------------------------------------------
def test_mailjet_status_advances_for_polling(sandbox: Sandbox) -> None:
    sandbox.default_outcome = Outcome(sent_after=0.01, final_after=0.02)
    message_id = mailjet_send(sandbox).json()["MessageId"]

    assert sandbox.messages.wait_for(message_id, "delivered")
    polled = requests.get(f"{sandbox.url}/v4/sms/{message_id}", headers=AUTH, timeout=5).json()
    message = sandbox.messages[message_id]
    assert [status for _, status in message.history] == ["accepted", "sent", "delivered"]
    assert polled["Data"][0]["Status"] == {"Code": 3, "Name": "delivered",
                                           "Description": "Message delivered"}
    assert isinstance(polled["Data"][0]["SentTS"], int)
    assert sandbox.callbacks.attempts == []  # Mailjet has no webhooks


def test_outcomes_per_number(sandbox: Sandbox) -> None:
    sandbox.set_outcome(Outcome("undelivered", provider_code=8), to="+33600000008",
                        provider="mailjet")
    sandbox.set_outcome(Outcome("expired"), to="+33600000006")

    for to in ("+33600000008", "+33600000006", "+33612345678"):
        requests.post(sandbox.url + "/v4/sms-send", json={**PAYLOAD, "To": to}, headers=AUTH,
                      timeout=5)
    sandbox.callbacks.flush()

    statuses = {m.to: (m.status, MailjetHandler.native_status(m)[1]) for m in sandbox.messages}
    assert statuses == {"+33600000008": ("undelivered", "rejected_network"),
                        "+33600000006": ("expired", "rejected_expired"),
                        "+33612345678": ("delivered", "delivered")}


def test_mailjet_list_and_count_endpoints(sandbox: Sandbox) -> None:
    sandbox.set_outcome(Outcome("rejected", provider_code=11, final_after=0), to="+33600000011")
    for to in ("+33612345678", "+33600000011", "+33612345678"):
        requests.post(sandbox.url + "/v4/sms-send", json={**PAYLOAD, "To": to}, headers=AUTH,
                      timeout=5)
    sandbox.callbacks.flush()

    def get(path: str, **params: Any) -> Any:
        return requests.get(sandbox.url + path, params=params, headers=AUTH, timeout=5).json()

    assert get("/v4/sms/count") == {"Count": 3}
    assert get("/v4/sms/count", StatusCode="11") == {"Count": 1}
    assert get("/v4/sms/count", To="+33612345678") == {"Count": 2}
    assert len(get("/v4/sms", Limit=2)["Data"]) == 2
    assert len(get("/v4/sms", Limit=2, Offset=2)["Data"]) == 1
    assert get("/v4/sms", Limit=1001)["ErrorCode"] == "mj-0025"


def test_callbacks_in_order_with_per_message_url(sandbox: Sandbox, receiver: Receiver) -> None:
    requests.post(sandbox.url + "/relay/send",
                  json={"to": "+33612345678", "ref": "msg-1", "callback": receiver.url},
                  timeout=5)

    sandbox.callbacks.flush()

    sent, delivered = receiver.wait_for(2)
    assert (sent["method"], sent["path"]) == ("GET", "/hook?id=r1&s=sent")
    assert delivered["method"] == "POST"
    assert json.loads(delivered["body"]) == {"id": "r1", "ref": "msg-1", "status": "delivered"}
    assert delivered["headers"]["X-Signed"] == "fresh"  # prepare() ran before sending
    assert [a.ok for a in sandbox.callbacks.attempts] == [True, True]
    assert sandbox.messages["r1"].status == "delivered"


def test_callbacks_run_by_themselves(receiver: Receiver) -> None:
    with Sandbox(providers=[RelayHandler], callback_urls={"relay": receiver.url},
                 outcome=Outcome(sent_after=0.01, final_after=0.02)) as sandbox:
        requests.post(sandbox.url + "/relay/send", json={"to": "+1"}, timeout=5)

        assert sandbox.callbacks.wait_idle()
        assert [r["method"] for r in receiver.wait_for(2)] == ["GET", "POST"]


def test_callbacks_out_of_order_and_duplicated(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.set_callback_url("relay", receiver.url)
    sandbox.default_outcome = Outcome("undelivered", out_of_order=True, duplicates=2)
    requests.post(sandbox.url + "/relay/send", json={"to": "+1"}, timeout=5)

    sandbox.callbacks.flush()

    stages = [json.loads(r["body"])["status"] if r["body"] else "sent"
              for r in receiver.wait_for(4)]
    assert stages == ["undelivered", "undelivered", "undelivered", "sent"]
    assert sandbox.messages["r1"].status == "undelivered"  # the store never goes backwards


def test_rejected_outcome_skips_sent(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.set_callback_url("relay", receiver.url)
    sandbox.set_outcome(Outcome("rejected"), to="+2")
    requests.post(sandbox.url + "/relay/send", json={"to": "+2"}, timeout=5)

    sandbox.callbacks.flush()

    (report,) = receiver.wait_for(1)
    assert json.loads(report["body"])["status"] == "rejected"


def test_flush_can_be_limited_to_some_messages(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.set_callback_url("relay", receiver.url)
    for to in ("+1", "+2"):
        requests.post(sandbox.url + "/relay/send", json={"to": to}, timeout=5)

    sandbox.callbacks.flush(message_ids=["r2"])

    assert receiver.received[0]["path"] == "/hook?id=r2&s=sent"
    assert {json.loads(r["body"])["id"] for r in receiver.received if r["body"]} == {"r2"}
    assert (sandbox.messages["r1"].status, sandbox.messages["r2"].status) == (
        "accepted", "delivered")
    assert sandbox.callbacks.pending == 4  # r1's two transitions and two reports
    sandbox.callbacks.flush()
    assert sandbox.messages["r1"].status == "delivered"


def test_reports_first_fault_calls_back_before_answering(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    sandbox.set_callback_url("relay", receiver.url)
    requests.post(sandbox.url + "/relay/send", json={"to": "+1"}, timeout=5)  # r1: normal
    sandbox.inject(faults.reports_first(), provider="relay")

    response = requests.post(sandbox.url + "/relay/send", json={"to": "+2"}, timeout=5)

    # Both reports of r2 were received before its send request was answered; r1's wait.
    assert (response.status_code, response.json()["id"]) == (202, "r2")
    assert [r["path"].split("&")[0] for r in receiver.received] == ["/hook?id=r2", "/hook"]
    assert json.loads(receiver.received[1]["body"])["id"] == "r2"
    assert sandbox.messages["r2"].status == "delivered"
    assert sandbox.messages["r1"].status == "accepted"
    assert sandbox.requests[-1].fault == "reports_first"
    assert faults.coerce("reports_first") == faults.reports_first()


def test_failed_callbacks_are_retried(receiver: Receiver) -> None:
    receiver.answers = [500, 503]
    with Sandbox(providers=[RelayHandler], callback_urls={"relay": receiver.url},
                 outcome=Outcome("failed"), callback_retries=2,
                 callback_retry_delay=0.01) as sandbox:
        requests.post(sandbox.url + "/relay/send", json={"to": "+1"}, timeout=5)
        sandbox.callbacks.flush()

        attempts = sandbox.callbacks.attempts
    assert [(a.status_code, a.attempt) for a in attempts] == [(500, 1), (503, 2), (200, 3)]


def test_unreachable_callback_is_recorded(sandbox: Sandbox) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    attempt = sandbox.callbacks.send_now(CallbackRequest("POST", f"http://127.0.0.1:{port}/x"))

    assert attempt.status_code is None
    assert "Connection refused" in attempt.error
    assert not attempt.ok


def test_no_callbacks_without_a_url(sandbox: Sandbox) -> None:
    requests.post(sandbox.url + "/relay/send", json={"to": "+1"}, timeout=5)
    sandbox.callbacks.flush()

    assert sandbox.callbacks.attempts == []
    assert sandbox.messages["r1"].status == "delivered"


def test_outcome_validation() -> None:
    with pytest.raises(ValueError, match="Outcome status"):
        Outcome("sent")
    assert Outcome().stages == [("sent", 0.5), ("delivered", 1.5)]
    assert Outcome("rejected", final_after=0.2).stages == [("rejected", 0.2)]
    assert Outcome("failed", via_sent=True, sent_after=1, final_after=0).stages == [
        ("sent", 1), ("failed", 1)]


# -- provider registry -------------------------------------------------------------------------
def test_registry_discovers_the_shipped_handlers() -> None:
    assert handler_classes()["mailjet"] is MailjetHandler
    assert set(Sandbox().handlers) >= {"mailjet"}


def test_register_requires_a_name_and_prefixes() -> None:
    class Nameless(ProviderHandler):
        prefixes: ClassVar[tuple[str, ...]] = ("/x/",)

    with pytest.raises(ValueError, match="needs a name"):
        register(Nameless)


def test_longest_prefix_wins() -> None:
    class Inner(RelayHandler):
        name = "inner"
        prefixes = ("/relay/inner/",)

    with Sandbox(providers=[RelayHandler, Inner]) as sandbox:
        requests.post(sandbox.url + "/relay/inner/send", json={}, timeout=5)
        requests.post(sandbox.url + "/relay/send", json={}, timeout=5)
        assert [r.provider for r in sandbox.requests] == ["inner", "relay"]


# -- pytest fixture ----------------------------------------------------------------------------
def test_fixture_gives_a_running_sandbox(sms_sandbox: Sandbox) -> None:
    assert mailjet_send(sms_sandbox).status_code == 200
    assert "mailjet" in sms_sandbox.handlers


@pytest.mark.sms_sandbox(latency_ms=1, seed=7)
def test_fixture_takes_marker_arguments(sms_sandbox: Sandbox) -> None:
    assert (sms_sandbox.latency_ms, sms_sandbox.seed) == (1, 7)
    assert mailjet_send(sms_sandbox).status_code == 200


# -- management command ------------------------------------------------------------------------
def test_smssandbox_command_serves_until_terminated() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "smssandbox", "--port", "0", "--deliver-after", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True)
    reader.start()

    def next_line() -> str:
        return lines.get(timeout=30).rstrip("\n")

    try:
        banner = [next_line()]
        while not banner[-1].startswith("Use it with OPTIONS"):
            banner.append(next_line())
        url = banner[0].rsplit(" ", 1)[1]
        assert banner[0].startswith("SMS provider sandbox listening on http://127.0.0.1:")
        assert f"  mailjet: base_url={url}, token={TOKEN}" in banner
        # Issue 14 item 15: each provider's own option; OVH's backend calls it "endpoint".
        assert any(line.startswith(f"  ovh: endpoint={url}, application_key=")
                   for line in banner), banner
        assert any(line.startswith(f"  vonage: base_url={url}, application_id=")
                   for line in banner), banner
        assert not any(line.startswith("  ovh: base_url=") for line in banner)
        assert any(line.startswith(f"  aws: endpoint_url={url}/aws, aws_access_key_id=")
                   for line in banner), banner
        assert any(line.startswith(f"  twilio: base_url={url}, account_sid=")
                   for line in banner), banner
        assert banner[-1] == (
            f'Use it with OPTIONS {{"endpoint_url": "{url}/aws"}} for aws; '
            f'{{"base_url": "{url}"}} for mailjet, twilio, vonage; '
            f'{{"endpoint": "{url}"}} for ovh. Quit with CONTROL-C.'
        )

        response = requests.post(url + "/v4/sms-send", json=PAYLOAD, headers=AUTH, timeout=5)

        assert response.status_code == 200
        assert next_line() == "POST /v4/sms-send -> 200 (mailjet, connection 1)"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    reader.join(timeout=5)
    rest = []
    while not lines.empty():
        rest.append(lines.get().rstrip("\n"))
    assert process.returncode == 0
    assert rest[-1] == "Sandbox stopped."


def test_smssandbox_command_rejects_bad_arguments() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="PROVIDER=URL"):
        call_command("smssandbox", "--callback-url", "nonsense")
    with pytest.raises(CommandError, match="fail-rate"):
        call_command("smssandbox", "--fail-rate", "3")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(CommandError, match="Cannot listen"):
            call_command("smssandbox", "--port", str(busy.getsockname()[1]))
