"""Which database a model is written to, and running code once its transaction commits.

Every write of the app goes through the model's manager inside
``transaction.atomic(using=write_db(model))``, so a database router that sends the models
elsewhere (and a swapped model) is honoured, and the same statements run on every database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import router, transaction
from django.db.models import Model


def write_db(model: type[Model] | Model) -> str:
    """The database alias ``model`` is written to (``router.db_for_write``)."""
    model_class = model if isinstance(model, type) else type(model)
    return router.db_for_write(model_class)


def atomic_for(model: type[Model] | Model, *, savepoint: bool = True) -> Any:
    """``transaction.atomic()`` on the database ``model`` is written to."""
    return transaction.atomic(using=write_db(model), savepoint=savepoint)


def in_atomic_block(model: type[Model] | Model) -> bool:
    """Whether the caller holds a transaction open on ``model``'s write database.

    Django's ``TestCase`` (and pytest-django's ``django_db`` without ``transaction=True``)
    runs each test inside a transaction: there this is always true, as it is for a view under
    ``ATOMIC_REQUESTS``. Work deferred with :func:`after_commit` then runs when that
    transaction commits — in a test, inside ``captureOnCommitCallbacks(execute=True)`` or in a
    transactional test.
    """
    return transaction.get_connection(write_db(model)).in_atomic_block


def after_commit(model: type[Model] | Model, func: Callable[[], Any]) -> None:
    """Run ``func`` once the transaction open on ``model``'s database commits, or now when
    none is open. An exception ``func`` raises is logged, never raised (``robust``)."""

    def callback() -> None:
        func()

    # Django 5.2 names a failed robust callback in its log line by ``__qualname__``, which a
    # functools.partial lacks (the log call itself then raised AttributeError).
    callback.__qualname__ = getattr(func, "__qualname__", None) or repr(func)
    transaction.on_commit(callback, using=write_db(model), robust=True)
