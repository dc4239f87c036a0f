"""The catalogue's rules for a product, its variants, barcodes and prices (pure).

One function per thing returns EVERY problem it finds (not only the first), so the API can answer
one request with all that is wrong and a CSV import can list every bad row before it changes
anything. Rules that need the database (an unknown tax category, a barcode of another product)
live in db/repositories/catalog_admin.py and speak the same `CatalogProblem`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from domain import barcodes
from domain.errors import CatalogProblem

CODE_MAX = 64  # products.code / variants.sku
NAME_MAX = 200
DESCRIPTION_MAX = 20_000
CATEGORY_MAX = 64
MAX_VARIANTS = 250
MAX_BARCODES_PER_VARIANT = 10
MAX_ATTRIBUTES = 20
MAX_AMOUNT = 10**12  # minor units: a billion euros is a typo, not a price
# Letters, digits and . _ - (no spaces, no slashes): codes appear in URLs, CSV files and receipts.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
PriceListKind = Literal["default", "location", "webstore"]
DEFAULT_LIST = "default"


@dataclass(frozen=True, kw_only=True)
class VariantDraft:
    sku: str
    name: str = ""  # e.g. "Blue / M"; "" for a product's only variant
    attributes: Mapping[str, str] = field(default_factory=dict)
    active: bool = True
    barcodes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PriceDraft:
    """A price on one price list from `valid_from` (None: now) until `valid_to` (None: open)."""

    price_list: str
    sku: str
    amount: int  # minor units
    currency: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ProductDraft:
    """A product as it should be after a create or an edit (what the rules check)."""

    code: str
    name: str
    tax_category: str
    description: str = ""
    category: str = "general"
    store_only: bool = False
    online_only: bool = False
    tracks_stock: bool = True
    serialized: bool = False
    lot_tracked: bool = False
    cost_price: int | None = None
    cost_currency: str | None = None
    active: bool = True
    variants: tuple[VariantDraft, ...] = ()


PRODUCT_FIELDS = frozenset(f.name for f in dataclasses.fields(ProductDraft)) - {"code", "variants"}
VARIANT_FIELDS = frozenset(f.name for f in dataclasses.fields(VariantDraft)) - {"sku"}


@dataclass(frozen=True, kw_only=True)
class VariantPatch:
    """Set these fields of the variant with this SKU (a new SKU adds a variant)."""

    sku: str
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ProductPatch:
    """Set these product fields; upsert these variants by SKU (variants not named stay as they
    are: a variant is retired with active=false, never deleted, for its sales keep its SKU)."""

    changes: Mapping[str, Any] = field(default_factory=dict)
    variants: tuple[VariantPatch, ...] = ()


def apply_patch(code: str, current: ProductDraft | None, patch: ProductPatch) -> ProductDraft:
    """The product after the patch (a new one from defaults when `current` is None); unknown
    field names raise ValueError (the API's and the CSV's schemas never produce them)."""
    unknown = set(patch.changes) - PRODUCT_FIELDS
    if unknown:
        raise ValueError(f"not product fields: {sorted(unknown)}")
    base = current or ProductDraft(code=code, name="", tax_category="")
    variants = {v.sku: v for v in base.variants}
    order = [v.sku for v in base.variants]
    for vp in patch.variants:
        bad = set(vp.changes) - VARIANT_FIELDS
        if bad:
            raise ValueError(f"not variant fields: {sorted(bad)}")
        old = variants.get(vp.sku)
        if old is None:
            order.append(vp.sku)
            old = VariantDraft(sku=vp.sku)
        changes = dict(vp.changes)
        if "barcodes" in changes:
            changes["barcodes"] = tuple(changes["barcodes"])
        if "attributes" in changes:
            changes["attributes"] = dict(changes["attributes"])
        variants[vp.sku] = dataclasses.replace(old, **changes)
    return dataclasses.replace(
        base, **patch.changes, variants=tuple(variants[sku] for sku in order)
    )


def _problem(where: str, code: str, message: str) -> CatalogProblem:
    return CatalogProblem(where, code, message)


def check_code(value: str, where: str, what: str, code: str) -> list[CatalogProblem]:
    """A product code or SKU: 1-64 of letters, digits, '.', '_', '-', starting with a letter or
    digit."""
    if not value:
        return [_problem(where, code, f"A {what} is required.")]
    if len(value) > CODE_MAX:
        return [_problem(where, code, f"A {what} has at most {CODE_MAX} characters.")]
    if not CODE_PATTERN.match(value):
        return [
            _problem(
                where,
                code,
                f"{what.capitalize()} {value!r} may only hold letters, digits, '.', '_' and '-', "
                "and starts with a letter or digit.",
            )
        ]
    return []


def _text(value: str, where: str, what: str, most: int, required: bool) -> list[CatalogProblem]:
    if required and not value.strip():
        return [_problem(where, "required", f"A {what} is required.")]
    if len(value) > most:
        return [_problem(where, "too_long", f"A {what} has at most {most} characters.")]
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        return [_problem(where, "bad_text", f"The {what} holds control characters.")]
    return []


def check_currency(value: str | None, where: str) -> list[CatalogProblem]:
    if value is None or not CURRENCY_PATTERN.match(value):
        return [
            _problem(
                where,
                "bad_currency",
                f"{value!r} is not a currency: give its three capital letters (ISO 4217, e.g. "
                "EUR).",
            )
        ]
    return []


def check_amount(value: int, where: str, what: str = "A price") -> list[CatalogProblem]:
    if value < 0:
        return [_problem(where, "bad_amount", f"{what} cannot be negative.")]
    if value > MAX_AMOUNT:
        return [_problem(where, "bad_amount", f"{what} of {value} minor units is too large.")]
    return []


def check_variant(v: VariantDraft, where: str) -> list[CatalogProblem]:
    out = check_code(v.sku, f"{where}.sku", "SKU", "bad_sku")
    out += _text(v.name, f"{where}.name", "variant name", NAME_MAX, required=False)
    if len(v.attributes) > MAX_ATTRIBUTES:
        out.append(
            _problem(
                f"{where}.attributes",
                "too_many",
                f"A variant has at most {MAX_ATTRIBUTES} attributes.",
            )
        )
    for key, value in v.attributes.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 64:
            out.append(
                _problem(f"{where}.attributes", "bad_attribute", f"Bad attribute name {key!r}.")
            )
        elif not isinstance(value, str) or len(value) > NAME_MAX:
            out.append(
                _problem(
                    f"{where}.attributes.{key}",
                    "bad_attribute",
                    f"Attribute {key!r} needs a text value of at most {NAME_MAX} characters.",
                )
            )
    if len(v.barcodes) > MAX_BARCODES_PER_VARIANT:
        out.append(
            _problem(
                f"{where}.barcodes",
                "too_many",
                f"A variant has at most {MAX_BARCODES_PER_VARIANT} barcodes.",
            )
        )
    for i, code in enumerate(v.barcodes):
        try:
            barcodes.check(code)
        except barcodes.BadBarcode as err:
            out.append(_problem(f"{where}.barcodes[{i}]", "bad_barcode", str(err)))
    return out


def check_product(p: ProductDraft) -> list[CatalogProblem]:
    """Every rule a product with its variants and barcodes breaks ([] when it is fine)."""
    out = check_code(p.code, "code", "product code", "bad_code")
    out += _text(p.name, "name", "product name", NAME_MAX, required=True)
    out += _text(p.description, "description", "description", DESCRIPTION_MAX, required=False)
    out += _text(p.category, "category", "category", CATEGORY_MAX, required=True)
    if not p.tax_category.strip():
        out.append(_problem("tax_category", "required", "A tax category is required."))
    if p.store_only and p.online_only:
        out.append(
            _problem(
                "online_only",
                "channel_conflict",
                "A product is store-only or online-only (or neither), never both.",
            )
        )
    if p.serialized and p.lot_tracked:
        out.append(
            _problem(
                "lot_tracked",
                "tracking_conflict",
                "A product is tracked by serial number or by lot, not both.",
            )
        )
    if (p.serialized or p.lot_tracked) and not p.tracks_stock:
        out.append(
            _problem(
                "tracks_stock",
                "tracking_conflict",
                "Serial-number or lot tracking needs stock tracking on.",
            )
        )
    if p.cost_price is not None:
        out += check_amount(p.cost_price, "cost_price", "A cost price")
        out += check_currency(p.cost_currency, "cost_currency")
    elif p.cost_currency is not None:
        out.append(_problem("cost_currency", "bad_currency", "A cost currency needs a cost price."))
    if not p.variants:
        out.append(_problem("variants", "required", "A product has at least one variant (SKU)."))
    if len(p.variants) > MAX_VARIANTS:
        out.append(
            _problem("variants", "too_many", f"A product has at most {MAX_VARIANTS} variants.")
        )
    seen_skus: dict[str, int] = {}
    seen_codes: set[str] = set()
    for i, v in enumerate(p.variants):
        where = f"variants[{i}]"
        out += check_variant(v, where)
        if v.sku in seen_skus:
            out.append(
                _problem(
                    f"{where}.sku",
                    "duplicate_sku",
                    f"SKU {v.sku} is listed twice (variants {seen_skus[v.sku]} and {i}).",
                )
            )
        seen_skus.setdefault(v.sku, i)
        for j, raw in enumerate(v.barcodes):
            aliases = set(barcodes.same_item_codes(barcodes.compact(raw)))
            if aliases & seen_codes:
                out.append(
                    _problem(
                        f"{where}.barcodes[{j}]",
                        "duplicate_barcode",
                        f"Barcode {raw} is given twice in this product; one barcode belongs to "
                        "one variant.",
                    )
                )
            seen_codes |= aliases
    return out


def parse_price_list(price_list: str) -> tuple[PriceListKind, str | None] | None:
    """("default", None), ("location", CODE) or ("webstore", CODE); None when malformed."""
    if price_list == DEFAULT_LIST:
        return ("default", None)
    kind, sep, code = price_list.partition(":")
    if sep and code and kind in ("location", "webstore") and len(code) <= CODE_MAX:
        return ("location", code) if kind == "location" else ("webstore", code)
    return None


def check_price(
    p: PriceDraft, where: str = "", skus: Collection[str] | None = None
) -> list[CatalogProblem]:
    """A scheduled price: its list, SKU (one of `skus` when given), amount, currency and period."""
    pre = f"{where}." if where else ""
    out: list[CatalogProblem] = []
    if parse_price_list(p.price_list) is None:
        out.append(
            _problem(
                f"{pre}price_list",
                "bad_price_list",
                f"{p.price_list!r} is not a price list: use 'default', 'location:{{CODE}}' or "
                "'webstore:{CODE}'.",
            )
        )
    if skus is not None and p.sku not in skus:
        out.append(
            _problem(f"{pre}sku", "unknown_sku", f"SKU {p.sku} is not a variant of this product.")
        )
    out += check_amount(p.amount, f"{pre}amount")
    out += check_currency(p.currency, f"{pre}currency")
    for name, value in (("valid_from", p.valid_from), ("valid_to", p.valid_to)):
        if value is not None and value.tzinfo is None:
            out.append(
                _problem(
                    f"{pre}{name}",
                    "bad_price_period",
                    f"{name} needs a time zone (e.g. 2027-03-01T00:00:00+01:00).",
                )
            )
    if (
        p.valid_from is not None
        and p.valid_to is not None
        and p.valid_from.tzinfo is not None
        and p.valid_to.tzinfo is not None
        and p.valid_to <= p.valid_from
    ):
        out.append(
            _problem(
                f"{pre}valid_to",
                "bad_price_period",
                f"valid_to ({p.valid_to.isoformat()}) must be after valid_from "
                f"({p.valid_from.isoformat()}).",
            )
        )
    return out


def changed_fields(old: ProductDraft | None, new: ProductDraft) -> list[str]:
    """What a change touched, as the catalogue outbox names it (title, description, sku, barcode,
    status, tax, flags, cost); a new product touched all of them."""
    if old is None:
        return ["barcode", "cost", "description", "flags", "sku", "status", "tax", "title"]
    out: set[str] = set()
    if old.name != new.name:
        out.add("title")
    if old.description != new.description:
        out.add("description")
    if old.tax_category != new.tax_category:
        out.add("tax")
    if old.active != new.active:
        out.add("status")
    if (old.cost_price, old.cost_currency) != (new.cost_price, new.cost_currency):
        out.add("cost")
    flags = ("category", "store_only", "online_only", "tracks_stock", "serialized", "lot_tracked")
    if any(getattr(old, f) != getattr(new, f) for f in flags):
        out.add("flags")
    before = {v.sku: v for v in old.variants}
    for v in new.variants:
        was = before.get(v.sku)
        if was is None or (was.name, dict(was.attributes), was.active) != (
            v.name,
            dict(v.attributes),
            v.active,
        ):
            out.add("sku")
        if sorted(was.barcodes if was else ()) != sorted(v.barcodes):
            out.add("barcode")
    return sorted(out)


def normalized(p: ProductDraft) -> ProductDraft:
    """Barcodes as stored (digits only), text trimmed where spaces carry no meaning."""
    return dataclasses.replace(
        p,
        name=p.name.strip(),
        category=p.category.strip(),
        tax_category=p.tax_category.strip(),
        variants=tuple(
            dataclasses.replace(
                v,
                name=v.name.strip(),
                barcodes=tuple(dict.fromkeys(barcodes.compact(b) for b in v.barcodes)),
            )
            for v in p.variants
        ),
    )
