"""Suppliers, what they sell us, and purchase orders with their lines."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import Location, Product, Variant
from db.models_purchasing import PurchaseOrder, PurchaseOrderLine, Supplier, SupplierItem

OPEN_STATUSES = ("draft", "sent", "partially_received")  # still expecting goods (or may)
RECEIVABLE = ("sent", "partially_received")

# ---- suppliers ----------------------------------------------------------------------------------


def supplier_by_code(session: Session, code: str) -> Supplier | None:
    return session.scalar(select(Supplier).where(Supplier.code == code))


def supplier_by_id(session: Session, supplier_id: int) -> Supplier | None:
    return session.get(Supplier, supplier_id)


def suppliers(session: Session, *, include_inactive: bool = False) -> list[Supplier]:
    q = select(Supplier).order_by(Supplier.code)
    if not include_inactive:
        q = q.where(Supplier.active)
    return list(session.scalars(q))


def add_supplier(
    session: Session,
    *,
    code: str,
    name: str,
    currency: str,
    lead_time_days: int,
    email: str = "",
    phone: str = "",
) -> Supplier:
    s = Supplier(
        code=code,
        name=name,
        currency=currency,
        lead_time_days=lead_time_days,
        email=email,
        phone=phone,
        active=True,
    )
    session.add(s)
    session.flush()
    return s


def supplier_items(session: Session, supplier_id: int) -> list[SupplierItem]:
    return list(
        session.scalars(
            select(SupplierItem)
            .where(SupplierItem.supplier_id == supplier_id)
            .order_by(SupplierItem.sku)
        )
    )


def supplier_item(session: Session, supplier_id: int, sku: str) -> SupplierItem | None:
    return session.get(SupplierItem, (supplier_id, sku))


def put_supplier_item(
    session: Session,
    *,
    supplier_id: int,
    sku: str,
    unit_cost: int,
    pack_size: int,
    supplier_sku: str,
    lead_time_days: int | None,
    preferred: bool,
) -> SupplierItem:
    """Create or replace what the supplier sells us of this SKU; a preferred one takes the mark
    from any other supplier of the SKU."""
    if preferred:
        session.execute(
            update(SupplierItem)
            .where(SupplierItem.sku == sku, SupplierItem.supplier_id != supplier_id)
            .values(preferred=False)
        )
    item = supplier_item(session, supplier_id, sku)
    if item is None:
        item = SupplierItem(supplier_id=supplier_id, sku=sku)
        session.add(item)
    item.unit_cost = unit_cost
    item.pack_size = pack_size
    item.supplier_sku = supplier_sku
    item.lead_time_days = lead_time_days
    item.preferred = preferred
    session.flush()
    return item


def remove_supplier_item(session: Session, supplier_id: int, sku: str) -> bool:
    item = supplier_item(session, supplier_id, sku)
    if item is None:
        return False
    session.delete(item)
    session.flush()
    return True


@dataclass(frozen=True)
class Source:
    """Whom a SKU is ordered from: the preferred supplier, else the cheapest."""

    supplier_id: int
    supplier_code: str
    currency: str
    unit_cost: int
    pack_size: int
    lead_time_days: int


def sources(session: Session, skus: Sequence[str]) -> dict[str, Source]:
    if not skus:
        return {}
    rows = session.execute(
        select(SupplierItem, Supplier)
        .join(Supplier, Supplier.id == SupplierItem.supplier_id)
        .where(SupplierItem.sku.in_(list(skus)), Supplier.active)
        .order_by(
            SupplierItem.sku,
            SupplierItem.preferred.desc(),
            SupplierItem.unit_cost,
            Supplier.code,
        )
    )
    out: dict[str, Source] = {}
    for item, sup in rows:
        if item.sku in out:
            continue
        lead = item.lead_time_days if item.lead_time_days is not None else sup.lead_time_days
        out[item.sku] = Source(sup.id, sup.code, sup.currency, item.unit_cost, item.pack_size, lead)
    return out


# ---- purchase orders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLine:
    sku: str
    quantity: int
    unit_cost: int


def create_order(
    session: Session,
    *,
    supplier_id: int,
    location_id: int,
    currency: str,
    lines: Sequence[NewLine],
    created_by: int | None,
    expected_on: date | None = None,
    note: str = "",
    source: str = "manual",
    reorder_run: str | None = None,
) -> PurchaseOrder:
    """A draft order; its number is `PO-{id}` (gap-free enough for people, unique always)."""
    po = PurchaseOrder(
        number=f"tmp-{uuid.uuid4().hex}",
        supplier_id=supplier_id,
        location_id=location_id,
        status="draft",
        currency=currency,
        expected_on=expected_on,
        note=note,
        source=source,
        reorder_run=reorder_run,
        created_by=created_by,
    )
    session.add(po)
    session.flush()
    po.number = f"PO-{po.id:06d}"
    for i, ln in enumerate(lines, start=1):
        session.add(
            PurchaseOrderLine(
                po_id=po.id,
                line_no=i,
                sku=ln.sku,
                quantity_ordered=ln.quantity,
                quantity_received=0,
                unit_cost=ln.unit_cost,
            )
        )
    session.flush()
    return po


def order_by_number(session: Session, number: str, *, lock: bool = False) -> PurchaseOrder | None:
    q = select(PurchaseOrder).where(PurchaseOrder.number == number)
    if lock:
        q = q.with_for_update()
    return session.scalar(q)


def order_by_id(session: Session, po_id: int, *, lock: bool = False) -> PurchaseOrder | None:
    q = select(PurchaseOrder).where(PurchaseOrder.id == po_id)
    if lock:
        q = q.with_for_update()
    return session.scalar(q)


def order_by_run(
    session: Session, run: str, supplier_id: int, location_id: int
) -> PurchaseOrder | None:
    return session.scalar(
        select(PurchaseOrder).where(
            PurchaseOrder.reorder_run == run,
            PurchaseOrder.supplier_id == supplier_id,
            PurchaseOrder.location_id == location_id,
        )
    )


def orders_of_run(session: Session, run: str) -> list[PurchaseOrder]:
    return list(
        session.scalars(
            select(PurchaseOrder).where(PurchaseOrder.reorder_run == run).order_by(PurchaseOrder.id)
        )
    )


def delete_draft(session: Session, po: PurchaseOrder) -> None:
    """Only a draft nobody sent may go (the reorder run's compensation)."""
    if po.status != "draft":
        return
    session.query(PurchaseOrderLine).filter(PurchaseOrderLine.po_id == po.id).delete()
    session.delete(po)
    session.flush()


def order_lines(session: Session, po_id: int) -> list[PurchaseOrderLine]:
    return list(
        session.scalars(
            select(PurchaseOrderLine)
            .where(PurchaseOrderLine.po_id == po_id)
            .order_by(PurchaseOrderLine.line_no)
        )
    )


def add_order_line(session: Session, po_id: int, sku: str, unit_cost: int) -> PurchaseOrderLine:
    """A line for a SKU the supplier delivered without it being ordered (0 ordered)."""
    last = session.scalar(
        select(func.coalesce(func.max(PurchaseOrderLine.line_no), 0)).where(
            PurchaseOrderLine.po_id == po_id
        )
    )
    line = PurchaseOrderLine(
        po_id=po_id,
        line_no=int(last or 0) + 1,
        sku=sku,
        quantity_ordered=0,
        quantity_received=0,
        unit_cost=unit_cost,
    )
    session.add(line)
    session.flush()
    return line


def orders(
    session: Session,
    *,
    location_ids: Sequence[int] | None,
    status: str | None = None,
    supplier_id: int | None = None,
    limit: int = 200,
) -> list[PurchaseOrder]:
    q = select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(limit)
    if location_ids is not None:
        q = q.where(PurchaseOrder.location_id.in_(list(location_ids)))
    if status:
        q = q.where(PurchaseOrder.status == status)
    if supplier_id is not None:
        q = q.where(PurchaseOrder.supplier_id == supplier_id)
    return list(session.scalars(q))


def set_status(session: Session, po: PurchaseOrder, status: str, at: datetime) -> None:
    po.status = status
    if status == "sent":
        po.sent_at = at
    if status in ("received", "closed_short", "cancelled"):
        po.closed_at = at
    session.flush()


def status_after_receipts(lines: Sequence[PurchaseOrderLine], close_short: bool) -> str:
    """received when every line got at least what was ordered; closed_short when the rest will
    not come; partially_received otherwise."""
    complete = all(ln.quantity_received >= ln.quantity_ordered for ln in lines)
    if complete:
        return "received"
    if close_short:
        return "closed_short"
    return "partially_received"


def on_order(session: Session, location_id: int, skus: Sequence[str]) -> dict[str, int]:
    """Units still expected at the location from open orders (drafts included: a drafted order
    is not drafted twice)."""
    if not skus:
        return {}
    outstanding = func.greatest(
        PurchaseOrderLine.quantity_ordered - PurchaseOrderLine.quantity_received, 0
    )
    rows = session.execute(
        select(PurchaseOrderLine.sku, func.sum(outstanding))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
        .where(
            PurchaseOrder.location_id == location_id,
            PurchaseOrder.status.in_(OPEN_STATUSES),
            PurchaseOrderLine.sku.in_(list(skus)),
        )
        .group_by(PurchaseOrderLine.sku)
    )
    return {sku: int(n or 0) for sku, n in rows}


def location_code(session: Session, location_id: int) -> str:
    return session.scalar(select(Location.code).where(Location.id == location_id)) or ""


def sku_names(session: Session, skus: Sequence[str]) -> dict[str, str]:
    """Product name (and variant name) per SKU that exists."""
    if not skus:
        return {}
    rows = session.execute(
        select(Variant.sku, Product.name, Variant.name)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku.in_(list(skus)))
    )
    return {sku: f"{p} {v}".strip() if v else p for sku, p, v in rows}
