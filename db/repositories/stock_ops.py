"""Stock operations: goods receipts, adjustments, resolved offline variances, product costs and the
reorder suggestions (the arithmetic is domain/reorder.py; the numbers come from here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.stock import ReorderRequest, Suggestion
from db.models import Location, Product, StockLevel, StockMovement, Variant
from db.models_purchasing import (
    GoodsReceipt,
    GoodsReceiptLine,
    StockAdjustment,
    StockAdjustmentLine,
    VarianceResolution,
)
from db.models_tills import StockVariance
from db.repositories import purchasing
from domain import reorder

# Ledger reasons that are a customer buying: at a till, an online order shipped or picked up.
SALE_REASONS = ("sale", "online_order", "pickup")


def location_by_code(session: Session, code: str) -> Location | None:
    return session.scalar(select(Location).where(Location.code == code))


def location_by_id(session: Session, location_id: int) -> Location | None:
    return session.get(Location, location_id)


@dataclass(frozen=True)
class SkuInfo:
    sku: str
    product_id: int
    tracks_stock: bool
    active: bool
    cost_price: int | None
    cost_currency: str | None


def skus(session: Session, wanted: Sequence[str]) -> dict[str, SkuInfo]:
    """What the catalogue knows of these SKUs (missing ones are left out)."""
    if not wanted:
        return {}
    rows = session.execute(
        select(
            Variant.sku,
            Product.id,
            Product.tracks_stock,
            Variant.active & Product.active,
            Product.cost_price,
            Product.cost_currency,
        )
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku.in_(list(wanted)))
    )
    return {r[0]: SkuInfo(*r) for r in rows}


@dataclass(frozen=True)
class Buckets:
    on_hand: int
    quarantined: int


def buckets(session: Session, location_id: int, wanted: Sequence[str]) -> dict[str, Buckets]:
    rows = session.execute(
        select(StockLevel.sku, StockLevel.on_hand, StockLevel.quarantined).where(
            StockLevel.location_id == location_id, StockLevel.sku.in_(list(wanted))
        )
    )
    return {sku: Buckets(int(oh), int(q)) for sku, oh, q in rows}


def movements_by_keys(session: Session, keys: Sequence[str]) -> list[StockMovement]:
    if not keys:
        return []
    return list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.idempotency_key.in_(list(keys)))
            .order_by(StockMovement.id)
        )
    )


# ---- product cost ---------------------------------------------------------------------------


def product_on_hand(session: Session, product_id: int) -> int:
    """Units of the product (all variants, all locations, sellable and quarantined)."""
    total = session.scalar(
        select(func.coalesce(func.sum(StockLevel.on_hand + StockLevel.quarantined), 0))
        .join(Variant, Variant.sku == StockLevel.sku)
        .where(Variant.product_id == product_id)
    )
    return int(total or 0)


def weighted_cost(old_cost: int | None, old_units: int, unit_cost: int, units: int) -> int:
    """Moving weighted average of what was held and what came in (rounded half up)."""
    if old_cost is None or old_units <= 0:
        return unit_cost
    total_units = old_units + units
    return (old_cost * old_units + unit_cost * units + total_units // 2) // total_units


def set_cost(
    session: Session,
    product_id: int,
    *,
    units_before: int,
    received: int,
    unit_cost: int,
    currency: str,
    method: str,
) -> int:
    """Update the product's cost price after a receipt: weighted average (default) or last cost.
    A cost in another currency than the product's replaces it (it cannot be averaged)."""
    product = session.get(Product, product_id, with_for_update=True)
    assert product is not None
    same = product.cost_currency in (None, currency)
    if method == "last" or not same:
        new = unit_cost
    else:
        new = weighted_cost(product.cost_price, units_before, unit_cost, received)
    if product.cost_price != new or product.cost_currency != currency:
        product.cost_price = new
        product.cost_currency = currency
        product.version = product.version + 1  # the ETag of the product changes
    session.flush()
    return new


# ---- goods receipts -------------------------------------------------------------------------


def receipt_by_id(session: Session, receipt_id: str) -> GoodsReceipt | None:
    return session.scalar(select(GoodsReceipt).where(GoodsReceipt.receipt_id == receipt_id))


