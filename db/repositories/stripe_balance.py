"""Stripe's balance transactions as tillflow copies them (upserted on Stripe's id)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_reconciliation import StripeBalanceTxn

_COLUMNS = (
    "type",
    "reporting_category",
    "amount",
    "fee",
    "net",
    "currency",
    "status",
    "created_at",
    "available_on",
    "source_id",
    "payment_intent",
    "charge_id",
    "details",
)
_PAYOUT = ("payout_id", "payout_status", "payout_arrival")


def upsert(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert or refresh each row by its Stripe id; returns how many were new. A row without a
    payout never erases the payout an earlier sync found."""
    merged: dict[str, dict[str, Any]] = {}
    for r in rows:  # one row per id (a statement may not update a row twice)
        before = merged.get(r["id"], {})
        merged[r["id"]] = {**before, **{k: v for k, v in r.items() if v is not None}}
    for r in merged.values():
        for c in _PAYOUT:
            r.setdefault(c, None)
    if not merged:
        return 0
    ids = list(merged)
    rows = list(merged.values())
    known = set(session.scalars(select(StripeBalanceTxn.id).where(StripeBalanceTxn.id.in_(ids))))
    stmt = insert(StripeBalanceTxn).values(rows)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            **{c: excluded[c] for c in _COLUMNS},
            **{c: func.coalesce(excluded[c], StripeBalanceTxn.__table__.c[c]) for c in _PAYOUT},
            "synced_at": func.now(),
        },
    )
    session.execute(stmt)
    return len(set(ids) - known)


def by_id(session: Session, txn_id: str) -> StripeBalanceTxn | None:
    return session.get(StripeBalanceTxn, txn_id)
