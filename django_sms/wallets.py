"""Prepaid wallets and their ledger (DESIGN §8).

A wallet's balance never changes on its own: every change is a :class:`LedgerEntry`
(deposit, hold, capture, release, refund, adjustment) carrying the amount and the balance
after it, written while the wallet row is locked (``select_for_update``). So the entries
always sum to the balance, and two concurrent sends can never both spend the same money.
Amounts are ``Decimal`` with 4 decimal places; floats are refused.

The life of a message's money:

* **hold** — :func:`persist_with_hold`, called by the send pipeline, debits
  ``price * segments`` in the transaction that stores the message (``charge_status="held"``).
* **capture** — when the provider takes the message, the hold is captured at the price of
  the segments the provider counted (:func:`settle`; a plain capture costs no query: the
  money already left the balance, and the flag rides on the status UPDATE). A different count
  is charged or given back as an ``adjustment``, also when a later report brings it.
* **release** — when the message fails before reaching a carrier (rejected, failed,
  canceled), :func:`settle` gives the hold back (a ``release`` entry).
* **refund** — when a captured message later fails, ``DJANGO_SMS["REFUND_POLICY"]`` decides
  whether it is refunded (:func:`settle`).

:func:`settle` runs inside the transaction that stores the status change that causes it
(``django_sms.transitions``), for sends, webhooks, polling, the sweeper and the admin alike:
the money moves with the status or not at all. ``manage.py smssync`` reconciles anything
left unsettled (:func:`unsettled`).

``charge_status`` is changed by conditional UPDATEs (``WHERE charge_status = 'held'``), so a
release or refund can never be written twice, whatever order webhooks and workers run in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.db.models import Sum
from django.utils import timezone

from django_sms.conf import sms_settings
from django_sms.exceptions import (
    ConfigurationError,
    InsufficientFunds,
    InvalidAmount,
    InvalidDeposit,
    UnsupportedCurrency,
    WalletError,
    WalletInactive,
)
from django_sms.models import (
    AbstractMessage,
    AbstractWallet,
    ChargeStatus,
    Currency,
    LedgerEntry,
    get_wallet_model,
)
from django_sms.owners import owner_filter
from django_sms.status import FINAL_STATUSES, NOT_SENT_STATUSES, Status
from django_sms.transactions import atomic_for

__all__ = [
    "REFUND_POLICIES",
    "adjust",
    "deposit",
    "get_or_create_wallet",
    "ledger_balance",
    "max_amount",
    "persist_with_hold",
    "price_for",
    "refund",
    "refund_statuses",
    "settle",
    "verify",
]

logger = logging.getLogger("django_sms")

#: Amounts are stored with 4 decimal places (``max_digits=14``).
QUANTUM = Decimal("0.0001")

#: Statuses meaning the provider took the message: its hold is captured.
CAPTURE_STATUSES: frozenset[str] = frozenset(
    {Status.ACCEPTED, Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.EXPIRED}
)

#: ``REFUND_POLICY`` -> final statuses whose captured charge is refunded.
REFUND_POLICIES: Mapping[str, frozenset[str]] = {
    "never": frozenset(),
    "failed": NOT_SENT_STATUSES,
    "undelivered": NOT_SENT_STATUSES | {Status.UNDELIVERED, Status.EXPIRED},
}


# -- amounts, currencies and prices -----------------------------------------------------------


def to_amount(value: Any, what: str = "amount") -> Decimal:
    """``value`` as a Decimal with 4 places; :class:`InvalidAmount` if it cannot be one exactly.

    Accepts ``Decimal``, ``int`` and numeric strings. Floats are refused: ``0.1`` is not one
    tenth, and money must not depend on binary rounding.
    """
    if isinstance(value, bool | float):
        raise InvalidAmount(
            f"The {what} must be a Decimal, an int or a string such as '12.50', "
            f"not a {type(value).__name__} ({value!r}): floats are inexact."
        )
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidAmount(f"The {what} {value!r} is not a number.") from None
    if not amount.is_finite():
        raise InvalidAmount(f"The {what} {value!r} is not a finite number.")
    # The size first: quantize() raises InvalidOperation for a number like 1e30, whose
    # digits exceed the decimal context's precision.
    limit = max_amount()
    if abs(amount) > limit:
        raise InvalidAmount(
            f"The {what} {value!r} is too large: a wallet amount is at most "
            f"{limit} (the ledger's columns hold {_column_size()})."
        )
    if amount != amount.quantize(QUANTUM, rounding=ROUND_HALF_UP):
        raise InvalidAmount(f"The {what} {value!r} has more than 4 decimal places.")
    return amount.quantize(QUANTUM)


def max_amount() -> Decimal:
    """The largest amount or balance the wallet and ledger columns can store.

    ``9999999999.9999`` with the shipped models (``max_digits=14, decimal_places=4``); read
    from the fields, so a swapped wallet model with smaller columns lowers it.
    """
    limits = [
        Decimal(10) ** (field.max_digits - field.decimal_places) - QUANTUM
        for field in _money_fields()
        if field.max_digits is not None and field.decimal_places is not None
    ]
    return min(limits)


def _money_fields() -> list[models.DecimalField[Any, Any]]:
    fields = [
        get_wallet_model()._meta.get_field("balance"),
        LedgerEntry._meta.get_field("amount"),
        LedgerEntry._meta.get_field("balance_after"),
    ]
    return [f for f in fields if isinstance(f, models.DecimalField)]


def _column_size() -> str:
    narrowest = min(_money_fields(), key=lambda f: (f.max_digits or 0) - (f.decimal_places or 0))
    return f"max_digits={narrowest.max_digits}, decimal_places={narrowest.decimal_places}"


def _check_balance(locked: AbstractWallet, value: Decimal, what: str) -> None:
    """Refuse a credit that would take the balance past what its column can store."""
    limit = max_amount()
    if locked.balance + value > limit:
        raise InvalidAmount(
            f"{what} of {format_amount(value)} {locked.currency} would bring wallet "
            f"{locked.pk}'s balance to {format_amount(locked.balance + value)} "
            f"{locked.currency}, above the largest balance a wallet can hold "
            f"({limit} {locked.currency})."
        )


def format_amount(amount: Decimal) -> str:
    """An amount for people: 2 decimals, or up to 4 when needed (``1.00``, ``0.0125``)."""
    cents = amount.quantize(Decimal("0.01"))
    return str(cents if cents == amount else amount.normalize())


def normalize_currency(currency: Any) -> str:
    """An ISO code among the wallet currencies (EUR, USD, GBP); :class:`UnsupportedCurrency`."""
    code = str(currency or "").strip().upper()
    if code not in Currency.values:
        raise UnsupportedCurrency(currency, Currency.values)
    return code


def price_for(country: str, segments: int, currency: str) -> Decimal:
    """What sending ``segments`` parts to ``country`` costs a wallet in ``currency``.

    Read from ``DJANGO_SMS["PRICES"]``: ``{"EUR": {"default": "0.07", "FR": "0.05"}}`` is a
    price per segment by destination country (ISO 3166 alpha-2), with ``"default"`` for every
    other country and for numbers that belong to none (+800...). Raises
    :class:`ConfigurationError` naming what is missing when the price list cannot answer.
    """
    table = (sms_settings.PRICES or {}).get(currency)
    if not isinstance(table, Mapping) or not table:
        raise ConfigurationError(
            f"DJANGO_SMS['PRICES'] has no price list for {currency!r}; wallets in {currency} "
            f"cannot pay. Add e.g. PRICES = {{{currency!r}: {{'default': '0.07'}}}}."
        )
    key = country.upper() if country else ""
    raw = table.get(key) if key else None
    if raw is None:
        raw = table.get("default")
    if raw is None:
        where = key or "numbers with no country"
        raise ConfigurationError(
            f"DJANGO_SMS['PRICES'][{currency!r}] has no price for {where} and no 'default'."
        )
    try:
        unit = to_amount(raw, "price")
    except InvalidAmount as exc:
        raise ConfigurationError(f"DJANGO_SMS['PRICES'][{currency!r}]: {exc}") from None
    if unit < 0:
        raise ConfigurationError(
            f"DJANGO_SMS['PRICES'][{currency!r}] has a negative price {raw!r}."
        )
    return (unit * segments).quantize(QUANTUM)


def price_errors(prices: Any) -> list[str]:
    """What is wrong with a ``PRICES`` value (empty list: nothing). Used by the system check."""
    if not isinstance(prices, Mapping):
        return [f"must be a dict of currency -> {{country: price}}, not {type(prices).__name__}"]
    errors = []
    for currency, table in prices.items():
        if currency not in Currency.values:
            errors.append(f"{currency!r} is not a wallet currency ({', '.join(Currency.values)})")
            continue
        if not isinstance(table, Mapping):
            errors.append(f"[{currency!r}] must be a dict of country -> price")
            continue
        if "default" not in table:
            errors.append(f"[{currency!r}] has no 'default' price")
        for country, raw in table.items():
            if country != "default" and not (
                isinstance(country, str) and len(country) == 2 and country.isupper()
            ):
                errors.append(f"[{currency!r}] key {country!r} is not an ISO 3166 alpha-2 code")
            try:
                if to_amount(raw, "price") < 0:
                    errors.append(f"[{currency!r}][{country!r}] is negative")
            except InvalidAmount as exc:
                errors.append(f"[{currency!r}][{country!r}]: {exc}")
    return errors


def refund_statuses() -> frozenset[str]:
    """The final statuses refunded under the current ``REFUND_POLICY``."""
    policy = sms_settings.REFUND_POLICY
    try:
        return REFUND_POLICIES[policy]
    except (KeyError, TypeError):
        raise ConfigurationError(
            f"DJANGO_SMS['REFUND_POLICY'] is {policy!r}; use one of "
            + ", ".join(repr(p) for p in REFUND_POLICIES)
            + "."
        ) from None


def activation_delay() -> timedelta:
    """``WALLET_ACTIVATION_DELAY`` as a timedelta (a number is read as seconds)."""
    delay = sms_settings.WALLET_ACTIVATION_DELAY
    if isinstance(delay, timedelta):
        return delay
    if isinstance(delay, int | float | Decimal) and not isinstance(delay, bool) and delay >= 0:
        return timedelta(seconds=float(delay))
    raise ConfigurationError(
        f"DJANGO_SMS['WALLET_ACTIVATION_DELAY'] must be a timedelta or seconds, not {delay!r}."
    )


# -- wallets and operator operations ------------------------------------------------------------


def get_or_create_wallet(owner: models.Model, currency: str) -> AbstractWallet:
    """The wallet of ``owner`` (any saved model instance) in ``currency``, created if needed.

    A new wallet is empty and inactive until its first deposit's activation delay has passed
    or an operator verifies it.
    """
    code = normalize_currency(currency)
    model = get_wallet_model()
    wallet, _ = model._default_manager.get_or_create(**owner_filter(owner), currency=code)
    return wallet


def deposit(
    wallet: AbstractWallet,
    amount: Any,
    *,
    currency: str | None = None,
    created_by: Any = None,
    reason: str = "",
) -> LedgerEntry:
    """Add money to ``wallet`` and return the ``deposit`` ledger entry.

    ``amount`` must be at least ``MIN_DEPOSIT`` (1 unit by default). ``currency``, when given,
    must be the wallet's: money is never converted. The first deposit starts the activation
    delay (``activates_at = now + WALLET_ACTIVATION_DELAY``) unless the wallet is verified.
    Raises :class:`InvalidDeposit` or :class:`InvalidAmount`.
    """
    value = to_amount(amount)
    if currency is not None and str(currency).strip().upper() != wallet.currency:
        raise InvalidDeposit(
            f"Wallet {wallet.pk} holds {wallet.currency}; a deposit in {currency} cannot be "
            "added to it (money is never converted)."
        )
    minimum = to_amount(sms_settings.MIN_DEPOSIT, "MIN_DEPOSIT")
    if value < minimum:
        raise InvalidDeposit(
            f"A deposit must be at least {format_amount(minimum)} {wallet.currency}; got "
            f"{format_amount(value)} {wallet.currency}."
        )
    now = timezone.now()
    with atomic_for(wallet):
        locked = _lock(wallet.pk)
        _check_balance(locked, value, "A deposit")
        extra: dict[str, Any] = {}
        if locked.first_deposit_at is None:
            extra = {"first_deposit_at": now, "activates_at": now + activation_delay()}
        entry = _move(
            locked,
            LedgerEntry.Kind.DEPOSIT,
            value,
            created_by=created_by,
            reason=reason,
            extra=extra,
        )
    _copy_state(locked, wallet)
    return entry


def verify(wallet: AbstractWallet, *, by: Any = None) -> AbstractWallet:
    """Make ``wallet`` usable at once, skipping the activation delay. Idempotent.

    ``by`` (the operator) is logged; the wallet keeps the first ``verified_at``.
    """
    now = timezone.now()
    model = type(wallet)
    model._default_manager.filter(pk=wallet.pk, verified_at__isnull=True).update(verified_at=now)
    wallet.refresh_from_db(fields=["verified_at"])
    logger.info("Wallet %s verified by %s", wallet.pk, by or "an unnamed operator")
    return wallet


def adjust(
    wallet: AbstractWallet,
    amount: Any,
    *,
    reason: str,
    created_by: Any = None,
    message: AbstractMessage | None = None,
) -> LedgerEntry:
    """An operator's correction: credit (positive) or debit (negative) ``wallet``.

    ``reason`` is required: it is the only record of why money moved. A debit larger than the
    balance raises :class:`InsufficientFunds` (a wallet is never overdrawn).
    """
    value = to_amount(amount)
    if not value:
        raise InvalidAmount("An adjustment of 0 changes nothing.")
    if not (reason or "").strip():
        raise WalletError("An adjustment needs a reason: it is the only record of why money moved.")
    with atomic_for(wallet):
        locked = _lock(wallet.pk)
        _check_balance(locked, value, "An adjustment")
        if locked.balance + value < 0:
            raise InsufficientFunds(
                locked,
                f"{format_amount(-value)} {locked.currency}",
                f"{format_amount(locked.balance)} {locked.currency}",
            )
        entry = _move(
            locked,
            LedgerEntry.Kind.ADJUSTMENT,
            value,
            created_by=created_by,
            reason=reason,
            message=message,
        )
    _copy_state(locked, wallet)
    return entry


def refund(message: AbstractMessage, *, created_by: Any = None, reason: str = "") -> LedgerEntry:
    """Give a message's charge back to its wallet, whatever ``REFUND_POLICY`` says.

    A held charge is released, a captured one refunded. Raises :class:`WalletError` when the
    message has nothing to give back (no wallet, already released or refunded).
    """
    if getattr(message, "wallet_id", None) is None:
        raise WalletError(f"Message {message.pk} was not paid from a wallet.")
    entry = None
    if message.charge_status == ChargeStatus.HELD:
        entry = _give_back(
            message,
            ChargeStatus.HELD,
            ChargeStatus.RELEASED,
            LedgerEntry.Kind.RELEASE,
            reason or "released by an operator",
            created_by,
        )
    elif message.charge_status == ChargeStatus.CAPTURED:
        entry = _give_back(
            message,
            ChargeStatus.CAPTURED,
            ChargeStatus.REFUNDED,
            LedgerEntry.Kind.REFUND,
            reason or "refunded by an operator",
            created_by,
        )
    if entry is None:
        raise WalletError(
            f"Message {message.pk} has nothing to refund (charge status "
            f"{message.charge_status or 'none'!r})."
        )
    return entry


def ledger_balance(wallet: AbstractWallet) -> Decimal:
    """The sum of ``wallet``'s ledger entries: always equal to its balance (for audits)."""
    total = LedgerEntry.objects.filter(wallet_id=wallet.pk).aggregate(total=Sum("amount"))["total"]
    return (total or Decimal(0)).quantize(QUANTUM)


