from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from django_sms.status import FINAL_STATUSES, Status, can_transition, rank

statuses = st.sampled_from(list(Status))


@given(statuses, statuses)
def test_a_status_never_moves_backwards_and_finals_are_final(old, new):
    if can_transition(old, new):
        assert old not in FINAL_STATUSES
        assert rank(new) > rank(old) or (old, new) == (Status.SENDING, Status.QUEUED)


def test_the_lifecycle():
    path = ["queued", "sending", "accepted", "sent", "delivered"]
    assert all(can_transition(a, b) for a, b in pairwise(path))
    assert not can_transition("delivered", "sent")
    assert not can_transition("delivered", "failed")
    assert can_transition("unknown", "delivered")
    assert can_transition("sending", "queued")  # retry after a transient failure
    assert not can_transition("accepted", "queued")


def test_status_changed_carries_plain_strings_whoever_made_the_change():
    # Paths pass Status members or stored strings; receivers always get plain str
    # (docs/statuses-and-signals.rst). tests/test_parity.py checks it through the pipeline.
    from django_sms.models import StatusEvent
    from django_sms.transitions import Change

    change = Change(None, Status.QUEUED, Status.SENDING, StatusEvent())  # type: ignore[arg-type]
    assert (change.old, change.new) == ("queued", "sending")
    assert type(change.old) is str and type(change.new) is str
