"""The back office's catalogue: products with variants, barcodes, tax category, flags, cost and
prices on price lists; search and paging; the CSV import's checks and its one-transaction apply.

Every change bumps `products.version` (the API's ETag) and writes exactly one row to the catalogue
outbox (db/repositories/catalog_outbox.py) in the same transaction. Queries only; the caller's unit
of work commits."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from db.models import Barcode, Location, Price, Product, TaxCategory, Variant
from db.models_webstore import WebStore
from db.repositories import catalog, catalog_outbox
from domain import barcodes as barcode_rules
from domain import catalog_rules as rules
from domain.catalog_rules import PriceDraft, ProductDraft, ProductPatch, VariantDraft
from domain.errors import CatalogInvalid, CatalogProblem, Conflict, InvalidRequest, NotFound

VERSION_MISMATCH = "version_mismatch"  # the API answers it with 412


# ---- what the API and the CSV export read ---------------------------------------------------


@dataclass(frozen=True)
class BarcodeView:
    code: str
    kind: str


@dataclass(frozen=True)
class VariantView:
    sku: str
    name: str
    attributes: dict[str, Any]
    active: bool
    barcodes: tuple[BarcodeView, ...]


@dataclass(frozen=True)
class PriceView:
    price_list: str  # default | location:{CODE} | webstore:{CODE}
    sku: str
    amount: int
    currency: str
    valid_from: datetime
    valid_to: datetime | None


@dataclass(frozen=True)
class ProductView:
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
    variants: tuple[VariantView, ...]
    prices: tuple[PriceView, ...]

    def draft(self) -> ProductDraft:
        """The product as the rules see it (what a patch applies to)."""
        return ProductDraft(
            code=self.code,
            name=self.name,
            tax_category=self.tax_category,
            description=self.description,
            category=self.category,
            store_only=self.store_only,
            online_only=self.online_only,
            tracks_stock=self.tracks_stock,
            serialized=self.serialized,
            lot_tracked=self.lot_tracked,
            cost_price=self.cost_price,
            cost_currency=self.cost_currency,
            active=self.active,
            variants=tuple(
                VariantDraft(
                    sku=v.sku,
                    name=v.name,
                    attributes={str(k): str(x) for k, x in v.attributes.items()},
                    active=v.active,
                    barcodes=tuple(b.code for b in v.barcodes),
                )
                for v in self.variants
            ),
        )


@dataclass(frozen=True)
class ProductPage:
    items: list[ProductView]
    page: int
    per_page: int
    total: int


@dataclass(frozen=True)
class PriceListView:
    id: str
    kind: str  # default | location | webstore
    code: str | None
    name: str
    currency: str | None  # None: any (the default list)


@dataclass(frozen=True)
class TaxCategoryView:
    code: str
    name: str


def tax_categories(session: Session) -> list[TaxCategoryView]:
    rows = session.execute(select(TaxCategory.code, TaxCategory.name).order_by(TaxCategory.code))
    return [TaxCategoryView(code, name) for code, name in rows]


def price_lists(session: Session) -> list[PriceListView]:
    """The default list, one per location, one per web store."""
    out = [PriceListView("default", "default", None, "Default prices (every channel)", None)]
    for code, name, currency in session.execute(
        select(Location.code, Location.name, Location.currency).order_by(Location.code)
    ):
        out.append(PriceListView(f"location:{code}", "location", code, name, currency))
    for code, name, currency in session.execute(
        select(WebStore.code, WebStore.name, WebStore.currency).order_by(WebStore.code)
    ):
        out.append(PriceListView(f"webstore:{code}", "webstore", code, name or code, currency))
    return out


def location_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Location.id).where(Location.code == code))


def _list_names(session: Session, prices: Sequence[Price]) -> dict[tuple[str, int], str]:
    loc_ids = {p.location_id for p in prices if p.location_id is not None}
    web_ids = {p.web_store_id for p in prices if p.web_store_id is not None}
    names: dict[tuple[str, int], str] = {}
    if loc_ids:
        for i, code in session.execute(
            select(Location.id, Location.code).where(Location.id.in_(loc_ids))
        ):
            names[("location", i)] = f"location:{code}"
    if web_ids:
        for i, code in session.execute(
            select(WebStore.id, WebStore.code).where(WebStore.id.in_(web_ids))
        ):
            names[("webstore", i)] = f"webstore:{code}"
    return names


def _views(
    session: Session, products: Sequence[Product], *, history: bool = False
) -> list[ProductView]:
    """Views of these products with variants, barcodes and prices, in four queries in all."""
    if not products:
        return []
    ids = [p.id for p in products]
    taxes = {i: code for i, code in session.execute(select(TaxCategory.id, TaxCategory.code))}
    variants = list(
        session.scalars(select(Variant).where(Variant.product_id.in_(ids)).order_by(Variant.id))
    )
    vids = [v.id for v in variants]
    codes: dict[int, list[BarcodeView]] = defaultdict(list)
    prices: list[Price] = []
    if vids:
        for b in session.scalars(
            select(Barcode).where(Barcode.variant_id.in_(vids)).order_by(Barcode.code)
        ):
            codes[b.variant_id].append(BarcodeView(b.code, b.kind))
        query = select(Price).where(Price.variant_id.in_(vids))
        if not history:  # what holds now and what is scheduled; the past only on request
            query = query.where(Price.valid_to.is_(None) | (Price.valid_to > func.now()))
        prices = list(session.scalars(query.order_by(Price.valid_from, Price.id)))
    names = _list_names(session, prices)
    sku_of = {v.id: v.sku for v in variants}
    by_product: dict[int, list[VariantView]] = defaultdict(list)
    product_of = {v.id: v.product_id for v in variants}
    for v in variants:
        by_product[v.product_id].append(
            VariantView(v.sku, v.name, dict(v.attributes or {}), v.active, tuple(codes[v.id]))
        )
    price_views: dict[int, list[PriceView]] = defaultdict(list)
    for p in prices:
        name = (
            names.get(("location", p.location_id), "?")
            if p.location_id is not None
            else names.get(("webstore", p.web_store_id), "?")
            if p.web_store_id is not None
            else "default"
        )
        price_views[product_of[p.variant_id]].append(
            PriceView(name, sku_of[p.variant_id], p.amount, p.currency, p.valid_from, p.valid_to)
        )
    return [
        ProductView(
            code=p.code,
            name=p.name,
            description=p.description,
            category=p.category,
            tax_category=taxes.get(p.tax_category_id, ""),
            store_only=p.store_only,
            online_only=p.online_only,
            tracks_stock=p.tracks_stock,
            serialized=p.serialized,
            lot_tracked=p.lot_tracked,
            cost_price=p.cost_price,
            cost_currency=p.cost_currency,
            active=p.active,
            version=p.version,
            updated_at=p.updated_at,
            variants=tuple(by_product[p.id]),
            prices=tuple(price_views[p.id]),
        )
        for p in products
    ]


def product(session: Session, code: str, *, history: bool = False) -> ProductView | None:
    """A product (archived ones too) with its current and scheduled prices (all with history)."""
    row = session.scalar(select(Product).where(Product.code == code))
    return _views(session, [row], history=history)[0] if row else None


def _like(text: str) -> str:
    return "%" + re.sub(r"([%_\\])", r"\\\1", text) + "%"


def search(
    session: Session,
    *,
    q: str | None = None,
    sku: str | None = None,
    barcode: str | None = None,
    archived: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> ProductPage:
    """Products matching every filter given, by code: `q` in the name, code or a SKU (any case),
    `sku` a variant's SKU (exact, or a prefix ending in '*'), `barcode` exactly (a UPC-A finds its
    EAN-13 spelling too); active products, or only archived ones."""
    query = select(Product).where(Product.active.is_not(archived))
    if q:
        pattern = _like(q.strip())
        query = query.where(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.code.ilike(pattern, escape="\\"),
                Product.id.in_(
                    select(Variant.product_id).where(Variant.sku.ilike(pattern, escape="\\"))
                ),
            )
        )
    if sku:
        sku = sku.strip()
        match = (
            Variant.sku.like(re.sub(r"([%_\\])", r"\\\1", sku[:-1]) + "%", escape="\\")
            if sku.endswith("*")
            else Variant.sku == sku
        )
        query = query.where(Product.id.in_(select(Variant.product_id).where(match)))
    if barcode:
        spellings = barcode_rules.same_item_codes(barcode_rules.compact(barcode))
        query = query.where(
            Product.id.in_(
                select(Variant.product_id)
                .join(Barcode, Barcode.variant_id == Variant.id)
                .where(Barcode.code.in_(spellings))
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(query.order_by(Product.code).offset((page - 1) * per_page).limit(per_page))
    )
    return ProductPage(_views(session, rows), page, per_page, total)


def database_now(session: Session) -> datetime:
    """The database's clock (what prices are valid against)."""
    now = session.scalar(select(func.now()))
    assert now is not None
    return now