# -- the send pipeline's side ---------------------------------------------------------------------


def persist_with_hold(
    wallet: AbstractWallet,
    rows: list[AbstractMessage],
    insert: Callable[[list[AbstractMessage]], None],
) -> None:
    """Store ``rows`` with ``insert(rows)`` and hold their price on ``wallet``, all or nothing.

    The wallet row is locked for the whole transaction, so concurrent sends queue up on it and
    each sees the balance the previous one left. When the wallet is inactive or cannot pay for
    every row, :class:`WalletInactive` / :class:`InsufficientFunds` is raised and nothing is
    written.

    ``savepoint=False``: a refusal is decided inside the block but raised after leaving it (so a
    caller's transaction is not marked for rollback), and a send inside a caller's transaction
    costs no SAVEPOINT round trips. The SQL: SELECT ... FOR UPDATE, what ``insert`` writes, one
    INSERT of the hold entries, UPDATE of the balance.
    """
    currency = wallet.currency
    prices = [price_for(row.country, row.segments, currency) for row in rows]
    total = sum(prices, Decimal(0))
    refusal: WalletError | None = None
    with atomic_for(rows[0], savepoint=False):
        locked = _lock(wallet.pk)
        if not locked.is_active:
            refusal = WalletInactive(locked, locked.activates_at)
        elif locked.balance < total:
            refusal = InsufficientFunds(
                locked,
                f"{format_amount(total)} {currency}",
                f"{format_amount(locked.balance)} {currency}",
            )
        else:
            _insert_held(locked, rows, prices, insert)
    _copy_state(locked, wallet)
    if refusal is not None:
        raise refusal


