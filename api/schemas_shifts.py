"""Request and response bodies of the shift endpoints (money in integer minor units)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import ManagerApprovalIn


class DenominationCount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    denomination: int = Field(gt=0, le=10_000_000, description="a note or coin, in minor units")
    quantity: int = Field(ge=0, le=100_000)


class OpenShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    float: list[DenominationCount] = Field(max_length=40, description="the counted float")


class CashMovementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["paid_in", "paid_out", "drop", "no_sale"]
    amount: int = Field(default=0, ge=0, le=100_000_000)
    reason: str = Field(default="", max_length=200)
    reference: str = Field(default="", max_length=200)
    manager: ManagerApprovalIn | None = None


class TenderTotalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tender: Literal["card", "gift_card", "store_credit"]
    amount: int = Field(ge=0, le=1_000_000_000)


class CloseShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cash: list[DenominationCount] = Field(max_length=40)
    tenders: list[TenderTotalIn] = Field(default_factory=list, max_length=10)
    drop_at_close: int = Field(default=0, ge=0, description="cash taken to the safe at close")


class ApproveShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=500)
    manager: ManagerApprovalIn | None = Field(
        default=None,
        description="the manager's staff code + PIN, given at the cashier's till (else the "
        "caller must be a manager of the store)",
    )


class ShiftOut(BaseModel):
    workflow_id: str
    till: str
    n: int
    status: str
    opened_at: datetime
    float_amount: int
    float_difference: int
    closes_at: datetime | None = None
    flagged: bool = False
    variance: int | None = None
    z_number: int | None = None
    message: str = ""


class ApprovalOut(BaseModel):
    status: str
    message: str


class XReportOut(BaseModel):
    till: str
    n: int
    status: str
    currency: str
    sales_count: int
    sales_total: int
    by_tender: dict[str, int]
    by_tax: list[dict[str, Any]]
    returns_count: int
    refunds_by_tender: dict[str, int]
    movements: dict[str, int]
    no_sales: int
    expected: dict[str, int] | None = Field(
        default=None, description="expected per tender: managers only (the close is blind)"
    )


class ShiftListItem(BaseModel):
    till: str
    n: int
    status: str
    opened_at: datetime
    closes_at: datetime | None
    flagged: bool
    closed_at: datetime | None
    z_number: int | None
    variance: int | None
