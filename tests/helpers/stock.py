"""Reading stock and the ledger in tests."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Location, StockMovement
from db.repositories import stock
from db.session import Database


def location_id(db: Database, code: str) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(Location.id).where(Location.code == code))  # type: ignore[return-value]  # the demo locations exist


def on_hand(db: Database, code: str, sku: str) -> int:
    with db.unit_of_work() as s:
        level = stock.level(s, location_id(db, code), sku)
        return level.on_hand if level else 0


def ledger_sum(db: Database, code: str, sku: str, bucket: str = "sellable") -> int:
    """The sum of a location's movements of a SKU in one bucket (sellable = on_hand)."""
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
                    StockMovement.location_id == location_id(db, code),
                    StockMovement.sku == sku,
                    StockMovement.bucket == bucket,
                )
            )
            or 0
        )


def assert_ledger_balanced(db: Database) -> None:
    with db.unit_of_work() as s:
        assert stock.ledger_mismatches(s) == []