def _insert_held(
    locked: AbstractWallet,
    rows: list[AbstractMessage],
    prices: list[Decimal],
    insert: Callable[[list[AbstractMessage]], None],
) -> None:
    for row, price in zip(rows, prices, strict=True):
        row.wallet_id = locked.pk
        row.price = price
        row.price_currency = locked.currency
        row.charge_status = ChargeStatus.HELD
    insert(rows)
    balance = locked.balance
    entries = []
    for row, price in zip(rows, prices, strict=True):
        balance -= price
        entries.append(
            LedgerEntry(
                wallet_id=locked.pk,
                kind=LedgerEntry.Kind.HOLD,
                amount=-price,
                balance_after=balance,
                message_id=row.pk,
                created_at=row.created_at,
                reason=f"{row.segments} segment(s) to {row.country or 'an international number'}",
            )
        )
    LedgerEntry.objects.bulk_create(entries, batch_size=500)
    type(locked)._default_manager.filter(pk=locked.pk).update(balance=balance)
    locked.balance = balance


def capture_fields(row: AbstractMessage, new_status: str, segments: int) -> dict[str, Any]:
    """The charge columns to store with ``new_status``'s UPDATE when settling costs no query.

    The send pipeline merges them into the answer's UPDATE: a held message captured at the
    price it was held at is just ``charge_status = "captured"``. Everything else (a release, a
    capture at another segment count, a refund) is done by :func:`settle` in the transaction
    that stores the status.
    """
    if (
        row.charge_status == ChargeStatus.HELD
        and new_status in CAPTURE_STATUSES
        and segments == row.segments
    ):
        return {"charge_status": ChargeStatus.CAPTURED}
    return {}


