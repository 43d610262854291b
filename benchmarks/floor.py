"""The floor of the per-message benchmark: the least a *stored* send can cost on this machine.

``send_sms()`` stores a message before it calls the provider (so nothing is sent that is not
on record: a crash during the request leaves a ``sending`` row for the sweeper) and stores
the answer after it, with the events that explain it. Whatever the implementation, that is
two durable writes — two commits — around the request. This loop makes exactly those, by hand
with psycopg on the benchmark's own tables (their indexes, constraints and foreign keys), and
sends the bare loop's request in between:

1. ``INSERT`` of the message row, claimed (``sending``), in autocommit;
2. the bare loop's POST;
3. one statement, in autocommit: the ``queued``, ``sending`` and ``accepted`` events
   ``INSERT``-ed and the row ``UPDATE``-d to ``accepted`` with the provider's id.

No ORM, no validation, no status rules, no signals: what is left is the database's work and
its round trips. The ratio of this loop to the bare loop is the best any implementation
that keeps the message and its events could reach here. A reference row, with no target:
the app itself writes through the ORM only, the same way on every database; this
hand-written, PostgreSQL-only SQL is benchmark code and stays here.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from benchmarks.processes import BenchmarkError
from benchmarks.providers import SENDER, Post
from django_sms.models import EventSource, StatusEvent, get_message_model
from django_sms.status import Status

_VARYING_MESSAGE_FIELDS = ("reference", "to", "text", "created_at", "updated_at", "claimed_at")


def _insert_parts(instance: Model) -> tuple[str, list[str], list[str], list[Any]]:
    """The table, the columns ``Model.save()`` would insert (quoted, and as attribute names)
    and their values for ``instance``, converted once by Django: the loop only swaps a few
    of them."""
    meta = instance._meta
    quote = connection.ops.quote_name
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    return (
        quote(meta.db_table),
        [quote(str(f.column)) for f in fields],
        [f.attname for f in fields],
        values,
    )


class StoredSendFloor:
    """``loop(count)``: the seconds ``count`` stored sends take at the least (see above)."""

    def __init__(self, post: Post, numbers: Any, provider: str) -> None:
        self.post = post
        self.numbers = numbers
        self.references: list[uuid.UUID] = []
        message_model = get_message_model()
        now = timezone.now()
        template = message_model(
            to="+33600000000", country="FR", sender=SENDER, text="floor", encoding="GSM-7",
            segments=1, status=Status.SENDING, attempts=1, backend_alias="default",
            provider=provider, claimed_at=now, created_at=now,
        )
        table, columns, fields, self.message_values = _insert_parts(template)
        self.slots = {name: fields.index(name) for name in _VARYING_MESSAGE_FIELDS}
        marks = ", ".join(["%s"] * len(columns))
        primary_key: Any = message_model._meta.pk
        pk = connection.ops.quote_name(primary_key.column)
        self.insert_message = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608
        )

        event = StatusEvent(status=Status.QUEUED, source=EventSource.SEND, received_at=now)
        event_table, event_columns, event_fields, self.event_values = _insert_parts(event)
        self.event_slots = {name: event_fields.index(name) for name in
                            ("message_id", "status", "provider_message_id", "received_at")}
        row = "(" + ", ".join(["%s"] * len(event_columns)) + ")"
        quote = connection.ops.quote_name
        self.store_answer = (
            f"WITH events AS (INSERT INTO {event_table} ({', '.join(event_columns)}) "  # noqa: S608
            f"VALUES {row}, {row}, {row}) "
            f"UPDATE {table} SET {quote('status')} = %s, {quote('provider_message_id')} = %s, "
            f"{quote('provider_status')} = %s, {quote('claimed_at')} = NULL, "
            f"{quote('sent_at')} = %s, {quote('updated_at')} = %s "
            f"WHERE {pk} = %s AND {quote('status')} = %s"
        )
        settings_dict = connection.settings_dict
        self.db = psycopg.connect(
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"] or None,
            password=settings_dict["PASSWORD"] or None,
            autocommit=True,
        )

    def close(self) -> None:
        self.db.close()

    def loop(self, count: int) -> float:
        began = time.perf_counter()
        for _ in range(count):
            self.send_one()
        return time.perf_counter() - began

    def send_one(self) -> None:
        text, to = self.numbers.next()
        reference = uuid.uuid4()
        now = timezone.now()
        values = list(self.message_values)
        for name, value in (("reference", reference), ("to", to), ("text", text),
                            ("created_at", now), ("updated_at", now), ("claimed_at", now)):
            values[self.slots[name]] = value
        [(pk,)] = self.db.execute(self.insert_message, values, prepare=True).fetchall()
        self.references.append(reference)

        provider_id = self.post(text, to, str(reference))

        answered = timezone.now()
        params: list[Any] = []
        for status, event_id in ((Status.QUEUED, ""), (Status.SENDING, ""),
                                 (Status.ACCEPTED, provider_id)):
            event = list(self.event_values)
            event[self.event_slots["message_id"]] = pk
            event[self.event_slots["status"]] = status
            event[self.event_slots["provider_message_id"]] = event_id
            event[self.event_slots["received_at"]] = answered
            params += event
        params += [Status.ACCEPTED, provider_id, "accepted", answered, answered, pk,
                   Status.SENDING]
        if self.db.execute(self.store_answer, params, prepare=True).rowcount != 1:
            raise BenchmarkError("the floor loop: the message row was not updated")
