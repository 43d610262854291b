"""Every answer under the API's prefix (``<prefix>/v4/``) is JSON in Mailjet's error shape,
even for a URL the API does not have (issue 14 item 3)."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from django_sms.models import get_message_model
from django_sms.tokens import create_token
from django_sms.wallets import deposit, get_or_create_wallet, verify

pytestmark = pytest.mark.django_db

ERROR_KEYS = ["ErrorIdentifier", "ErrorCode", "StatusCode", "ErrorMessage", "ErrorRelatedTo"]
BODY = {"From": "MJPilot", "To": "+33600000000", "Text": "hello"}


@pytest.fixture
def auth(django_user_model, settings):
    settings.DJANGO_SMS = {
        **settings.DJANGO_SMS,
        "PRICES": {"EUR": {"default": "0.05"}},
        "API_THROTTLE_RATE": None,
    }
    cache.clear()
    owner = django_user_model.objects.create(username="paths")
    wallet = get_or_create_wallet(owner, "EUR")
    deposit(wallet, "1")
    verify(wallet)
    return {"HTTP_AUTHORIZATION": f"Bearer {create_token(owner)[1]}"}


def assert_json_404(response):
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert list(data) == ERROR_KEYS
    assert (data["ErrorCode"], data["StatusCode"]) == ("djsms-0003", 404)
    return data


@pytest.mark.parametrize("authenticated", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/sms/v4/sms-send/"),
        ("get", "/sms/v4/sms/"),
        ("get", "/sms/v4/sms/count/"),
        ("get", "/sms/v4/sms/export/abc/def"),
        ("get", "/sms/v4/sms/1/2/3"),
        ("delete", "/sms/v4/nothing-here"),
        ("get", "/sms/v4"),
        ("get", "/sms/v4/"),
        ("put", "/sms/v4/REST/contact"),
    ],
)
def test_unknown_urls_under_the_prefix_are_json(client, auth, authenticated, method, path):
    headers = auth if authenticated else {}
    response = getattr(client, method)(path, BODY, content_type="application/json", **headers)
    data = assert_json_404(response)
    assert path in data["ErrorMessage"]
    assert get_message_model().objects.count() == 0


def test_a_trailing_slash_is_refused_with_the_right_url(client, auth):
    data = assert_json_404(
        client.post("/sms/v4/sms-send/", BODY, content_type="application/json", **auth)
    )
    assert "no trailing slash" in data["ErrorMessage"]
    assert "/sms/v4/sms-send" in data["ErrorMessage"]
    detail = assert_json_404(client.get(f"/sms/v4/sms/{uuid.uuid4()}/", **auth))
    assert "no trailing slash" in detail["ErrorMessage"]


def test_the_paths_mailjet_rest_builds_are_served(client, auth):
    """``mailjet-rest``'s endpoint helpers put ``REST/`` in every v4 URL (providers.md §1.10):
    ``client.sms_send.create()`` posts to ``v4/REST/sms/send``. The API answers there too."""
    sent = client.post("/sms/v4/REST/sms/send", BODY, content_type="application/json", **auth)
    assert sent.status_code == 200, sent.json()
    message_id = sent.json()["MessageId"]
    again = client.post("/sms/v4/REST/sms-send", BODY, content_type="application/json", **auth)
    assert again.status_code == 200
    assert client.get("/sms/v4/REST/sms/count", **auth).json() == {"Count": 2}
    listed = client.get("/sms/v4/REST/sms", {"Limit": 1}, **auth).json()["Data"]
    assert len(listed) == 1
    assert client.get(f"/sms/v4/REST/sms/{message_id}", **auth).json()["ID"] == message_id
    assert get_message_model().objects.count() == 2
    # They answer what the real URLs answer, errors included.
    assert client.get("/sms/v4/REST/sms/count").status_code == 401


def test_an_export_id_that_is_not_a_number_is_a_json_400(client, auth):
    response = client.get("/sms/v4/sms/export/abc", **auth)
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == "mj-0004"
    assert response.json()["ErrorRelatedTo"] == ["ID"]
    assert client.get("/sms/v4/sms/export/abc").json()["ErrorCode"] == "mj-0015"
