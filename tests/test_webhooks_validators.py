"""The stackable webhook validators of django_sms.backends.webhook_validators: the rules every
provider inherits (stacking, rotation, fail closed) and how a new provider drops its own check
in, shown with a made-up provider that signs its callbacks with an HMAC header."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from django_sms.backends.base import BaseSmsBackend, WebhookRequest
from django_sms.backends.webhook_validators import (
    SharedSecretValidator,
    ValidatedWebhooksMixin,
    WebhookValidator,
    bearer_token,
    header,
    matches_any,
    secret_list,
)
from django_sms.exceptions import (
    ConfigurationError,
    WebhookAuthenticationError,
)

URL_SECRET = "Qm7pX2vL9sK4tR8wN1bH6cJ3dF5gA0zE"
SIGNING_KEY = "acme-signing-key"


class AcmeSignature(WebhookValidator):
    """All a new provider writes: its own check (X-Acme-Signature = HMAC-SHA256 of the body)."""

    option = "signing_key"
    hint = "Set 'signing_key'."

    def validate(self, backend, request, kind):
        given = header(request, "X-Acme-Signature")
        expected = [hmac.new(k.encode(), request.body, hashlib.sha256).hexdigest()
                    for k in self.secrets(backend)]
        if not matches_any([given], expected):
            raise WebhookAuthenticationError("bad X-Acme-Signature")

    def describe(self, backend):
        return f"X-Acme-Signature checked against {len(self.secrets(backend))} key(s)"


class AcmeBackend(ValidatedWebhooksMixin, BaseSmsBackend):
    provider_name = "acme"
    known_options = ("api_key",)
    webhook_validators = (AcmeSignature(), SharedSecretValidator())


def callback(body=b'{"id": "1"}', *, key=SIGNING_KEY, url_secret="", basic=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-Acme-Signature"] = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", headers, body, url_secret=url_secret, basic_auth=basic)


def refused(backend, request, kind="status"):
    with pytest.raises(WebhookAuthenticationError) as excinfo:
        backend.verify_webhook(request, kind)
    return str(excinfo.value)


def test_a_new_provider_only_writes_its_own_check():
    backend = AcmeBackend(signing_key=SIGNING_KEY)
    backend.verify_webhook(callback(), "status")
    assert "bad X-Acme-Signature" in refused(backend, callback(key="forged"))
    assert backend.webhook_protection("status") == "X-Acme-Signature checked against 1 key(s)"


def test_options_of_the_validators_are_known_and_masked():
    assert AcmeBackend.known_options == (
        "api_key", "signing_key", "webhook_secret", "webhook_insecure"
    )
    assert AcmeBackend.secret_options == ("signing_key", "webhook_secret")
    backend = AcmeBackend(signing_key="s", webhook_secret=URL_SECRET, webhook_insecure=False)
    assert list(backend.check()) == []  # no unknown-option warning (W010)


def test_every_configured_validator_must_pass_in_order():
    backend = AcmeBackend(signing_key=SIGNING_KEY, webhook_secret=URL_SECRET)
    backend.verify_webhook(callback(url_secret=URL_SECRET), "status")
    backend.verify_webhook(callback(basic=("acme", URL_SECRET)), "inbound")
    assert "no secret" in refused(backend, callback())
    assert "wrong secret" in refused(backend, callback(url_secret="guess"))
    # The signature is checked first: a forged one is refused whatever the URL says.
    assert "bad X-Acme-Signature" in refused(backend, callback(key="x", url_secret=URL_SECRET))
    assert backend.webhook_protection("status") == (
        "X-Acme-Signature checked against 1 key(s) + secret in the callback URL or HTTP Basic "
        "password, checked against 1 webhook secret(s)"
    )


def test_rotation_accepts_every_listed_secret():
    backend = AcmeBackend(signing_key=["new-key", SIGNING_KEY], webhook_secret=["a" * 32, "b" * 32])
    backend.verify_webhook(callback(key="new-key", url_secret="b" * 32), "status")
    backend.verify_webhook(callback(key=SIGNING_KEY, url_secret="a" * 32), "status")


def test_nothing_configured_fails_closed_and_says_what_to_set():
    backend = AcmeBackend(alias="acme")
    reason = refused(backend, callback(), "inbound")
    assert reason.startswith("SMS backend 'acme' has no 'signing_key' or 'webhook_secret' OPTION")
    assert "inbound" in reason and "fail closed" in reason
    assert "Set 'signing_key'." in reason
    assert backend.webhook_protection("status").startswith("refused")


def test_webhook_insecure_opens_only_an_unconfigured_backend():
    AcmeBackend(webhook_insecure=True).verify_webhook(callback(key=""), "status")
    assert AcmeBackend(webhook_insecure=True).webhook_protection("status") == ""
    backend = AcmeBackend(webhook_insecure=True, webhook_secret=URL_SECRET)
    assert "no secret" in refused(backend, callback(key=""))


@pytest.mark.parametrize("value", ["false", "0", "yes", 1, ["x"]])
def test_webhook_insecure_other_than_true_keeps_the_backend_closed(value):
    # A string read from the environment ("false") is truthy; servers run no system check.
    backend = AcmeBackend(webhook_insecure=value)
    assert "fail closed" in refused(backend, callback(key=""))
    assert backend.webhook_protection("status").startswith("refused")


def test_a_malformed_secret_option_refuses_everything_and_is_a_check_error():
    backend = AcmeBackend(signing_key=SIGNING_KEY, webhook_secret={"not": "a list"})
    assert "'webhook_secret' must be a string or a list" in refused(
        backend, callback(url_secret=URL_SECRET)
    )
    assert [m.id for m in backend.check()] == ["django_sms.E012"]
    assert [m.id for m in AcmeBackend(webhook_insecure="yes").check()] == ["django_sms.E012"]


def test_weak_url_secrets_are_a_warning():
    messages = list(AcmeBackend(webhook_secret=["short", "has/slash" + "x" * 30]).check())
    assert [m.id for m in messages] == ["django_sms.W013", "django_sms.W013"]


def test_secret_list_shapes():
    backend = AcmeBackend()
    for value, expected in ((None, []), ("", []), ("s", ["s"]), (["a", "b"], ["a", "b"]),
                            (("a",), ["a"])):
        backend.options["x"] = value
        assert secret_list(backend, "x") == expected
    for bad in (3, ["a", ""], ["a", 1]):
        backend.options["x"] = bad
        with pytest.raises(ConfigurationError, match="'x' must be a string or a list"):
            secret_list(backend, "x")


def test_header_helpers_are_case_insensitive():
    request = WebhookRequest("POST", {"authorization": "bEaReR  tok.en "}, b"")
    assert header(request, "Authorization") == "bEaReR  tok.en "
    assert bearer_token(request) == "tok.en"
    for value in ("", "Bearer ", "Basic abc"):
        assert bearer_token(WebhookRequest("POST", {"Authorization": value}, b"")) is None


def test_matches_any_compares_every_pair():
    assert matches_any(["x", "b"], ["a", "b"])
    assert not matches_any(["sécret"], ["secret"])
    assert not matches_any([], ["a"])


class UrlSignature(WebhookValidator):
    """A Twilio-like check: the signature covers the absolute URL the provider called."""

    option = "signing_key"

    def validate(self, backend, request, kind):
        expected = [hmac.new(k.encode(), request.url.encode(), hashlib.sha256).hexdigest()
                    for k in self.secrets(backend)]
        if not matches_any([header(request, "X-Url-Signature")], expected):
            raise WebhookAuthenticationError(f"bad X-Url-Signature for {request.url}")

    def describe(self, backend):
        return "URL signature"


class UrlSignedBackend(ValidatedWebhooksMixin, BaseSmsBackend):
    provider_name = "urlsigned"
    supports_status_webhooks = True
    webhook_validators = (UrlSignature(),)

    def parse_status_webhook(self, request):
        return []


@pytest.mark.django_db
def test_a_validator_sees_the_absolute_url_through_the_view(settings, client):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "signed": {"BACKEND": f"{__name__}.UrlSignedBackend",
                   "OPTIONS": {"signing_key": SIGNING_KEY}},
    }
    url = "http://testserver/sms/webhooks/signed/status/?id=42&status=delivered"
    signature = hmac.new(SIGNING_KEY.encode(), url.encode(), hashlib.sha256).hexdigest()
    ok = client.get(url, headers={"X-Url-Signature": signature})
    assert ok.status_code == 200, ok.content
    other = client.get(url.replace("42", "43"), headers={"X-Url-Signature": signature})
    assert other.status_code == 401
    assert "id=43" in other.json()["detail"]
