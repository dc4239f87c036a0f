"""The catalogue's CSV format (pure): one row per variant, the product's columns repeated.

Read: `parse(rows)` turns the file's rows into one `CsvProduct` per product code with the row
number of everything, and lists every problem of the file's own (bad numbers, flags, a product
whose rows disagree); the rules and the database's checks come after (db/repositories/
catalog_admin.py), reported against the same row numbers. Write: `header` / `row` for the export.
Row numbers are as a spreadsheet shows them: the header is row 1, the first product row 2."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.catalog_rules import (
    CURRENCY_PATTERN,
    DEFAULT_LIST,
    PriceDraft,
    ProductPatch,
    VariantPatch,
    parse_price_list,
)
from domain.errors import CatalogProblem
from domain.money import exponent, format_minor

# product columns (the same on every row of a product), then the variant's, then its prices
PRODUCT_COLUMNS = (
    "product_code",
    "name",
    "description",
    "category",
    "tax_category",
    "store_only",
    "online_only",
    "tracks_stock",
    "serialized",
    "lot_tracked",
    "cost_price",
    "cost_currency",
    "product_active",
)
VARIANT_COLUMNS = ("sku", "variant_name", "attributes", "variant_active", "barcodes")
PRICE_COLUMNS = ("price", "currency", "price_valid_from")
COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS + PRICE_COLUMNS
REQUIRED = ("product_code", "sku")
LIST_PREFIX = "price:"  # price:location:BER, price:webstore:shop — that list's price
CLEAR = "-"  # a cell holding only this clears an optional field (description, cost, barcodes)
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_PRODUCT_FIELD = {
    "name": "name",
    "description": "description",
    "category": "category",
    "tax_category": "tax_category",
    "store_only": "store_only",
    "online_only": "online_only",
    "tracks_stock": "tracks_stock",
    "serialized": "serialized",
    "lot_tracked": "lot_tracked",
    "product_active": "active",
}
_FLAG_COLUMNS = frozenset(
    {"store_only", "online_only", "tracks_stock", "serialized", "lot_tracked", "product_active"}
)


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    code: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.column})" if self.column else ""
        return f"row {self.row}{where}: {self.message} [{self.code}]"


@dataclass
class CsvProduct:
    """One product of the file: what to set, and on which row each part was given."""

    code: str
    first_row: int
    changes: dict[str, Any] = field(default_factory=dict)
    given_on: dict[str, int] = field(default_factory=dict)  # product field -> row
    variants: list[VariantPatch] = field(default_factory=list)
    variant_rows: dict[str, int] = field(default_factory=dict)  # sku -> row
    prices: list[PriceDraft] = field(default_factory=list)

    def patch(self) -> ProductPatch:
        return ProductPatch(changes=dict(self.changes), variants=tuple(self.variants))

    def row_of(self, sku: str | None, column: str = "") -> int:
        """The row a problem of this product (its variant `sku`, its `column`) belongs on."""
        if sku is not None and sku in self.variant_rows:
            return self.variant_rows[sku]
        return self.given_on.get(column, self.first_row)


@dataclass
class ParsedCsv:
    products: list[CsvProduct]
    problems: list[RowProblem]
    rows: int  # product rows read (the header not counted)


def to_minor(text: str, currency: str) -> int:
    """'12.90' EUR -> 1290; ValueError for what is not an amount in that currency."""
    try:
        value = Decimal(text.strip().replace(",", "")) if text.strip() else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ValueError(f"{text!r} is not an amount (write e.g. 12.90).")
    if value < 0:
        raise ValueError(f"{text!r}: an amount cannot be negative.")
    exp = exponent(currency)
    minor = value * (10**exp)
    if minor != minor.to_integral_value():
        raise ValueError(f"{text!r} has more decimals than {currency} has ({exp}).")
    return int(minor)


def _price_cell(text: str, currency: str) -> tuple[int, str]:
    """'12.90' (in the row's currency) or '12.90 USD'."""
    parts = text.split()
    if len(parts) == 2 and CURRENCY_PATTERN.match(parts[1]):
        return to_minor(parts[0], parts[1]), parts[1]
    if not currency:
        raise ValueError("a price needs the row's currency column (or write e.g. '12.90 EUR').")
    return to_minor(text, currency), currency


def _bool(text: str) -> bool:
    value = _BOOLS.get(text.strip().lower())
    if value is None:
        raise ValueError(f"{text!r} is not a yes/no value (write true or false).")
    return value


def parse_attributes(text: str) -> dict[str, str]:
    """'colour=Black; size=M' -> {'colour': 'Black', 'size': 'M'}."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"attribute {part.strip()!r} is not name=value.")
        out[key.strip()] = value.strip()
    return out


def format_attributes(attributes: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in attributes.items())


def parse(rows: Iterable[Sequence[str]]) -> ParsedCsv:
    """Read the file's rows (the first one the header) into products; every problem listed."""
    problems: list[RowProblem] = []
    it = iter(rows)
    header = [h.strip() for h in next(it, [])]
    if not header:
        return ParsedCsv([], [RowProblem(1, "", "empty_file", "The file is empty.")], 0)
    missing = [c for c in REQUIRED if c not in header]
    unknown = [
        c
        for c in header
        if c not in COLUMNS
        and not (c.startswith(LIST_PREFIX) and parse_price_list(c[len(LIST_PREFIX) :]))
    ]
    if missing:
        problems.append(
            RowProblem(1, "", "missing_column", f"Columns {', '.join(missing)} are required.")
        )
    for c in unknown:
        problems.append(
            RowProblem(
                1,
                c,
                "unknown_column",
                f"Unknown column {c!r} (see docs/catalogue.md; a price list column is "
                "price:location:CODE or price:webstore:CODE).",
            )
        )
    dupes = {c for c in header if header.count(c) > 1}
    for c in sorted(dupes):
        problems.append(RowProblem(1, c, "duplicate_column", f"Column {c!r} appears twice."))
    if missing or unknown or dupes:
        return ParsedCsv([], problems, 0)
    products: dict[str, CsvProduct] = {}
    count = 0
    for number, cells in enumerate(it, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        count += 1
        if len(cells) > len(header):
            problems.append(
                RowProblem(
                    number,
                    "",
                    "extra_cells",
                    f"{len(cells)} cells, but the header has {len(header)} columns.",
                )
            )
            continue
        cell = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}
        _row(number, cell, products, problems)
    return ParsedCsv(list(products.values()), problems, count)


def _row(
    number: int,
    cell: dict[str, str],
    products: dict[str, CsvProduct],
    problems: list[RowProblem],
) -> None:
    def bad(column: str, code: str, message: str) -> None:
        problems.append(RowProblem(number, column, code, message))

    code = cell["product_code"].strip()
    sku = cell["sku"].strip()
    if not code:
        bad("product_code", "required", "A product_code is required.")
        return
    if not sku:
        bad("sku", "required", "A sku is required (one row per variant).")
        return
    product = products.setdefault(code, CsvProduct(code=code, first_row=number))
    if sku in product.variant_rows:
        bad("sku", "duplicate_sku", f"SKU {sku} is on row {product.variant_rows[sku]} already.")
        return
    product.variant_rows[sku] = number
    # product columns: the first non-empty value counts; a later different one is a mistake
    values: dict[str, Any] = {}
    for column, name in _PRODUCT_FIELD.items():
        text = cell.get(column, "")
        if not text.strip():
            continue
        try:
            if column in _FLAG_COLUMNS:
                values[name] = _bool(text)
            elif column == "description":
                values[name] = "" if text.strip() == CLEAR else text
            else:
                values[name] = text.strip()
        except ValueError as err:
            bad(column, "bad_value", str(err))
    cost, cost_cur = cell.get("cost_price", "").strip(), cell.get("cost_currency", "").strip()
    if cost == CLEAR:
        values["cost_price"], values["cost_currency"] = None, None
    elif cost:
        if not CURRENCY_PATTERN.match(cost_cur):
            bad("cost_currency", "bad_currency", "A cost_price needs its cost_currency (e.g. EUR).")
        else:
            try:
                values["cost_price"], values["cost_currency"] = to_minor(cost, cost_cur), cost_cur
            except ValueError as err:
                bad("cost_price", "bad_amount", str(err))
    for name, value in values.items():
        if name in product.changes and product.changes[name] != value:
            bad(
                name,
                "inconsistent_product",
                f"Product {code}: {name} differs from row {product.given_on[name]} "
                "(a product's columns must be the same on each of its rows).",
            )
        elif name not in product.changes:
            product.changes[name] = value
            product.given_on[name] = number
    # the variant
    changes: dict[str, Any] = {}
    if cell.get("variant_name", "").strip():
        changes["name"] = "" if cell["variant_name"].strip() == CLEAR else cell["variant_name"]
    if cell.get("variant_active", "").strip():
        try:
            changes["active"] = _bool(cell["variant_active"])
        except ValueError as err:
            bad("variant_active", "bad_value", str(err))
    if cell.get("attributes", "").strip():
        try:
            text = cell["attributes"].strip()
            changes["attributes"] = {} if text == CLEAR else parse_attributes(text)
        except ValueError as err:
            bad("attributes", "bad_value", str(err))
    codes = cell.get("barcodes", "").strip()
    if codes:
        changes["barcodes"] = (
            () if codes == CLEAR else tuple(c.strip() for c in codes.split("|") if c.strip())
        )
    product.variants.append(VariantPatch(sku=sku, changes=changes))
    # prices
    currency = cell.get("currency", "").strip()
    valid_from = None
    if cell.get("price_valid_from", "").strip():
        try:
            valid_from = datetime.fromisoformat(cell["price_valid_from"].strip())
        except ValueError:
            bad(
                "price_valid_from",
                "bad_price_period",
                f"{cell['price_valid_from']!r} is not a time (write e.g. "
                "2027-03-01T00:00:00+01:00).",
            )
    lists = [("price", DEFAULT_LIST)] + [
        (c, c[len(LIST_PREFIX) :]) for c in cell if c.startswith(LIST_PREFIX)
    ]
    for column, price_list in lists:
        text = cell.get(column, "").strip()
        if not text:
            continue
        try:
            amount, cur = _price_cell(text, currency)
        except ValueError as err:
            bad(column, "bad_amount", str(err))
            continue
        product.prices.append(
            PriceDraft(
                price_list=price_list,
                sku=sku,
                amount=amount,
                currency=cur,
                valid_from=valid_from,
            )
        )


# ---- the export ---------------------------------------------------------------------------


def header(extra_lists: Sequence[str]) -> list[str]:
    return [*COLUMNS, *(LIST_PREFIX + name for name in extra_lists)]


def export_row(
    product: Mapping[str, Any],
    variant: Mapping[str, Any],
    prices: Mapping[str, tuple[int, str]],
    extra_lists: Sequence[str],
) -> list[str]:
    """One variant's row; `prices` maps a price list id to the (amount, currency) valid now."""

    def flag(value: bool) -> str:
        return "true" if value else "false"

    default = prices.get(DEFAULT_LIST)
    currency = default[1] if default else ""
    cost = product.get("cost_price")
    cells = [
        product["code"],
        product["name"],
        product["description"],
        product["category"],
        product["tax_category"],
        flag(product["store_only"]),
        flag(product["online_only"]),
        flag(product["tracks_stock"]),
        flag(product["serialized"]),
        flag(product["lot_tracked"]),
        "" if cost is None else format_minor(cost, product["cost_currency"]),
        "" if cost is None else product["cost_currency"],
        flag(product["active"]),
        variant["sku"],
        variant["name"],
        format_attributes(variant["attributes"]),
        flag(variant["active"]),
        "|".join(variant["barcodes"]),
        format_minor(default[0], default[1]) if default else "",
        currency,
        "",
    ]
    for name in extra_lists:
        found = prices.get(name)
        if found is None:
            cells.append("")
        elif found[1] == currency:
            cells.append(format_minor(*found))
        else:
            cells.append(f"{format_minor(*found)} {found[1]}")
    return cells


def problems_of(product: CsvProduct, sku: str | None, problem: CatalogProblem) -> RowProblem:
    """A rule's or the database's problem with this product, on its row."""
    column = problem.field.split(".")[-1].split("[")[0] if problem.field else ""
    return RowProblem(product.row_of(sku, column), column, problem.code, problem.message)
