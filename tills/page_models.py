"""What the till page sends its agent."""

from __future__ import annotations

from typing import Literal

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


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(min_length=1, max_length=200)


class TenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cash", "card", "gift_card", "store_credit"]
    amount: int = Field(gt=0, le=10**9, description="minor units")
    # Gift card code / customer id; for a card stored offline, the terminal's token (never the
    # number).
    reference: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9_.:-]*$")
    brand: str = Field(default="", max_length=16, pattern=r"^[A-Za-z ]*$")
    last4: str = Field(default="", pattern=r"^(\d{4})?$")

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


def _digit_runs(value: str) -> list[str]:
    runs, run = [], ""
    for ch in value:
        if ch.isdigit():
            run += ch
        else:
            runs.append(run)
            run = ""
    return [*runs, run]
