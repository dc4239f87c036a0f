"""Purchasing and stock operations: suppliers and what they sell us, purchase orders, goods
receipts, stock adjustments (incl. quarantine release / write-off) and resolved offline variances.

The stock itself only ever moves through the ledger (db/repositories/stock.py); these tables say
why and on whose word."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base

PO_STATUSES = ("draft", "sent", "partially_received", "received", "closed_short", "cancelled")


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    currency: Mapped[str] = mapped_column(String(3))
    # Days from sending an order to the goods being on the shelf (the reorder point covers them).
    lead_time_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = _now()
    __table_args__ = (CheckConstraint("lead_time_days >= 0", name="lead_time_positive"),)


class SupplierItem(Base):
    """A SKU a supplier sells us: its cost, pack size and (optionally) its own lead time."""

    __tablename__ = "supplier_items"
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), primary_key=True)
    supplier_sku: Mapped[str] = mapped_column(String(64), default="", server_default="")
    unit_cost: Mapped[int] = mapped_column(BigInteger)  # minor units of the supplier's currency
    pack_size: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    lead_time_days: Mapped[int | None] = mapped_column(Integer)  # NULL: the supplier's
    preferred: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    __table_args__ = (
        CheckConstraint("unit_cost >= 0", name="unit_cost_positive"),
        CheckConstraint("pack_size >= 1", name="pack_size_positive"),
        CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time"),
        Index("ix_supplier_items_sku", "sku"),
        # At most one preferred supplier per SKU: the one the reorder run drafts orders with.
        Index(
            "uq_supplier_items_preferred",
            "sku",
            unique=True,
            postgresql_where=text("preferred"),
        ),
    )


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    currency: Mapped[str] = mapped_column(String(3))
    expected_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    source: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    # The reorder run that drafted it (one draft per run, supplier and location).
    reorder_run: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'sent', 'partially_received', 'received', 'closed_short', "
            "'cancelled')",
            name="status",
        ),
        CheckConstraint("source IN ('manual', 'reorder')", name="source"),
        UniqueConstraint("reorder_run", "supplier_id", "location_id"),
    )


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    quantity_ordered: Mapped[int] = mapped_column(Integer)
    quantity_received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unit_cost: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("quantity_ordered >= 0", name="ordered_positive"),
        CheckConstraint("quantity_received >= 0", name="received_positive"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_positive"),
        UniqueConstraint("po_id", "sku"),
    )


class GoodsReceipt(Base):
    __tablename__ = "goods_receipts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(64), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    po_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    status: Mapped[str] = mapped_column(String(16))  # recorded | completed | voided
    currency: Mapped[str] = mapped_column(String(3))
    delivery_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    close_short: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    costs_applied: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("status IN ('recorded', 'completed', 'voided')", name="status"),
    )


class GoodsReceiptLine(Base):
    __tablename__ = "goods_receipt_lines"
    receipt_pk: Mapped[int] = mapped_column(ForeignKey("goods_receipts.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    po_line_no: Mapped[int | None] = mapped_column(Integer)
    # What the order still expected of this SKU before this delivery (NULL: a free receipt).
    expected: Mapped[int | None] = mapped_column(Integer)
    over: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unit_cost: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("over >= 0", name="over_positive"),
    )


class StockAdjustment(Base):
    """A manager's change of stock outside sales and receipts: an adjustment with a reason code,
    or quarantined goods released to sellable or written off."""

    __tablename__ = "stock_adjustments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    adjustment_id: Mapped[str] = mapped_column(String(64), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # adjustment | quarantine_release | write_off
    reason: Mapped[str] = mapped_column(String(20))  # damage | theft | found | correction | ...
    status: Mapped[str] = mapped_column(String(20))  # awaiting_approval | applied | rejected
    units: Mapped[int] = mapped_column(Integer)  # units moved, whatever the sign
    value: Mapped[int] = mapped_column(BigInteger)  # at cost, minor units
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = _now()
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("kind IN ('adjustment', 'quarantine_release', 'write_off')", name="kind"),
        CheckConstraint(
            "status IN ('awaiting_approval', 'approved', 'applied', 'rejected')", name="status"
        ),
    )


class StockAdjustmentLine(Base):
    __tablename__ = "stock_adjustment_lines"
    adjustment_pk: Mapped[int] = mapped_column(ForeignKey("stock_adjustments.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    delta: Mapped[int] = mapped_column(Integer)  # of sellable (quarantine ops: of quarantine)
    unit_cost: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (CheckConstraint("delta <> 0", name="delta_nonzero"),)


class VarianceResolution(Base):
    """How a manager closed an offline stock variance: accepted as a loss (one ledger movement),
    or matched to a stock count that already corrected the shelf (no movement)."""

    __tablename__ = "variance_resolutions"
    # The stock_variances row it closes (no foreign key: that table belongs to the tills branch of
    # the migrations, which this one must not depend on; the resolving activity checks it exists).
    variance_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resolution: Mapped[str] = mapped_column(String(8))  # loss | count
    count_id: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)  # moved in the ledger (0 for a count)
    value: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # at cost
    currency: Mapped[str | None] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("resolution IN ('loss', 'count')", name="resolution"),
        CheckConstraint("resolution <> 'count' OR count_id IS NOT NULL", name="count_named"),
    )