def settle(
    message: AbstractMessage, new_status: str, *, recounted: bool = False
) -> list[LedgerEntry]:
    """Bring ``message``'s charge in line with its status; return the ledger entries written.

    Called inside the transaction that stores the status change (``transitions.apply_status``),
    so the money moves with the status or not at all: a crash or a database error in between
    rolls both back, and the provider's retry of the report settles it. Also called by
    ``manage.py smssync`` to reconcile messages left unsettled (:func:`unsettled`).

    * ``held`` and the provider took the message (``CAPTURE_STATUSES``): captured;
    * ``recounted``: the provider reported another segment count than the one charged so far
      (with this change or in a later report): the price is brought to that count
      (:func:`reprice`);
    * ``held`` and it never reached a carrier (``NOT_SENT_STATUSES``): released;
    * ``captured`` and a final status that ``REFUND_POLICY`` refunds: refunded.

    Every change of ``charge_status`` is a conditional UPDATE, so nothing is settled twice.
    """
    if getattr(message, "wallet_id", None) is None or not message.charge_status:
        return []
    entries: list[LedgerEntry] = []
    if message.charge_status == ChargeStatus.HELD:
        if new_status in NOT_SENT_STATUSES:
            entry = _give_back(
                message,
                ChargeStatus.HELD,
                ChargeStatus.RELEASED,
                LedgerEntry.Kind.RELEASE,
                f"not sent ({new_status})",
                None,
            )
            return [entry] if entry is not None else []
        if new_status not in CAPTURE_STATUSES:
            return []  # a retry is due, or the outcome is unknown: the hold stays
        entries += _capture(message)
    if recounted and message.charge_status == ChargeStatus.CAPTURED:
        entries += reprice(message)
    if message.charge_status == ChargeStatus.CAPTURED and new_status in refund_statuses():
        entry = _give_back(
            message,
            ChargeStatus.CAPTURED,
            ChargeStatus.REFUNDED,
            LedgerEntry.Kind.REFUND,
            f"{new_status} after it was sent (REFUND_POLICY={sms_settings.REFUND_POLICY!r})",
            None,
        )
        if entry is not None:
            entries.append(entry)
    return entries