def all_products(session: Session, batch: int = 500) -> Iterator[ProductView]:
    """Every product (archived too), by code, loaded a batch at a time (for the CSV export)."""
    after = ""
    while True:
        rows = list(
            session.scalars(
                select(Product).where(Product.code > after).order_by(Product.code).limit(batch)
            )
        )
        if not rows:
            return
        yield from _views(session, rows)
        after = rows[-1].code


# ---- the checks that need the database --------------------------------------------------------


@dataclass
class _Lookups:
    """What the database says about the codes a batch of products names (loaded in bulk)."""

    taxes: dict[str, int]
    sku_product: dict[str, str]  # sku -> code of the product that has it
    barcode_owner: dict[str, tuple[str, str]]  # barcode -> (product code, sku)


def _lookups(session: Session, drafts: Sequence[ProductDraft]) -> _Lookups:
    skus = {v.sku for d in drafts for v in d.variants}
    codes = {
        alias
        for d in drafts
        for v in d.variants
        for b in v.barcodes
        for alias in barcode_rules.same_item_codes(b)
    }
    taxes = {code: i for code, i in session.execute(select(TaxCategory.code, TaxCategory.id))}
    sku_product: dict[str, str] = {}
    for chunk in _chunks(sorted(skus)):
        rows = session.execute(
            select(Variant.sku, Product.code)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.sku.in_(chunk))
        )
        sku_product.update({sku: code for sku, code in rows})
    owners: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted(codes)):
        for code, pcode, sku in session.execute(
            select(Barcode.code, Product.code, Variant.sku)
            .join(Variant, Variant.id == Barcode.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .where(Barcode.code.in_(chunk))
        ):
            owners[code] = (pcode, sku)
    return _Lookups(taxes, sku_product, owners)


def _chunks(items: Sequence[str], size: int = 5000) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _db_problems(draft: ProductDraft, found: _Lookups) -> tuple[list[CatalogProblem], ...]:
    """(invalid, conflicts): an unknown tax category; SKUs and barcodes of other products."""
    invalid: list[CatalogProblem] = []
    conflicts: list[CatalogProblem] = []
    if draft.tax_category and draft.tax_category not in found.taxes:
        known = ", ".join(sorted(found.taxes)) or "none yet"
        invalid.append(
            CatalogProblem(
                "tax_category",
                "unknown_tax_category",
                f"There is no tax category {draft.tax_category!r} (known: {known}).",
            )
        )
    for i, v in enumerate(draft.variants):
        other = found.sku_product.get(v.sku)
        if other is not None and other != draft.code:
            conflicts.append(
                CatalogProblem(
                    f"variants[{i}].sku",
                    "duplicate_sku",
                    f"SKU {v.sku} belongs to product {other} already.",
                )
            )
        for j, code in enumerate(v.barcodes):
            for alias in barcode_rules.same_item_codes(code):
                owner = found.barcode_owner.get(alias)
                if owner is not None and owner[0] != draft.code:
                    conflicts.append(
                        CatalogProblem(
                            f"variants[{i}].barcodes[{j}]",
                            "duplicate_barcode",
                            f"Barcode {code} belongs to {owner[1]} (product {owner[0]}); one "
                            "barcode belongs to one variant.",
                        )
                    )
                    break
    return invalid, conflicts


def _raise_for(invalid: list[CatalogProblem], conflicts: list[CatalogProblem]) -> None:
    if invalid:
        raise CatalogInvalid(invalid)
    if conflicts:
        codes = {p.code for p in conflicts}
        raise Conflict(
            "; ".join(f"{p.field}: {p.message}" for p in conflicts),
            code=codes.pop() if len(codes) == 1 else "conflict",
        )


# ---- writes -----------------------------------------------------------------------------------


def _apply(
    session: Session, row: Product | None, draft: ProductDraft, taxes: dict[str, int]
) -> Product:
    """Write the product, its variants and barcodes as the (checked, normalized) draft says."""
    values = {
        "name": draft.name,
        "description": draft.description,
        "category": draft.category,
        "tax_category_id": taxes[draft.tax_category],
        "store_only": draft.store_only,
        "online_only": draft.online_only,
        "tracks_stock": draft.tracks_stock,
        "serialized": draft.serialized,
        "lot_tracked": draft.lot_tracked,
        "cost_price": draft.cost_price,
        "cost_currency": draft.cost_currency if draft.cost_price is not None else None,
        "active": draft.active,
    }
    if row is None:
        row = Product(code=draft.code, version=1, **values)
        session.add(row)
        session.flush()
    else:
        for key, value in values.items():
            setattr(row, key, value)
    existing = {
        v.sku: v for v in session.scalars(select(Variant).where(Variant.product_id == row.id))
    }
    wanted: dict[str, int] = {}
    for v in draft.variants:
        variant = existing.get(v.sku)
        if variant is None:
            variant = Variant(
                product_id=row.id,
                sku=v.sku,
                name=v.name,
                attributes=dict(v.attributes),
                active=v.active,
            )
            session.add(variant)
            existing[v.sku] = variant
        else:
            variant.name, variant.attributes, variant.active = (
                v.name,
                dict(v.attributes),
                v.active,
            )
    session.flush()
    for v in draft.variants:
        for code in v.barcodes:
            wanted[code] = existing[v.sku].id
    variant_ids = [v.id for v in existing.values()]
    held = {
        b.code: b
        for b in session.scalars(select(Barcode).where(Barcode.variant_id.in_(variant_ids)))
    }
    gone = [code for code, b in held.items() if wanted.get(code) != b.variant_id]
    if gone:
        session.execute(delete(Barcode).where(Barcode.code.in_(gone)))
        session.flush()
    for code, variant_id in wanted.items():
        if code not in held or code in gone:
            session.add(Barcode(code=code, variant_id=variant_id, kind=barcode_rules.kind_of(code)))
    session.flush()
    return row


def _save(
    session: Session,
    row: Product | None,
    old: ProductDraft | None,
    draft: ProductDraft,
    found: _Lookups | None = None,
    extra: Sequence[CatalogProblem] = (),
) -> tuple[Product, list[str]]:
    """Check the product as it should be (with `extra` problems found by the caller), then write
    it; (row, outbox fields changed)."""
    draft = rules.normalized(draft)
    found = found or _lookups(session, [draft])
    invalid, conflicts = _db_problems(draft, found)
    _raise_for([*rules.check_product(draft), *extra, *invalid], conflicts)
    fields = rules.changed_fields(old, draft)
    if row is not None and not fields:
        return row, []
    row = _apply(session, row, draft, found.taxes)
    return row, fields


def _locked(session: Session, code: str) -> Product:
    row = session.scalar(select(Product).where(Product.code == code).with_for_update())
    if row is None:
        raise NotFound(f"There is no product {code}.")
    return row


def _check_version(row: Product, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise Conflict(
            f"Product {row.code} changed since you read it (it is at version {row.version}, you "
            f"had {expected}); load it again and redo your change.",
            code=VERSION_MISMATCH,
        )


def _changed(
    session: Session,
    row: Product,
    fields: Sequence[str],
    action: catalog_outbox.Action = "upsert",
    *,
    source: str = "tillflow",
    detail: dict[str, Any] | None = None,
    new: bool = False,
) -> None:
    """One change: a new version (the ETag) and its one outbox row, in this transaction."""
    if not new:
        row.version += 1  # updated_at follows on its own (onupdate)
    session.flush()
    catalog_outbox.record(
        session, row.code, action, fields=fields, source=source, detail=detail or {}
    )


def _resolve_list(session: Session, price_list: str) -> tuple[int | None, int | None, str | None]:
    """(location_id, web_store_id, the list's currency or None for any)."""
    parsed = rules.parse_price_list(price_list)
    if parsed is None:
        raise InvalidRequest(
            f"{price_list!r} is not a price list: use 'default', 'location:{{CODE}}' or "
            "'webstore:{CODE}'.",
            code="bad_price_list",
        )
    kind, code = parsed
    if kind == "location":
        loc = session.execute(
            select(Location.id, Location.currency).where(Location.code == code)
        ).first()
        if loc is None:
            raise InvalidRequest(f"There is no location {code}.", code="unknown_price_list")
        return loc[0], None, loc[1]
    if kind == "webstore":
        store = session.execute(
            select(WebStore.id, WebStore.currency).where(WebStore.code == code)
        ).first()
        if store is None:
            raise InvalidRequest(f"There is no web store {code}.", code="unknown_price_list")
        return None, store[0], store[1]
    return None, None, None


def _price(session: Session, sku: str, p: PriceDraft) -> bool:
    """Schedule one checked price; False when the list holds that price already."""
    location_id, web_store_id, currency = _resolve_list(session, p.price_list)
    if currency is not None and p.currency != currency:
        raise InvalidRequest(
            f"Price list {p.price_list} is in {currency}; a price on it cannot be in {p.currency}.",
            code="bad_currency",
        )
    _, changed = catalog.price_change(
        session,
        sku,
        p.amount,
        p.currency,
        location_id=location_id,
        web_store_id=web_store_id,
        at=p.valid_from,
        valid_to=p.valid_to,
    )
    return changed


def create_product(
    session: Session,
    draft: ProductDraft,
    prices: Sequence[PriceDraft] = (),
    *,
    source: str = "tillflow",
) -> ProductView:
    """A new product with its variants, barcodes and prices (one outbox row)."""
    if session.scalar(select(Product.id).where(Product.code == draft.code)) is not None:
        raise Conflict(f"There is a product {draft.code} already.", code="duplicate_product")
    skus = {v.sku for v in draft.variants}
    problems = [
        pr for i, p in enumerate(prices) for pr in rules.check_price(p, f"prices[{i}]", skus)
    ]
    row, fields = _save(session, None, None, draft, extra=problems)
    for p in prices:
        _price(session, p.sku, p)
    _changed(session, row, [*fields, *(["price"] if prices else [])], source=source, new=True)
    view = product(session, row.code)
    assert view is not None
    return view


def update_product(
    session: Session,
    code: str,
    patch: ProductPatch,
    *,
    expected_version: int | None,
    source: str = "tillflow",
) -> ProductView:
    """Apply a patch (fields; variants upserted by SKU); a stale `expected_version` is a Conflict
    with code VERSION_MISMATCH. Nothing to change: no new version, no outbox row."""
    row = _locked(session, code)
    _check_version(row, expected_version)
    current = product(session, code)
    assert current is not None
    old = current.draft()
    new = rules.apply_patch(code, old, patch)
    row, fields = _save(session, row, old, new)
    if fields:
        archived = old.active and not new.active
        _changed(session, row, fields, "delete" if archived else "upsert", source=source)
    view = product(session, code)
    assert view is not None
    return view


def archive_product(
    session: Session, code: str, *, expected_version: int | None, source: str = "tillflow"
) -> ProductView:
    """Archive: no longer sold anywhere, kept with its history (a `delete` in the outbox).
    Archiving an archived product changes nothing."""
    row = _locked(session, code)
    _check_version(row, expected_version)
    if row.active:
        row.active = False
        _changed(session, row, ["status"], "delete", source=source)
    view = product(session, code)
    assert view is not None
    return view


def schedule_price(
    session: Session, code: str, price: PriceDraft, *, source: str = "tillflow"
) -> ProductView:
    """Put a price on a list from valid_from (now when None) to valid_to (open when None)."""
    row = _locked(session, code)
    skus = set(session.scalars(select(Variant.sku).where(Variant.product_id == row.id)))
    problems = rules.check_price(price, "", skus)
    if problems:
        raise CatalogInvalid(problems)
    if _price(session, price.sku, price):
        _changed(
            session,
            row,
            ["price"],
            source=source,
            detail={
                "sku": price.sku,
                "price_list": price.price_list,
                # A consumer pushes the price again when it takes effect (a scheduled change).
                "effective_at": price.valid_from.isoformat() if price.valid_from else None,
                "until": price.valid_to.isoformat() if price.valid_to else None,
            },
        )
    view = product(session, code)
    assert view is not None
    return view


# ---- the CSV import: every row checked first, then everything in one transaction -------------


@dataclass(frozen=True)
class ImportItem:
    """One product of an import: what to set (variants by SKU) and its prices."""

    code: str
    patch: ProductPatch
    prices: tuple[PriceDraft, ...] = ()


@dataclass(frozen=True)
class ImportProblem:
    code: str  # the product's code
    sku: str | None  # the variant's SKU when the problem is the variant's (or its price's)
    problem: CatalogProblem


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    updated: int
    unchanged: int
    prices_changed: int  # SKUs with a new price on some list


_VARIANT_FIELD = re.compile(r"^variants\[(\d+)\]")


def _merged(session: Session, items: Sequence[ImportItem]) -> dict[str, ProductDraft | None]:
    codes = sorted({i.code for i in items})
    current: dict[str, ProductDraft | None] = dict.fromkeys(codes)
    for chunk in _chunks(codes):
        rows = list(session.scalars(select(Product).where(Product.code.in_(chunk))))
        for view in _views(session, rows):
            current[view.code] = view.draft()
    return current


def check_import(session: Session, items: Sequence[ImportItem]) -> list[ImportProblem]:
    """Every problem of every product of an import (rules, tax categories, SKUs and barcodes of
    other products or twice in the file, price lists); [] when all of it can be applied."""
    current = _merged(session, items)
    out: list[ImportProblem] = []
    drafts: list[tuple[ImportItem, ProductDraft]] = []
    for item in items:
        try:
            draft = rules.normalized(rules.apply_patch(item.code, current[item.code], item.patch))
        except (TypeError, ValueError) as err:
            out.append(ImportProblem(item.code, None, CatalogProblem("", "invalid", str(err))))
            continue
        drafts.append((item, draft))
    found = _lookups(session, [d for _, d in drafts])
    lists: dict[str, tuple[int | None, int | None, str | None] | str] = {}
    in_file_sku: dict[str, str] = {}
    in_file_code: dict[str, tuple[str, str]] = {}
    for item, draft in drafts:

        def sku_of(field: str, d: ProductDraft = draft) -> str | None:
            m = _VARIANT_FIELD.match(field)
            return d.variants[int(m.group(1))].sku if m else None

        invalid, conflicts = _db_problems(draft, found)
        for p in rules.check_product(draft) + invalid + conflicts:
            out.append(ImportProblem(item.code, sku_of(p.field), p))
        for v in draft.variants:
            if in_file_sku.setdefault(v.sku, item.code) != item.code:
                out.append(
                    ImportProblem(
                        item.code,
                        v.sku,
                        CatalogProblem(
                            "sku",
                            "duplicate_sku",
                            f"SKU {v.sku} is in this file under product {in_file_sku[v.sku]} too.",
                        ),
                    )
                )
            for code in v.barcodes:
                owner = next(
                    (
                        in_file_code[a]
                        for a in barcode_rules.same_item_codes(code)
                        if a in in_file_code
                    ),
                    None,
                )
                if owner is not None and owner[0] != item.code:
                    out.append(
                        ImportProblem(
                            item.code,
                            v.sku,
                            CatalogProblem(
                                "barcodes",
                                "duplicate_barcode",
                                f"Barcode {code} is in this file for {owner[1]} "
                                f"(product {owner[0]}) too.",
                            ),
                        )
                    )
                for a in barcode_rules.same_item_codes(code):
                    in_file_code.setdefault(a, (item.code, v.sku))
        skus = {v.sku for v in draft.variants}
        for price in item.prices:
            for problem in rules.check_price(price, "", skus):
                out.append(ImportProblem(item.code, price.sku, problem))
            if price.price_list not in lists:
                try:
                    lists[price.price_list] = _resolve_list(session, price.price_list)
                except InvalidRequest as err:
                    lists[price.price_list] = err.message
            resolved = lists[price.price_list]
            if isinstance(resolved, str):
                out.append(
                    ImportProblem(
                        item.code,
                        price.sku,
                        CatalogProblem("price_list", "unknown_price_list", resolved),
                    )
                )
            elif resolved[2] is not None and resolved[2] != price.currency:
                out.append(
                    ImportProblem(
                        item.code,
                        price.sku,
                        CatalogProblem(
                            "currency",
                            "bad_currency",
                            f"Price list {price.price_list} is in {resolved[2]}, not "
                            f"{price.currency}.",
                        ),
                    )
                )
    return out


def _bulk_prices(session: Session, prices: Sequence[PriceDraft]) -> set[str]:
    """Put many checked prices on their lists with a few queries (what a file of thousands
    needs); the SKUs whose price changed. A price the list holds already changes nothing; one that
    needs closing or resuming rows goes through `catalog.price_change` like any other."""
    if not prices:
        return set()
    now = database_now(session)
    lists = {name: _resolve_list(session, name) for name in {p.price_list for p in prices}}
    ids: dict[str, int] = {}
    for chunk in _chunks(sorted({p.sku for p in prices})):
        rows = session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(chunk)))
        ids.update({sku: i for sku, i in rows})
    latest: dict[tuple[int, int | None, int | None], Price] = {}
    vids = sorted(set(ids.values()))
    for start in range(0, len(vids), 5000):
        for row in session.scalars(
            select(Price)
            .where(Price.variant_id.in_(vids[start : start + 5000]))
            .ext(distinct_on(Price.variant_id, Price.location_id, Price.web_store_id))
            .order_by(
                Price.variant_id, Price.location_id, Price.web_store_id, Price.valid_from.desc()
            )
        ):
            latest[(row.variant_id, row.location_id, row.web_store_id)] = row
    changed: set[str] = set()
    for p in prices:
        location_id, web_store_id, _ = lists[p.price_list]
        held = latest.get((ids[p.sku], location_id, web_store_id))
        at = p.valid_from or now
        if held is None and at >= now:
            session.add(
                Price(
                    variant_id=ids[p.sku],
                    location_id=location_id,
                    web_store_id=web_store_id,
                    amount=p.amount,
                    currency=p.currency,
                    valid_from=at,
                    valid_to=p.valid_to,
                )
            )
            changed.add(p.sku)
        elif (
            held is not None
            and held.valid_to is None
            and p.valid_to is None
            and (held.amount, held.currency) == (p.amount, p.currency)
            and held.valid_from <= at
        ):
            continue
        elif _price(session, p.sku, p):
            changed.add(p.sku)
    session.flush()
    return changed


