"""Request and response bodies of transfers, cycle counts and the stock view."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Sku = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
LocationCode = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


# ---- transfers ------------------------------------------------------------------------------


class TransferLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Sku
    quantity: int = Field(ge=1, le=100_000)


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = LocationCode
    destination: str = LocationCode
    lines: list[TransferLineBody] = Field(min_length=1, max_length=500)
    note: str = Field(default="", max_length=500)


class CountedLineBody(BaseModel):
    """A SKU and how many units (0 allowed: none picked / none in this delivery)."""

    model_config = ConfigDict(extra="forbid")
    sku: str = Sku
    quantity: int = Field(ge=0, le=100_000)


class PickBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[CountedLineBody] = Field(
        min_length=1, max_length=500, description="what was picked; a line left out: none"
    )


class ReceiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[CountedLineBody] = Field(default_factory=list, max_length=500)
    close: bool = Field(
        default=False,
        description="no more deliveries: what is still missing becomes a shortage at the source",
    )


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


class TransferLineOut(BaseModel):
    sku: str
    requested: int
    picked: int | None
    received: int
    in_transit: int
    short: int
    over: int


class DeliveryOut(BaseModel):
    delivery_no: int
    lines: dict[str, int]
    received_at: datetime


class TransferOut(BaseModel):
    transfer_id: str
    status: Literal["requested", "picked", "received", "cancelled"]
    source: str
    destination: str
    note: str
    order: str = Field(description="ship-to-store: the online order waiting for these goods")
    requested_at: datetime
    picked_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str
    lines: list[TransferLineOut]
    deliveries: list[DeliveryOut] = []


class TransferPage(BaseModel):
    items: list[TransferOut]
    page: int
    per_page: int
    total: int


# ---- counts ---------------------------------------------------------------------------------


class CountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location: str = LocationCode
    skus: list[str] = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=500)


class CountEntryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Sku
    quantity: int = Field(ge=0, le=1_000_000)
    bin: str = Field(
        default="", max_length=64, description="where it was counted; per bin the latest wins"
    )


class CountLinesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[CountEntryBody] = Field(min_length=1, max_length=1000)


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"] = "approve"
    note: str = Field(default="", max_length=500)


class CountLineOut(BaseModel):
    sku: str
    snapshot_on_hand: int
    counted: int | None
    expected: int | None = Field(
        description="on hand when the SKU was counted: the snapshot plus every movement since"
    )
    variance: int | None
    round: int
    needs_review: bool
    applied_delta: int | None


class CountOut(BaseModel):
    count_id: str
    location: str
    status: Literal["counting", "review", "applied", "cancelled"]
    note: str
    started_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    review_skus: list[str]
    lines: list[CountLineOut]
    message: str = ""


class CountPage(BaseModel):
    items: list[CountOut]
    page: int
    per_page: int
    total: int


# ---- the stock view -------------------------------------------------------------------------


class LocationStockOut(BaseModel):
    location: str
    location_name: str
    on_hand: int
    reserved: int
    safety_stock: int
    in_transit: int
    quarantined: int
    available: int


class SkuStockOut(BaseModel):
    sku: str
    name: str
    locations: list[LocationStockOut]


class LevelOut(LocationStockOut):
    sku: str
    name: str


class LevelsPage(BaseModel):
    items: list[LevelOut]
    page: int
    per_page: int
    total: int
