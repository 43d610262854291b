"""AWS End User Messaging SMS (``pinpoint-sms-voice-v2``) and its SNS deliveries, as the
sandbox plays them (shared/reference/providers-twilio-aws.md §2).

The API is served at ``/aws`` (give boto3 ``endpoint_url=sandbox.url + "/aws"``; the real
service's path is ``/``): ``POST`` with ``Content-Type: application/x-amz-json-1.0`` and
``X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage``. SigV4 is checked for presence and shape
(``Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/sms-voice/aws4_request,
SignedHeaders=..., Signature=<64 hex>``, ``X-Amz-Date``) and the access key id must be the
sandbox's; the signature itself is not recomputed. Refusals are AWS JSON errors
``{"__type", "Message", "Reason"}``: ``UnrecognizedClientException`` (bad key id),
``ValidationException`` (fields, with ``Fields``), ``ConflictException``
``DESTINATION_PHONE_NUMBER_OPTED_OUT`` for a number that replied STOP, ``ThrottlingException``
and ``InternalServerException`` for injected 429/500.

Events: each accepted message's lifecycle is published as SMS event records (``TEXT_SUCCESSFUL``
then ``TEXT_DELIVERED`` or the failure's event type, ``context`` echoed, parts and price) in
SNS ``Notification``s POSTed to the sandbox's callback URL for ``aws``, signed with
SignatureVersion 2 by the sandbox's own RSA key, whose self-signed certificate is served at
``/aws/sns/SimpleNotificationService-sandbox.pem`` (trust it with the backend OPTION
``sns_test_url_prefixes``). :meth:`AwsHandler.subscription_confirmation` and
:meth:`AwsHandler.inbound_callback` build a confirmation (its ``SubscribeURL`` is served at
``/aws/sns/confirm``) and a two-way inbound message. Needs ``cryptography``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from django_sms.testing.sandbox import gsm
from django_sms.testing.sandbox.callbacks import CallbackRequest
from django_sms.testing.sandbox.messages import Outcome, SandboxMessage
from django_sms.testing.sandbox.providers import register
from django_sms.testing.sandbox.providers.base import (
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

PREFIX = "/aws"
CERT_PATH = f"{PREFIX}/sns/SimpleNotificationService-sandbox.pem"
CONFIRM_PATH = f"{PREFIX}/sns/confirm"
JSON_TYPE = "application/x-amz-json-1.0"
TARGET = "PinpointSMSVoiceV2.SendTextMessage"
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/"
    r"(?P<region>[a-z0-9-]+)/sms-voice/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
    r"Signature=[0-9a-f]{64}$"
)
AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
DESTINATION = re.compile(r"^\+?[1-9][0-9]{1,18}$")
MAX_PRICE = re.compile(r"^[0-9]{0,2}\.[0-9]{1,5}$")

#: Neutral final status -> the SMS event type AWS publishes.
FINAL_EVENTS: dict[str, str] = {
    "delivered": "TEXT_DELIVERED",
    "undelivered": "TEXT_CARRIER_UNREACHABLE",
    "expired": "TEXT_TTL_EXPIRED",
    "rejected": "TEXT_BLOCKED",
    "failed": "TEXT_INVALID",
}
DESCRIPTIONS: dict[str, str] = {
    "TEXT_SUCCESSFUL": "Message has been accepted by phone carrier",
    "TEXT_DELIVERED": "Message has been accepted by phone",
    "TEXT_CARRIER_UNREACHABLE": "Temporary error on the carrier network",
    "TEXT_TTL_EXPIRED": "Message not delivered within its time to live",
    "TEXT_BLOCKED": "Destination blocks messages",
    "TEXT_INVALID": "Invalid destination phone number",
}
OPT_OUT_WORDS = {"ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD",
                 "UNSUBSCRIBE"}

_signing_key: tuple[Any, bytes] | None = None
_signing_key_lock = threading.Lock()


def signing_key() -> tuple[Any, bytes]:
    """The sandbox's RSA-2048 SNS signing key and its self-signed PEM certificate (made once
    per process: a throwaway key that signs nothing outside tests)."""
    global _signing_key
    with _signing_key_lock:
        if _signing_key is None:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cryptography.x509.oid import NameOID

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                 "sns.amazonaws.com (django-sms SANDBOX)")])
            now = datetime.now(UTC)
            certificate = (
                x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now.replace(year=now.year - 1))
                .not_valid_after(now.replace(year=now.year + 1))
                .sign(key, hashes.SHA256())
            )
            _signing_key = (key, certificate.public_bytes(serialization.Encoding.PEM))
        return _signing_key


def sns_string_to_sign(message: dict[str, str]) -> str:
    """SNS's string to sign (written from AWS's documentation, independently of the
    backend's)."""
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)


