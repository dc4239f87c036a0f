"""What the till page sends its agent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.pricing import MAX_LINE_QUANTITY


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_code: str = Field(min_length=1, max_length=16)
    pin: str = Field(min_length=4, max_length=12, pattern=r"^\d+$")


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class AdjustmentIn(BaseModel):
    """A line or basket discount, or a price override, with its reason code (the central system
    decides whether it is within the cashier's limit)."""

    model_config = ConfigDict(extra="forbid")
    scope: Literal["line", "basket"]
    line: int | None = Field(default=None, ge=1, le=200, description="1-based line number")
    kind: Literal["percent", "amount", "price"]
    value: int = Field(ge=0, le=10**9, description="basis points, or minor units")
    reason: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")


CouponCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=50)
    coupon_codes: list[CouponCode] = Field(default_factory=list, max_length=10)
    customer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class TenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cash", "card", "gift_card", "store_credit", "points"]
    amount: int = Field(gt=0, le=10**9, description="minor units")
    # Gift card code / customer id; for a card stored offline, the terminal's token (never the
    # number).
    reference: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9_.:-]*$")
    brand: str = Field(default="", max_length=16, pattern=r"^[A-Za-z ]*$")
    last4: str = Field(default="", pattern=r"^(\d{4})?$")
    # Simulated card readers only: the Stripe test payment method "tapped" (never a card number).
    simulate: str = Field(default="", max_length=60, pattern=r"^(pm_[A-Za-z_]+)?$")
    # Store credit / points: the code on the customer's card (central checks it; never kept).
    customer_code: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9 -]*$")

    @field_validator("reference")
    @classmethod
    def _no_card_number(cls, value: str) -> str:
        if any(len(run) >= 12 for run in _digit_runs(value)):
            raise ValueError("looks like a card number; the till never takes one")
        return value


class SaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_sale_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    tenders: list[TenderIn] = Field(min_length=1, max_length=10)
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=50)
    coupon_codes: list[CouponCode] = Field(default_factory=list, max_length=10)
    customer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    basket_started_at: datetime | None = None  # the first scan, for the checkout-time KPI


class TendersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenders: list[TenderIn] = Field(min_length=1, max_length=10)


class ManagerIn(BaseModel):
    """A manager's staff code and PIN, typed at this till (no separate session)."""

    model_config = ConfigDict(extra="forbid")
    staff_code: str = Field(min_length=1, max_length=16)
    pin: str = Field(min_length=4, max_length=12, pattern=r"^\d+$")


class ApproveIn(ManagerIn):
    note: str = Field(default="", max_length=300)


class DenominationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    denomination: int = Field(gt=0, le=10_000_000, description="a note or coin, minor units")
    quantity: int = Field(ge=0, le=100_000)


class ShiftOpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    float: list[DenominationIn] = Field(max_length=40)


class CashMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["paid_in", "paid_out", "drop", "no_sale"]
    amount: int = Field(default=0, ge=0, le=100_000_000)
    reason: str = Field(default="", max_length=200)
    manager: ManagerIn | None = None


class TenderTotalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tender: Literal["card", "gift_card", "store_credit"]
    amount: int = Field(ge=0, le=1_000_000_000)


class ShiftCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cash: list[DenominationIn] = Field(max_length=40)
    tenders: list[TenderTotalIn] = Field(default_factory=list, max_length=10)
    drop_at_close: int = Field(default=0, ge=0, le=1_000_000_000)


class ShiftApproveIn(ApproveIn):
    decision: Literal["approve", "reject"] = "approve"


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_no: int | None = Field(default=None, ge=1)
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=9999)
    disposition: Literal["restock", "quarantine", "damaged"]
    reason: str = Field(default="", max_length=200)


class ExchangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    tenders: list[TenderIn] = Field(default_factory=list, max_length=10)


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    return_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    sale_id: str | None = Field(default=None, min_length=1, max_length=64)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)
    refund_to: Literal["original", "store_credit"] = "original"
    customer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    exchange: ExchangeIn | None = None


class HandOverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(default=None, min_length=1, max_length=12, pattern=r"^\d+$")
    barcode: str | None = Field(default=None, min_length=1, max_length=120)


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)
    manager: ManagerIn | None = None


def _digit_runs(value: str) -> list[str]:
    runs, run = [], ""
    for ch in value:
        if ch.isdigit():
            run += ch
        else:
            runs.append(run)
            run = ""
    return [*runs, run]
