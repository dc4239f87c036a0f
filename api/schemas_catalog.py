"""Bodies of the back office's catalogue API (/catalog/...). Strict: an unknown field is a 422.

Shapes are checked here; the catalogue's rules (barcode check digits, SKU characters, channel
flags, price periods, …) are checked by domain/catalog_rules.py, so the API and the CSV import
refuse the same things with the same codes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Code = Annotated[str, Field(min_length=1, max_length=200, description="letters, digits, . _ -")]
Money = Annotated[int, Field(ge=-(2**62), le=2**62, description="integer minor units (cents)")]
Currency = Annotated[str, Field(min_length=1, max_length=8, description="ISO 4217, e.g. EUR")]
Text = Annotated[str, Field(max_length=20_000)]
Short = Annotated[str, Field(max_length=400)]
BarcodeList = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(max_length=20, description="EAN-13, UPC-A or EAN-8 codes with their check digit"),
]
Attributes = Annotated[
    dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=400)]],
    Field(max_length=40, description='e.g. {"colour": "Blue", "size": "M"}'),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BarcodeOut(_Strict):
    code: str
    kind: str  # EAN13 | UPCA | EAN8


class VariantIn(_Strict):
    sku: Code
    name: Short = ""
    attributes: Attributes = Field(default_factory=dict)
    active: bool = True
    barcodes: BarcodeList = Field(default_factory=list)


class VariantPatchIn(_Strict):
    """A variant to change (by SKU) or add; only the fields given change."""

    sku: Code
    name: Short | None = None
    attributes: Attributes | None = None
    active: bool | None = None
    barcodes: BarcodeList | None = None


class VariantOut(_Strict):
    sku: str
    name: str
    attributes: dict[str, str]
    active: bool
    barcodes: list[BarcodeOut]


class PriceIn(_Strict):
    """A price on one list, from valid_from (default: now) until valid_to (default: open)."""

    price_list: Short = Field(
        default="default", description="default | location:{CODE} | webstore:{CODE}"
    )
    sku: Code
    amount: Money
    currency: Currency
    valid_from: datetime | None = Field(default=None, description="with a time zone")
    valid_to: datetime | None = Field(default=None, description="after valid_from")


class PriceOut(_Strict):
    price_list: str
    sku: str
    amount: int
    currency: str
    valid_from: datetime
    valid_to: datetime | None


class ProductIn(_Strict):
    code: Code
    name: Short
    description: Text = ""
    category: Short = "general"
    tax_category: Short = Field(description="a tax category's code, see /catalog/tax-categories")
    store_only: bool = False
    online_only: bool = False
    tracks_stock: bool = True
    serialized: bool = Field(default=False, description="each unit sold has a serial number")
    lot_tracked: bool = Field(default=False, description="stock is tracked by lot / batch")
    cost_price: Money | None = Field(default=None, description="what a unit costs us")
    cost_currency: Currency | None = None
    active: bool = True
    variants: Annotated[list[VariantIn], Field(min_length=1, max_length=300)]
    prices: Annotated[list[PriceIn], Field(max_length=1000)] = Field(default_factory=list)


class ProductPatchIn(_Strict):
    """Only the fields given change; `variants` are upserted by SKU (retire one with
    active=false: a variant with sales is never deleted). Prices: POST .../prices."""

    name: Short | None = None
    description: Text | None = None
    category: Short | None = None
    tax_category: Short | None = None
    store_only: bool | None = None
    online_only: bool | None = None
    tracks_stock: bool | None = None
    serialized: bool | None = None
    lot_tracked: bool | None = None
    cost_price: Money | None = None
    cost_currency: Currency | None = None
    active: bool | None = None
    variants: Annotated[list[VariantPatchIn], Field(max_length=300)] | None = None


NULLABLE = frozenset({"cost_price", "cost_currency"})  # null clears them; other fields: not null


class ProductOut(_Strict):
    code: str
    name: str
    description: str
    category: str
    tax_category: str
    store_only: bool
    online_only: bool
    tracks_stock: bool
    serialized: bool
    lot_tracked: bool
    cost_price: int | None
    cost_currency: str | None
    active: bool
    version: int
    updated_at: datetime
    variants: list[VariantOut]
    prices: list[PriceOut]


class ProductPageOut(_Strict):
    items: list[ProductOut]
    page: int
    per_page: int
    total: int


class PriceListOut(_Strict):
    id: str  # default | location:{CODE} | webstore:{CODE}
    kind: str
    code: str | None
    name: str
    currency: str | None  # None: the default list takes any currency


class TaxCategoryOut(_Strict):
    code: str
    name: str


class ProblemOut(_Strict):
    field: str
    code: str
    message: str
