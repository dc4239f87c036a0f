"""Catalogue, locations, tills and tax rates: read side used by pricing and look-ups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from db.models import Barcode, Location, LocationTaxRate, Price, Product, TaxCategory, Till, Variant
from db.models_shifts import Shift
from db.session import core
from domain.errors import InvalidRequest, NotFound
from domain.pricing import PriceSpan


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    product_code: str
    category: str
    tax_code: str
    unit_price: int | None  # None: no price at this location
    currency: str | None
    barcodes: tuple[str, ...]
    tracks_stock: bool = True
    tax_rate_bp: int | None = None  # the location's rate for tax_code; None: it has none


@dataclass(frozen=True)
class TillView:
    till_id: int
    till_code: str
    till_name: str
    printer_url: str
    location_id: int
    location_code: str
    location_name: str
    address: str
    timezone: str
    currency: str
    prices_include_tax: bool
    card_reader: str = "simulated"
    last_contact_at: datetime | None = None  # the till's last authenticated call (see tills.py)
    shift_required: bool = False  # the store sells only in an open shift
    open_shift_id: int | None = None  # the till's open shift, if any
    locale: str = ""  # how its receipts write money (issue 19); "": EUR 1234.50


def _display_name(product: str, variant: str) -> str:
    return f"{product} ({variant})" if variant else product


def _valid_at(price: Any, at: ColumnElement[Any]) -> ColumnElement[bool]:
    return (price.valid_from <= at) & (price.valid_to.is_(None) | (price.valid_to > at))


def _items_query(
    location_id: int | BindParameter[Any],
    at: ColumnElement[Any] | None = None,
    web_store_id: int | BindParameter[Any] | None = None,
) -> Select[Any]:
    """Items with the price valid at `at` (default: now, as the database's clock has it).

    A location's own price wins over the default price (location_id NULL); with `web_store_id`,
    that web store's own price list wins over both (what its storefront charges)."""
    at = func.now() if at is None else at
    own = aliased(Price)
    default = aliased(Price)
    web = aliased(Price)
    barcodes = (
        select(func.coalesce(func.array_agg(Barcode.code), []))
        .where(Barcode.variant_id == Variant.id)
        .correlate(Variant)
        .scalar_subquery()
    )
    if web_store_id is None:
        amount: ColumnElement[Any] = func.coalesce(own.amount, default.amount)
        currency: ColumnElement[Any] = case(
            (own.id.is_not(None), own.currency), else_=default.currency
        )
    else:
        amount = func.coalesce(web.amount, own.amount, default.amount)
        currency = case(
            (web.id.is_not(None), web.currency),
            (own.id.is_not(None), own.currency),
            else_=default.currency,
        )
    query = (
        select(
            Variant.sku,
            Variant.name,
            Product.name,
            Product.code,
            Product.category,
            TaxCategory.code,
            amount,
            currency,
            barcodes,
            Product.tracks_stock,
            LocationTaxRate.rate_bp,
        )
        .join(Product, Product.id == Variant.product_id)
        .join(TaxCategory, TaxCategory.id == Product.tax_category_id)
        .outerjoin(
            LocationTaxRate,
            (LocationTaxRate.tax_category_id == TaxCategory.id)
            & (LocationTaxRate.location_id == location_id)
            & _valid_at(LocationTaxRate, at),
        )
        .outerjoin(
            own,
            (own.variant_id == Variant.id) & (own.location_id == location_id) & _valid_at(own, at),
        )
        .outerjoin(
            default,
            (default.variant_id == Variant.id)
            & default.location_id.is_(None)
            & default.web_store_id.is_(None)
            & _valid_at(default, at),
        )
    )
    if web_store_id is not None:
        query = query.outerjoin(
            web,
            (web.variant_id == Variant.id)
            & (web.web_store_id == web_store_id)
            & _valid_at(web, at),
        )
    return query.where(Variant.active, Product.active)


def _item(row: Sequence[Any]) -> CatalogItem:
    sku, vname, pname, pcode, category, tax_code, amount, currency, codes, tracks, rate = row
    return CatalogItem(
        sku=sku,
        name=_display_name(pname, vname),
        product_code=pcode,
        category=category,
        tax_code=tax_code,
        unit_price=amount,
        currency=currency,
        barcodes=tuple(codes or ()),
        tracks_stock=tracks,
        tax_rate_bp=rate,
    )


# Built once with bound parameters: a till looks items up on every scan and every sale, and
# building this statement (aliases, a correlated subquery) costs more than running it.
_BY_BARCODE = (
    _items_query(bindparam("location_id"))
    .join(Barcode, Barcode.variant_id == Variant.id)
    .where(Barcode.code == bindparam("code"))
)
_BY_SKU = _items_query(bindparam("location_id")).where(
    Variant.sku.in_(bindparam("skus", expanding=True))
)
# The same as of a given time: an offline sale is priced with what the catalogue said when it sold.
_BY_SKU_AT = _items_query(bindparam("location_id"), bindparam("at")).where(
    Variant.sku.in_(bindparam("skus", expanding=True))
)


# A web store's storefront: its own price list first, then its pricing location's, then default.
_BY_SKU_WEB = _items_query(bindparam("location_id"), web_store_id=bindparam("web_store_id")).where(
    Variant.sku.in_(bindparam("skus", expanding=True))
)
_BY_SKU_WEB_AT = _items_query(
    bindparam("location_id"), bindparam("at"), web_store_id=bindparam("web_store_id")
).where(Variant.sku.in_(bindparam("skus", expanding=True)))


def item_by_barcode(session: Session, location_id: int, code: str) -> CatalogItem | None:
    row = core(session).execute(_BY_BARCODE, {"location_id": location_id, "code": code}).first()
    return _item(row) if row else None


def items_by_sku(
    session: Session,
    location_id: int,
    skus: Iterable[str],
    at: datetime | None = None,
    *,
    web_store_id: int | None = None,
) -> dict[str, CatalogItem]:
    """The items with their price valid now, or at `at`: the location's (else the default) or,
    with `web_store_id`, that web store's own price first."""
    params: dict[str, Any] = {"location_id": location_id, "skus": sorted(set(skus))}
    if web_store_id is not None:
        params["web_store_id"] = web_store_id
        statement = _BY_SKU_WEB if at is None else _BY_SKU_WEB_AT
    else:
        statement = _BY_SKU if at is None else _BY_SKU_AT
    rows = core(session).execute(statement, params if at is None else {**params, "at": at})
    return {item.sku: item for item in map(_item, rows)}


def search_items(session: Session, location_id: int, q: str, limit: int = 20) -> list[CatalogItem]:
    """Items whose SKU starts with `q` or whose product / variant name contains it (case
    blind), with their price here now: the till's search when a barcode will not scan."""
    term = q.strip()
    like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = _items_query(location_id).where(
        Variant.sku.ilike(like.lstrip("%"), escape="\\")
        | Product.name.ilike(like, escape="\\")
        | Variant.name.ilike(like, escape="\\")
    )
    rows = session.execute(query.order_by(Product.name, Variant.sku).limit(limit))
    return [_item(r) for r in rows]


def all_items(session: Session, location_id: int, at: datetime | None = None) -> list[CatalogItem]:
    """Every active item with its price valid now, or at `at` (an offline snapshot's time)."""
    query = _items_query(location_id, None if at is None else literal(at))
    return [_item(r) for r in session.execute(query.order_by(Variant.sku))]


_TAX_RATES = (
    select(TaxCategory.code, LocationTaxRate.rate_bp)
    .join(LocationTaxRate, LocationTaxRate.tax_category_id == TaxCategory.id)
    .where(
        LocationTaxRate.location_id == bindparam("location_id"),
        _valid_at(LocationTaxRate, func.now()),
    )
)


def change_tax_rate(
    session: Session, location_id: int, tax_code: str, rate_bp: int, *, at: datetime | None = None
) -> LocationTaxRate:
    """Change a tax category's rate at a location from `at` on (default: now): the rate open
    until then is closed at `at`, so earlier sales keep their rate. The caller commits."""
    category_id = session.scalar(select(TaxCategory.id).where(TaxCategory.code == tax_code))
    if category_id is None:
        raise NotFound(f"There is no tax category {tax_code}.")
    if not 0 <= rate_bp <= 10_000:
        raise InvalidRequest("A tax rate is 0 to 10000 basis points (0 to 100 %).")
    now = session.scalar(select(func.now()))
    assert now is not None
    at = now if at is None else at
    if at < now:
        raise InvalidRequest("A tax change starts now or later: past rates are never rewritten.")
    current = session.scalar(
        select(LocationTaxRate)
        .where(
            LocationTaxRate.location_id == location_id,
            LocationTaxRate.tax_category_id == category_id,
            LocationTaxRate.valid_to.is_(None),
        )
        .with_for_update()
    )
    if current is not None:
        if current.rate_bp == rate_bp:
            return current
        if at <= current.valid_from:
            raise InvalidRequest("A tax change must start after the current rate's start.")
        current.valid_to = at
        session.flush()
    row = LocationTaxRate(
        location_id=location_id, tax_category_id=category_id, rate_bp=rate_bp, valid_from=at
    )
    session.add(row)
    session.flush()
    return row


def tax_rates(session: Session, location_id: int) -> dict[str, int]:
    return {
        code: rate for code, rate in core(session).execute(_TAX_RATES, {"location_id": location_id})
    }


# Built once: every sale and every till request looks its till up.
TILL_VIEW = (
    select(
        Till.id,
        Till.code,
        Till.name,
        Till.printer_url,
        Location.id,
        Location.code,
        Location.name,
        Location.address,
        Location.timezone,
        Location.currency,
        Location.prices_include_tax,
        Till.card_reader,
        Till.last_contact_at,
        Location.shift_required,
        select(Shift.id)
        .where(Shift.till_id == Till.id, Shift.status == "open")
        .limit(1)
        .scalar_subquery()
        .label("open_shift_id"),
        Location.locale,
    )
    .join(Location, Location.id == Till.location_id)
    .where(Till.code == bindparam("code"), Till.active)
)


def till_view(session: Session, till_code: str) -> TillView | None:
    row = core(session).execute(TILL_VIEW, {"code": till_code}).first()
    return None if row is None else TillView(*row)


def list_tills(session: Session) -> list[TillView]:
    codes = session.scalars(select(Till.code).where(Till.active).order_by(Till.code)).all()
    return [v for c in codes if (v := till_view(session, c)) is not None]


def configure_till(
    session: Session,
    till_code: str,
    *,
    card_reader: str | None = None,
    printer_url: str | None = None,
) -> bool:
    """Set a till's card reader and/or printer; False when the till does not exist."""
    till = session.scalar(select(Till).where(Till.code == till_code))
    if till is None:
        return False
    if card_reader is not None:
        till.card_reader = card_reader
    if printer_url is not None:
        till.printer_url = printer_url
    return True


# ---- price history: rows are closed, never overwritten --------------------------------------


def change_price(
    session: Session,
    sku: str,
    amount: int,
    currency: str,
    *,
    location_id: int | None = None,
    web_store_id: int | None = None,
    at: datetime | None = None,
    valid_to: datetime | None = None,
) -> Price:
    """See `price_change`; the price row that holds from `at`."""
    return price_change(
        session,
        sku,
        amount,
        currency,
        location_id=location_id,
        web_store_id=web_store_id,
        at=at,
        valid_to=valid_to,
    )[0]


def price_change(
    session: Session,
    sku: str,
    amount: int,
    currency: str,
    *,
    location_id: int | None = None,
    web_store_id: int | None = None,
    at: datetime | None = None,
    valid_to: datetime | None = None,
) -> tuple[Price, bool]:
    """Change a SKU's price on one price list (a store's own with `location_id`, a web store's own
    with `web_store_id`, else the default) from `at` on (default: now) until `valid_to` (default:
    open). The list's latest row is closed at `at` and a new row opens there, so every earlier
    sale can still be priced as it was; with `valid_to` (a temporary price, a promotion) what was
    to hold then resumes at `valid_to`. Rows already in effect are never rewritten, only ended.
    For the back office; the caller commits. (row, False) when the list holds that price already.
    """
    variant_id = session.scalar(select(Variant.id).where(Variant.sku == sku))
    if variant_id is None:
        raise NotFound(f"There is no product with SKU {sku}.")
    if amount < 0:
        raise InvalidRequest("A price cannot be negative.", code="bad_amount")
    if location_id is not None and web_store_id is not None:
        raise InvalidRequest("A price is on one price list: a location's or a web store's.")
    now = session.scalar(select(func.now()))
    assert now is not None
    at = now if at is None else at
    if at < now:
        raise InvalidRequest(
            "A price change starts now or later: past prices are never rewritten.",
            code="bad_price_period",
        )
    if valid_to is not None and valid_to <= at:
        raise InvalidRequest(
            f"valid_to ({valid_to.isoformat()}) must be after the price's start "
            f"({at.isoformat()}).",
            code="bad_price_period",
        )
    where = (
        Price.location_id == location_id
        if location_id is not None
        else Price.web_store_id == web_store_id
        if web_store_id is not None
        else (Price.location_id.is_(None) & Price.web_store_id.is_(None))
    )
    # The list's rows form one sequence in time; only its last one may be open or end later.
    latest = session.scalar(
        select(Price)
        .where(Price.variant_id == variant_id, where)
        .order_by(Price.valid_from.desc())
        .limit(1)
        .with_for_update()
    )
    resume: tuple[int, str, datetime | None] | None = None
    if latest is not None:
        if (
            valid_to is None
            and latest.valid_to is None
            and latest.amount == amount
            and latest.currency == currency
            and latest.valid_from <= at
        ):
            return latest, False  # nothing changes
        if latest.valid_to is None or latest.valid_to > at:
            if at <= latest.valid_from:
                raise InvalidRequest(
                    f"{sku} has a price from {latest.valid_from.isoformat()} on this list; a "
                    "change must start after it.",
                    code="bad_price_period",
                )
            if valid_to is not None and (latest.valid_to is None or latest.valid_to > valid_to):
                resume = (latest.amount, latest.currency, latest.valid_to)
            latest.valid_to = at
            session.flush()
    row = Price(
        variant_id=variant_id,
        location_id=location_id,
        web_store_id=web_store_id,
        amount=amount,
        currency=currency,
        valid_from=at,
        valid_to=valid_to,
    )
    session.add(row)
    session.flush()
    if resume is not None and valid_to is not None:
        back_amount, back_currency, back_to = resume
        session.add(
            Price(
                variant_id=variant_id,
                location_id=location_id,
                web_store_id=web_store_id,
                amount=back_amount,
                currency=back_currency,
                valid_from=valid_to,
                valid_to=back_to,
            )
        )
        session.flush()
    return row, True


def price_spans(
    session: Session, location_id: int, sku: str, start: datetime, end: datetime
) -> list[PriceSpan]:
    """The SKU's price rows at this store (its own and the default) valid at some time of
    [start, end]."""
    rows = session.execute(
        select(Price.amount, Price.currency, Price.valid_from, Price.valid_to, Price.location_id)
        .join(Variant, Variant.id == Price.variant_id)
        .where(
            Variant.sku == sku,
            (Price.location_id == location_id)
            | (Price.location_id.is_(None) & Price.web_store_id.is_(None)),
            Price.valid_from <= end,
            Price.valid_to.is_(None) | (Price.valid_to > start),
        )
        .order_by(Price.valid_from)
    )
    return [
        PriceSpan(amount, currency, valid_from, valid_to, own=loc is not None)
        for amount, currency, valid_from, valid_to, loc in rows
    ]
