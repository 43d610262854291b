"""Exports of an owner's messages as CSV (``POST v4/sms/export``), as Mailjet's SMS API v4.

An export is a job (:class:`~django_sms.models.SMSExport`): a small one (at most
:data:`INLINE_MAX_MESSAGES` messages) is built at once, in the request; a larger one is built
by the :func:`build_export` task through django.tasks when ``ASYNC`` is on (the same
``TASK_BACKEND`` and ``QUEUE_NAME`` as deliveries), and in the request otherwise. The client
polls ``GET v4/sms/export/{ID}`` until ``Status.Code`` is 3 (``COMPLETED``) and downloads
the CSV from ``URL``.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from django_sms.api.queries import owner_messages
from django_sms.api.serializers import message_item
from django_sms.compat import task
from django_sms.conf import sms_settings
from django_sms.models import AbstractAPIToken, AbstractMessage, SMSExport

logger = logging.getLogger("django_sms")

#: Exports of at most this many messages are built at once, in the request.
INLINE_MAX_MESSAGES = 1000
#: How far back an export may start (Mailjet: "FromTS can be up to one year ago").
MAX_AGE = timedelta(days=365)
#: How long a completed export can be downloaded (Mailjet: 7 days after CreationTS).
LIFETIME = timedelta(days=7)

#: The CSV's columns: the properties ``GET v4/sms`` gives a message (Mailjet does not
#: publish the columns of its own file), ``Status`` and ``Cost`` flattened.
COLUMNS = [
    "MessageId",
    "From",
    "To",
    "CreationTS",
    "SentTS",
    "SmsCount",
    "StatusCode",
    "StatusName",
    "StatusDescription",
    "CostValue",
    "CostCurrency",
]

_SIGNER = signing.Signer(salt="django_sms.api.exports")


def download_key(export: SMSExport) -> str:
    """The secret part of an export's download URL (Mailjet's URLs need no token)."""
    return _SIGNER.signature(f"{export.pk}:{export.requested_at.isoformat()}")


def is_download_key(export: SMSExport, key: str) -> bool:
    return constant_time_compare(key, download_key(export))


def period_messages(export: SMSExport) -> QuerySet[AbstractMessage]:
    return owner_messages(export.owner_type_id, export.owner_id).filter(
        created_at__gte=export.from_ts, created_at__lte=export.to_ts
    )


def start_export(token: AbstractAPIToken, from_ts: datetime, to_ts: datetime) -> SMSExport:
    """Create the export job of ``token``'s owner and build it now or in the background."""
    # Expired exports are deleted here rather than by a periodic task: they hold CSV text.
    SMSExport._default_manager.filter(expires_at__lt=timezone.now()).delete()
    export = SMSExport._default_manager.create(
        owner_type_id=token.owner_type_id, owner_id=token.owner_id, from_ts=from_ts, to_ts=to_ts
    )
    if not sms_settings.ASYNC or period_messages(export).count() <= INLINE_MAX_MESSAGES:
        build(export)
    else:
        transaction.on_commit(lambda: enqueue(export), using=router.db_for_write(SMSExport))
    return export


def enqueue(export: SMSExport) -> None:
    try:
        build_export.using(
            backend=sms_settings.TASK_BACKEND, queue_name=sms_settings.QUEUE_NAME
        ).enqueue(export.pk)
    except Exception:
        # The broker is down: build it now rather than leave it pending for ever.
        logger.exception("Could not enqueue SMS export %s; building it now.", export.pk)
        build(export)


@task
def build_export(export_id: int) -> str:
    """Build the CSV of a pending export; return the status it ended in."""
    export = SMSExport._default_manager.filter(pk=export_id).first()
    if export is None:
        return "missing"
    return build(export)


def build(export: SMSExport) -> str:
    """Claim a pending export (once, whoever runs it), write its CSV, mark it completed or in
    error; refresh ``export`` and return its status name."""
    manager = SMSExport._default_manager
    claimed = manager.filter(pk=export.pk, status=SMSExport.Status.PENDING).update(
        status=SMSExport.Status.IN_PROGRESS
    )
    if claimed:
        try:
            text, rows = render_csv(export)
        except Exception as exc:
            logger.exception("SMS export %s failed.", export.pk)
            manager.filter(pk=export.pk).update(
                status=SMSExport.Status.ERROR, error=f"{type(exc).__name__}: {exc}"[:1000]
            )
        else:
            now = timezone.now()
            manager.filter(pk=export.pk).update(
                status=SMSExport.Status.COMPLETED,
                csv=text,
                rows=rows,
                completed_at=now,
                expires_at=now + LIFETIME,
            )
    export.refresh_from_db()
    return SMSExport.Status(export.status).name


def render_csv(export: SMSExport) -> tuple[str, int]:
    """The CSV of ``export``'s messages, oldest first, and how many rows it has."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    messages = period_messages(export).order_by("created_at", "pk")
    for message in messages.iterator(chunk_size=2000):
        writer.writerow(csv_row(message_item(message)))
        rows += 1
    return out.getvalue(), rows


def csv_row(item: dict[str, Any]) -> list[Any]:
    return [
        item["MessageId"],
        item["From"],
        item["To"],
        item["CreationTS"],
        item["SentTS"],
        item["SmsCount"],
        item["Status"]["Code"],
        item["Status"]["Name"],
        item["Status"]["Description"],
        item["Cost"]["Value"],
        item["Cost"]["Currency"],
    ]
