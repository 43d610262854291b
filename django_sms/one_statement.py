"""Storing status events and applying them to their message in one SQL statement (PostgreSQL).

A delivery report about a known message writes two rows: its :class:`StatusEvent` (whose
unique ``dedupe_key`` makes a repeated report a no-op) and the message's new status; the
answer to a send writes the message's new status and the events of the send (``queued``,
``sending``, the answer). Done the usual way — ``BEGIN``, ``INSERT``, ``UPDATE``,
``COMMIT`` — that is four round trips to the database, and on a webhook answering hundreds of
reports a second, or a send to a provider that answers in a millisecond, the round trips
cost more than the work (docs/benchmarks.rst measures it). PostgreSQL can do both writes in
one statement, which autocommit makes a transaction of its own::

    WITH new_event AS (
        INSERT INTO <events> (...) VALUES (...), ... ON CONFLICT DO NOTHING RETURNING id
    ), changed AS (
        UPDATE <messages> SET ... WHERE id = %s AND status = %s
            AND EXISTS (SELECT 1 FROM new_event)
        RETURNING 1
    )
    SELECT ARRAY(SELECT id FROM new_event), (SELECT count(*) FROM changed)

The guarantees are those of the transaction it replaces: both writes or neither; a report
already recorded (its key taken, even by a concurrent copy still committing: PostgreSQL
waits for it) changes nothing; the UPDATE is conditional on the status the caller read, so a
concurrent change makes it match no row and the caller finds out (``changed`` is False).

The SQL is written here from the models' metadata (tables, columns, the primary key; a
swapped message model included) and kept per model, database and number of events, so a
write costs no SQL compilation; values are converted by each field's
``get_db_prep_save()``, as Django's own INSERT and UPDATE do.
:func:`insert_events_and_update` returns None where the statement cannot be used — a
database other than PostgreSQL, a model with multi-table inheritance (its UPDATE would span
tables), a field with a custom SQL placeholder — and the caller then uses the ordinary
transaction.

Why the SELECT that finds the message stays a statement of its own: folding it in too (the
row locked ``FOR UPDATE`` inside the same statement, the status rules spelt out as ``CASE``
expressions) was tried and measured at 1.34 ms per report, against 0.44 + 0.84 ms for the
two statements — without prepared statements PostgreSQL plans the 3 KB statement on every
run, which costs about what the round trip saved — and the status rules would have existed
twice, in Python and in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Model

__all__ = ["Written", "insert_events_and_update"]

#: Names of the two sub-statements (they only need to be unique within the statement).
_EVENT_CTE = "django_sms_new_event"
_CHANGE_CTE = "django_sms_changed_message"


@dataclass(frozen=True)
class Written:
    """What the statement did: the primary keys of the events inserted, in order (none when
    every event's unique key was taken: nothing was written), and whether the message was
    updated."""

    event_pks: list[Any]
    changed: bool


def insert_events_and_update(
    events: Sequence[Model], message: Model, expected_status: str, values: dict[str, Any]
) -> Written | None:
    """INSERT ``events`` (one model; those whose unique key is taken are skipped) and, only
    if at least one was inserted, UPDATE ``message`` with ``values`` (field names to values)
    where its status is still ``expected_status`` — in one statement. ``values`` may be
    empty (only the events are written).

    Returns None, having done nothing, when the database cannot do this in one statement.
    When every event was inserted, sets their primary keys (PostgreSQL returns the rows of a
    multi-row INSERT in order; Django's ``bulk_create()`` relies on it too); does not touch
    ``message``.
    """
    event_model, message_model = type(events[0]), type(message)
    alias = router.db_for_write(event_model)
    if router.db_for_write(message_model) != alias:
        return None
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    insert = _insert_template(event_model, alias, len(events))
    update = _update_template(message_model, alias, tuple(values)) if values else None
    if insert is None or (values and update is None):
        return None
    insert_sql, fields, returned = insert
    params = [
        field.get_db_prep_save(field.pre_save(event, True), connection)
        for event in events
        for field in fields
    ]
    sql = [insert_sql]
    if update is not None:
        update_sql, fields, _ = update
        sql.append(update_sql)
        params += [
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values.values(), strict=True)
        ]
        pk_field = message_model._meta.pk
        assert pk_field is not None  # checked by _update_template
        params += [pk_field.get_db_prep_value(message.pk, connection), expected_status]
    # Identifiers only (quoted names from model metadata); every value is a parameter.
    sql.append(f" SELECT ARRAY(SELECT {returned} FROM {_EVENT_CTE}), ")  # noqa: S608
    sql.append(f"(SELECT count(*) FROM {_CHANGE_CTE})" if update is not None else "0")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("".join(sql), params)
        event_pks, changed = cursor.fetchone()
    if len(event_pks) == len(events):
        for event, pk in zip(events, event_pks, strict=True):
            event.pk = pk
            event._state.adding = False
            event._state.db = alias
    return Written(event_pks, bool(changed))


#: A sub-statement, the fields whose values it takes (in order), the quoted primary key column.
_Template = tuple[str, list[Any], str]
_templates: dict[tuple[str, str, tuple[str, ...] | int], _Template | None] = {}


def _insert_template(model: type[Model], alias: str, rows: int) -> _Template | None:
    """``WITH <event> AS (INSERT ...)`` of ``rows`` rows: the fields it inserts are those of
    ``Model.save()``."""
    key = (model._meta.label, alias, rows)
    if key not in _templates:
        meta = model._meta
        fields: list[Any] = [
            field
            for field in meta.local_concrete_fields
            if field is not meta.auto_field and not field.generated
        ]
        primary_key: Any = meta.pk
        if meta.parents or _custom_placeholder(fields) or primary_key is None:
            _templates[key] = None
        else:
            quote = connections[alias].ops.quote_name
            columns = ", ".join(quote(field.column) for field in fields)
            row = "(" + ", ".join(["%s"] * len(fields)) + ")"
            values = ", ".join([row] * rows)
            pk = quote(primary_key.column)
            _templates[key] = (
                f"WITH {_EVENT_CTE} AS (INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
                f"VALUES {values} ON CONFLICT DO NOTHING RETURNING {pk})",
                fields,
                pk,
            )
    return _templates[key]


def _update_template(model: type[Model], alias: str, names: tuple[str, ...]) -> _Template | None:
    """``, <change> AS (UPDATE ...)`` of the fields ``names``; the primary key and the
    expected status are its last two values."""
    key = (model._meta.label, alias, names)
    if key not in _templates:
        meta = model._meta
        fields: list[Any] = [meta.get_field(name) for name in names]
        status: Any = meta.get_field("status")
        primary_key: Any = meta.pk
        concrete = all(getattr(field, "concrete", False) for field in [*fields, status])
        if meta.parents or not concrete or _custom_placeholder(fields) or primary_key is None:
            _templates[key] = None
        else:
            quote = connections[alias].ops.quote_name
            table, pk = quote(meta.db_table), quote(primary_key.column)
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
            _templates[key] = (
                f", {_CHANGE_CTE} AS (UPDATE {table} SET {assignments} "  # noqa: S608
                f"WHERE {pk} = %s AND {quote(status.column)} = %s "
                f"AND EXISTS (SELECT 1 FROM {_EVENT_CTE}) RETURNING 1)",
                fields,
                pk,
            )
    return _templates[key]


def _custom_placeholder(fields: list[Any]) -> bool:
    """Whether a field wraps its value in SQL of its own (``get_placeholder``, as some
    GIS and third-party fields do): the templates only write plain ``%s``."""
    return any(hasattr(field, "get_placeholder") for field in fields)
