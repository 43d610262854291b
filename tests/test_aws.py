"""The AWS End User Messaging SMS backend: boto3 over real HTTP to the provider sandbox, and
SNS message verification (SignatureVersion 1 and 2, certificate host rule, forged keys).

boto3 itself is the client, so the sandbox is checked against AWS's own SDK: its SigV4
headers, its JSON protocol, its error parsing and its standard retry mode.
"""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from django_sms import SMS
from django_sms.backends import aws
from django_sms.backends.aws import SmsBackend, sns_url_allowed, string_to_sign
from django_sms.backends.base import WebhookRequest
from django_sms.encoding import analyze
from django_sms.exceptions import (
    AmbiguousProviderError,
    PermanentProviderError,
    TransientProviderError,
    WebhookAuthenticationError,
)
from django_sms.status import Status
from django_sms.testing.sandbox import Outcome, SandboxCredentials, faults
from django_sms.testing.sandbox.providers.aws import CERT_PATH, sign_sns, sns_string_to_sign

CREDS = SandboxCredentials()
TO = "+33612345678"


@pytest.fixture(autouse=True)
def _fresh_certificates():
    aws.clear_certificate_cache()
    yield
    aws.clear_certificate_cache()


def make_backend(sandbox, **options):
    defaults = {
        "region_name": CREDS.aws_region,
        "endpoint_url": sandbox.url + "/aws",
        "aws_access_key_id": CREDS.aws_access_key_id,
        "aws_secret_access_key": CREDS.aws_secret_access_key,
        "origination_identity": "MyBrand",
        "configuration_set_name": "transactional",
        "timeout": (2, 2),
        "max_attempts": 1,
        "topic_arns": [CREDS.aws_events_topic_arn, CREDS.aws_inbound_topic_arn],
        "sns_test_url_prefixes": [sandbox.url + "/aws/sns/"],
    }
    return SmsBackend(alias="aws", **{**defaults, **options})


def make_sms(text="Your code is 123456", to=TO, **kwargs):
    analysis = analyze(text)
    return SMS(text=text, to=to, sender="Shop", reference=str(uuid.uuid4()),
               encoding=analysis.encoding, segments=analysis.segments, **kwargs)


def send(backend, sms):
    [result] = backend.send_messages([sms])
    return result


# -- sending -------------------------------------------------------------------------------------


def test_send_text_message_over_the_json_protocol(sms_sandbox):
    backend = make_backend(sms_sandbox, time_to_live=3600, max_price="0.05")
    sms = make_sms("Héllo ✓")
    result = send(backend, sms)

    assert result.error is None, result.error
    [request] = sms_sandbox.requests
    assert (request.method, request.path, request.status) == ("POST", "/aws", 200)
    assert request.headers["X-Amz-Target"] == "PinpointSMSVoiceV2.SendTextMessage"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert request.headers["Authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={CREDS.aws_access_key_id}/")
    assert "/eu-west-1/sms-voice/aws4_request" in request.headers["Authorization"]
    assert request.json == {
        "DestinationPhoneNumber": TO, "MessageBody": "Héllo ✓", "MessageType": "TRANSACTIONAL",
        "OriginationIdentity": "MyBrand", "ConfigurationSetName": "transactional",
        "MaxPrice": "0.05", "TimeToLive": 3600, "Context": {"django_sms_ref": sms.reference},
    }
    assert result.provider_message_id == sms_sandbox.messages.last().id
    assert result.status == Status.ACCEPTED
    backend.close()


def test_the_message_sender_is_the_origination_identity_by_default(sms_sandbox):
    result = send(make_backend(sms_sandbox, origination_identity=None), make_sms())
    assert result.error is None
    assert sms_sandbox.requests[0].json["OriginationIdentity"] == "Shop"


def test_wrong_access_key_is_a_configuration_failure(sms_sandbox):
    result = send(make_backend(sms_sandbox, aws_access_key_id="AKIAWRONGWRONGWRONG1"),
                  make_sms())
    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.code, result.status) == ("UnrecognizedClientException", Status.FAILED)


def test_opted_out_recipient_is_permanent_and_flagged(sms_sandbox):
    sms_sandbox.inject(faults.error("opted_out"))
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, PermanentProviderError)
    assert result.error.opted_out
    assert result.status == Status.REJECTED
    assert "DESTINATION_PHONE_NUMBER_OPTED_OUT" in str(result.error)


def test_validation_errors_are_permanent_refusals(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms(to="+0123"))
    assert isinstance(result.error, PermanentProviderError)
    assert (result.error.code, result.status) == ("ValidationException", Status.REJECTED)