def _capture(message: AbstractMessage) -> list[LedgerEntry]:
    """held → captured: one conditional UPDATE; the money already left the balance."""
    won = (
        type(message)
        ._default_manager.filter(pk=message.pk, charge_status=ChargeStatus.HELD)
        .update(charge_status=ChargeStatus.CAPTURED)
    )
    if won:
        message.charge_status = ChargeStatus.CAPTURED
    return []


def reprice(message: AbstractMessage) -> list[LedgerEntry]:
    """Charge a captured message the price of the segments the provider counted.

    A provider reports its count with the answer or in a later delivery report (Vonage's
    ``usage``, Mailjet's ``SmsCount``...); that count is what is charged. A higher price takes
    the difference from the wallet as an ``adjustment`` — at most the balance: a wallet never
    goes below zero, and the entry records the shortfall; a lower price gives the difference
    back. ``message.price`` is what was actually charged. Inside the caller's transaction; the
    message row is updated before the wallet is locked (the order every settlement uses).
    """
    if message.charge_status != ChargeStatus.CAPTURED or message.price is None:
        return []
    wanted = price_for(message.country, message.segments, message.price_currency)
    difference = wanted - message.price
    if not difference:
        return []
    manager = type(message)._default_manager
    with atomic_for(message):
        locked_row = manager.select_for_update().filter(pk=message.pk).values("price").first()
        if locked_row is None or locked_row["price"] != message.price:
            return []  # repriced meanwhile by someone else
        locked = _lock(message.wallet_id)
        charged = min(difference, locked.balance) if difference > 0 else difference
        reason = f"charged for {message.segments} segment(s) as counted by the provider"
        if charged != difference:
            reason += (
                f"; the wallet could cover {format_amount(charged)} of "
                f"{format_amount(difference)} {locked.currency} (shortfall "
                f"{format_amount(difference - charged)})"
            )
            logger.warning("Message %s: %s.", message.pk, reason)
        price = message.price + charged
        manager.filter(pk=message.pk).update(price=price)
        message.price = price
        if not charged:
            return []
        return [_move(locked, LedgerEntry.Kind.ADJUSTMENT, -charged, message=message,
                      reason=reason)]