def apply_import(
    session: Session,
    items: Sequence[ImportItem],
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    """Apply checked import items in the caller's transaction (one outbox row per product that
    changed); raises (and so rolls everything back) on the first problem."""
    current = _merged(session, items)
    drafts = [rules.normalized(rules.apply_patch(i.code, current[i.code], i.patch)) for i in items]
    found = _lookups(session, drafts)
    saved: list[tuple[ImportItem, ProductDraft, Product, list[str]]] = []
    for item, draft in zip(items, drafts, strict=True):
        old = current[item.code]
        row = _locked(session, item.code) if old is not None else None
        row, fields = _save(session, row, old, draft, found)
        saved.append((item, draft, row, fields))
        # New SKUs and barcodes are the file's now: later products see them as taken.
        for v in draft.variants:
            found.sku_product[v.sku] = draft.code
            for code in v.barcodes:
                found.barcode_owner[code] = (draft.code, v.sku)
        if progress is not None:
            progress(1)
    repriced = _bulk_prices(session, [p for item in items for p in item.prices])
    created = updated = unchanged = 0
    for item, draft, row, fields in saved:
        old = current[item.code]
        if any(v.sku in repriced for v in draft.variants):
            fields = [*fields, "price"]
        if not fields:
            unchanged += 1
            continue
        archived = old is not None and old.active and not draft.active
        _changed(
            session,
            row,
            fields,
            "delete" if archived else "upsert",
            source="tillflow:import",
            new=old is None,
        )
        created, updated = (created + 1, updated) if old is None else (created, updated + 1)
    return ImportOutcome(created, updated, unchanged, len(repriced))