@pytest.mark.parametrize("name", ["access_denied", "spend_limit"])
def test_account_errors_fail_the_message(sms_sandbox, name):
    sms_sandbox.inject(faults.error(name))
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, PermanentProviderError)
    assert result.status == Status.FAILED


@pytest.mark.parametrize("fault", [faults.status(429), faults.status(500), faults.status(503)])
def test_throttling_and_service_errors_are_transient(sms_sandbox, fault):
    sms_sandbox.inject(fault)
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, TransientProviderError)
    assert result.status == Status.QUEUED


def test_standard_retry_mode_retries_a_throttled_call(sms_sandbox):
    sms_sandbox.inject(faults.status(429))
    result = send(make_backend(sms_sandbox, max_attempts=3), make_sms())
    assert result.error is None
    assert [r.status for r in sms_sandbox.requests] == [400, 200]
    assert len(sms_sandbox.messages) == 1


def test_a_hang_after_acceptance_is_ambiguous(sms_sandbox):
    sms_sandbox.inject(faults.hang(3, accept=True))
    result = send(make_backend(sms_sandbox, timeout=(1, 0.5)), make_sms())
    assert isinstance(result.error, AmbiguousProviderError)
    assert result.status == Status.UNKNOWN


def test_a_reset_is_ambiguous_without_retries(sms_sandbox):
    sms_sandbox.inject(faults.reset(accept=True))
    result = send(make_backend(sms_sandbox), make_sms())
    assert isinstance(result.error, AmbiguousProviderError)


def test_a_closed_port_is_transient(sms_sandbox):
    backend = make_backend(sms_sandbox, endpoint_url="http://127.0.0.1:9/aws")
    result = send(backend, make_sms())
    assert isinstance(result.error, TransientProviderError)


def test_ttl_out_of_range_is_refused_before_any_request(sms_sandbox):
    result = send(make_backend(sms_sandbox), make_sms(options={"ttl": 1}))
    assert isinstance(result.error, PermanentProviderError)
    assert sms_sandbox.requests == []


# -- SNS verification ---------------------------------------------------------------------------


def webhook(envelope) -> WebhookRequest:
    body = json.dumps(envelope).encode()
    return WebhookRequest(method="POST", headers={"Content-Type": "text/plain; charset=UTF-8"},
                          body=body)


def event_envelope(sandbox, **kwargs):
    handler = sandbox.handler("aws")
    event = {"eventType": "TEXT_DELIVERED", "isFinal": True, "messageId": "m-1",
             "eventTimestamp": 1767323045678, "totalMessageParts": 2,
             "totalMessagePrice": 0.01162, "context": {"django_sms_ref": "abc"}}
    return handler.envelope(CREDS.aws_events_topic_arn, json.dumps(event), **kwargs)


@pytest.mark.parametrize("version", ["1", "2"])
def test_both_signature_versions_verify(sms_sandbox, version):
    backend = make_backend(sms_sandbox)
    backend.verify_webhook(webhook(event_envelope(sms_sandbox, version=version)), "status")


def test_a_message_signed_with_another_key_is_refused(sms_sandbox):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    backend = make_backend(sms_sandbox)
    with pytest.raises(WebhookAuthenticationError, match="bad SNS signature"):
        backend.verify_webhook(webhook(event_envelope(sms_sandbox, key=other)), "status")


def test_a_tampered_message_is_refused(sms_sandbox):
    envelope = event_envelope(sms_sandbox)
    envelope["Message"] = envelope["Message"].replace("TEXT_DELIVERED", "TEXT_BLOCKED")
    with pytest.raises(WebhookAuthenticationError):
        make_backend(sms_sandbox).verify_webhook(webhook(envelope), "status")


def test_an_unlisted_topic_is_refused(sms_sandbox):
    envelope = sms_sandbox.handler("aws").envelope("arn:aws:sns:eu-west-1:666:evil", "{}")
    with pytest.raises(WebhookAuthenticationError, match="topic_arns"):
        make_backend(sms_sandbox).verify_webhook(webhook(envelope), "status")


def test_no_topic_arns_fails_closed(sms_sandbox):
    with pytest.raises(WebhookAuthenticationError, match="fail closed"):
        make_backend(sms_sandbox, topic_arns=None).verify_webhook(
            webhook(event_envelope(sms_sandbox)), "status")


def test_the_sandbox_certificate_is_not_trusted_without_the_test_option(sms_sandbox):
    with pytest.raises(WebhookAuthenticationError, match="SigningCertURL"):
        make_backend(sms_sandbox, sns_test_url_prefixes=None).verify_webhook(
            webhook(event_envelope(sms_sandbox)), "status")
    assert not any(r.path == CERT_PATH for r in sms_sandbox.requests)


