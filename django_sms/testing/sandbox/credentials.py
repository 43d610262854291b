"""The credentials the sandbox accepts: fixed, public, development-only values.

Every value here is published in this repository: they protect nothing and must never be used
with a real provider account. The example project and the tests reference them, e.g.::

    from django_sms.testing.sandbox import SandboxCredentials
    creds = SandboxCredentials()
    SMS_BACKENDS = {"default": {"BACKEND": "django_sms.backends.mailjet.SmsBackend",
                                "OPTIONS": {"token": creds.mailjet_token,
                                            "base_url": "http://127.0.0.1:8025"}}}

Pass your own instance to ``Sandbox(credentials=...)`` to test with other values.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A 2048-bit RSA key pair for the Vonage application (RS256 JWTs). TEST KEY: it is public.
VONAGE_TEST_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC+TptIruaPoalg
d0gq7XHC/Q2JtqwNm1cJVXDXdA5Zp1I8GQ9JodAzl2uvtDoXE5CfEsih40kSI+az
YtnxFx1Qeb2MZHt9rAP4oa2072Mt5nUtuzvqnn7AietJzL20dDDANv9sdHNAAnsA
G1+5Uu6jZWRx9Hh1fdyIfiQygKFzHeu/ScU3OAvPvvpJZ/FQRHf4eexjNBhNz+Hk
s+d19KxeNNu6xaiLL56a5tFlq+gSKQnHjc1bJMoEnrPtbXv05J1gIgeSp/2nDRzQ
zm5g/tfbW1AXdJ2X3jR5ZR4mlk0AFoCLqRV9tuBR0bYNF+VLxZuBP5kgVL40gRFZ
VGRM8vYdAgMBAAECggEACHyD4zVddbk9Tt5y2us0v/+9207IlGDBfFqRiiIUQ744
5hIuAtgS60IM3Mx6LK5ELDvPs5xplUQBlS1Kz7v6pCyRndGbSiriEHPRRbjJIPJe
dlgbn2ZK+7YKxoM5UHM/+0pYkJMO0qNprcMKvT5sAuBSHtzKhF7E91c8sP3YdUQk
G51Zh5mdMdPLEshzM5mjhGE38nSHyS/Z6WWmUJkqGArfNmSNP2yz55EnR7hoNTDx
p1XFj2W2SIYRgNhBHELzu+Et+2wRrQGCfg/YKUsDMbsZt6Am8+Z53qw/IrfDCdfX
5bVpTorG7PyVFdfnRd+QDkwH6C/T/usnDglVO2Y9cQKBgQDmO/i4tUYa6N+tAAok
V+G9K7ByrlIDJ63jlJho6eftLpcquCPp95egZ1h9eXRl5RIxxXbHaAm+xqGpppGh
r5VB5JCvbvxoGm0D71WI9F4al4/4wKY1mjt3+th8cYsXXyqMqa/lQPgFDKOLBmfJ
3CRbt0xKz0wU3UQ+D6G9MVK4GQKBgQDTmsCXC6I/Fizgh3hX+yiv2Urp/V75RjmM
VBZwYOkUDHL3SHd3ib5Uz3jhUGkYId0WcJlgKLDRUgRlVzd7ckkBzIOlyNQWv0iW
tNs0Et7NZ67VSF1E0PfEwlawbS4YGXbnLTw98z60v6Og2X0/U4agSdVUhE0DrLfx
tgU7hPZ+pQKBgBgJRswx0KHakg+Do4tryVtwhjlSzakaqWLLDqZVVStD4/BHzSgN
+zx5zZk75tUEd0PO87mZuPq7zgDiLO4OYKzCagCGu786kwsIH4vuxyxLinJT2oZa
Fb9O5u8HA5hrDQwmYwCyKbKNQT2wa4F9hCY3GrXssmqzNv6rrx0LWzFxAoGAXE0V
kw1dEV2v56TQBrikr8f92IFP6zYJpj+Lpitvn/IqN9lhW0A3SLFTTh0QKpmi4cXt
8Tbuoe+/wSDBL9TTKbi2+BrZAK8hj7OGJnnQvBJs/dXZ8Umhui73N2/4ekSpS/+8
Vl2DTb6GNoSIEJZzk/mA16P6IA84EXRPZf4Cs40CgYAfb8gDOyXWKCsHw3KP6BWA
ruk85ehSUmnJax6eIqE7vGnxQM/w4QUzLi7/UNn1ERrG5eTn0Mzcim6TmU2Kw22J
SMZlbykDWsb3q/Q8wjgpkFk3WK5cfIVWA8ah2PXNp96gSnH+MVGQw3Xi4eIRKtZl
QGyyc2z8lUhq7YDsP3eYJA==
-----END PRIVATE KEY-----
"""

