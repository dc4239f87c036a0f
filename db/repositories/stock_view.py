"""The stock view: every bucket of a SKU's stock per location (on hand, reserved, safety stock, in
transit, quarantined, available to promise), for the back office."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db.models import Location, Product, StockLevel, Variant


@dataclass(frozen=True)
class LocationStock:
    location: str
    location_name: str
    on_hand: int
    reserved: int
    safety_stock: int
    in_transit: int
    quarantined: int

    @property
    def available(self) -> int:
        """Available to promise: what a sale or an online order may still take (never below 0)."""
        return max(0, self.on_hand - self.reserved - self.safety_stock)


@dataclass(frozen=True)
class SkuStock:
    sku: str
    name: str
    locations: tuple[LocationStock, ...]


@dataclass(frozen=True)
class LevelRow:
    sku: str
    name: str
    stock: LocationStock


def _name() -> object:
    return func.concat(
        Product.name, func.coalesce(func.nullif(func.concat(" - ", Variant.name), " - "), "")
    )


def sku_across(session: Session, sku: str, location_ids: Collection[int] | None) -> SkuStock | None:
    """One SKU at every location (None: all; else those given), by location code; None when the
    SKU does not exist. A location that never held it shows zeros."""
    found = session.execute(
        select(Variant.sku, _name())  # type: ignore[call-overload]  # a SQL expression
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku == sku)
    ).first()
    if found is None:
        return None
    q = (
        select(
            Location.code,
            Location.name,
            func.coalesce(StockLevel.on_hand, 0),
            func.coalesce(StockLevel.reserved, 0),
            func.coalesce(StockLevel.safety_stock, 0),
            func.coalesce(StockLevel.in_transit, 0),
            func.coalesce(StockLevel.quarantined, 0),
        )
        .outerjoin(StockLevel, (StockLevel.location_id == Location.id) & (StockLevel.sku == sku))
        .where(Location.active)
        .order_by(Location.code)
    )
    if location_ids is not None:
        q = q.where(Location.id.in_(list(location_ids)))
    rows = session.execute(q).all()
    return SkuStock(
        sku=found[0],
        name=found[1],
        locations=tuple(LocationStock(*(r[:2]), *(int(v) for v in r[2:])) for r in rows),
    )


def levels(
    session: Session,
    *,
    location_ids: Collection[int] | None,
    location_id: int | None = None,
    q: str = "",
    page_no: int = 1,
    per_page: int = 50,
) -> tuple[list[LevelRow], int]:
    """Stock levels (SKU x location) the caller may see, optionally one location and a search on
    SKU or name, by SKU then location; and how many match."""
    query = (
        select(
            StockLevel.sku,
            _name(),  # type: ignore[call-overload]  # a SQL expression
            Location.code,
            Location.name,
            StockLevel.on_hand,
            StockLevel.reserved,
            StockLevel.safety_stock,
            StockLevel.in_transit,
            StockLevel.quarantined,
        )
        .join(Location, Location.id == StockLevel.location_id)
        .join(Variant, Variant.sku == StockLevel.sku)
        .join(Product, Product.id == Variant.product_id)
    )
    if location_ids is not None:
        query = query.where(StockLevel.location_id.in_(list(location_ids)))
    if location_id is not None:
        query = query.where(StockLevel.location_id == location_id)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Variant.sku.ilike(like, escape="\\"),
                Product.name.ilike(like, escape="\\"),
                Variant.name.ilike(like, escape="\\"),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.execute(
        query.order_by(StockLevel.sku, Location.code)
        .limit(per_page)
        .offset((page_no - 1) * per_page)
    ).all()
    return [
        LevelRow(r[0], r[1], LocationStock(r[2], r[3], *(int(v) for v in r[4:]))) for r in rows
    ], total
