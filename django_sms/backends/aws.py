"""AWS End User Messaging SMS (API ``pinpoint-sms-voice-v2``): everything that knows its wire.

Send: ``SendTextMessage`` through ``boto3`` (the ``[aws]`` extra): credentials from boto3's
usual chain (or OPTIONS), botocore's ``standard`` retry mode, SigV4 and the JSON protocol
(``X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage``). Our message reference travels in
``Context`` and comes back in every event, so an event that beats the send answer still finds
its message. Errors are classified by their code (:func:`classify_client_error`).

Delivery events and inbound (two-way) messages arrive through an **SNS HTTPS subscription**:
the configuration set's event destination (or the number's two-way channel) is an SNS topic
whose subscription is this alias's status (or inbound) webhook URL. Every SNS message is
verified (:func:`verify_sns_message`): SignatureVersion 1 (SHA1withRSA) or 2
(SHA256withRSA) with the certificate at ``SigningCertURL``, which must be
``https://sns.<region>.amazonaws.com/...pem`` (certificates cached per URL); its
``TopicArn`` must be one of the ``topic_arns`` OPTION. A ``SubscriptionConfirmation`` for such
a topic is confirmed by fetching its ``SubscribeURL`` (same host rule). There is no polling
API: none of the service's operations reads a message's status. Details, sources and the
UNCONFIRMED points: docs/providers/aws.rst.

Settings::

    SMS_BACKENDS = {"aws": {"BACKEND": "django_sms.backends.aws.SmsBackend",
                            "OPTIONS": {"region_name": "eu-west-1",
                                        "origination_identity": "MyBrand",
                                        "configuration_set_name": "transactional",
                                        "topic_arns": ["arn:aws:sns:eu-west-1:1234:sms-events"]}}}

boto3 and cryptography are imported lazily, so this module imports without them;
``manage.py check`` explains what to install (``django_sms.E011``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests
from django.core import checks

from django_sms.backends.base import (
    BaseSmsBackend,
    InboundSMS,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
from django_sms.backends.values import as_datetime, as_decimal, as_int, as_text, from_epoch
from django_sms.backends.webhook_validators import (
    ValidatedWebhooksMixin,
    WebhookValidator,
    secret_list,
)
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
    WebhookAuthenticationError,
    WebhookPayloadError,
)
from django_sms.status import Status

if TYPE_CHECKING:
    from django_sms.message import SMS

logger = logging.getLogger("django_sms.webhooks")

INSTALL_HINT = 'pip install "django-transactional-sms[aws]"'
SERVICE = "pinpoint-sms-voice-v2"
#: The ``Context`` key carrying our message reference (echoed as ``context`` in events).
REFERENCE_KEY = "django_sms_ref"
MESSAGE_TYPES = ("TRANSACTIONAL", "PROMOTIONAL")
MIN_TTL, MAX_TTL = 5, 259200
MAX_BODY_LENGTH = 1600
MAX_PRICE = re.compile(r"^[0-9]{0,2}\.[0-9]{1,5}$")
ORIGINATION_IDENTITY = re.compile(r"^[A-Za-z0-9_:/+-]{1,256}$")
#: Where SNS certificates and subscription URLs may live (AWS's own validators' rule):
#: ``sns.<region>.amazonaws.com`` (``.com.cn`` in China), never another AWS host.
SNS_HOST = re.compile(r"^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$")
#: Currency of ``totalMessagePrice`` (AWS bills SMS in USD; UNCONFIRMED in the event docs).
EVENT_CURRENCY = "USD"
CERTIFICATE_TIMEOUT = (3.05, 5.0)
MAX_CACHED_CERTIFICATES = 32

#: Keys signed by SNS, in the order of the string to sign, per message type.
SIGNED_KEYS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}


@dataclass(frozen=True)
class EventType:
    """One SMS event type and the status it gives the message."""

    name: str
    status: str
    description: str


#: SMS event types (configuration-set event destinations) -> our statuses.
#: ``TEXT_SUCCESSFUL`` means the carrier accepted it; depending on the country it is the
#: last event (AWS: "TEXT_DELIVERED and TEXT_SUCCESSFUL may be used interchangeably"), so it
#: counts as delivered when the event says it is final (``isFinal``).
EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("TEXT_QUEUED", Status.ACCEPTED, "Queued by AWS"),
        EventType("TEXT_PENDING", Status.ACCEPTED, "Being delivered"),
        EventType("TEXT_SUCCESSFUL", Status.SENT, "Accepted by the recipient's carrier"),
        EventType("TEXT_DELIVERED", Status.DELIVERED, "Delivered to the handset"),
        EventType("TEXT_BLOCKED", Status.REJECTED, "The device or carrier blocks messages to "
                                                   "this recipient"),
        EventType("TEXT_CARRIER_BLOCKED", Status.REJECTED, "Blocked by the carrier"),
        EventType("TEXT_SPAM", Status.REJECTED, "Identified as spam by the carrier"),
        EventType("TEXT_INVALID", Status.REJECTED, "Invalid destination number"),
        EventType("TEXT_INVALID_MESSAGE", Status.REJECTED, "Invalid message body"),
        EventType("TEXT_PROTECT_BLOCKED", Status.REJECTED, "Blocked by a protect "
                                                           "configuration"),
        EventType("TEXT_UNREACHABLE", Status.UNDELIVERED, "The handset is unreachable"),
        EventType("TEXT_CARRIER_UNREACHABLE", Status.UNDELIVERED, "Temporary carrier network "
                                                                  "error"),
        EventType("TEXT_TTL_EXPIRED", Status.EXPIRED, "Not delivered within its time to "
                                                      "live"),
        EventType("TEXT_UNKNOWN", Status.UNDELIVERED, "No final carrier report within 72 "
                                                      "hours"),
    )
}

#: Error codes (``__type``) that mean the account or the OPTIONS must be fixed.
CONFIGURATION_ERRORS = frozenset({
    "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
    "ExpiredTokenException", "InvalidClientTokenId", "ResourceNotFoundException",
    "ServiceQuotaExceededException", "MissingAuthenticationTokenException",
})
TRANSIENT_ERRORS = frozenset({
    "ThrottlingException", "InternalServerException", "ServiceUnavailableException",
    "RequestTimeoutException", "TooManyRequestsException",
})
OPTED_OUT_REASON = "DESTINATION_PHONE_NUMBER_OPTED_OUT"


def import_boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise ConfigurationError(
            f"The AWS backend needs boto3 ({exc}): {INSTALL_HINT}"
        ) from exc
    return boto3


def classify_client_error(exc: Any, provider: str = "aws") -> ProviderError:
    """The ProviderError for a botocore ``ClientError`` (an answer with an error code)."""
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {}) or {}
    code = str(error.get("Code") or "").rsplit("#", 1)[-1]
    reason = str(response.get("Reason") or "")
    text = str(error.get("Message") or response.get("Message") or "")
    if reason:
        text = f"{text} ({reason})" if text else reason
    status_code = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    common: dict[str, Any] = {"code": code, "text": text, "status_code": status_code,
                              "provider": provider}
    where = f"SendTextMessage was refused: {code}"
    if code in TRANSIENT_ERRORS or (code not in CONFIGURATION_ERRORS
                                    and isinstance(status_code, int) and status_code >= 500):
        return TransientProviderError(f"SendTextMessage failed temporarily: {code}", **common)
    if code in CONFIGURATION_ERRORS:
        return PermanentProviderError(f"{where} (check the credentials, region and "
                                      "resources of the AWS backend)", status=Status.FAILED,
                                      **common)
    return PermanentProviderError(where, status=Status.REJECTED,
                                  opted_out=reason == OPTED_OUT_REASON, **common)


class SnsSignature(WebhookValidator):
    """The signature of every SNS message (:func:`verify_sns_message`), and its topic: one of
    the ``topic_arns`` OPTION. Without ``topic_arns`` every SNS message is refused."""

    option = "topic_arns"
    hint = ("Set 'topic_arns' to the SNS topic(s) of the configuration set's event "
            "destination and of two-way messages.")

    def secrets(self, backend: BaseSmsBackend) -> list[str]:
        # Topic ARNs are not secret, and may be written as one comma-separated string.
        return [arn.strip() for value in secret_list(backend, self.option)
                for arn in value.split(",") if arn.strip()]

    def validate(self, backend: BaseSmsBackend, request: WebhookRequest, kind: str) -> None:
        message = sns_envelope(request)
        verify_sns_message(message, secret_list(backend, "sns_test_url_prefixes"))
        if message.get("TopicArn") not in self.secrets(backend):
            raise WebhookAuthenticationError(
                f"topic {message.get('TopicArn')!r} is not in the 'topic_arns' OPTION"
            )

    def describe(self, backend: BaseSmsBackend) -> str:
        return ("SNS message signature (certificate from sns.<region>.amazonaws.com), "
                f"{len(self.secrets(backend))} topic(s)")


class SmsBackend(ValidatedWebhooksMixin, BaseSmsBackend):
    """Sends with ``SendTextMessage``; verifies and parses SNS-delivered events and replies.

    OPTIONS (see docs/providers/aws.rst): ``region_name`` (required),
    ``origination_identity`` (a phone number, sender ID, pool id or ARN; default: the
    message's sender), ``configuration_set_name`` (needed for delivery events),
    ``message_type`` (``TRANSACTIONAL``), ``max_price`` (USD per message, e.g. ``"0.05"``),
    ``time_to_live`` (seconds, 5 to 259200; per message with the ``ttl`` option),
    ``endpoint_url``, ``aws_access_key_id`` / ``aws_secret_access_key`` /
    ``aws_session_token`` (default: boto3's credential chain), ``max_attempts`` (botocore's
    standard retry mode, default 3), ``timeout`` / ``connect_timeout`` / ``read_timeout``,
    ``pool_size``, ``topic_arns`` (the SNS topics whose messages are accepted), and
    ``sns_test_url_prefixes`` (tests only: URL prefixes trusted besides
    ``https://sns.<region>.amazonaws.com/``, e.g. the provider sandbox's).
    """

    provider_name = "aws"
    required_options = ("region_name",)
    known_options = (
        "region_name", "origination_identity", "configuration_set_name", "message_type",
        "max_price", "time_to_live", "endpoint_url", "aws_access_key_id",
        "aws_secret_access_key", "aws_session_token", "max_attempts", "timeout",
        "connect_timeout", "read_timeout", "pool_size", "topic_arns", "sns_test_url_prefixes",
    )
    supports_status_webhooks = True
    supports_inbound = True
    status_reports_carry_reference = True
    webhook_validators = (SnsSignature(),)
    webhook_auth_scheme: ClassVar[str] = "SNS-Signature"
    #: 1600 characters: 10 GSM-7 parts hold 1530.
    max_segments = 10

    def __init__(self, alias: str = "default", **options: Any):
        super().__init__(alias, **options)
        self.client: Any = None
        self._lock = threading.Lock()

    # -- configuration -------------------------------------------------------------------------
    def _seconds(self, name: str, default: float) -> float:
        value = self.options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(
                f"SMS backend {self.alias!r}: {name!r} must be a positive number of seconds, "
                f"not {value!r}."
            )
        return float(value)

    @property
    def timeouts(self) -> tuple[float, float]:
        timeout = self.options.get("timeout")
        if isinstance(timeout, list | tuple) and len(timeout) == 2:
            connect, read = timeout
        else:
            connect = read = timeout if timeout is not None else None
        return (self._seconds("connect_timeout", connect or 3.05),
                self._seconds("read_timeout", read or 10.0))

    @property
    def max_attempts(self) -> int:
        value = self.options.get("max_attempts", 3)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
            raise ConfigurationError(
                f"SMS backend {self.alias!r}: 'max_attempts' must be a whole number from 1 to "
                f"10, not {value!r}."
            )
        return value

    @property
    def test_url_prefixes(self) -> list[str]:
        return secret_list(self, "sns_test_url_prefixes")

    # -- connection lifecycle ------------------------------------------------------------------
    def open(self) -> bool:
        """Create the boto3 client (one per backend instance, i.e. per thread)."""
        with self._lock:
            if self.client is not None:
                return False
            boto3 = import_boto3()
            from botocore.config import Config

            connect, read = self.timeouts
            config = Config(
                retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                connect_timeout=connect,
                read_timeout=read,
                max_pool_connections=int(self.options.get("pool_size") or 10),
                user_agent_extra="django-transactional-sms",
            )
            credentials = {
                name: self.options[name]
                for name in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
                if self.options.get(name)
            }
            with _session_lock:
                # One boto3 Session for the process, used under a lock (sessions are not
                # thread-safe; the clients they make are): its loader reads the service
                # model once, instead of once per thread (~0.3 s of CPU each).
                global _session
                if _session is None:
                    _session = boto3.session.Session()
                self.client = _session.client(
                    SERVICE, region_name=self.options.get("region_name"),
                    endpoint_url=self.options.get("endpoint_url") or None, config=config,
                    **credentials,
                )
            return True

    def close(self) -> None:
        with self._lock:
            client, self.client = self.client, None
        if client is not None:
            client.close()

    # -- sending -------------------------------------------------------------------------------
    def build_params(self, sms: SMS) -> dict[str, Any]:
        """The ``SendTextMessage`` parameters for ``sms``."""
        if len(sms.text) > MAX_BODY_LENGTH:
            raise PermanentProviderError(
                f"AWS accepts at most {MAX_BODY_LENGTH} characters; this text has "
                f"{len(sms.text)}.", provider=self.provider_name, status=Status.REJECTED,
            )
        params: dict[str, Any] = {
            "DestinationPhoneNumber": sms.to,
            "MessageBody": sms.text,
            "MessageType": str(self.options.get("message_type") or "TRANSACTIONAL").upper(),
        }
        identity = self.options.get("origination_identity") or sms.sender
        if identity:
            params["OriginationIdentity"] = str(identity)
        for option, name in (("configuration_set_name", "ConfigurationSetName"),
                             ("max_price", "MaxPrice")):
            if self.options.get(option):
                params[name] = str(self.options[option])
        ttl = (sms.options or {}).get("ttl", self.options.get("time_to_live"))
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
                raise PermanentProviderError(
                    f"AWS's TimeToLive must be a whole number of seconds between {MIN_TTL} and "
                    f"{MAX_TTL}, not {ttl!r}.",
                    provider=self.provider_name, status=Status.REJECTED,
                )
            params["TimeToLive"] = ttl
        if sms.reference:
            params["Context"] = {REFERENCE_KEY: str(sms.reference)}
        return params

    def send_one(self, sms: SMS) -> SendResult:
        params = self.build_params(sms)
        try:
            self.open()
        except ConfigurationError as exc:
            raise PermanentProviderError(str(exc), provider=self.provider_name,
                                         status=Status.FAILED) from exc
        try:
            answer = self.client.send_text_message(**params)
        except Exception as exc:
            raise self.classify_exception(exc) from exc
        message_id = answer.get("MessageId") if isinstance(answer, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise AmbiguousProviderError("SendTextMessage answered without a MessageId; the "
                                         "message may have been accepted",
                                         provider=self.provider_name)
        return SendResult(status=Status.ACCEPTED, provider_message_id=message_id,
                          provider_status="accepted",
                          raw={"MessageId": message_id,
                               "RequestId": answer.get("ResponseMetadata", {}).get("RequestId")})

    def classify_exception(self, exc: Exception) -> ProviderError:
        """A ProviderError for anything boto3 raised (after its own retries)."""
        from botocore import exceptions as bx

        if isinstance(exc, bx.ClientError):
            return classify_client_error(exc, self.provider_name)
        common: dict[str, Any] = {"provider": self.provider_name}
        if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError
                      | bx.NoRegionError):
            return PermanentProviderError(f"cannot call AWS: {exc}", status=Status.FAILED,
                                          **common)
        if isinstance(exc, bx.ParamValidationError):
            return PermanentProviderError(f"AWS refused the parameters: {exc}",
                                          status=Status.REJECTED, **common)
        if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
            return TransientProviderError(f"could not connect to AWS ({exc}); nothing was "
                                          "sent", **common)
        if isinstance(exc, bx.BotoCoreError):
            # Read timeouts and connections lost after the request was written.
            return AmbiguousProviderError(f"no usable answer from AWS ({exc}); the message "
                                          "may have been accepted", **common)
        raise exc

    # -- webhooks: SNS (verified by webhook_validators) ----------------------------------------
    def parse_status_webhook(self, request: WebhookRequest) -> list[StatusUpdate]:
        message = self._notification(request)
        if message is None:
            return []
        event = _json_message(message)
        event_type = as_text(event.get("eventType"))
        known = EVENT_TYPES.get(event_type)
        if known is None:
            logger.info("SNS message %s: event type %r ignored (not an SMS event)",
                        message.get("MessageId"), event_type)
            return []
        message_id = as_text(event.get("messageId")).strip()
        if not message_id:
            raise WebhookPayloadError("the SMS event has no messageId")
        status = known.status
        if event_type == "TEXT_SUCCESSFUL" and event.get("isFinal") is True:
            status = Status.DELIVERED
        context = event.get("context")
        if not isinstance(context, dict):
            context = {}
        failed = status not in (Status.ACCEPTED, Status.SENT, Status.DELIVERED)
        description = str(event.get("messageStatusDescription") or known.description)
        return [
            StatusUpdate(
                status=status,
                provider_message_id=message_id,
                message_ref=str(context.get(REFERENCE_KEY) or ""),
                provider_status=event_type,
                provider_status_text=description,
                occurred_at=_milliseconds(event.get("eventTimestamp")),
                dedupe_key=f"aws:{message_id}:{event_type}",
                error_code=str(event.get("messageStatus") or event_type) if failed else "",
                error_message=description if failed else "",
                segments=_positive_int(event.get("totalMessageParts")),
                cost=as_decimal(event.get("totalMessagePrice")),
                cost_currency=EVENT_CURRENCY if event.get("totalMessagePrice") is not None
                else "",
                raw=event,
            )
        ]

    def parse_inbound_webhook(self, request: WebhookRequest) -> list[InboundSMS]:
        message = self._notification(request)
        if message is None:
            return []
        data = _json_message(message)
        sender = as_text(data.get("originationNumber")).strip()
        if not sender:
            raise WebhookPayloadError("the two-way message has no originationNumber")
        return [
            InboundSMS(
                provider_message_id=str(data.get("inboundMessageId") or message.get("MessageId")
                                        or ""),
                from_number=sender,
                to_number=str(data.get("destinationNumber") or ""),
                text=str(data.get("messageBody") or ""),
                occurred_at=as_datetime(message.get("Timestamp")),
                keyword=str(data.get("messageKeyword") or "")[:32],
                raw=data,
            )
        ]

    def _notification(self, request: WebhookRequest) -> dict[str, Any] | None:
        """The verified SNS envelope of a Notification; None after handling a subscription
        (un)confirmation (nothing to record)."""
        message = sns_envelope(request)
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            self.confirm_subscription(message)
            return None
        if kind == "UnsubscribeConfirmation":
            logger.warning("SNS unsubscribed SMS backend %r from %s", self.alias,
                           message.get("TopicArn"))
            return None
        return message

    def confirm_subscription(self, message: Mapping[str, Any]) -> None:
        """GET the ``SubscribeURL`` of a verified confirmation for one of our topics."""
        url = str(message.get("SubscribeURL") or "")
        if not sns_url_allowed(url, self.test_url_prefixes, suffix=""):
            raise WebhookPayloadError(f"SubscribeURL {url!r} is not an SNS URL")
        try:
            response = requests.get(url, timeout=CERTIFICATE_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            # A 5xx: SNS retries the confirmation.
            raise TransientProviderError(f"could not confirm the SNS subscription: {exc}",
                                         provider=self.provider_name) from exc
        if response.status_code != 200:
            raise TransientProviderError(
                f"SNS answered HTTP {response.status_code} to the subscription confirmation",
                provider=self.provider_name, status_code=response.status_code,
            )
        logger.info("SMS backend %r confirmed its SNS subscription to %s", self.alias,
                    message.get("TopicArn"))

    # -- checks --------------------------------------------------------------------------------
    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        errors = list(super().check(**kwargs))
        option = f"SMS_BACKENDS[{self.alias!r}]['OPTIONS']"
        try:
            import_boto3()
        except ConfigurationError:
            errors.append(checks.Error(
                f"SMS backend {self.alias!r} needs boto3, which is not installed.",
                hint=INSTALL_HINT, id="django_sms.E011",
            ))
        for attribute in ("timeouts", "max_attempts", "test_url_prefixes"):
            try:
                getattr(self, attribute)
            except ConfigurationError as exc:
                errors.append(checks.Error(str(exc), id="django_sms.E012"))
        message_type = str(self.options.get("message_type") or "TRANSACTIONAL").upper()
        if message_type not in MESSAGE_TYPES:
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'message_type' must be TRANSACTIONAL or "
                f"PROMOTIONAL, not {self.options.get('message_type')!r}.", id="django_sms.E012",
            ))
        max_price = self.options.get("max_price")
        if max_price is not None and not MAX_PRICE.match(str(max_price)):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'max_price' must look like '0.05' (USD, at most "
                f"5 decimals), not {max_price!r}.", id="django_sms.E012",
            ))
        ttl = self.options.get("time_to_live")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)
                                or not MIN_TTL <= ttl <= MAX_TTL):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'time_to_live' must be {MIN_TTL} to {MAX_TTL} "
                f"seconds, not {ttl!r}.", id="django_sms.E012",
            ))
        identity = self.options.get("origination_identity")
        if identity and not ORIGINATION_IDENTITY.match(str(identity)):
            errors.append(checks.Error(
                f"SMS backend {self.alias!r}: 'origination_identity' {identity!r} is not a "
                "phone number, sender ID, pool id or ARN.", id="django_sms.E012",
            ))
        if self.options.get("sns_test_url_prefixes"):
            errors.append(checks.Warning(
                f"SMS backend {self.alias!r} trusts SNS certificates outside "
                "sns.<region>.amazonaws.com ('sns_test_url_prefixes').",
                hint=f"Remove {option}['sns_test_url_prefixes'] outside tests: anyone able "
                     "to serve a certificate there can forge delivery reports.",
                id="django_sms.W014",
            ))
        return errors


_session: Any = None
_session_lock = threading.Lock()


# -- SNS message verification ------------------------------------------------------------------
_certificates: dict[str, Any] = {}
_certificates_lock = threading.Lock()


def sns_envelope(request: WebhookRequest) -> dict[str, Any]:
    """The SNS JSON envelope, whatever the Content-Type says (SNS sends ``text/plain``)."""
    data = request.data
    if not isinstance(data, dict):
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise WebhookAuthenticationError(f"not an SNS message: the body is not JSON "
                                             f"({exc})") from exc
    if not isinstance(data, dict) or data.get("Type") not in SIGNED_KEYS:
        raise WebhookAuthenticationError("not an SNS message (no known 'Type')")
    return data


def string_to_sign(message: Mapping[str, Any]) -> str:
    """SNS's canonical string: ``key\\nvalue\\n`` for each signed key present, in order."""
    keys = SIGNED_KEYS.get(str(message.get("Type")), ())
    return "".join(
        f"{key}\n{message[key]}\n" for key in keys
        if key in message and message[key] is not None
    )


def sns_url_allowed(url: str, test_prefixes: Iterable[str] = (), *, suffix: str = ".pem"
                    ) -> bool:
    """Whether ``url`` is an HTTPS URL on ``sns.<region>.amazonaws.com`` (ending with
    ``suffix``), or starts with one of ``test_prefixes``."""
    if any(url.startswith(prefix) for prefix in test_prefixes if prefix):
        return url.endswith(suffix)
    parts = urlsplit(url)
    return (parts.scheme == "https" and bool(SNS_HOST.match(parts.hostname or ""))
            and parts.port in (None, 443) and not parts.username and parts.path.endswith(suffix))


def verify_sns_message(message: Mapping[str, Any], test_prefixes: Iterable[str] = ()) -> None:
    """Raise WebhookAuthenticationError unless SNS signed ``message``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    version = str(message.get("SignatureVersion") or "")
    algorithms = {"1": hashes.SHA1, "2": hashes.SHA256}
    if version not in algorithms:
        raise WebhookAuthenticationError(f"unsupported SNS SignatureVersion {version!r}")
    url = str(message.get("SigningCertURL") or "")
    if not sns_url_allowed(url, test_prefixes):
        raise WebhookAuthenticationError(
            f"SigningCertURL {url!r} is not an https://sns.<region>.amazonaws.com/...pem URL"
        )
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except ValueError as exc:
        raise WebhookAuthenticationError("the SNS Signature is not base64") from exc
    key = certificate_key(url)
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookAuthenticationError("the SNS certificate does not hold an RSA key")
    try:
        key.verify(signature, string_to_sign(message).encode("utf-8"), padding.PKCS1v15(),
                   algorithms[version]())
    except InvalidSignature:
        raise WebhookAuthenticationError(
            "bad SNS signature: the message was not signed by the certificate's key"
        ) from None


def certificate_key(url: str) -> Any:
    """The public key of the certificate at ``url``, fetched once and cached."""
    from cryptography import x509

    with _certificates_lock:
        cached = _certificates.get(url)
    if cached is not None:
        return cached
    try:
        response = requests.get(url, timeout=CERTIFICATE_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        key = x509.load_pem_x509_certificate(response.content).public_key()
    except (requests.RequestException, ValueError) as exc:
        raise WebhookAuthenticationError(f"cannot load the SNS certificate {url}: {exc}") from exc
    with _certificates_lock:
        if len(_certificates) >= MAX_CACHED_CERTIFICATES:
            _certificates.clear()
        _certificates[url] = key
    return key


def clear_certificate_cache() -> None:
    """Forget the cached SNS certificates (tests; a rotated certificate keeps its URL)."""
    with _certificates_lock:
        _certificates.clear()


# -- parsing helpers -----------------------------------------------------------------------------
def _json_message(message: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(str(message.get("Message") or ""))
    except (ValueError, RecursionError) as exc:
        raise WebhookPayloadError(f"the SNS Message is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise WebhookPayloadError("the SNS Message is not a JSON object")
    return data


def _milliseconds(value: Any) -> datetime | None:
    """AWS event timestamps are Unix milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return from_epoch(value / 1000)


def _positive_int(value: Any) -> int | None:
    number = as_int(value)
    return number if number is not None and number > 0 else None
