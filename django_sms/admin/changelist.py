"""What keeps the message changelist fast at a million rows.

A stock changelist runs three kinds of query whose cost grows with the table: ``COUNT(*)``
(twice: filtered and unfiltered), ``SELECT DISTINCT`` for ``AllValuesFieldListFilter`` choices
and for every level of ``date_hierarchy``, and ``icontains`` searches that no index can serve.
This module replaces each of them with a query an index answers:

- :class:`EstimatedCountPaginator` reads PostgreSQL's row estimate for an unfiltered list and
  counts a filtered one only up to a cap;
- the provider, alias and encoding filters take their choices from settings, not from the
  table; the country filter reads its choices with an index skip scan;
- :func:`search_messages` matches a number exactly or by prefix (a range on the ``to`` index),
  and a provider id or reference exactly;
- :func:`date_hierarchy_context` derives the drill-down links from ``MIN``/``MAX`` of the
  filtered rows instead of ``SELECT DISTINCT date_trunc(...)``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import uuid
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Q, QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.module_loading import import_string
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from django_sms.backends.handler import configured_backends
from django_sms.encoding import GSM7, UCS2

# -- parameters --------------------------------------------------------------------------------


class SafeChangeList(ChangeList):
    """Refuses query parameters that no database column can hold, as Django refuses an
    invalid lookup.

    PostgreSQL cannot store or compare a NUL byte in a text value, so ``?country=%00`` (or
    ``?q=%00``) would reach it and fail with ``DataError``: a server error. Raising
    ``IncorrectLookupParameters`` makes ``changelist_view`` answer as it does for any bad
    lookup, with a redirect to the unfiltered list and ``?e=1``, on every database alike.
    """

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise IncorrectLookupParameters(
                    f"The query parameter {name!r} contains a NUL character."
                )
        return super().get_queryset(request, exclude_parameters)


class SafeChangeListMixin:
    """For the app's model admins: their changelists use :class:`SafeChangeList`."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SafeChangeList


# -- ordering ----------------------------------------------------------------------------------


class SortableByChangeList(SafeChangeList):
    """Applies ``sortable_by`` to the ``o`` URL parameter too.

    Django only hides the header links of columns outside ``sortable_by``; a crafted
    ``?o=2`` still sorts by them, and on a million rows any column without an index means a
    sort of the whole table.
    """

    def get_ordering_field(self, field_name: Any) -> Any:
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


