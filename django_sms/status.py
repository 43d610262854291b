"""Normalised message statuses and the one place that decides which transitions happen.

Order: queued -> sending -> (unknown) -> accepted -> sent -> a final status. A status never
moves backwards and a final status is final. The single exception is the retry path
``sending -> queued``: the pipeline puts a message back in the queue after a transient
failure, when nothing can have reached the provider.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    UNKNOWN = "unknown", _("Unknown")
    ACCEPTED = "accepted", _("Accepted")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Undelivered")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


#: Every status value (``Status.values`` builds a new list, with translated labels, per call).
ALL_STATUSES: frozenset[str] = frozenset(Status.values)

FINAL_STATUSES: frozenset[str] = frozenset(
    {
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.EXPIRED,
        Status.REJECTED,
        Status.FAILED,
        Status.CANCELED,
    }
)

#: Final statuses that mean the message never reached a carrier (its hold is released).
NOT_SENT_STATUSES: frozenset[str] = frozenset({Status.REJECTED, Status.FAILED, Status.CANCELED})

#: Statuses a message can be in while the provider may still report on it.
PENDING_STATUSES: frozenset[str] = frozenset({Status.UNKNOWN, Status.ACCEPTED, Status.SENT})

_RANK: dict[str, int] = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.UNKNOWN: 2,
    Status.ACCEPTED: 3,
    Status.SENT: 4,
    **dict.fromkeys(FINAL_STATUSES, 5),
}


def rank(status: str) -> int:
    return _RANK[status]


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


def can_transition(old: str, new: str) -> bool:
    """Whether a message in ``old`` may move to ``new``.

    >>> can_transition("sent", "delivered"), can_transition("delivered", "sent")
    (True, False)
    """
    if old == new or old in FINAL_STATUSES:
        return False
    if old == Status.SENDING and new == Status.QUEUED:
        return True  # retry after a transient failure
    return _RANK[new] > _RANK[old]
