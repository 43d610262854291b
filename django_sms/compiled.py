"""Querysets compiled to SQL once, then run again with other values.

Building a queryset with subqueries and compiling it to SQL costs Django more time than
PostgreSQL needs to run it on an index. The webhook's lookup of the message a report is about
(``django_sms.events``) is the same query for every report, only its values change: a
:class:`CompiledQuery` builds it once per model and database with placeholder values, notes
where each placeholder lands among the SQL parameters, and from then on runs the cached SQL
with the real values in those places and turns the rows into instances as the queryset
would (``Model.from_db()``, the fields' database converters), keeping from the first
compilation what Django would work out again for every run (which column is which field,
which converters apply). Annotations come back as attributes, as they do from the
queryset. Only querysets of one model without ``select_related()`` can be compiled.

Only plain equality values can be placeholders (strings and UUIDs): a value that Django
transforms into a parameter (``LIKE`` patterns, say) would not be found, and compiling then
fails loudly rather than running a wrong query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router
from django.db.models import Model, QuerySet

#: Converts a UUID into a query parameter as UUIDField does (native uuid, or 32 hex digits).
_UUID_FIELD = models.UUIDField()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: list[Any]
    slots: dict[int, str]  # parameter position -> placeholder name
    attnames: list[str]  # the model's columns, in order, from position 0
    annotations: dict[str, int]  # annotation name -> column position
    converters: list[tuple[int, list[Callable[..., Any]], Any]]  # position, converters, column


class CompiledQuery:
    """``build(model, **values)`` returns a queryset of ``model``; :meth:`run` returns its
    rows for ``values``, building and compiling it only the first time for a model and a
    database.

    ``placeholders`` maps each value's name to its type (``str`` or ``uuid.UUID``).
    """

    def __init__(
        self, build: Callable[..., QuerySet[Any]], placeholders: dict[str, type]
    ) -> None:
        self.build = build
        self.placeholders = placeholders
        self._cache: dict[tuple[str, str], _Compiled] = {}

    def run(self, model: type[Model], **values: Any) -> list[Any]:
        """The rows of the query for ``values`` (``model`` instances, annotations included)."""
        alias = router.db_for_read(model)
        key = (model._meta.label, alias)
        if key not in self._cache:
            placeholders = {name: self._placeholder(name) for name in self.placeholders}
            self._cache[key] = self._compile(self.build(model, **placeholders), alias)
        compiled = self._cache[key]
        connection = connections[alias]
        params = list(compiled.constants)
        for position, name in compiled.slots.items():
            value = values[name]
            params[position] = (
                _UUID_FIELD.get_db_prep_value(value, connection)
                if self.placeholders[name] is uuid.UUID
                else value
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        instances = []
        width = len(compiled.attnames)
        for fetched in rows:
            row = list(fetched)
            for position, converters, column in compiled.converters:
                for convert in converters:
                    row[position] = convert(row[position], column, connection)
            instance = model.from_db(alias, compiled.attnames, row[:width])
            for name, position in compiled.annotations.items():
                setattr(instance, name, row[position])
            instances.append(instance)
        return instances

    def _placeholder(self, name: str) -> Any:
        # Derived from the name, so every build of the query uses the same values.
        marker = uuid.uuid5(uuid.NAMESPACE_URL, f"django-sms:compiled:{name}")
        return marker if self.placeholders[name] is uuid.UUID else f"django-sms-slot-{marker.hex}"

    def _compile(self, queryset: QuerySet[Any], alias: str) -> _Compiled:
        connection = connections[alias]
        compiler = queryset.using(alias).query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        wanted = {}
        for name, kind in self.placeholders.items():
            placeholder = self._placeholder(name)
            prepared = (
                _UUID_FIELD.get_db_prep_value(placeholder, connection)
                if kind is uuid.UUID
                else placeholder
            )
            wanted[str(prepared)] = name
        slots: dict[int, str] = {}
        for position, param in enumerate(params):
            text = str(param)
            if text in wanted:
                slots[position] = wanted[text]
            elif any(marker in text for marker in wanted):
                raise ValueError(
                    f"CompiledQuery: a placeholder was transformed into {text!r}; only plain "
                    "equality values can be placeholders."
                )
        missing = set(self.placeholders) - set(slots.values())
        if missing:
            raise ValueError(f"CompiledQuery: the query does not use {sorted(missing)}.")
        # What ModelIterable works out from the compiler for every run of a queryset.
        klass_info = compiler.klass_info
        if (
            not klass_info
            or klass_info.get("related_klass_infos")
            or klass_info["select_fields"] != list(range(len(klass_info["select_fields"])))
        ):
            raise ValueError("CompiledQuery: only querysets of one model can be compiled.")
        columns = [expression for expression, _sql, _alias in compiler.select]
        attnames = [column.target.attname for column in columns[: len(klass_info["select_fields"])]]
        converters = [
            (position, list(found), column)
            for position, (found, column) in compiler.get_converters(columns).items()
        ]
        return _Compiled(
            sql, list(params), slots, attnames, dict(compiler.annotation_col_map or {}), converters
        )