def sign_sns(message: dict[str, str], key: Any = None, version: str = "2") -> dict[str, str]:
    """``message`` with ``SignatureVersion`` and ``Signature`` made with ``key`` (default: the
    sandbox's key)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    private_key = key if key is not None else signing_key()[0]
    algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 - SNS SignatureVersion 1
    signature = private_key.sign(sns_string_to_sign(message).encode(), padding.PKCS1v15(),
                                 algorithm)
    return {**message, "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode()}


def sns_timestamp(when: float) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def aws_error(status: int, type_: str, message: str, **members: Any) -> SandboxResponse:
    return SandboxResponse.json_body(
        status, {"__type": f"com.amazonaws.pinpointsmsvoicev2#{type_}", "Message": message,
                 **members},
        headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": type_},
        content_type=JSON_TYPE,
    )


@register
class AwsHandler(ProviderHandler):
    name = "aws"
    prefixes = (PREFIX,)
    url_option = "endpoint_url"  # the AWS backend's option (boto3's endpoint_url)
    url_path = PREFIX
    named_errors: ClassVar[dict[str, str]] = {
        "opted_out": "400 ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT",
        "access_denied": "400 AccessDeniedException ACCOUNT_DISABLED",
        "throttled": "400 ThrottlingException -",
        "spend_limit": "400 ServiceQuotaExceededException MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT",
        "sender_id_not_registered": "400 ValidationException SENDER_ID_NOT_REGISTERED",
    }
    #: Price of one message part, in USD, reported as ``totalMessagePrice``.
    price_per_part = Decimal("0.00581")

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        self.reset()

    def reset(self) -> None:
        #: Numbers that texted an opt-out keyword: sends to them are refused.
        self.opted_out: set[str] = set()
        #: Tokens of the subscriptions confirmed through ``SubscribeURL``.
        self.confirmed: list[str] = []

    @property
    def certificate_url(self) -> str:
        return self.sandbox.url + CERT_PATH

    # -- routing --------------------------------------------------------------------------------
    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.path == CERT_PATH and request.method == "GET":
            return SandboxResponse(200, signing_key()[1],
                                   {"Content-Type": "application/x-x509-ca-cert"})
        if request.path == CONFIRM_PATH and request.method == "GET":
            token = request.query.get("Token", "")
            with self.lock:
                self.confirmed.append(token)
            return SandboxResponse.text(200, "<ConfirmSubscriptionResponse/>",
                                        content_type="text/xml")
        if request.path.rstrip("/") != PREFIX:
            return SandboxResponse.json_body(404, {"message": "Not Found"})
        if request.method != "POST":
            return aws_error(405, "UnknownOperationException", "Use POST")
        refusal = self.authenticate(request)
        if refusal is not None:
            return refusal
        target = request.headers.get("X-Amz-Target", "")
        if target != TARGET:
            return aws_error(400, "UnknownOperationException",
                             f"The sandbox serves {TARGET} only, not {target!r}")
        if request.headers.get("Content-Type", "").split(";")[0].strip() != JSON_TYPE:
            return aws_error(400, "SerializationException", f"Content-Type must be {JSON_TYPE}")
        payload = request.json
        if not isinstance(payload, dict):
            return aws_error(400, "SerializationException", "The body is not a JSON object")
        return self._send(payload)

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        match = AUTHORIZATION.match(request.headers.get("Authorization", ""))
        if match is None or not AMZ_DATE.match(request.headers.get("X-Amz-Date", "")):
            return aws_error(400, "MissingAuthenticationTokenException",
                             "Request is missing a valid SigV4 Authorization / X-Amz-Date")
        signed = match["headers"].split(";")
        if not {"host", "x-amz-date", "x-amz-target"} <= set(signed):
            return aws_error(400, "IncompleteSignatureException",
                             "host, x-amz-date and x-amz-target must be signed")
        if match["key"] != self.credentials.aws_access_key_id:
            return self.auth_rejection(request)
        return None

    # -- faults ---------------------------------------------------------------------------------
    def auth_rejection(self, request: SandboxRequest) -> SandboxResponse:
        return aws_error(400, "UnrecognizedClientException",
                         "The security token included in the request is invalid.")

    def error_response(self, request: SandboxRequest, status: int) -> SandboxResponse:
        if status == 429:
            return aws_error(400, "ThrottlingException", "Rate exceeded")
        if status in (502, 503, 504):
            return SandboxResponse.text(status, f"<html><h1>{status}</h1></html>",
                                        content_type="text/html")
        if status >= 500:
            return aws_error(status, "InternalServerException", "Internal failure",
                             RequestId=str(uuid.uuid4()))
        return aws_error(status, "ValidationException", f"HTTP {status}", Reason="OTHER")

    def named_error(self, request: SandboxRequest, name: str) -> SandboxResponse:
        if name not in self.named_errors:
            return super().named_error(request, name)
        status, type_, reason = self.named_errors[name].split(" ", 2)
        members = {"Reason": reason} if reason != "-" else {}
        return aws_error(int(status), type_, f"{type_} ({name})", **members)

    # -- SendTextMessage ----------------------------------------------------------------------
    def _send(self, payload: dict[str, Any]) -> SandboxResponse:
        fields = self.validate(payload)
        if fields:
            return aws_error(400, "ValidationException", "Invalid parameters",
                             Reason="FIELD_VALIDATION_FAILED", Fields=fields)
        to = payload["DestinationPhoneNumber"]
        with self.lock:
            opted_out = to in self.opted_out
        if opted_out:
            return aws_error(400, "ConflictException", "The destination phone number is opted "
                             "out", Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
                             ResourceType="opt-out-list", ResourceId="Default")
        text = payload["MessageBody"]
        encoding, _, parts = gsm.segments(text)
        message_id = str(uuid.uuid4())
        self.accept(
            message_id=message_id, to=to, sender=payload.get("OriginationIdentity", ""),
            text=text, reference=payload.get("Context", {}).get("django_sms_ref", ""),
            segments=parts, encoding=encoding, cost=self.price_per_part * parts,
            currency="USD", extra={"payload": payload},
        )
        return SandboxResponse.json_body(200, {"MessageId": message_id},
                                         headers={"x-amzn-RequestId": str(uuid.uuid4())},
                                         content_type=JSON_TYPE)

    def validate(self, payload: dict[str, Any]) -> list[dict[str, str]]:
        fields: list[dict[str, str]] = []

        def bad(name: str, message: str) -> None:
            fields.append({"Name": name, "Message": message})

        to = payload.get("DestinationPhoneNumber")
        if not isinstance(to, str) or not DESTINATION.match(to):
            bad("DestinationPhoneNumber", "must match \\+?[1-9][0-9]{1,18}")
        body = payload.get("MessageBody")
        if not isinstance(body, str) or not body.strip() or len(body) > 1600:
            bad("MessageBody", "must be 1 to 1600 characters, not blank")
        if payload.get("MessageType", "TRANSACTIONAL") not in ("TRANSACTIONAL", "PROMOTIONAL"):
            bad("MessageType", "must be TRANSACTIONAL or PROMOTIONAL")
        ttl = payload.get("TimeToLive")
        if ttl is not None and (not isinstance(ttl, int) or not 5 <= ttl <= 259200):
            bad("TimeToLive", "must be between 5 and 259200")
        price = payload.get("MaxPrice")
        if price is not None and not (isinstance(price, str) and MAX_PRICE.match(price)):
            bad("MaxPrice", "must match [0-9]{0,2}\\.[0-9]{1,5}")
        context = payload.get("Context", {})
        if not isinstance(context, dict) or len(context) > 5:
            bad("Context", "must be a map of at most 5 entries")
        return fields

    # -- SNS ------------------------------------------------------------------------------------
    def envelope(self, topic_arn: str, message: str, *, kind: str = "Notification",
                 key: Any = None, version: str = "2", **extra: str) -> dict[str, str]:
        """A signed SNS message of ``kind`` carrying ``message``."""
        region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "eu-west-1"
        body = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Message": message,
            "Timestamp": sns_timestamp(time.time()),
            **extra,
            "SigningCertURL": self.certificate_url,
        }
        if kind == "Notification":
            body["UnsubscribeURL"] = (f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                                      f"&SubscriptionArn={topic_arn}:{uuid.uuid4()}")
        return sign_sns(body, key, version)

    def _sns_request(self, url: str, envelope: dict[str, str], **fields: Any) -> CallbackRequest:
        return CallbackRequest(
            "POST", url,
            headers={"Content-Type": "text/plain; charset=UTF-8",
                     "x-amz-sns-message-type": envelope["Type"],
                     "x-amz-sns-message-id": envelope["MessageId"],
                     "x-amz-sns-topic-arn": envelope["TopicArn"],
                     "User-Agent": "Amazon Simple Notification Service Agent"},
            body=json.dumps(envelope).encode(), **fields,
        )

    def build_status_callbacks(self, message: SandboxMessage,
                               outcome: Outcome) -> list[CallbackRequest]:
        url = self.callback_url_for(message)
        if not url:
            return []
        topic = self.credentials.aws_events_topic_arn
        callbacks = []
        stages = outcome.stages
        for index, (stage, delay) in enumerate(stages):
            event = self.event(message, stage, outcome, message.created_at + delay,
                               final=index == len(stages) - 1)
            callbacks.append(self._sns_request(
                url, self.envelope(topic, json.dumps(event)), stage=stage,
                message_id=message.id,
            ))
        return callbacks

    def event(self, message: SandboxMessage, stage: str, outcome: Outcome, when: float, *,
              final: bool) -> dict[str, Any]:
        """The SMS event record AWS publishes when ``message`` reaches ``stage``."""
        if stage == "sent":
            event_type = "TEXT_SUCCESSFUL"
        elif outcome.provider_code is not None and stage != "delivered":
            event_type = str(outcome.provider_code)
        else:
            event_type = FINAL_EVENTS[stage]
        payload = message.extra.get("payload", {})
        event: dict[str, Any] = {
            "eventType": event_type,
            "eventVersion": "1.0",
            "eventTimestamp": int(when * 1000),
            "isFinal": final,
            "originationPhoneNumber": payload.get("OriginationIdentity", ""),
            "destinationPhoneNumber": message.to,
            "isoCountryCode": "FR",
            "isInternationalSend": False,
            "messageId": message.id,
            "messageRequestTimestamp": int(message.created_at * 1000),
            "messageEncoding": "GSM" if message.encoding == "GSM-7" else "UCS2",
            "messageType": payload.get("MessageType", "TRANSACTIONAL"),
            "messageStatus": event_type.removeprefix("TEXT_"),
            "messageStatusDescription": DESCRIPTIONS.get(event_type, event_type),
            "totalMessageParts": message.segments,
            "totalMessagePrice": float(message.cost or 0),
            "totalCarrierFee": 0.0,
        }
        if payload.get("Context"):
            event["context"] = payload["Context"]
        return event

    def subscription_confirmation(self, url: str, topic_arn: str | None = None
                                  ) -> CallbackRequest:
        """The ``SubscriptionConfirmation`` SNS posts when ``url`` subscribes to a topic."""
        topic = topic_arn or self.credentials.aws_events_topic_arn
        token = uuid.uuid4().hex * 2
        envelope = self.envelope(
            topic,
            f"You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, "
            "visit the SubscribeURL included in this message.",
            kind="SubscriptionConfirmation", Token=token,
            SubscribeURL=f"{self.sandbox.url}{CONFIRM_PATH}?Action=ConfirmSubscription"
                         f"&TopicArn={topic}&Token={token}",
        )
        return self._sns_request(url, envelope)

    def inbound_callback(self, url: str, *, from_number: str, text: str,
                         to_number: str = "+33644630000", key: Any = None) -> CallbackRequest:
        """A two-way SMS published to the inbound topic; an opt-out keyword also blocks the
        number, as AWS's opt-out list does. ``key`` signs with another key (a forgery)."""
        word = text.strip().upper()
        if word in OPT_OUT_WORDS:
            with self.lock:
                self.opted_out.add(from_number)
        payload = {
            "originationNumber": from_number,
            "destinationNumber": to_number,
            "messageKeyword": word if word in OPT_OUT_WORDS else "",
            "messageBody": text,
            "inboundMessageId": str(uuid.uuid4()),
            "previousPublishedMessageId": "",
        }
        envelope = self.envelope(self.credentials.aws_inbound_topic_arn, json.dumps(payload),
                                 key=key)
        return self._sns_request(url, envelope)