@pytest.mark.parametrize("bad", ["3", "", None])
def test_unknown_signature_versions_are_refused(sms_sandbox, bad):
    envelope = event_envelope(sms_sandbox)
    envelope["SignatureVersion"] = bad
    with pytest.raises(WebhookAuthenticationError, match="SignatureVersion"):
        make_backend(sms_sandbox).verify_webhook(webhook(envelope), "status")


def test_not_json_or_not_sns_is_refused(sms_sandbox):
    backend = make_backend(sms_sandbox)
    for body in (b"not json", b"[]", b'{"Type": "Other"}'):
        with pytest.raises(WebhookAuthenticationError):
            backend.verify_webhook(WebhookRequest(method="POST", headers={}, body=body), "status")


def test_certificates_are_fetched_once(sms_sandbox):
    backend = make_backend(sms_sandbox)
    for _ in range(3):
        backend.verify_webhook(webhook(event_envelope(sms_sandbox)), "status")
    assert [r.path for r in sms_sandbox.requests].count(CERT_PATH) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", True),
        ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", False),
        ("https://s3.eu-west-1.amazonaws.com/evil/SimpleNotificationService.pem", False),
        ("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem", False),
        ("https://evil.example/sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com/cert.txt", False),
        ("https://user@sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com:8443/x.pem", False),
    ],
)
def test_certificate_url_rule(url, allowed):
    assert sns_url_allowed(url) is allowed


def test_string_to_sign_matches_the_reference_vector():
    message = {
        "Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:sms-events", "Message": "{}",
        "Timestamp": "2026-01-02T03:04:05.678Z", "SignatureVersion": "2",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/x.pem", "UnsubscribeURL": "u",
    }
    expected = ("Message\n{}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n"
                "2026-01-02T03:04:05.678Z\nTopicArn\narn:aws:sns:eu-west-1:123456789012:"
                "sms-events\nType\nNotification\n")
    assert string_to_sign(message) == expected == sns_string_to_sign(message)
    confirmation = {**message, "Type": "SubscriptionConfirmation", "Token": "t",
                    "SubscribeURL": "s"}
    assert string_to_sign(confirmation) == sns_string_to_sign(confirmation)
    assert "SubscribeURL\ns\n" in string_to_sign(confirmation)


def test_the_reference_documents_test_certificate_verifies_its_example():
    """The worked example of shared/reference/providers-twilio-aws.md §2.6 (a key pair made
    for that document, not AWS's): an independent check of string_to_sign + verification."""
    pytest.importorskip("cryptography")
    from pathlib import Path

    reference = Path("/work/shared/reference/providers-twilio-aws.md")
    if not reference.exists():
        pytest.skip("the reference document is not on this machine")
    text = reference.read_text()
    pem = text[text.index("-----BEGIN CERTIFICATE-----"):text.index("-----END CERTIFICATE-----")
               + len("-----END CERTIFICATE-----")]
    start = text.index('{"Type":"Notification"')
    envelope = json.loads(text[start:text.index("}\n```", start) + 1])
    from cryptography import x509

    aws._certificates[envelope["SigningCertURL"]] = x509.load_pem_x509_certificate(
        pem.encode()).public_key()
    aws.verify_sns_message(envelope)
    envelope["Message"] = envelope["Message"].replace("DELIVERED", "BLOCKED")
    with pytest.raises(WebhookAuthenticationError):
        aws.verify_sns_message(envelope)


# -- parsing ------------------------------------------------------------------------------------


def test_a_delivery_event_is_normalised(sms_sandbox):
    [update] = make_backend(sms_sandbox).parse_status_webhook(
        webhook(event_envelope(sms_sandbox)))
    assert (update.status, update.provider_message_id, update.message_ref) == (
        Status.DELIVERED, "m-1", "abc")
    assert (update.segments, update.cost, update.cost_currency) == (2, Decimal("0.01162"),
                                                                   "USD")
    assert update.dedupe_key == "aws:m-1:TEXT_DELIVERED"
    assert update.occurred_at.year == 2026


@pytest.mark.parametrize(
    ("event_type", "final", "status"),
    [("TEXT_SUCCESSFUL", False, Status.SENT), ("TEXT_SUCCESSFUL", True, Status.DELIVERED),
     ("TEXT_BLOCKED", True, Status.REJECTED), ("TEXT_CARRIER_UNREACHABLE", True,
                                                 Status.UNDELIVERED),
     ("TEXT_INVALID", True, Status.REJECTED), ("TEXT_TTL_EXPIRED", True, Status.EXPIRED),
     ("TEXT_PENDING", False, Status.ACCEPTED)],
)
def test_event_type_mapping(sms_sandbox, event_type, final, status):
    handler = sms_sandbox.handler("aws")
    event = {"eventType": event_type, "isFinal": final, "messageId": "m-2"}
    envelope = handler.envelope(CREDS.aws_events_topic_arn, json.dumps(event))
    [update] = make_backend(sms_sandbox).parse_status_webhook(webhook(envelope))
    assert update.status == status