# -- counting ----------------------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """A paginator that never runs ``COUNT(*)`` over a huge table.

    On PostgreSQL it counts exactly up to :attr:`exact_count_limit` rows (``COUNT`` over a
    ``LIMIT`` subquery, which stops early) and, beyond that, uses PostgreSQL's estimate: the
    table's row count kept by ANALYZE (``pg_class.reltuples``) for an unfiltered list, the
    planner's row estimate for a filtered one. Both queries always run, so a page costs the
    same number of queries whatever the size of the table. Other databases get an exact
    count. :attr:`count_is_estimate` tells the template to say so.
    """

    #: Lists with at most this many rows are counted exactly.
    exact_count_limit = 10_000

    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count()
        queryset = queryset.order_by()
        capped = queryset[: self.exact_count_limit + 1].count()
        if queryset.query.where:
            estimate = self.plan_estimate(queryset)
        else:
            estimate = self.table_estimate(queryset)
        if capped <= self.exact_count_limit:
            return capped
        self.count_is_estimate = True
        return max(capped, estimate)

    @staticmethod
    def table_estimate(queryset: QuerySet[Any]) -> int:
        """Rows in the table as PostgreSQL last measured them; -1 before the first ANALYZE."""
        table = queryset.model._meta.db_table
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [connections[queryset.db].ops.quote_name(table)],
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else -1

    @staticmethod
    def plan_estimate(queryset: QuerySet[Any]) -> int:
        """The number of rows the planner expects ``queryset`` to return."""
        plan = json.loads(queryset.explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])


# -- filters -------------------------------------------------------------------------------------


def configured_providers() -> dict[str, str]:
    """alias -> provider name of every configured backend, without instantiating any."""
    providers = {}
    for alias, conf in configured_backends().items():
        try:
            backend_class = import_string(conf.get("BACKEND", ""))
        except ImportError:
            # A broken BACKEND is reported by the system checks; the filter just omits it.
            continue
        providers[alias] = getattr(backend_class, "provider_name", "") or alias
    return providers


class SettingsChoicesFilter(admin.SimpleListFilter):
    """A filter whose choices come from settings rather than from ``SELECT DISTINCT``.

    A value that is not configured any more (the URL still names it) stays selectable, so a
    link to old messages keeps working.
    """

    field_name = ""

    def configured_choices(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        choices = self.configured_choices()
        current = self.value()
        if current and current not in {value for value, _label in choices}:
            choices.append((current, current))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.field_name: self.value()})


class ProviderFilter(SettingsChoicesFilter):
    title = _("provider")
    parameter_name = field_name = "provider"

    def configured_choices(self) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(set(configured_providers().values()))]


class BackendAliasFilter(SettingsChoicesFilter):
    title = _("backend alias")
    parameter_name = field_name = "backend_alias"

    def configured_choices(self) -> list[tuple[str, str]]:
        return [
            (alias, f"{alias} ({provider})") for alias, provider in configured_providers().items()
        ]


class EncodingFilter(SettingsChoicesFilter):
    title = _("encoding")
    parameter_name = field_name = "encoding"

    def configured_choices(self) -> list[tuple[str, str]]:
        return [(GSM7, GSM7), (UCS2, UCS2)]


class CountryFilter(admin.SimpleListFilter):
    """Destination country, with the countries actually present as choices.

    The choices are read with an index skip scan (a recursive CTE hopping from one distinct
    value of the ``country`` index to the next): one index probe per country instead of a
    scan of every row.
    """

    title = _("destination country")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        codes = distinct_values(model_admin.get_queryset(request), "country")
        current = self.value()
        if current and current not in codes:
            codes.append(current)
        return [(code, code) if code else ("", _("none")) for code in sorted(codes)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() is None:
            return queryset
        return queryset.filter(country=self.value())


def distinct_values(queryset: QuerySet[Any], field_name: str) -> list[str]:
    """The distinct values of an indexed column, by skip scan (no full scan, no sort).

    Plain SQL that PostgreSQL and SQLite both run as one index probe per distinct value.
    Other databases get ``SELECT DISTINCT``.
    """
    model = queryset.model
    connection = connections[queryset.db]
    if connection.vendor not in ("postgresql", "sqlite"):
        return list(queryset.order_by().values_list(field_name, flat=True).distinct())
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column = quote(model._meta.get_field(field_name).column)
    sql = (
        f"WITH RECURSIVE v(value) AS ("  # noqa: S608 - names come from model metadata
        f"  SELECT MIN({column}) FROM {table}"
        f"  UNION ALL"
        f"  SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > v.value)"
        f"  FROM v WHERE v.value IS NOT NULL"
        f") SELECT value FROM v WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


# -- search --------------------------------------------------------------------------------------

_NUMBER_PUNCTUATION = re.compile(r"[\s().\-/]")
_NUMBER_LIKE = re.compile(r"\+?[0-9]+")


def search_messages(queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
    """Messages whose recipient, provider message id or reference matches ``term``.

    Every branch is an equality or a range, so the ``to``, ``provider_message_id`` and
    ``reference`` indexes answer it: a complete number (international or national, in
    ``PHONENUMBER_DEFAULT_REGION``) matches exactly, a partial one matches by prefix.
    """
    term = term.strip()
    if not term:
        return queryset
    condition = Q(provider_message_id=term)
    with contextlib.suppress(ValueError):
        condition |= Q(reference=uuid.UUID(term))
    number = number_condition(term, "to")
    if number is not None:
        condition |= number
    return queryset.filter(condition)


def number_condition(term: str, field_name: str) -> Q | None:
    """``field = <E.164>`` for a complete number, a prefix range for a partial one; None
    when ``term`` is not a number."""
    digits = _NUMBER_PUNCTUATION.sub("", term)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not _NUMBER_LIKE.fullmatch(digits):
        return None
    region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None)
    try:
        parsed = phonenumbers.parse(digits, None if digits.startswith("+") else region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        return Q(**{field_name: e164})
    return prefix_condition(field_name, international_prefix(digits, region))


def international_prefix(digits: str, region: str | None) -> str:
    """``+`` and the digits of a partial number; a national prefix becomes the country code."""
    if digits.startswith("+"):
        return digits
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper()) if region else None
    national_prefix = metadata.national_prefix if metadata is not None else None
    if metadata is not None and national_prefix and digits.startswith(national_prefix):
        return f"+{metadata.country_code}{digits[len(national_prefix) :]}"
    return "+" + digits


def prefix_condition(field_name: str, prefix: str) -> Q:
    """``field >= prefix AND field < next`` for a ``+digits`` prefix.

    ``LIKE 'prefix%'`` can only use a B-tree index under the C collation; a range works
    under any collation for strings made of ``+`` and digits.
    """
    stem = prefix.rstrip("9")
    if stem in ("", "+"):
        return Q(**{f"{field_name}__gte": prefix})
    upper = stem[:-1] + chr(ord(stem[-1]) + 1)
    return Q(**{f"{field_name}__gte": prefix, f"{field_name}__lt": upper})


# -- date hierarchy ------------------------------------------------------------------------------


def date_hierarchy_context(cl: Any) -> dict[str, Any]:
    """The context of ``admin/date_hierarchy.html`` computed from one MIN/MAX query.

    Django lists the years, months or days that hold rows with ``SELECT DISTINCT
    date_trunc(...)`` over the filtered rows: a scan of the whole table on the first level.
    Here the links cover every period between the first and the last matching message,
    which an index answers at once; a period without messages shows an empty list.
    """
    field_name = cl.date_hierarchy
    field = cl.model._meta.get_field(field_name)
    year_field, month_field, day_field = (f"{field_name}__{p}" for p in ("year", "month", "day"))
    year, month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))
    year, month, day = (_int_or_none(v) for v in (year, month, day))

    def link(filters: dict[str, Any]) -> str:
        return str(cl.get_query_string(filters, [f"{field_name}__"]))

    context: dict[str, Any] = {"show": True, "field_name": field.verbose_name, "back": None}
    if year and month and day:
        date = datetime.date(year, month, day)
        context["back"] = {
            "link": link({year_field: year, month_field: month}),
            "title": capfirst(formats.date_format(date, "YEAR_MONTH_FORMAT")),
        }
        context["choices"] = [{"title": capfirst(formats.date_format(date, "MONTH_DAY_FORMAT"))}]
        return context

    bounds = cl.queryset.aggregate(first=Min(field_name), last=Max(field_name))
    first, last = bounds["first"], bounds["last"]
    if first is None or last is None:
        context["choices"] = []
        return context
    if isinstance(first, datetime.datetime) and timezone.is_aware(first):
        first, last = timezone.localtime(first), timezone.localtime(last)
    if not year and first.year == last.year:
        year = first.year
        if first.month == last.month:
            month = first.month

    if year and month:
        context["back"] = {"link": link({year_field: year}), "title": str(year)}
        # The rows are filtered to this month, so first and last fall inside it.
        days = range(first.day, last.day + 1)
        context["choices"] = [
            {
                "link": link({year_field: year, month_field: month, day_field: d}),
                "title": capfirst(
                    formats.date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")
                ),
            }
            for d in days
        ]
    elif year:
        context["back"] = {"link": link({}), "title": _("All dates")}
        months = range(first.month, last.month + 1)  # the rows are filtered to this year
        context["choices"] = [
            {
                "link": link({year_field: year, month_field: m}),
                "title": capfirst(
                    formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")
                ),
            }
            for m in months
        ]
    else:
        context["choices"] = [
            {"link": link({year_field: str(y)}), "title": str(y)}
            for y in range(first.year, last.year + 1)
        ]
    return context


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
