"""Request and response bodies of the offline till endpoints: catalogue snapshot, journal upload,
manager lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.pricing import MAX_LINE_QUANTITY

CLIENT_ID = r"^[A-Za-z0-9_.:-]+$"
# Twelve or more digits in a row could be a card number: such a value is never accepted or stored.
_PAN_LIKE = re.compile(r"\d{12,}")
CLOCK_SKEW = timedelta(minutes=5)


class SnapshotStore(BaseModel):
    code: str
    name: str
    address: str
    timezone: str
    shift_required: bool = False  # the till page asks for a float count before selling
    locale: str = ""  # how the offline receipt writes money (issue 19); "": 1234.50


class SnapshotItem(BaseModel):
    sku: str
    name: str
    tax_code: str
    unit_price: int
    barcodes: list[str]
    category: str = ""


class OfflineCardLimits(BaseModel):
    enabled: bool
    per_sale_cap: int
    total_cap: int
    max_age_hours: int


class CatalogSnapshot(BaseModel):
    till: str
    store: SnapshotStore
    currency: str
    prices_include_tax: bool
    tax_rates: dict[str, int] = Field(description="basis points per tax code")
    items: list[SnapshotItem]
    offline_card: OfflineCardLimits
    promotions: dict[str, Any] = Field(
        default_factory=dict,
        description="the store's promotions without coupons or budgets, with the engine "
        "version: the offline till prices with them, the replay with the same ones",
    )
    generated_at: datetime
    catalog_version: str = Field(
        default="",
        description="what this snapshot was made from; GET /tills/{till}/catalog/version answers "
        "another value once the catalogue, the store's tax rates or its details changed",
    )
    next_change_at: datetime | None = Field(
        default=None, description="a scheduled price starts or ends then: fetch again from then"
    )
    staff: dict[str, str] = Field(
        default_factory=dict,
        description="staff code -> PIN fingerprint of everyone who may sign in at this store now: "
        "the till forgets an offline sign-in of anyone not listed (deactivated, moved) or whose "
        "PIN changed",
    )


class CatalogVersion(BaseModel):
    version: str


class JournalLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)
    unit_price: int = Field(ge=0, le=10**9, description="what the till charged, in minor units")


class JournalTenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cash", "card"] = Field(
        description="gift cards and store credit are never taken offline"
    )
    amount: int = Field(gt=0, le=10**9, description="applied to the sale, minor units")
    tendered: int = Field(default=0, ge=0, le=10**9, description="cash handed over")
    reference: str = Field(
        default="",
        max_length=200,
        pattern=r"^[A-Za-z0-9_.:-]*$",
        description="card: the terminal's token for the stored payment",
    )
    brand: str = Field(default="", max_length=16, pattern=r"^[A-Za-z ]*$")
    last4: str = Field(default="", pattern=r"^(\d{4})?$")

    @field_validator("reference")
    @classmethod
    def _no_card_number(cls, value: str) -> str:
        if _PAN_LIKE.search(value):
            raise ValueError(
                "looks like a card number; send the terminal's token, never the number"
            )
        return value

    @model_validator(mode="after")
    def _card_needs_terminal_details(self) -> JournalTenderIn:
        if self.kind == "card" and not (self.reference and self.last4):
            raise ValueError(
                "an offline card tender needs the terminal's reference and the last 4 digits"
            )
        if self.kind == "cash" and self.tendered and self.tendered < self.amount:
            raise ValueError("cash tendered is less than the amount applied")
        return self


class JournalEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_sale_id: str = Field(min_length=1, max_length=64, pattern=CLIENT_ID)
    sold_at: AwareDatetime = Field(description="when the till sold it, with its UTC offset")
    cashier: str = Field(min_length=1, max_length=100, description="username of who rang it up")
    lines: list[JournalLineIn] = Field(min_length=1, max_length=200)
    tenders: list[JournalTenderIn] = Field(min_length=1, max_length=10)
    total: int = Field(ge=0, le=10**11)
    change_due: int = Field(default=0, ge=0, le=10**9)
    customer_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="the customer the till attached: they earn the sale's points at replay",
    )

    @field_validator("sold_at")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("is in the future; check the till's clock")
        return value


class JournalUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=CLIENT_ID,
        description="names the replay; the same batch again joins or repeats it harmlessly",
    )
    entries: list[JournalEntryIn] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique_ids(self) -> JournalUpload:
        seen: set[str] = set()
        for e in self.entries:
            if e.client_sale_id in seen:
                raise ValueError(f"client_sale_id {e.client_sale_id} appears twice in this batch")
            seen.add(e.client_sale_id)
        return self


class JournalEntryOut(BaseModel):
    client_sale_id: str
    status: Literal["applied", "flagged", "pending"] = Field(
        description="applied: recorded centrally; flagged: kept for a manager; "
        "pending: send again later"
    )
    sale_id: str = ""
    message: str = ""


class JournalAnswer(BaseModel):
    batch_id: str
    workflow_id: str
    complete: bool
    entries: list[JournalEntryOut]


class VarianceOut(BaseModel):
    id: int
    sku: str
    till: str | None
    order_number: str
    quantity_sold: int
    on_hand_before: int
    quantity_short: int
    reason: str
    status: str
    sold_at: datetime


class CollectionTaskOut(BaseModel):
    id: int
    till: str
    client_sale_id: str
    amount: int
    currency: str
    card_brand: str
    card_last4: str
    decline_reason: str
    receipt: dict[str, object]
    status: str
    sold_at: datetime


class FlaggedSaleOut(BaseModel):
    till: str
    client_sale_id: str
    sold_at: datetime
    message: str
    entry: dict[str, object]


class OfflineCardPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    per_sale_cap: int = Field(ge=0, le=10**9)
    total_cap: int = Field(ge=0, le=10**10)
    max_age_hours: int = Field(default=24, ge=1, le=24)
