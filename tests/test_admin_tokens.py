"""The API token admin: create (the secret is shown once), list, revoke."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from django_sms.models import get_token_model
from tests.test_admin_messages import page_text

tokens = pytest.importorskip("django_sms.tokens", reason="django_sms.tokens is not merged yet")

pytestmark = pytest.mark.django_db

# The active model and its admin pages: swapped.CustomToken in the swapped run (registered by
# tests/swapped/admin.py, as a project that swaps the model does).
APIToken = get_token_model()
TOKENS = f"/admin/{APIToken._meta.app_label}/{APIToken._meta.model_name}/"


@pytest.fixture
def owner(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("tenant")


def create(client: Any, owner: Any, **fields: Any) -> Any:
    data = {
        "owner_type": ContentType.objects.get_for_model(owner).pk,
        "owner_id": owner.pk,
        "name": "Shop backend",
        "expires_at_0": "",
        "expires_at_1": "",
    }
    data.update(fields)
    return client.post(f"{TOKENS}add/", data)


def test_creating_a_token_shows_its_secret_once(admin_client, admin_user, owner):
    response = create(admin_client, owner)

    token = APIToken.objects.get()
    assert response.status_code == 302
    assert response.url == f"{TOKENS}{token.pk}/secret/"
    page = admin_client.get(response.url)
    assert "no-store" in page["Cache-Control"]
    text = page_text(page)
    assert "This is the only time this secret is shown" in text
    secret = re.search(r'id="sms-token-secret">([^<]+)<', page.content.decode()).group(1)
    assert secret.startswith(token.prefix)
    assert (token.name, token.owner, token.created_by) == ("Shop backend", owner, admin_user)
    # Only a hash is stored.
    stored = APIToken.objects.filter(pk=token.pk).values().get()
    assert all(secret not in str(value) for value in stored.values())

    again = admin_client.get(response.url)
    assert secret not in again.content.decode()
    assert "cannot be shown again" in page_text(again)
    assert secret not in admin_client.get(f"{TOKENS}{token.pk}/change/").content.decode()


def test_token_owner_must_exist(admin_client, owner):
    response = create(admin_client, owner, owner_id="999")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["owner_id"] == [
        "There is no user with id 999."
    ]
    assert not APIToken.objects.exists()


def test_token_list_columns(admin_client, owner):
    tokens.create_token(owner, name="CI", expires_at=timezone.now() + timezone.timedelta(days=30))
    response = admin_client.get(TOKENS)
    text = page_text(response)
    for column in (
        "Prefix",
        "Name",
        "Owner",
        "Created at",
        "Last used at",
        "Expires at",
        "Revoked at",
        "Usable",
    ):
        assert column in text
    assert f"user: {owner}" in text


def test_revoke_action(admin_client, owner):
    token, _secret = tokens.create_token(owner, name="CI")
    response = admin_client.post(
        TOKENS, {"action": "revoke_tokens", "index": 0, "_selected_action": [token.pk]}, follow=True
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_usable
    assert "1 token revoked." in page_text(response)


def test_tokens_cannot_be_deleted(admin_client, owner):
    token, _secret = tokens.create_token(owner)
    assert admin_client.post(f"{TOKENS}{token.pk}/delete/", {"post": "yes"}).status_code == 403
    assert APIToken.objects.filter(pk=token.pk).exists()