def test_unknown_event_types_are_ignored(sms_sandbox):
    handler = sms_sandbox.handler("aws")
    envelope = handler.envelope(CREDS.aws_events_topic_arn,
                                json.dumps({"eventType": "VOICE_ANSWERED", "messageId": "x"}))
    assert make_backend(sms_sandbox).parse_status_webhook(webhook(envelope)) == []


def test_subscription_confirmation_fetches_the_subscribe_url(sms_sandbox):
    handler = sms_sandbox.handler("aws")
    callback = handler.subscription_confirmation("http://unused/")
    request = WebhookRequest(method="POST", headers=callback.headers, body=callback.body)
    backend = make_backend(sms_sandbox)
    backend.verify_webhook(request, "status")
    assert backend.parse_status_webhook(request) == []
    assert len(handler.confirmed) == 1


def test_subscription_url_outside_sns_is_never_fetched(sms_sandbox):
    handler = sms_sandbox.handler("aws")
    envelope = handler.envelope(CREDS.aws_events_topic_arn, "confirm",
                                kind="SubscriptionConfirmation", Token="t",
                                SubscribeURL="https://evil.example/steal")
    backend = make_backend(sms_sandbox)
    backend.verify_webhook(webhook(envelope), "status")  # signed by "SNS"...
    with pytest.raises(ValueError, match="not an SNS URL"):
        backend.parse_status_webhook(webhook(envelope))


def test_two_way_message_is_parsed(sms_sandbox):
    callback = sms_sandbox.handler("aws").inbound_callback("http://unused/",
                                                           from_number="+33611111111",
                                                           text="STOP")
    request = WebhookRequest(method="POST", headers=callback.headers, body=callback.body)
    [inbound] = make_backend(sms_sandbox).parse_inbound_webhook(request)
    assert (inbound.from_number, inbound.text, inbound.keyword) == ("+33611111111", "STOP",
                                                                    "STOP")


def test_sign_sns_is_verifiable_with_the_served_certificate(sms_sandbox):
    handler = sms_sandbox.handler("aws")
    envelope = sign_sns({"Type": "Notification", "MessageId": "1", "TopicArn": "t",
                         "Message": "m", "Timestamp": "now",
                         "SigningCertURL": handler.certificate_url})
    assert base64.b64decode(envelope["Signature"])
    aws.verify_sns_message(envelope, [sms_sandbox.url + "/aws/sns/"])


def test_sandbox_sends_signed_events_for_each_stage(sms_sandbox):
    sms_sandbox.set_outcome(Outcome("undelivered"), to=TO)
    sms_sandbox.set_callback_url("aws", "http://127.0.0.1:9/unused/")
    backend = make_backend(sms_sandbox)
    send(backend, make_sms())
    message = sms_sandbox.messages.last()
    callbacks = sms_sandbox.handler("aws").build_status_callbacks(message, message.outcome)
    types = [json.loads(json.loads(c.body)["Message"])["eventType"] for c in callbacks]
    assert types == ["TEXT_SUCCESSFUL", "TEXT_CARRIER_UNREACHABLE"]
    for callback in callbacks:
        request = WebhookRequest(method="POST", headers=callback.headers, body=callback.body)
        backend.verify_webhook(request, "status")


# -- checks ------------------------------------------------------------------------------------


def aws_check_ids(**options):
    return sorted(m.id for m in SmsBackend(alias="aws", **options).check())


def test_a_complete_configuration_passes_the_checks():
    assert aws_check_ids(region_name="eu-west-1", origination_identity="MyBrand",
                         topic_arns=["arn:aws:sns:eu-west-1:1:t"], max_price="0.05",
                         time_to_live=600) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["django_sms.E010"]),
        ({"region_name": "eu-west-1", "message_type": "SPAM"}, ["django_sms.E012"]),
        ({"region_name": "eu-west-1", "max_price": "5"}, ["django_sms.E012"]),
        ({"region_name": "eu-west-1", "time_to_live": 1}, ["django_sms.E012"]),
        ({"region_name": "eu-west-1", "max_attempts": 0}, ["django_sms.E012"]),
        ({"region_name": "eu-west-1", "topic_arns": [1]}, ["django_sms.E012"]),
        ({"region_name": "eu-west-1", "origination_identity": "My Brand!"}, ["django_sms.E012"]),
        ({"region_name": "eu-west-1", "sns_test_url_prefixes": ["http://127.0.0.1:1/"]},
         ["django_sms.W014"]),
    ],
)
def test_misconfigurations_are_reported(options, expected):
    assert aws_check_ids(**options) == expected
