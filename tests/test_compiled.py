"""``django_sms.compiled``: a queryset compiled once gives, for any values, the rows the
queryset itself would give — on SQLite and on PostgreSQL, with the message model swapped or
not — and refuses placeholders it cannot place."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Exists

from django_sms import send_sms
from django_sms.compiled import CompiledQuery
from django_sms.models import EventSource, StatusEvent, get_message_model
from django_sms.status import Status

pytestmark = pytest.mark.django_db


def by_reference(model, *, key, reference):
    return model._default_manager.annotate(
        _seen=Exists(StatusEvent.objects.filter(dedupe_key=key))
    ).filter(reference=reference)


LOOKUP = CompiledQuery(by_reference, {"key": str, "reference": uuid.UUID})


def test_rows_and_annotations_match_the_querysets_for_every_run_of_the_cached_sql():
    model = get_message_model()
    first, second = send_sms("hello", to="+33612345678"), send_sms("hello", to="+33612345679")
    StatusEvent.objects.create(
        message=first, status=Status.DELIVERED, source=EventSource.WEBHOOK, dedupe_key="k1"
    )

    for message, key, seen in ((first, "k1", True), (second, "k1", True), (first, "k2", False)):
        [row] = LOOKUP.run(model, key=key, reference=message.reference)
        [expected] = by_reference(model, key=key, reference=message.reference)
        assert (row.pk, row.provider_message_id, bool(row._seen)) == (
            expected.pk, expected.provider_message_id, bool(expected._seen)
        )
        assert bool(row._seen) is seen
        assert isinstance(row, model)
        assert row.reference == message.reference  # converted back to a UUID
    assert LOOKUP.run(model, key="k1", reference=uuid.uuid4()) == []


def test_a_value_django_transforms_cannot_be_a_placeholder():
    def containing(model, *, text):
        return model._default_manager.filter(text__contains=text)  # becomes '%...%'

    with pytest.raises(ValueError, match="only plain equality values can be placeholders"):
        CompiledQuery(containing, {"text": str}).run(get_message_model(), text="x")


def test_a_placeholder_the_query_does_not_use_is_refused():
    def ignoring(model, *, text):
        return model._default_manager.all()

    with pytest.raises(ValueError, match=r"does not use \['text'\]"):
        CompiledQuery(ignoring, {"text": str}).run(get_message_model(), text="x")
