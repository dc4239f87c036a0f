"""Request and answer bodies of /customers (issue 17)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_In):
    kind: Literal["home", "billing", "shipping"] = "home"
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    postcode: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2, e.g. DE")


class CustomerIn(_In):
    """The minimum a cashier types: a name and a phone or an email."""

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40, description="any format; +49… or local")
    notes: str = Field(default="", max_length=2000)


GroupName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


class CustomerPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    tax_exempt: bool | None = Field(default=None, description="managers and admins only")
    groups: list[GroupName] | None = Field(
        default=None,
        max_length=20,
        description="managers and admins only: the customer groups promotions may be scoped to "
        "(replaced; the loyalty tier counts as a group by itself)",
    )
    add_emails: list[str] = Field(default_factory=list, max_length=10)
    remove_emails: list[str] = Field(default_factory=list, max_length=10)
    primary_email: str | None = Field(default=None, max_length=320)
    verified_emails: list[str] = Field(
        default_factory=list, max_length=10, description="managers: mark these emails verified"
    )
    add_phones: list[str] = Field(default_factory=list, max_length=10)
    remove_phones: list[str] = Field(default_factory=list, max_length=10)
    primary_phone: str | None = Field(default=None, max_length=40)
    addresses: list[AddressIn] | None = Field(
        default=None, max_length=10, description="replaces every address"
    )


class ConsentIn(_In):
    channel: Literal["email", "sms", "post"]
    granted: bool
    source: Literal["till", "web", "form", "api", "import"] = "till"


class MergeIn(_In):
    into: int = Field(ge=1, le=2**31 - 1, description="the surviving customer's id")


class EmailOut(BaseModel):
    email: str
    primary: bool
    verified: bool


class PhoneOut(BaseModel):
    number: str
    primary: bool


class ConsentOut(BaseModel):
    channel: str
    granted: bool
    source: str
    recorded_at: str


class CustomerOut(BaseModel):
    """Emails and phones are masked for cashiers, in full for managers and admins."""

    id: int
    name: str
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[dict[str, str]]
    consents: dict[str, bool]  # the current state per channel (the latest record)
    consent_history: list[ConsentOut]
    tax_exempt: bool
    groups: list[str] = Field(default_factory=list, description="customer groups (promotions)")
    notes: str
    merged_into: int | None
    erased: bool
    has_card_code: bool
    contacts_masked: bool
    created_at: datetime


class CreatedCustomerOut(CustomerOut):
    card_code: str | None = Field(
        description="the code for the customer's card, shown once (a replay answers null)"
    )


class CustomerDetailOut(CustomerOut):
    orders: list[dict[str, Any]]
    returns: list[dict[str, Any]]
    gift_cards: list[dict[str, Any]]
    store_credit: list[dict[str, Any]]


class CustomerList(BaseModel):
    items: list[CustomerOut]


class MergedOut(BaseModel):
    merged: int
    into: int
    orders_moved: int
    returns_moved: int
    store_credit_moved: int
    currency: str | None
    card_code_moved: bool
