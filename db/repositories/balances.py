"""Gift cards and store credit: a balance row guarded by a lock and a CHECK, and an append-only
ledger.

A posting locks the balance row, refuses to go below zero, and inserts a ledger row with a
unique idempotency key in the same transaction, so concurrent redemptions can never overdraw
and a retried activity posts once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_payments import GiftCard, GiftCardEntry, StoreCreditAccount, StoreCreditEntry
from domain.errors import Conflict, InsufficientBalance, NotFound
from domain.money import format_minor
from domain.secrets import mask

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till


@dataclass(frozen=True)
class Posted:
    applied: bool  # False: this idempotency key was posted before
    balance: int


def new_gift_card_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _post(
    session: Session,
    account: GiftCard | StoreCreditAccount,
    entry_model: type[GiftCardEntry] | type[StoreCreditEntry],
    fk: str,
    delta: int,
    reason: str,
    reference: str,
    key: str,
    label: str,
) -> Posted:
    if session.scalar(select(entry_model.id).where(entry_model.idempotency_key == key)) is not None:
        return Posted(False, account.balance)
    if account.balance + delta < 0:
        raise InsufficientBalance(
            f"{label} has {format_minor(account.balance, account.currency)} left; "
            f"{format_minor(-delta, account.currency)} cannot be taken."
        )
    session.execute(
        insert(entry_model).values(
            **{fk: account.id}, delta=delta, reason=reason, reference=reference, idempotency_key=key
        )
    )
    account.balance += delta
    session.flush()
    return Posted(True, account.balance)


# ---- gift cards --------------------------------------------------------------------------


def gift_card(session: Session, code: str, *, lock: bool = False) -> GiftCard:
    q = select(GiftCard).where(GiftCard.code == code.strip().upper())
    card = session.scalar(q.with_for_update() if lock else q)
    if card is None:
        # An unknown code is no bearer secret (it opens nothing): the asker sees what they typed.
        raise NotFound(f"There is no gift card {code}.")
    return card


def issue_gift_card(
    session: Session, *, amount: int, currency: str, key: str, reference: str
) -> GiftCard:
    """Issue a new card once per key (a retry returns the card issued first)."""
    entry = session.scalar(select(GiftCardEntry).where(GiftCardEntry.idempotency_key == key))
    if entry is not None:
        return session.get_one(GiftCard, entry.gift_card_id)
    card = GiftCard(code=new_gift_card_code(), currency=currency, balance=0, status="active")
    session.add(card)
    session.flush()
    _post(
        session,
        card,
        GiftCardEntry,
        "gift_card_id",
        amount,
        "issue",
        reference,
        key,
        "The gift card",
    )
    return card


def require_currency(held: str, wanted: str | None, label: str) -> None:
    """A balance is spent or loaded only in its own currency (issue 19): 409 currency_mismatch."""
    if wanted is not None and held.upper() != wanted.upper():
        raise Conflict(
            f"{label} is in {held.upper()}; it cannot be used for {wanted.upper()}.",
            code="currency_mismatch",
        )


def post_gift_card(
    session: Session,
    code: str,
    *,
    delta: int,
    reason: str,
    reference: str,
    key: str,
    currency: str | None = None,  # issue 19: given, a card in another currency is refused
) -> Posted:
    card = gift_card(session, code, lock=True)
    require_currency(card.currency, currency, f"Gift card {mask(card.code)}")
    if card.status != "active" and delta < 0:
        raise Conflict(f"Gift card {mask(card.code)} is {card.status}.")
    return _post(
        session,
        card,
        GiftCardEntry,
        "gift_card_id",
        delta,
        reason,
        reference,
        key,
        f"Gift card {mask(card.code)}",
    )


def gift_card_ledger_sum(session: Session, code: str) -> int:
    card = gift_card(session, code)
    return (
        session.scalar(
            select(func.coalesce(func.sum(GiftCardEntry.delta), 0)).where(
                GiftCardEntry.gift_card_id == card.id
            )
        )
        or 0
    )


# ---- store credit ------------------------------------------------------------------------


def store_credit_account(
    session: Session,
    customer_id: int,
    *,
    currency: str = "EUR",
    lock: bool = False,
    create: bool = False,
) -> StoreCreditAccount:
    if create:
        session.execute(
            insert(StoreCreditAccount)
            .values(customer_id=customer_id, currency=currency, balance=0)
            .on_conflict_do_nothing()
        )
    q = select(StoreCreditAccount).where(StoreCreditAccount.customer_id == customer_id)
    account = session.scalar(q.with_for_update() if lock else q)
    if account is None:
        raise NotFound(f"Customer {customer_id} has no store credit.")
    return account


def post_store_credit(
    session: Session,
    customer_id: int,
    *,
    delta: int,
    reason: str,
    reference: str,
    key: str,
    currency: str | None = None,  # issue 19: given, an account in another currency is refused
) -> Posted:
    account = store_credit_account(
        session, customer_id, currency=currency or "EUR", lock=True, create=delta > 0
    )
    require_currency(account.currency, currency, "The customer's store credit")
    return _post(
        session,
        account,
        StoreCreditEntry,
        "account_id",
        delta,
        reason,
        reference,
        key,
        "The customer's store credit",
    )


def gift_cards_loaded_by(session: Session, workflow_id: str) -> list[tuple[str, int]]:
    """(code, amount) of the gift cards a sale issued or reloaded."""
    rows = session.execute(
        select(GiftCard.code, GiftCardEntry.delta)
        .join(GiftCardEntry, GiftCardEntry.gift_card_id == GiftCard.id)
        .where(
            GiftCardEntry.idempotency_key.startswith(f"{workflow_id}:giftcard:", autoescape=True)
        )
        .order_by(GiftCardEntry.id)
    )
    return [(c, d) for c, d in rows]
