"""Request and response bodies of goods receipts, purchase orders, suppliers, adjustments,
quarantine, offline variances and reorder suggestions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
Sku = Field(min_length=1, max_length=64)
DocId = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
Currency = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- suppliers ------------------------------------------------------------------------------


class SupplierIn(_In):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    currency: str = Currency
    lead_time_days: int = Field(default=7, ge=0, le=365)
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=32)


class SupplierPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    currency: str | None = Field(default=None, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    lead_time_days: int | None = Field(default=None, ge=0, le=365)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = None


class SupplierItemIn(_In):
    unit_cost: int = Field(ge=0, description="minor units of the supplier's currency")
    pack_size: int = Field(default=1, ge=1, le=10000)
    supplier_sku: str = Field(default="", max_length=64)
    lead_time_days: int | None = Field(default=None, ge=0, le=365)
    preferred: bool = False


class SupplierItemOut(BaseModel):
    sku: str
    supplier_sku: str
    unit_cost: int
    currency: str
    pack_size: int
    lead_time_days: int | None
    preferred: bool


class SupplierOut(BaseModel):
    code: str
    name: str
    currency: str
    lead_time_days: int
    email: str
    phone: str
    active: bool
    items: list[SupplierItemOut] = []


# ---- purchase orders ------------------------------------------------------------------------


class OrderLineIn(_In):
    sku: str = Sku
    quantity: int = Field(ge=1, le=1_000_000)
    unit_cost: int | None = Field(
        default=None, ge=0, description="minor units; default: the supplier's cost of the SKU"
    )


class OrderIn(_In):
    location: str = Code
    supplier: str = Code
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    expected_on: date | None = None
    note: str = Field(default="", max_length=1000)


class OrderLineOut(BaseModel):
    line_no: int
    sku: str
    quantity_ordered: int
    quantity_received: int
    outstanding: int
    over: int  # received beyond what was ordered
    short: int  # not received of an order closed short
    unit_cost: int


class OrderOut(BaseModel):
    number: str
    status: str
    location: str
    supplier: str
    currency: str
    source: str
    expected_on: date | None
    note: str
    total: int  # ordered quantities at cost, minor units
    created_at: datetime
    sent_at: datetime | None
    closed_at: datetime | None
    lines: list[OrderLineOut]


# ---- goods receipts -------------------------------------------------------------------------


class ReceiptLineBody(_In):
    sku: str = Sku
    quantity: int = Field(ge=1, le=1_000_000, description="units that arrived")
    unit_cost: int | None = Field(
        default=None, ge=0, description="minor units; default: the order line's cost"
    )


class ReceiptIn(_In):
    receipt_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="your id for this delivery; the same id is the same delivery",
    )
    location: str = Code
    purchase_order: str | None = Field(default=None, min_length=1, max_length=40)
    supplier: str | None = Field(default=None, min_length=1, max_length=32)
    lines: list[ReceiptLineBody] = Field(min_length=1, max_length=500)
    close_short: bool = Field(
        default=False, description="nothing more will come for this order: close it short"
    )
    delivery_note: str = Field(default="", max_length=200)


class ReceiptLineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    expected: int | None
    over: int
    short: int
    unit_cost: int | None


class ReceiptOut(BaseModel):
    receipt_id: str
    location: str
    status: str
    purchase_order: str | None
    purchase_order_status: str | None
    supplier: str | None
    currency: str
    delivery_note: str
    received_at: datetime
    lines: list[ReceiptLineOut]


# ---- adjustments and quarantine -------------------------------------------------------------


class AdjustmentLineBody(_In):
    sku: str = Sku
    delta: int = Field(
        ge=-1_000_000, le=1_000_000, description="signed change of sellable stock, not 0"
    )


class AdjustmentIn(_In):
    adjustment_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"
    )
    location: str = Code
    reason: Literal["damage", "theft", "found", "correction"]
    lines: list[AdjustmentLineBody] = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=500)


class QuarantineLineBody(_In):
    sku: str = Sku
    quantity: int = Field(ge=1, le=1_000_000)


class QuarantineIn(_In):
    adjustment_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"
    )
    location: str = Code
    lines: list[QuarantineLineBody] = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=500)


class DecisionBody(_In):
    note: str = Field(default="", max_length=500)


class AdjustmentLineOut(BaseModel):
    line_no: int
    sku: str
    delta: int
    unit_cost: int | None


class AdjustmentOut(BaseModel):
    adjustment_id: str
    location: str
    kind: str
    reason: str
    status: str
    units: int
    value: int
    currency: str
    note: str
    approval_reasons: list[str] = []
    message: str = ""
    requested_by: int | None
    decided_by: int | None
    decision_note: str
    created_at: datetime
    decided_at: datetime | None
    lines: list[AdjustmentLineOut]


# ---- offline variances ----------------------------------------------------------------------


class VarianceResolveIn(_In):
    resolution: Literal["loss", "count"]
    count_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    note: str = Field(default="", max_length=500)


class StockVarianceOut(BaseModel):
    id: int
    location: str
    sku: str
    order_number: str
    quantity_sold: int
    on_hand_before: int
    quantity_short: int
    reason: str
    status: str
    sold_at: datetime
    resolution: str | None = None
    count_id: str | None = None
    loss_quantity: int | None = None
    loss_value: int | None = None
    resolved_at: datetime | None = None


# ---- reorder --------------------------------------------------------------------------------


class SuggestionOut(BaseModel):
    location: str
    sku: str
    name: str
    supplier: str | None
    on_hand: int
    reserved: int
    in_transit: int
    on_order: int
    safety_stock: int
    available: int
    position: int
    reorder_point: int
    order_up_to: int
    source: str
    units_sold: int
    window_days: int
    velocity_per_day: float
    lead_time_days: int
    pack_size: int
    unit_cost: int | None
    currency: str
    suggested_quantity: int


class ReorderPointIn(_In):
    safety_stock: int = Field(ge=0, le=1_000_000, description="units held back from sale")
    reorder_min: int | None = Field(default=None, ge=0, le=1_000_000)
    reorder_max: int | None = Field(default=None, ge=0, le=1_000_000)


class ReorderPointOut(BaseModel):
    location: str
    sku: str
    safety_stock: int
    reorder_min: int | None
    reorder_max: int | None