def receipt_lines(session: Session, receipt_pk: int) -> list[GoodsReceiptLine]:
    return list(
        session.scalars(
            select(GoodsReceiptLine)
            .where(GoodsReceiptLine.receipt_pk == receipt_pk)
            .order_by(GoodsReceiptLine.line_no)
        )
    )


def receipts(
    session: Session,
    *,
    location_ids: Sequence[int] | None,
    po_id: int | None = None,
    limit: int = 200,
) -> list[GoodsReceipt]:
    q = (
        select(GoodsReceipt)
        .where(GoodsReceipt.status != "voided")
        .order_by(GoodsReceipt.id.desc())
        .limit(limit)
    )
    if location_ids is not None:
        q = q.where(GoodsReceipt.location_id.in_(list(location_ids)))
    if po_id is not None:
        q = q.where(GoodsReceipt.po_id == po_id)
    return list(session.scalars(q))


# ---- adjustments ----------------------------------------------------------------------------


def adjustment_by_id(
    session: Session, adjustment_id: str, *, lock: bool = False
) -> StockAdjustment | None:
    q = select(StockAdjustment).where(StockAdjustment.adjustment_id == adjustment_id)
    if lock:
        q = q.with_for_update()
    return session.scalar(q)


def adjustment_lines(session: Session, pk: int) -> list[StockAdjustmentLine]:
    return list(
        session.scalars(
            select(StockAdjustmentLine)
            .where(StockAdjustmentLine.adjustment_pk == pk)
            .order_by(StockAdjustmentLine.line_no)
        )
    )


def adjustments(
    session: Session,
    *,
    location_ids: Sequence[int] | None,
    status: str | None = None,
    limit: int = 200,
) -> list[StockAdjustment]:
    q = select(StockAdjustment).order_by(StockAdjustment.id.desc()).limit(limit)
    if location_ids is not None:
        q = q.where(StockAdjustment.location_id.in_(list(location_ids)))
    if status:
        q = q.where(StockAdjustment.status == status)
    return list(session.scalars(q))


# ---- offline variances ----------------------------------------------------------------------


def variance(session: Session, variance_id: int, *, lock: bool = False) -> StockVariance | None:
    q = select(StockVariance).where(StockVariance.id == variance_id)
    if lock:
        q = q.with_for_update()
    return session.scalar(q)


def variances(
    session: Session, location_ids: Sequence[int] | None, status: str | None
) -> list[tuple[StockVariance, VarianceResolution | None]]:
    q = (
        select(StockVariance, VarianceResolution)
        .outerjoin(VarianceResolution, VarianceResolution.variance_id == StockVariance.id)
        .order_by(StockVariance.id)
        .limit(500)
    )
    if location_ids is not None:
        q = q.where(StockVariance.location_id.in_(list(location_ids)))
    if status:
        q = q.where(StockVariance.status == status)
    return [(v, r) for v, r in session.execute(q)]


def resolution(session: Session, variance_id: int) -> VarianceResolution | None:
    return session.get(VarianceResolution, variance_id)


def add_resolution(session: Session, row: VarianceResolution) -> None:
    session.add(row)
    v = variance(session, row.variance_id)
    assert v is not None
    v.status = "resolved"
    session.flush()


# ---- reorder suggestions --------------------------------------------------------------------


def units_sold(
    session: Session, location_id: int, wanted: Sequence[str], since: datetime, until: datetime
) -> dict[str, int]:
    """Units customers took at the location in [since, until): till sales, online orders and
    pickups, from the ledger."""
    if not wanted:
        return {}
    rows = session.execute(
        select(StockMovement.sku, func.sum(-StockMovement.delta))
        .where(
            StockMovement.location_id == location_id,
            StockMovement.sku.in_(list(wanted)),
            StockMovement.reason.in_(SALE_REASONS),
            StockMovement.bucket == "sellable",
            StockMovement.occurred_at >= since,
            StockMovement.occurred_at < until,
        )
        .group_by(StockMovement.sku)
    )
    return {sku: max(int(n or 0), 0) for sku, n in rows}


