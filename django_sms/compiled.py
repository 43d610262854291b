"""Querysets compiled to SQL once, then run again with other values.

Building a queryset with subqueries and compiling it to SQL costs Django more time than
PostgreSQL needs to run it on an index. The webhook's lookup of the message a report is about
(``django_sms.events``) is the same query for every report, only its values change: a
:class:`CompiledQuery` builds it once per model and database with placeholder values, notes
where each placeholder lands among the SQL parameters, and from then on runs the cached SQL
through ``Manager.raw()`` with the real values in those places. Annotations come back as
attributes, as they do from the queryset.

Only plain equality values can be placeholders (strings and UUIDs): a value that Django
transforms into a parameter (``LIKE`` patterns, say) would not be found, and compiling then
fails loudly rather than running a wrong query.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import connections, models, router
from django.db.models import Model, QuerySet

#: Converts a UUID into a query parameter as UUIDField does (native uuid, or 32 hex digits).
_UUID_FIELD = models.UUIDField()


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
        self._cache: dict[tuple[str, str], tuple[str, list[Any], dict[int, str]]] = {}

    def run(self, model: type[Model], **values: Any) -> list[Any]:
        """The rows of the query for ``values`` (``model`` instances, annotations included)."""
        alias = router.db_for_read(model)
        key = (model._meta.label, alias)
        if key not in self._cache:
            placeholders = {name: self._placeholder(name) for name in self.placeholders}
            self._cache[key] = self._compile(self.build(model, **placeholders), alias)
        sql, constants, slots = self._cache[key]
        connection = connections[alias]
        params = list(constants)
        for position, name in slots.items():
            value = values[name]
            params[position] = (
                _UUID_FIELD.get_db_prep_value(value, connection)
                if self.placeholders[name] is uuid.UUID
                else value
            )
        return list(model._default_manager.db_manager(alias).raw(sql, params))

    def _placeholder(self, name: str) -> Any:
        # Derived from the name, so every build of the query uses the same values.
        marker = uuid.uuid5(uuid.NAMESPACE_URL, f"django-sms:compiled:{name}")
        return marker if self.placeholders[name] is uuid.UUID else f"django-sms-slot-{marker.hex}"

    def _compile(
        self, queryset: QuerySet[Any], alias: str
    ) -> tuple[str, list[Any], dict[int, str]]:
        connection = connections[alias]
        sql, params = queryset.using(alias).query.get_compiler(using=alias).as_sql()
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
        return sql, list(params), slots