def _give_back(
    message: AbstractMessage,
    from_status: str,
    to_status: str,
    kind: str,
    reason: str,
    created_by: Any,
) -> LedgerEntry | None:
    """Credit the message's price back, if its charge is still ``from_status``.

    The message row is updated (and so locked) before the wallet: every settlement takes the
    two locks in that order, as the status change that causes it does.
    """
    amount = message.price or Decimal(0)
    with atomic_for(message):
        won = (
            type(message)
            ._default_manager.filter(pk=message.pk, charge_status=from_status)
            .update(charge_status=to_status)
        )
        if not won:
            return None
        locked = _lock(message.wallet_id)
        entry = _move(locked, kind, amount, message=message, reason=reason, created_by=created_by)
    message.charge_status = to_status
    return entry


def capture_unknown(message: AbstractMessage) -> bool:
    """Capture the hold of a message whose outcome stayed ``unknown`` (the sweeper's policy
    after ``UNKNOWN_SETTLE_AFTER``): the provider may well have sent it, and providers bill
    what they accepted. Returns whether it was captured; an operator can still
    :func:`refund` it."""
    if message.charge_status != ChargeStatus.HELD:
        return False
    with atomic_for(message):
        _capture(message)
    return message.charge_status == ChargeStatus.CAPTURED


