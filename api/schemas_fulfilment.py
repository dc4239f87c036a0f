"""Request and response bodies of the fulfilment API: tasks, picks, parcels, pickups, the board."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.pricing import MAX_LINE_QUANTITY

Barcode = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")


class LineOut(BaseModel):
    sku: str
    name: str = ""
    quantity: int


class TaskOut(BaseModel):
    id: int
    kind: str = Field(description="pick | pack | ship | handover")
    status: str = Field(description="open | claimed")
    order_number: str
    customer_name: str
    lines: list[LineOut]
    assignee: str = Field(description="who claimed it ('' = nobody yet)")
    created_at: datetime
    due_at: datetime = Field(description="pick/pack/ship: the SLA; handover: the pickup deadline")
    overdue: bool
    escalated: bool = Field(description="a pick past its SLA (flagged by its workflow)")
    curbside_bay: str | None = Field(description="the customer waits outside in this bay")
    arrived_at: datetime | None
    detail: dict[str, Any] = Field(description="deadline (local), tracking, wrong_codes, locked, …")
    workflow_id: str


class BoardOut(BaseModel):
    store: str
    name: str
    generated_at: datetime
    curbside: list[TaskOut] = Field(
        description="customers waiting outside, first come first served"
    )
    pickups: list[TaskOut] = Field(
        description="orders waiting for their customer (hand-over tasks)"
    )
    picks: list[TaskOut] = Field(description="pick lists to do, overdue first")
    parcels: list[TaskOut] = Field(
        description="parcels to pack and hand to the carrier, overdue first"
    )


class ParcelOut(BaseModel):
    tracking_number: str
    carrier: str
    tracking_url: str
    label_url: str = Field(description="GET it to print the label (PDF or ZPL)")
    weight_g: int


class FulfilmentStateOut(BaseModel):
    workflow_id: str
    kind: str = Field(description="Bopis | ShipFromStore")
    order_number: str
    location: str
    phase: str = Field(
        description="picking | ready | collected | expired | packing | labelled | shipped | "
        "rejected | withdrawn | cancelled"
    )
    lines: list[LineOut]
    picked: list[LineOut]
    task_id: int = Field(description="the task to act on now (0: none)")
    task_kind: str
    escalated: bool
    deadline: datetime | None = Field(
        description="pickups: when an uncollected order goes back to the shelf"
    )
    reminded: bool
    extensions: int
    wrong_codes: int
    locked: bool
    curbside_bay: str
    parcels: list[ParcelOut]
    message: str


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    barcode: str = Barcode
    quantity: int = Field(default=1, ge=1, le=MAX_LINE_QUANTITY)


class PickedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scans: list[ScanIn] = Field(
        min_length=1,
        max_length=500,
        description="every unit picked, scanned (a scan may count several units)",
    )


class MissingLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class ShortageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    missing: list[MissingLine] = Field(
        min_length=1, max_length=100, description="what the shelf did not have"
    )
    note: str = Field(default="", max_length=300)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=1, max_length=300, description="why this location cannot do it, e.g. no staff"
    )


class PackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight_g: int = Field(ge=1, le=70_000)
    length_cm: int = Field(ge=1, le=300)
    width_cm: int = Field(ge=1, le=300)
    height_cm: int = Field(ge=1, le=300)


class HandOverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=12,
        pattern=r"^\d+$",
        description="the pickup code the customer tells you",
    )
    barcode: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="or the pickup barcode scanned from the customer's message",
    )
    id_checked: bool = Field(
        default=False,
        description="managers only: hand over after checking the "
        "customer's ID (forgotten or locked code)",
    )

    @model_validator(mode="after")
    def _one_way(self) -> HandOverIn:
        if not (self.code or self.barcode or self.id_checked):
            raise ValueError(
                "give the pickup code, the scanned pickup barcode, or id_checked (managers)"
            )
        return self


class ArrivedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=12, pattern=r"^\d+$", description="your pickup code")
    bay: str = Field(
        min_length=1, max_length=16, pattern=r"^[A-Za-z0-9 _-]+$", description="the parking bay"
    )


class ArrivedOut(BaseModel):
    order_number: str
    bay: str
    message: str


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: float = Field(
        default=1.0, gt=0, le=14, description="opening days added to the current deadline"
    )
    reason: str = Field(default="", max_length=300)


class DayHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    opens: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["09:00"])
    closes: str = Field(
        pattern=r"^\d{2}:\d{2}$", examples=["20:00"], description="24:00 = midnight"
    )


class StoreHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: list[DayHoursIn] = Field(
        max_length=7, description="a weekday left out is closed; none = always open"
    )


class StoreHoursOut(BaseModel):
    store: str
    timezone: str
    days: list[DayHoursIn]
    opening_day_hours: float = Field(description="what one day of a pickup hold is worth")
    summary: str