VONAGE_TEST_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvk6bSK7mj6GpYHdIKu1x
wv0NibasDZtXCVVw13QOWadSPBkPSaHQM5drr7Q6FxOQnxLIoeNJEiPms2LZ8Rcd
UHm9jGR7fawD+KGttO9jLeZ1Lbs76p5+wInrScy9tHQwwDb/bHRzQAJ7ABtfuVLu
o2VkcfR4dX3ciH4kMoChcx3rv0nFNzgLz776SWfxUER3+HnsYzQYTc/h5LPndfSs
XjTbusWoiy+emubRZavoEikJx43NWyTKBJ6z7W179OSdYCIHkqf9pw0c0M5uYP7X
21tQF3Sdl940eWUeJpZNABaAi6kVfbbgUdG2DRflS8WbgT+ZIFS+NIERWVRkTPL2
HQIDAQAB
-----END PUBLIC KEY-----
"""


@dataclass(frozen=True)
class SandboxCredentials:
    """What the sandbox checks, per provider (see docs/sandbox.rst)."""

    #: Mailjet: ``Authorization: Bearer <mailjet_token>``.
    mailjet_token: str = "sandbox-mailjet-sms-token"
    #: Vonage Messages API: RS256 JWT signed with ``vonage_private_key`` for
    #: ``vonage_application_id``, or Basic ``vonage_api_key:vonage_api_secret``.
    vonage_application_id: str = "5a6d0c2e-1b3f-4e8a-9c7d-5a9e0b1c2d3e"
    vonage_private_key: str = VONAGE_TEST_PRIVATE_KEY
    vonage_public_key: str = VONAGE_TEST_PUBLIC_KEY
    vonage_api_key: str = "sandboxkey"
    vonage_api_secret: str = "sandbox-vonage-secret"
    #: HS256 secret the sandbox signs Vonage status/inbound callbacks with.
    vonage_signature_secret: str = "sandbox-vonage-webhook-signature-secret"
    #: OVH: ``X-Ovh-Application`` / ``$1$`` signature with the secret / ``X-Ovh-Consumer``.
    ovh_application_key: str = "sandboxappkey"
    ovh_application_secret: str = "sandbox-ovh-application-secret"
    ovh_consumer_key: str = "sandbox-ovh-consumer-key"
    ovh_service_name: str = "sms-sandbox-1"
    #: Twilio: Basic ``twilio_account_sid:twilio_auth_token`` (or the API key pair); the
    #: auth token also signs the status and inbound callbacks (``X-Twilio-Signature``).
    twilio_account_sid: str = "AC" + "5a" * 16
    twilio_auth_token: str = "0123456789abcdef0123456789abcdef"
    twilio_api_key_sid: str = "SK" + "5b" * 16
    twilio_api_key_secret: str = "sandbox-twilio-api-key-secret"
    #: AWS End User Messaging SMS: SigV4 with this access key id (checked for its shape and
    #: this id; the signature itself is not recomputed).
    aws_access_key_id: str = "AKIASANDBOXEXAMPLE01"
    aws_secret_access_key: str = "sandbox/aws/secret/access/key/EXAMPLEKEY"
    aws_region: str = "eu-west-1"
    #: The SNS topics the sandbox publishes SMS events and inbound messages to.
    aws_events_topic_arn: str = "arn:aws:sns:eu-west-1:123456789012:sandbox-sms-events"
    aws_inbound_topic_arn: str = "arn:aws:sns:eu-west-1:123456789012:sandbox-sms-inbound"

    def describe(self) -> dict[str, dict[str, str]]:
        """Per provider, the values to put in a backend's OPTIONS (keys are not secret)."""
        return {
            "mailjet": {"token": self.mailjet_token},
            "vonage": {
                "application_id": self.vonage_application_id,
                "private_key": "SandboxCredentials().vonage_private_key",
                "api_key": self.vonage_api_key,
                "api_secret": self.vonage_api_secret,
                "signature_secret": self.vonage_signature_secret,
            },
            "ovh": {
                "application_key": self.ovh_application_key,
                "application_secret": self.ovh_application_secret,
                "consumer_key": self.ovh_consumer_key,
                "service_name": self.ovh_service_name,
            },
            "twilio": {
                "account_sid": self.twilio_account_sid,
                "auth_token": self.twilio_auth_token,
                "api_key_sid": self.twilio_api_key_sid,
                "api_key_secret": self.twilio_api_key_secret,
            },
            "aws": {
                "aws_access_key_id": self.aws_access_key_id,
                "aws_secret_access_key": self.aws_secret_access_key,
                "region_name": self.aws_region,
                "topic_arns": f"{self.aws_events_topic_arn}, {self.aws_inbound_topic_arn}",
            },
        }