def unsettled(model: type[AbstractMessage]) -> Any:
    """Final messages whose charge does not match their status and the refund policy: held
    although final, or captured although the policy refunds their status."""
    final_held = models.Q(charge_status=ChargeStatus.HELD, status__in=FINAL_STATUSES)
    refundable = models.Q(charge_status=ChargeStatus.CAPTURED, status__in=refund_statuses())
    return model._default_manager.filter(final_held | refundable, wallet__isnull=False)


# -- internals ---------------------------------------------------------------------------------


def _lock(wallet_id: Any) -> AbstractWallet:
    return get_wallet_model()._default_manager.select_for_update().get(pk=wallet_id)


def _move(
    locked: AbstractWallet,
    kind: str,
    amount: Decimal,
    *,
    message: AbstractMessage | None = None,
    created_by: Any = None,
    reason: str = "",
    extra: Mapping[str, Any] | None = None,
) -> LedgerEntry:
    """Write one ledger entry and the new balance. The caller holds the wallet's row lock."""
    balance = locked.balance + amount
    entry = LedgerEntry.objects.create(
        wallet_id=locked.pk,
        kind=kind,
        amount=amount,
        balance_after=balance,
        message_id=message.pk if message is not None else None,
        created_by=created_by,
        reason=reason[:255],
    )
    fields = {"balance": balance, **(extra or {})}
    type(locked)._default_manager.filter(pk=locked.pk).update(**fields)
    for name, value in fields.items():
        setattr(locked, name, value)
    return entry


def _copy_state(source: AbstractWallet, target: AbstractWallet) -> None:
    """Show the caller's wallet instance what the locked copy now holds."""
    if source is target:
        return
    for name in ("balance", "first_deposit_at", "activates_at", "verified_at"):
        setattr(target, name, getattr(source, name))


def wallets_of(owner: models.Model) -> Sequence[AbstractWallet]:
    """Every wallet of ``owner``, one per currency."""
    return list(
        get_wallet_model()._default_manager.filter(**owner_filter(owner)).order_by("currency")
    )
