"""What a token's owner may see."""

from __future__ import annotations

from django.db.models import QuerySet

from django_sms.models import AbstractMessage, get_message_model


def owner_messages(owner_type_id: int, owner_id: str) -> QuerySet[AbstractMessage]:
    """Messages sent with any token of this owner (not those the site sent itself)."""
    return get_message_model()._default_manager.filter(
        token__owner_type_id=owner_type_id, token__owner_id=owner_id
    )
