"""Request and response bodies of the back office's places and staff: locations, their hours and
tax rates, tills, users. PINs and passwords go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["store", "warehouse"]
Role = Literal["cashier", "manager", "fulfilment", "finance", "admin"]
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
Code = Field(min_length=1, max_length=32, examples=["BER"])
HHMM = Field(pattern=r"^\d{1,2}:\d{2}$", examples=["09:00"])


class DayHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: Weekday
    opens: str = HHMM
    closes: str = Field(
        pattern=r"^\d{1,2}:\d{2}$", examples=["20:00"], description="24:00 = midnight"
    )


class DayHoursOut(BaseModel):
    day: Weekday
    opens: str
    closes: str


class HoursIn(BaseModel):
    """The whole week: a day left out is closed; no days at all = always open."""

    model_config = ConfigDict(extra="forbid")
    days: list[DayHoursIn] = Field(max_length=7)


class HoursOut(BaseModel):
    location: str
    timezone: str
    days: list[DayHoursOut]
    summary: str = Field(examples=["Mon 09:00–20:00, Tue 09:00–20:00"])


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    kind: Kind = "store"
    address: str = Field(default="", max_length=2000)
    latitude: float | None = None
    longitude: float | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2, examples=["DE"])
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    timezone: str = Field(min_length=1, max_length=64, examples=["Europe/Berlin"])
    locale: str = Field(
        default="",
        max_length=16,
        examples=["de_DE"],
        description="how receipts and reports write money here (CLDR); empty: EUR 1234.50",
    )
    prices_include_tax: bool = True
    ship_from_store: bool = False
    pickup: bool = True
    safety_stock_default: int = Field(default=0, ge=0, le=1_000_000)
    shift_required: bool = Field(
        default=True, description="selling at a till here needs an open shift (counted float)"
    )
    hours: list[DayHoursIn] = Field(default_factory=list, max_length=7)
    tax_rates: dict[str, int] = Field(
        default_factory=dict, description="basis points per tax category, from now on"
    )


class LocationPatch(BaseModel):
    """Only the fields given change. A store manager may change ship_from_store and pickup of
    their own stores (and the hours, at /hours); everything else needs an admin."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Kind | None = None
    address: str | None = Field(default=None, max_length=2000)
    latitude: float | None = None
    longitude: float | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    locale: str | None = Field(default=None, max_length=16)
    prices_include_tax: bool | None = None
    ship_from_store: bool | None = None
    pickup: bool | None = None
    safety_stock_default: int | None = Field(default=None, ge=0, le=1_000_000)
    shift_required: bool | None = None
    active: bool | None = None


class LocationOut(BaseModel):
    code: str
    name: str
    kind: Kind
    address: str
    latitude: float | None
    longitude: float | None
    country: str | None
    currency: str
    timezone: str
    locale: str
    prices_include_tax: bool
    ship_from_store: bool
    pickup: bool
    safety_stock_default: int
    shift_required: bool
    active: bool
    hours: list[DayHoursOut]
    tax_rates: dict[str, int] = Field(description="basis points per tax category, in effect now")


class LocationList(BaseModel):
    items: list[LocationOut]


class LocationRemoved(BaseModel):
    code: str
    outcome: Literal["deleted", "deactivated"]
    reason: str = Field(description="why it was deactivated rather than deleted")
    tills_closed: list[str] = Field(default_factory=list)


class TaxRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tax_category: str = Field(min_length=1, max_length=32, examples=["standard"])
    rate_bp: int = Field(ge=0, le=10_000, description="basis points: 1900 = 19 %")
    valid_from: datetime | None = Field(
        default=None, description="when the rate starts (default now; later = scheduled)"
    )


class TaxRateSpanOut(BaseModel):
    tax_category: str
    rate_bp: int
    valid_from: datetime
    valid_to: datetime | None


class TaxRatesOut(BaseModel):
    location: str
    current: dict[str, int] = Field(description="basis points per tax category, in effect now")
    history: list[TaxRateSpanOut] = Field(description="past, current and scheduled rates")


class TillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32, examples=["BER3"])
    location: str = Code
    name: str = Field(default="", max_length=200)
    printer_url: str = Field(default="", max_length=500, examples=["tcp://10.0.0.5:9100"])
    card_reader: str = Field(default="simulated", max_length=100)
    scanner: str = Field(default="", max_length=500, examples=["/dev/ttyACM0?baudrate=9600"])
    active: bool = True


class TillPatch(BaseModel):
    """Only the fields given change. A store manager may change name, printer, card reader and
    scanner of their store's tills; moving or (de)activating a till needs an admin."""

    model_config = ConfigDict(extra="forbid")
    location: str | None = Field(default=None, min_length=1, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    printer_url: str | None = Field(default=None, max_length=500)
    card_reader: str | None = Field(default=None, max_length=100)
    scanner: str | None = Field(default=None, max_length=500)
    active: bool | None = None


class TillOut(BaseModel):
    code: str
    location: str
    name: str
    printer_url: str
    card_reader: str
    scanner: str
    active: bool
    last_contact_at: datetime | None
    snapshot_at: datetime | None


class TillList(BaseModel):
    items: list[TillOut]


class TillRemoved(BaseModel):
    code: str
    outcome: Literal["deleted", "deactivated"]
    tokens_revoked: int = 0


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=100, examples=["hanna"])
    display_name: str = Field(min_length=1, max_length=200, examples=["Hanna Hansen"])
    role: Role
    locations: list[str] = Field(default_factory=list, max_length=200, examples=[["BER"]])
    permissions: list[str] = Field(default_factory=list, max_length=20, examples=[["catalog"]])
    staff_code: str | None = Field(default=None, min_length=3, max_length=16, examples=["1003"])
    pin: str | None = Field(default=None, min_length=1, max_length=16, description="never shown")
    password: str | None = Field(
        default=None, min_length=1, max_length=200, description="never shown"
    )


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    locations: list[str] | None = Field(default=None, max_length=200)
    permissions: list[str] | None = Field(default=None, max_length=20)
    staff_code: str | None = Field(default=None, min_length=3, max_length=16)


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    locations: list[str]
    permissions: list[str]
    staff_code: str | None
    active: bool
    has_pin: bool
    has_password: bool
    created_at: datetime


class UserList(BaseModel):
    items: list[UserOut]


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: str = Field(min_length=1, max_length=16, description="4 to 8 digits; never shown")


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=200, description="never shown")
    current_password: str | None = Field(
        default=None, max_length=200, description="needed when you change your own"
    )


class SecretSet(BaseModel):
    username: str
    changed: Literal["pin", "password"]
    tokens_revoked: int = Field(description="sign-ins that used the old secret and ended now")


class UserDeactivated(BaseModel):
    user: UserOut
    tokens_revoked: int