def reorder_suggestions(
    session: Session,
    req: ReorderRequest,
    *,
    location_ids: Sequence[int] | None,
    supplier_id: int | None,
    now: datetime,
    only_due: bool = True,
) -> list[Suggestion]:
    """For each stocked SKU at each location: its position against its reorder point and what to
    order (only those at or below their point unless `only_due` is False)."""
    q = select(Location).where(Location.active).order_by(Location.code)
    if location_ids is not None:
        q = q.where(Location.id.in_(list(location_ids)))
    out: list[Suggestion] = []
    since = now - timedelta(days=req.window_days)
    for loc in session.scalars(q):
        levels = list(
            session.execute(
                select(StockLevel)
                .join(Variant, Variant.sku == StockLevel.sku)
                .join(Product, Product.id == Variant.product_id)
                .where(
                    StockLevel.location_id == loc.id,
                    Product.tracks_stock,
                    Product.active,
                    Variant.active,
                )
                .order_by(StockLevel.sku)
            ).scalars()
        )
        wanted = [lv.sku for lv in levels]
        src = purchasing.sources(session, wanted)
        ordered = purchasing.on_order(session, loc.id, wanted)
        sold = units_sold(session, loc.id, wanted, since, now)
        names = purchasing.sku_names(session, wanted)
        for lv in levels:
            s = src.get(lv.sku)
            if supplier_id is not None and (s is None or s.supplier_id != supplier_id):
                continue
            lead = s.lead_time_days if s else req.default_lead_time_days
            rate = reorder.velocity(sold.get(lv.sku, 0), req.window_days)
            pos = reorder.Position(
                on_hand=lv.on_hand,
                reserved=lv.reserved,
                in_transit=lv.in_transit,
                on_order=ordered.get(lv.sku, 0),
                safety_stock=lv.safety_stock,
            )
            p = reorder.plan(
                pos,
                reorder_min=lv.reorder_min,
                reorder_max=lv.reorder_max,
                units_per_day=rate,
                lead_time_days=lead,
                cover_days=req.cover_days,
                pack_size=s.pack_size if s else 1,
            )
            if only_due and p.quantity <= 0:
                continue
            out.append(
                Suggestion(
                    location_id=loc.id,
                    location_code=loc.code,
                    sku=lv.sku,
                    name=names.get(lv.sku, lv.sku),
                    supplier_id=s.supplier_id if s else None,
                    supplier_code=s.supplier_code if s else "",
                    on_hand=lv.on_hand,
                    reserved=lv.reserved,
                    in_transit=lv.in_transit,
                    on_order=pos.on_order,
                    safety_stock=lv.safety_stock,
                    available=lv.on_hand - lv.reserved - lv.safety_stock,
                    position=p.position,
                    reorder_point=p.reorder_point,
                    order_up_to=p.order_up_to,
                    source=p.source,
                    units_sold=sold.get(lv.sku, 0),
                    velocity_per_day=round(rate, 4),
                    lead_time_days=lead,
                    pack_size=s.pack_size if s else 1,
                    unit_cost=s.unit_cost if s else None,
                    currency=s.currency if s else loc.currency,
                    quantity=p.quantity,
                )
            )
    return out


def set_reorder_point(
    session: Session,
    location_id: int,
    sku: str,
    *,
    safety_stock: int,
    reorder_min: int | None,
    reorder_max: int | None,
) -> StockLevel:
    """Safety stock and min / max of a SKU at a location (a level row is made if missing: it
    holds no stock until the ledger moves some)."""
    from sqlalchemy.dialects.postgresql import insert

    session.execute(
        insert(StockLevel)
        .values(
            location_id=location_id,
            sku=sku,
            on_hand=0,
            reserved=0,
            safety_stock=safety_stock,
            quarantined=0,
            in_transit=0,
            reorder_min=reorder_min,
            reorder_max=reorder_max,
        )
        .on_conflict_do_update(
            index_elements=["location_id", "sku"],
            set_={
                "safety_stock": safety_stock,
                "reorder_min": reorder_min,
                "reorder_max": reorder_max,
                "updated_at": func.now(),
            },
        )
    )
    level = session.scalar(
        select(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.sku == sku)
        .execution_options(populate_existing=True)
    )
    assert level is not None
    return level
