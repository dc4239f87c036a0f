"""Request and response bodies of the till API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.pricing import MAX_LINE_QUANTITY

Sku = Field(min_length=1, max_length=64, description="SKU of a product variant")

BASKET_CLOCK_SKEW = timedelta(minutes=2)  # a till's clock may run this far ahead
BASKET_MAX_AGE = timedelta(hours=12)


class TillLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_code: str = Field(min_length=1, max_length=16, examples=["1001"])
    pin: str = Field(min_length=4, max_length=12, pattern=r"^\d+$", examples=["1234"])


class PasswordLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    token: str
    expires_at: datetime
    user: str
    display_name: str
    role: str
    till: str | None = None


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Sku
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class ManagerApprovalIn(BaseModel):
    """A manager of the store vouches at the till, with staff code and PIN (counted with sign-in
    failures: wrong PINs lock the staff code)."""

    model_config = ConfigDict(extra="forbid")
    staff_code: str = Field(min_length=1, max_length=16, examples=["9001"])
    pin: str = Field(min_length=4, max_length=12, pattern=r"^\d+$", examples=["9001"])


class TenderInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cash", "card", "gift_card", "store_credit", "points"]
    amount: int = Field(
        gt=0,
        le=10**9,
        description="minor units handed over or asked of the card / balance (points: the money "
        "the points pay for; the server converts at the loyalty rate)",
    )
    reference: str = Field(
        default="",
        max_length=40,
        pattern=r"^[A-Za-z0-9-]*$",
        description="gift card code (gift_card) or customer id (store_credit, points: the sale's "
        "own customer)",
    )
    simulate: str = Field(
        default="",
        max_length=60,
        pattern=r"^(pm_[A-Za-z_]+)?$",
        description="simulated reader only: the Stripe test payment method the customer 'taps' "
        "(pm_card_visa, pm_card_chargeCustomerFail …); never a card number",
    )

    customer_code: str = Field(
        default="",
        max_length=40,
        pattern=r"^[A-Za-z0-9 -]*$",
        description="store_credit / points: the code on the customer's card (proves they are here)",
    )
    approval: ManagerApprovalIn | None = Field(
        default=None,
        description="store_credit / points without the customer's code: a manager of the store "
        "approves",
    )

    @model_validator(mode="after")
    def _reference_where_needed(self) -> TenderInBody:
        if self.kind == "gift_card" and not self.reference:
            raise ValueError("a gift_card tender needs the card code as reference")
        proven = self.kind in ("store_credit", "points")  # a customer's balance: proof needed
        if proven and not self.reference.isdigit():
            raise ValueError(f"a {self.kind} tender needs the customer id as reference")
        if proven and not (self.customer_code.strip() or self.approval):
            raise ValueError(
                f"a {self.kind} tender needs proof the customer is here: the customer_code on "
                "their card, or a manager's approval"
            )
        if not proven and (self.customer_code or self.approval):
            raise ValueError("customer_code and approval are for store_credit and points only")
        return self


class GiftCardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=500, le=50_000, description="value loaded, minor units")
    reload_code: str = Field(
        default="",
        max_length=40,
        pattern=r"^[A-Za-z0-9-]*$",
        description="top up this card instead of issuing a new one",
    )


class AdjustmentIn(BaseModel):
    """A discount or price override the cashier gives, with a reason code; what it takes off is
    worked out by the server, and over the cashier's limit it waits for a manager."""

    model_config = ConfigDict(extra="forbid")
    scope: Literal["line", "basket"]
    line: int | None = Field(
        default=None, ge=1, le=200, description="the basket line (1-based) of a line adjustment"
    )
    kind: Literal["percent", "amount", "price"] = Field(
        description="percent: value in basis points (1000 = 10 %); amount: minor units off; "
        "price: the line's new unit price in minor units"
    )
    value: int = Field(ge=0, le=100_000_000)
    reason: str = Field(
        min_length=1, max_length=32, examples=["damaged"], description="a reason code"
    )


CouponCode = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", examples=["WINTER10"])
]


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    adjustments: list[AdjustmentIn] = Field(default_factory=list, max_length=50)
    coupon_codes: list[CouponCode] = Field(
        default_factory=list, max_length=10, description="coupons the customer hands over"
    )
    customer_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="the customer (their groups and coupon limits count)",
    )


class SaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_sale_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="generated by the till; the same id always means the same sale",
    )
    lines: list[LineIn] = Field(default_factory=list, max_length=200)
    gift_cards: list[GiftCardIn] = Field(
        default_factory=list, max_length=10, description="gift cards sold in this sale"
    )
    tenders: list[TenderInBody] = Field(
        default_factory=list,
        max_length=10,
        description="taken in order; if they do not cover the total the sale stays open for more",
    )
    customer_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="a known customer (finds the receipt later)"
    )
    adjustments: list[AdjustmentIn] = Field(
        default_factory=list,
        max_length=50,
        description="line / basket discounts and price overrides, each with a reason code",
    )
    coupon_codes: list[CouponCode] = Field(
        default_factory=list,
        max_length=10,
        description="coupons the customer hands over; one that cannot be honoured refuses the "
        "sale (409 coupon_refused): take it off and ring up again",
    )
    basket_started_at: datetime | None = Field(
        default=None,
        description="when the till scanned the first item (for the checkout-time KPI); within "
        "the last 12 hours, not in the future",
    )

    @model_validator(mode="after")
    def _something_to_sell(self) -> SaleIn:
        if not self.lines and not self.gift_cards:
            raise ValueError("the basket is empty: give lines or gift cards")
        started = self.basket_started_at
        if started is not None:
            if started.tzinfo is None:
                raise ValueError("basket_started_at needs a timezone (e.g. 2026-12-01T10:00:00Z)")
            age = datetime.now(UTC) - started
            if age < -BASKET_CLOCK_SKEW or age > BASKET_MAX_AGE:
                raise ValueError(
                    "basket_started_at must be within the last 12 hours and not in the future"
                )
        return self


class TendersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenders: list[TenderInBody] = Field(min_length=1, max_length=10)


class ItemOut(BaseModel):
    sku: str
    name: str
    category: str
    tax_code: str
    unit_price: int | None
    currency: str | None
    barcodes: list[str]
    on_hand: int
    available: int


class LinePromotionOut(BaseModel):
    code: str
    name: str
    amount: int = Field(description="minor units off the line")
    coupon: str = ""


class SalePromotionOut(LinePromotionOut):
    line_no: int


def _onto_lines(lines: list[PricedLineOut], promotions: list[SalePromotionOut]) -> None:
    """Each line says which promotion gave what."""
    by_line: dict[int, list[LinePromotionOut]] = {}
    for p in promotions:
        by_line.setdefault(p.line_no, []).append(
            LinePromotionOut(code=p.code, name=p.name, amount=p.amount, coupon=p.coupon)
        )
    for line in lines:
        if line.line_no in by_line:
            line.promotions = by_line[line.line_no]


class PricedLineOut(BaseModel):
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: int
    net: int
    tax: int
    gross: int
    tax_code: str
    tax_rate_bp: int
    discount: int = Field(
        0, description="minor units off the line by promotions, discounts and overrides"
    )
    promotions: list[LinePromotionOut] = Field(
        default_factory=list, description="what each promotion took off this line"
    )


class TaxOut(BaseModel):
    code: str
    rate_bp: int
    net: int
    tax: int


class QuoteOut(BaseModel):
    currency: str
    prices_include_tax: bool
    lines: list[PricedLineOut]
    taxes: list[TaxOut]
    subtotal: int
    tax_total: int
    total: int
    discount_total: int = 0
    approval_needed: list[str] = Field(
        default_factory=list, description="adjustments a manager would have to approve"
    )
    promotions: list[SalePromotionOut] = Field(
        default_factory=list, description="what each promotion took off which line"
    )
    promotion_total: int = Field(0, description="off the catalogue prices by promotions")
    coupons_refused: list[str] = Field(
        default_factory=list,
        description="coupons that cannot be honoured, and why (a sale with them is refused)",
    )

    @model_validator(mode="after")
    def _line_promotions(self) -> QuoteOut:
        _onto_lines(self.lines, self.promotions)
        return self


class TenderOutBody(BaseModel):
    kind: str
    amount: int
    tendered: int
    reference: str = ""
    card_brand: str = ""
    card_last4: str = ""
    card_wallet: str = Field(
        default="", description="apple_pay, google_pay … as Stripe's charge reports it; '' for none"
    )


class IssuedGiftCardOut(BaseModel):
    code: str
    amount: int
    balance: int


class SaleOut(BaseModel):
    sale_id: str
    workflow_id: str
    status: str
    currency: str
    lines: list[PricedLineOut]
    subtotal: int
    tax_total: int
    total: int
    tenders: list[TenderOutBody]
    change_due: int
    warnings: list[str]
    sold_at: datetime | None
    due: int = Field(0, description="still to pay while the sale is open")
    declines: list[str] = Field(default_factory=list, description="why tenders were refused")
    gift_cards: list[IssuedGiftCardOut] = Field(default_factory=list)
    approval_needed: list[str] = Field(
        default_factory=list,
        description="open and waiting for a manager's staff code + PIN: why "
        "(POST /tills/{till}/sales/{id}/approve)",
    )
    discount_total: int = 0
    approved_by: str = ""
    promotions: list[SalePromotionOut] = Field(
        default_factory=list, description="what each promotion took off which line"
    )
    promotion_total: int = Field(0, description="off the catalogue prices by promotions")

    @model_validator(mode="after")
    def _line_promotions(self) -> SaleOut:
        _onto_lines(self.lines, self.promotions)
        return self


class SaleApproveIn(BaseModel):
    """A manager approves the sale's discounts at the cashier's till."""

    model_config = ConfigDict(extra="forbid")
    staff_code: str = Field(min_length=1, max_length=16, examples=["9001"])
    pin: str = Field(min_length=4, max_length=12, pattern=r"^\d+$", examples=["9001"])
    note: str = Field(default="", max_length=500)


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200, examples=["rung up twice"])
    manager: ManagerApprovalIn | None = Field(
        default=None, description="a manager's staff code + PIN where the store asks for one"
    )


class BalanceOut(BaseModel):
    code: str
    currency: str
    balance: int
    status: str


class ReprintOut(BaseModel):
    workflow_id: str
    status: str = "queued"
