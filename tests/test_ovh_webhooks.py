"""OVH callbacks: the URL secret / HTTP Basic check, delivery-report and inbound parsing, and
the sandbox's reports received over real HTTP (GET with OVH's query parameters).
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_sms.backends.base import WebhookRequest
from django_sms.backends.ovh import SmsBackend as OvhBackend
from django_sms.exceptions import WebhookAuthenticationError, WebhookPayloadError
from django_sms.message import SMS
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome, Sandbox, SandboxCredentials
from django_sms.testing.sandbox.providers.ovh import OvhHandler

CREDS = SandboxCredentials()
SECRET = "Zq3hV8kPp0xW2mJr7tYb4nLc6dGf1sAe"
PARIS = ZoneInfo("Europe/Paris")

REPORT = {"id": "264000001", "ptt": "4", "date": "2024-05-17 10:21:34", "description": "1",
          "descriptionDlr": "Success"}

# A backend cannot be created without its credentials (issue 14 item 6); these tests are
# about callbacks, so every backend gets dummy keys unless a test says otherwise.
SmsBackend = functools.partial(
    OvhBackend, application_key="a", application_secret="s", consumer_key="c"
)


def callback(params=REPORT, *, method="GET", url_secret=SECRET, basic_auth=None,
             json_body=False) -> WebhookRequest:
    """A callback as the webhook view hands it to the backend: GET fields in ``query``, a
    POST form (or JSON object) in ``data``."""
    if method == "GET":
        return WebhookRequest("GET", {}, b"", query=dict(params), url_secret=url_secret,
                              basic_auth=basic_auth)
    if json_body:
        headers, body = {"Content-Type": "application/json"}, json.dumps(params).encode()
    else:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(params).encode()
    return WebhookRequest(method, headers, body, data=dict(params), url_secret=url_secret,
                          basic_auth=basic_auth)


@pytest.fixture
def backend() -> SmsBackend:
    return SmsBackend(alias="ovh", application_key="a", application_secret="s",
                      consumer_key="c", webhook_secret=SECRET)


def refused(backend: SmsBackend, request: WebhookRequest, kind: str = "status") -> str:
    with pytest.raises(WebhookAuthenticationError) as excinfo:
        backend.verify_webhook(request, kind)
    return str(excinfo.value)


# -- verification --------------------------------------------------------------------------------


def test_the_secret_in_the_url_is_accepted(backend: SmsBackend) -> None:
    backend.verify_webhook(callback(), "status")
    backend.verify_webhook(callback(method="POST"), "inbound")


def test_the_basic_password_is_accepted(backend: SmsBackend) -> None:
    backend.verify_webhook(callback(url_secret="", basic_auth=("ovh", SECRET)), "status")
    backend.verify_webhook(callback(url_secret="", basic_auth=("", SECRET)), "status")


def test_a_good_basic_password_wins_over_a_wrong_url_secret(backend: SmsBackend) -> None:
    backend.verify_webhook(callback(url_secret="wrong", basic_auth=("ovh", SECRET)), "status")


@pytest.mark.parametrize(
    ("url_secret", "basic_auth", "reason"),
    [
        ("", None, "no secret"),
        ("wrong", None, "wrong secret"),
        (SECRET[:-1], None, "wrong secret"),
        (SECRET + "x", None, "wrong secret"),
        (SECRET.upper(), None, "wrong secret"),
        ("", ("ovh", "wrong"), "wrong secret"),
        ("", (SECRET, ""), "wrong secret"),  # the secret as user name is not the password
    ],
)
def test_a_missing_or_wrong_secret_is_refused(backend: SmsBackend, url_secret: str,
                                              basic_auth: tuple[str, str] | None,
                                              reason: str) -> None:
    assert reason in refused(backend, callback(url_secret=url_secret, basic_auth=basic_auth))


def test_non_ascii_secrets_are_compared_safely(backend: SmsBackend) -> None:
    assert "wrong secret" in refused(backend, callback(url_secret="sécret-ünïcode"))


def test_secret_rotation_accepts_every_configured_secret() -> None:
    new = "Nw5tR9yUe2oPq8aSd4fGh7jKl1zXc3vB"
    backend = SmsBackend(webhook_secret=[new, SECRET])
    backend.verify_webhook(callback(url_secret=new), "status")
    backend.verify_webhook(callback(url_secret=SECRET), "status")
    assert "wrong secret" in refused(backend, callback(url_secret="Retired-secret-0123456789"))
    assert "2 webhook secret(s)" in backend.webhook_protection("status")


def test_no_webhook_secret_fails_closed() -> None:
    backend = SmsBackend(alias="fr")
    reason = refused(backend, callback(url_secret="anything"), "inbound")
    assert "no 'webhook_secret' OPTION" in reason
    assert "inbound" in reason
    assert backend.webhook_protection("status").startswith("refused")


def test_webhook_insecure_accepts_callbacks_without_a_secret() -> None:
    backend = SmsBackend(webhook_insecure=True)
    backend.verify_webhook(callback(url_secret=""), "status")
    assert backend.webhook_protection("status") == ""


def test_a_webhook_secret_wins_over_webhook_insecure() -> None:
    backend = SmsBackend(webhook_secret=SECRET, webhook_insecure=True)
    assert "no secret" in refused(backend, callback(url_secret=""))
    assert "secret in the callback URL" in backend.webhook_protection("status")


def test_a_malformed_webhook_secret_option_is_refused_not_a_crash() -> None:
    backend = SmsBackend(webhook_secret=[SECRET, 42])
    assert "'webhook_secret' must be a string or a list" in refused(backend, callback())


# -- delivery reports ----------------------------------------------------------------------------


def parse(params=REPORT, backend: SmsBackend | None = None, **kwargs) -> object:
    [update] = (backend or SmsBackend()).parse_status_webhook(callback(params, **kwargs))
    return update


def test_a_delivery_report_is_normalised() -> None:
    update = parse()

    assert update.status == Status.DELIVERED
    assert update.provider_message_id == "264000001"
    assert update.provider_status == "dlr-1/ptt-4"
    assert update.provider_status_text == "Success (DLR 1); PTT 4: Delivered"
    assert update.occurred_at == datetime(2024, 5, 17, 10, 21, 34, tzinfo=PARIS)
    assert update.occurred_at == datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)
    assert update.dedupe_key == "ovh:264000001:1:4:2024-05-17 10:21:34"
    assert (update.error_code, update.error_message, update.message_ref) == ("", "", "")
    assert update.raw == REPORT


def test_post_form_and_json_bodies_are_read_too() -> None:
    assert parse(method="POST").status == Status.DELIVERED
    assert parse(method="POST", json_body=True).status == Status.DELIVERED


def test_query_and_body_are_merged() -> None:
    request = WebhookRequest("POST", {}, b"", query={"id": "7"},
                             data={"description": "2", "ptt": "24"})
    [update] = SmsBackend().parse_status_webhook(request)
    assert (update.provider_message_id, update.status) == ("7", Status.UNDELIVERED)


def test_dlr_is_an_alias_of_description() -> None:
    params = {"id": "9", "dlr": "2", "ptt": "24", "date": "2024-05-17 10:21:34"}
    update = parse(params)
    assert update.status == Status.UNDELIVERED
    assert update.provider_status == "dlr-2/ptt-24"
    assert (update.error_code, update.error_message) == ("ptt-24", "Subscriber absent")


def test_a_text_description_is_kept_as_the_reason() -> None:
    update = parse({"id": "9", "ptt": "5", "description": "Message not delivered"})
    assert update.status == Status.UNDELIVERED
    assert update.provider_status == "ptt-5"
    assert update.provider_status_text.startswith("Message not delivered; PTT 5")


def test_a_tag_is_read_as_our_reference() -> None:
    ref = str(uuid.uuid4())
    assert parse({**REPORT, "tag": ref}).message_ref == ref
    assert parse({**REPORT, "tag": "t" * 65}).message_ref == ""  # cannot be one of ours


@pytest.mark.parametrize(
    ("description", "ptt", "status", "error_code"),
    [
        ("0", "0", Status.ACCEPTED, ""),
        ("4", "3", Status.SENT, ""),
        ("8", "2", Status.SENT, ""),
        ("1", "4", Status.DELIVERED, ""),
        ("2", "5", Status.UNDELIVERED, "ptt-5"),
        ("2", "8", Status.EXPIRED, "ptt-8"),
        ("2", "39", Status.UNDELIVERED, "ptt-39"),
        ("16", "23", Status.REJECTED, "ptt-23"),
        ("16", "", Status.REJECTED, "dlr-16"),
        ("", "4", Status.DELIVERED, ""),
        ("32", "", Status.ACCEPTED, ""),  # a DLR id OVH may add one day: no change
    ],
)
def test_status_mapping(description: str, ptt: str, status: str, error_code: str) -> None:
    params = {"id": "1", "description": description, "ptt": ptt}
    update = parse(params)
    assert update.status == status
    assert update.error_code == error_code


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2024-05-17 10:21:34", datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)),
        ("2024-01-17 10:21:34", datetime(2024, 1, 17, 9, 21, 34, tzinfo=UTC)),  # winter
        ("2024-05-17T10:21:34+02:00", datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)),
        ("2024-05-17T08:21:34Z", datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)),
        ("17/05/2024 10:21:34", datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)),
        ("1715934094", datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_are_parsed_leniently(date: str, expected: datetime | None) -> None:
    assert parse({**REPORT, "date": date}).occurred_at == expected


def test_callback_timezone_option() -> None:
    backend = SmsBackend(callback_timezone="UTC")
    assert parse(backend=backend).occurred_at == datetime(2024, 5, 17, 10, 21, 34, tzinfo=UTC)
    offset = parse({**REPORT, "date": "2024-05-17T10:21:34+05:00"}, backend=backend)
    assert offset.occurred_at == datetime(2024, 5, 17, 10, 21, 34,
                                          tzinfo=timezone(timedelta(hours=5)))


def test_dedupe_key_tells_reports_apart() -> None:
    sent = parse({**REPORT, "description": "4", "ptt": "3"})
    delivered = parse(REPORT)
    again = parse(dict(REPORT))
    assert sent.dedupe_key != delivered.dedupe_key == again.dedupe_key


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"ptt": "4", "description": "1"}, "'id'"),
        ({"id": "  ", "ptt": "4"}, "'id'"),
        ({"id": "1" * 101, "ptt": "4"}, "too long"),
        ({"id": "1"}, "neither a DLR id"),
        ({"id": "1", "description": "delivered", "ptt": "four"}, "neither a DLR id"),
        ({"id": "1", "description": "9" * 40, "ptt": "-4"}, "neither a DLR id"),
    ],
)
def test_malformed_reports_say_why(params: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookPayloadError, match=reason):
        SmsBackend().parse_status_webhook(callback(params))


def test_a_body_that_is_not_fields_is_malformed() -> None:
    request = WebhookRequest("POST", {"Content-Type": "application/json"}, b"[1]", data=[1])
    with pytest.raises(WebhookPayloadError, match="got list"):
        SmsBackend().parse_status_webhook(request)


# -- inbound -------------------------------------------------------------------------------------


INBOUND = {"id": "5550001", "sender": "+33612345678", "message": "STOP merci",
           "creationDatetime": "2024-05-17T10:21:34+02:00"}


def test_an_inbound_sms_is_normalised() -> None:
    [inbound] = SmsBackend().parse_inbound_webhook(callback(INBOUND))

    assert inbound.provider_message_id == "5550001"
    assert (inbound.from_number, inbound.to_number) == ("+33612345678", "")
    assert inbound.text == "STOP merci"
    assert inbound.occurred_at == datetime(2024, 5, 17, 8, 21, 34, tzinfo=UTC)
    assert inbound.raw == INBOUND


def test_inbound_aliases_and_number_forms() -> None:
    params = {"id": "1", "from": "0033612345678", "text": "hi", "date": "2024-05-17 10:21:34",
              "to": "33700000000"}
    [inbound] = SmsBackend().parse_inbound_webhook(callback(params, method="POST"))
    assert (inbound.from_number, inbound.to_number, inbound.text) == (
        "+33612345678", "+33700000000", "hi")
    assert inbound.occurred_at == datetime(2024, 5, 17, 10, 21, 34, tzinfo=PARIS)


def test_an_inbound_sms_without_id_gets_a_stable_one() -> None:
    params = {k: v for k, v in INBOUND.items() if k != "id"}
    [first] = SmsBackend().parse_inbound_webhook(callback(params))
    [again] = SmsBackend().parse_inbound_webhook(callback(params))
    [other] = SmsBackend().parse_inbound_webhook(callback({**params, "message": "START"}))
    assert first.provider_message_id.startswith("ovh-in-")
    assert first.provider_message_id == again.provider_message_id != other.provider_message_id


def test_an_inbound_sms_without_sender_is_malformed() -> None:
    with pytest.raises(WebhookPayloadError, match="'sender'"):
        SmsBackend().parse_inbound_webhook(callback({"id": "1", "message": "hi"}))


# -- the sandbox's callbacks over real HTTP ------------------------------------------------------


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it receives and answers 200.

    Its URL has the layout of django_sms.urls (``.../webhooks/<alias>/<secret>/status/``);
    :meth:`as_webhook_request` reads the secret segment from the path as the view does.
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, secret: str = SECRET) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/sms/webhooks/ovh/{secret}/status/"

    @staticmethod
    def as_webhook_request(method: str, path: str, body: bytes) -> WebhookRequest:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        secret = segments[3] if len(segments) == 5 else ""
        return WebhookRequest(method, {}, body, query=dict(parse_qsl(parts.query)),
                              url_secret=secret)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    with Sandbox(providers=[OvhHandler], callback_urls={"ovh": receiver.url()}) as sandbox:
        yield sandbox


def site_backend(sandbox: Sandbox) -> SmsBackend:
    return SmsBackend(alias="ovh", application_key=CREDS.ovh_application_key,
                      application_secret=CREDS.ovh_application_secret,
                      consumer_key=CREDS.ovh_consumer_key, endpoint=sandbox.url,
                      webhook_secret=SECRET)


def send_and_collect(sandbox: Sandbox, receiver: Receiver, text: str = "Hello",
                     to: str = "+33612345678") -> tuple[object, list[object]]:
    backend = site_backend(sandbox)
    sms = SMS(text=text, to=to, sender="Acme", reference=str(uuid.uuid4()))
    [result] = backend.send_messages([sms])
    assert result.status == Status.ACCEPTED, result.error
    sandbox.callbacks.flush()
    updates = []
    for method, path, body in receiver.received:
        request = receiver.as_webhook_request(method, path, body)
        backend.verify_webhook(request, "status")
        updates += backend.parse_status_webhook(request)
    return result, updates


def test_sandbox_reports_sent_then_delivered_as_ovh_does(sandbox: Sandbox,
                                                         receiver: Receiver) -> None:
    result, updates = send_and_collect(sandbox, receiver)

    assert [u.status for u in updates] == [Status.SENT, Status.DELIVERED]
    assert [u.provider_status for u in updates] == ["dlr-4/ptt-3", "dlr-1/ptt-4"]
    methods = {method for method, _, _ in receiver.received}
    assert methods == {"GET"}
    for _, path, body in receiver.received:
        query = dict(parse_qsl(urlsplit(path).query))
        assert set(query) == {"id", "ptt", "date", "description", "descriptionDlr"}
        assert body == b""
    for update in updates:
        assert update.provider_message_id == result.provider_message_id
        assert update.occurred_at is not None
        assert abs((update.occurred_at - datetime.now(UTC)).total_seconds()) < 120
    assert updates[0].occurred_at <= updates[1].occurred_at


@pytest.mark.parametrize(
    ("outcome", "reports"),
    [
        (Outcome("undelivered", provider_code=24),
         [(Status.SENT, ""), (Status.UNDELIVERED, "ptt-24")]),
        (Outcome("expired"), [(Status.SENT, ""), (Status.EXPIRED, "ptt-8")]),
        (Outcome("rejected"), [(Status.REJECTED, "ptt-23")]),  # never reached a carrier
        (Outcome("rejected", provider_code=28), [(Status.REJECTED, "ptt-28")]),
    ],
    ids=str,
)
def test_sandbox_reports_failures(sandbox: Sandbox, receiver: Receiver, outcome: Outcome,
                                  reports: list[tuple[str, str]]) -> None:
    sandbox.set_outcome(outcome, to="+33612345678")
    _, updates = send_and_collect(sandbox, receiver)
    assert [(u.status, u.error_code) for u in updates] == reports


def test_duplicate_reports_share_a_dedupe_key(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.set_outcome(Outcome(duplicates=2), to="+33612345678")
    _, updates = send_and_collect(sandbox, receiver)
    assert [u.status for u in updates] == [Status.SENT] + [Status.DELIVERED] * 3
    assert len({u.dedupe_key for u in updates}) == 2


def test_the_accounts_callback_url_is_used(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.set_callback_url("ovh", "")
    site_backend(sandbox).set_callback_url(receiver.url() + "?from=ovh")

    _, updates = send_and_collect(sandbox, receiver)

    assert [u.status for u in updates] == [Status.SENT, Status.DELIVERED]
    assert all("from=ovh" in path for _, path, _ in receiver.received)


def test_a_callback_url_without_the_secret_is_refused(sandbox: Sandbox,
                                                      receiver: Receiver) -> None:
    sandbox.set_callback_url("ovh", receiver.url().replace(f"/{SECRET}", ""))
    backend = site_backend(sandbox)
    backend.send_messages([SMS(text="hi", to="+33612345678", sender="Acme")])
    sandbox.callbacks.flush()

    assert receiver.received
    for method, path, body in receiver.received:
        assert "no secret" in refused(backend, receiver.as_webhook_request(method, path, body))


def test_a_report_like_the_test_helpers_is_understood(sandbox: Sandbox,
                                                      receiver: Receiver) -> None:
    # django_sms.testing.webhooks.ovh_status_callback builds reports this way.
    params = {"id": "1234567890", "ptt": "5", "date": "2024-05-17 10:21:34",
              "description": "2", "descriptionDlr": "Failure"}
    [update] = SmsBackend().parse_status_webhook(
        WebhookRequest("GET", {}, b"", query=params, url_secret=SECRET))
    assert (update.status, update.error_code) == (Status.UNDELIVERED, "ptt-5")


def test_sandbox_inbound_callback_parses(sandbox: Sandbox, receiver: Receiver) -> None:
    handler = sandbox.handler("ovh")
    assert isinstance(handler, OvhHandler)
    attempt = sandbox.callbacks.send_now(
        handler.inbound_callback(receiver.url(), from_number="+33612345678", text="STOP"))

    assert attempt.ok
    [(method, path, body)] = receiver.received
    request = receiver.as_webhook_request(method, path, body)
    backend = site_backend(sandbox)
    backend.verify_webhook(request, "inbound")
    [inbound] = backend.parse_inbound_webhook(request)
    assert (inbound.from_number, inbound.text) == ("+33612345678", "STOP")
    assert inbound.occurred_at is not None


# -- robustness ----------------------------------------------------------------------------------

FIELDS = ["id", "ptt", "date", "description", "descriptionDlr", "dlr", "tag", "sender",
          "from", "message", "text", "creationDatetime", "receiver", "to"]
VALUES = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"[0-9]{1,40}", fullmatch=True),  # huge numbers
    st.sampled_from(["٣", "²", "1e9", "-1", "0033612345678", "2024-13-45 99:99:99",
                     "\udc80", "9" * 5000]),
)


@given(params=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8),
       secret=st.one_of(st.just(SECRET), st.text(max_size=40)))
@settings(max_examples=300, deadline=None)
def test_any_callback_is_verified_and_parsed_or_refused_cleanly(params: dict[str, str],
                                                                secret: str) -> None:
    backend = SmsBackend(webhook_secret=SECRET)
    request = callback(params, url_secret=secret)
    for kind, parse_hook in (("status", backend.parse_status_webhook),
                             ("inbound", backend.parse_inbound_webhook)):
        try:
            backend.verify_webhook(request, kind)
        except WebhookAuthenticationError:
            assert secret != SECRET
        try:
            results = parse_hook(request)
        except WebhookPayloadError:
            continue
        for result in results:
            for value in vars(result).values():
                if isinstance(value, str):
                    assert len(value) < 20000
        if kind == "status":
            [update] = results
            assert len(update.provider_status) <= 64
            assert len(update.error_code) <= 64
            assert len(update.message_ref) <= 64
            assert len(update.dedupe_key) <= 255
