"""Catalogue sync queries: each web store's outbox cursor, our products as a store should show
them, where they sit in its catalogue, its pending product webhooks, and the conflict list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Barcode, Price, Product, Variant
from db.models_catalog import CatalogChange
from db.models_catalog_sync import CatalogConflict, CatalogSyncCursor, CatalogSyncProduct
from db.models_payments import WebhookEvent
from db.repositories import webstores
from domain.catalog_sync import ProductState, Status, VariantState
from domain.errors import Conflict, InvalidRequest, NotFound

ROUND_LIMIT = 500  # outbox rows one push round reads
BARCODE_ORDER = {"EAN13": 0, "UPCA": 1, "EAN8": 2}


def db_now(session: Session) -> datetime:
    now = session.scalar(select(func.now()))
    assert now is not None
    return now


# ---- the cursor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CursorView:
    last_change_id: int
    last_synced_at: datetime | None
    last_resync_at: datetime | None
    prices_checked_at: datetime | None
    last_error: str


def cursor(session: Session, store_id: int) -> CursorView:
    row = session.get(CatalogSyncCursor, store_id)
    if row is None:
        return CursorView(0, None, None, None, "")
    return CursorView(
        row.last_change_id,
        row.last_synced_at,
        row.last_resync_at,
        row.prices_checked_at,
        row.last_error,
    )


def advance(
    session: Session,
    store_id: int,
    *,
    to_change_id: int | None = None,
    prices_checked_at: datetime | None = None,
    resynced: bool = False,
    error: str = "",
) -> None:
    """Move the store's cursor forward (never back: a repeated round is harmless)."""
    now = db_now(session)
    values: dict[str, Any] = {"last_synced_at": now, "updated_at": now, "last_error": error[:2000]}
    if resynced:
        values["last_resync_at"] = now
    if prices_checked_at is not None:
        values["prices_checked_at"] = prices_checked_at
    stmt = insert(CatalogSyncCursor).values(
        store_id=store_id, last_change_id=to_change_id or 0, **values
    )
    set_: dict[str, Any] = dict(values)
    if to_change_id is not None:
        set_["last_change_id"] = func.greatest(CatalogSyncCursor.last_change_id, to_change_id)
    session.execute(stmt.on_conflict_do_update(index_elements=["store_id"], set_=set_))


def start_cursor_at_latest(session: Session, store_id: int) -> None:
    """A store synced for the first time starts at the outbox's end (a full resync sends the
    rest); an existing cursor is kept."""
    latest = session.scalar(select(func.coalesce(func.max(CatalogChange.id), 0))) or 0
    session.execute(
        insert(CatalogSyncCursor)
        .values(store_id=store_id, last_change_id=latest)
        .on_conflict_do_nothing(index_elements=["store_id"])
    )


@dataclass(frozen=True)
class Pending:
    """Outbox rows after a cursor: the newest id, and (of those not from the store itself) how
    many and how old."""

    max_id: int
    others: int
    oldest: datetime | None
    newest: datetime | None


def pending(session: Session, after_id: int, own_source: str) -> Pending:
    mine = CatalogChange.source == own_source
    max_id, others, oldest, newest = session.execute(
        select(
            func.coalesce(func.max(CatalogChange.id), 0),
            func.count().filter(~mine),
            func.min(CatalogChange.created_at).filter(~mine),
            func.max(CatalogChange.created_at).filter(~mine),
        ).where(CatalogChange.id > after_id)
    ).one()
    return Pending(int(max_id), int(others), oldest, newest)


def changes(
    session: Session, after_id: int, upto_id: int, limit: int = ROUND_LIMIT
) -> list[tuple[int, str, str, list[str], str]]:
    """(id, product code, action, fields, source) after the cursor up to `upto_id`, oldest
    first."""
    rows = session.execute(
        select(
            CatalogChange.id,
            CatalogChange.product_code,
            CatalogChange.action,
            CatalogChange.fields,
            CatalogChange.source,
        )
        .where(CatalogChange.id > after_id, CatalogChange.id <= upto_id)
        .order_by(CatalogChange.id)
        .limit(limit)
    ).all()
    return [(i, c, a, list(f or []), s) for i, c, a, f, s in rows]


def prices_started(session: Session, since: datetime, until: datetime) -> list[str]:
    """Products with a scheduled price that started or ended in (since, until]."""
    rows = session.scalars(
        select(Product.code)
        .join(Variant, Variant.product_id == Product.id)
        .join(Price, Price.variant_id == Variant.id)
        .where(
            or_(
                (Price.valid_from > since) & (Price.valid_from <= until),
                (Price.valid_to > since) & (Price.valid_to <= until),
            )
        )
        .distinct()
    )
    return list(rows)


# ---- our products, as a store should show them ---------------------------------------------------


def _price(
    session: Session, variant_id: int, store: webstores.StoreConfig, now: datetime
) -> int | None:
    """The store's own list, else its pricing location's, else the default list; in its
    currency."""
    rows = session.execute(
        select(Price.amount, Price.currency, Price.web_store_id, Price.location_id).where(
            Price.variant_id == variant_id,
            Price.valid_from <= now,
            or_(Price.valid_to.is_(None), Price.valid_to > now),
            or_(
                Price.web_store_id == store.id,
                Price.location_id == store.pricing_location_id
                if store.pricing_location_id
                else false(),
                Price.location_id.is_(None) & Price.web_store_id.is_(None),
            ),
        )
    ).all()

    def rank(row: Any) -> int:
        return 0 if row.web_store_id else 1 if row.location_id else 2

    for row in sorted(rows, key=rank):
        if row.currency == store.currency:
            return int(row.amount)
    return None


def product_state(session: Session, code: str, store: webstores.StoreConfig) -> ProductState | None:
    """The product as `store` should show it (None: no such product)."""
    product = session.scalar(select(Product).where(Product.code == code))
    if product is None:
        return None
    now = db_now(session)
    variants = list(
        session.scalars(
            select(Variant)
            .where(Variant.product_id == product.id, Variant.active.is_(True))
            .order_by(Variant.id)
        )
    )
    codes: dict[int, list[tuple[str, str]]] = {}
    for bc_code, kind, variant_id in session.execute(
        select(Barcode.code, Barcode.kind, Barcode.variant_id).where(
            Barcode.variant_id.in_([v.id for v in variants] or [0])
        )
    ):
        codes.setdefault(variant_id, []).append((kind, bc_code))
    built = tuple(
        VariantState(
            sku=v.sku,
            name=v.name or "",
            options=tuple((str(k), str(val)) for k, val in sorted((v.attributes or {}).items())),
            price=_price(session, v.id, store, now),
            barcode=min(codes[v.id], key=lambda kc: (BARCODE_ORDER.get(kc[0], 9), kc[1]))[1]
            if codes.get(v.id)
            else "",
        )
        for v in variants
    )
    # Never on sale without a price in the store's currency (a store would sell it for 0).
    status: Status = (
        "archived"
        if not product.active or not variants
        else "draft"
        if product.store_only or any(v.price is None for v in built)
        else "active"
    )
    return ProductState(
        code=product.code,
        title=product.name,
        description=product.description or "",
        status=status,
        currency=store.currency,
        variants=built,
    )


def product_code_of_skus(session: Session, skus: Sequence[str]) -> str | None:
    """The product one of these SKUs (or barcodes) belongs to."""
    wanted = [s for s in skus if s]
    if not wanted:
        return None
    found = session.scalar(
        select(Product.code)
        .join(Variant, Variant.product_id == Product.id)
        .where(Variant.sku.in_(wanted))
        .limit(1)
    )
    if found is None:
        found = session.scalar(
            select(Product.code)
            .join(Variant, Variant.product_id == Product.id)
            .join(Barcode, Barcode.variant_id == Variant.id)
            .where(Barcode.code.in_(wanted))
            .limit(1)
        )
    return found


def unknown_products(session: Session, codes: Sequence[str]) -> list[str]:
    """Those of these product codes that name no product."""
    if not codes:
        return []
    known = set(session.scalars(select(Product.code).where(Product.code.in_(list(codes)))))
    return [c for c in codes if c not in known]


def resync_products(session: Session, store_id: int) -> list[str]:
    """Every product a full resync looks at: those sold online, and those the store lists —
    the ones the store does not list yet first, the most recently changed of them first
    (missing in the shop is what hurts, and a new product is the likeliest to be missing),
    then the rest by code."""
    linked = set(
        session.scalars(
            select(CatalogSyncProduct.product_code).where(CatalogSyncProduct.store_id == store_id)
        )
    )
    sold = session.execute(
        select(Product.code)
        .where(Product.active.is_(True), Product.store_only.is_(False))
        .order_by(Product.updated_at.desc(), Product.code)
    ).scalars()
    missing = [code for code in sold if code not in linked]
    return missing + sorted(linked)


# ---- where a product sits in a store ------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    store_id: int
    product_code: str
    external_id: str
    variant_ids: dict[str, str]
    pushed: dict[str, Any]
    remote_version_us: int
    excluded: bool
    last_error: str


def _link(row: CatalogSyncProduct) -> Link:
    return Link(
        row.store_id,
        row.product_code,
        row.external_id,
        dict(row.variant_ids or {}),
        dict(row.pushed or {}),
        row.remote_version_us,
        row.excluded,
        row.last_error,
    )


def link(session: Session, store_id: int, code: str) -> Link | None:
    row = session.get(CatalogSyncProduct, (store_id, code))
    return _link(row) if row else None


def link_by_external(session: Session, store_id: int, external_id: str) -> Link | None:
    row = session.scalar(
        select(CatalogSyncProduct).where(
            CatalogSyncProduct.store_id == store_id, CatalogSyncProduct.external_id == external_id
        )
    )
    return _link(row) if row else None


def save_link(
    session: Session,
    store_id: int,
    code: str,
    *,
    external_id: str | None = None,
    variant_ids: dict[str, str] | None = None,
    pushed: dict[str, Any] | None = None,
    pushed_now: bool = False,
    remote_version_us: int | None = None,
    error: str | None = None,
    excluded: bool | None = None,
) -> None:
    """Create or change the product's link to the store; only the given fields change."""
    values: dict[str, Any] = {}
    if external_id is not None:
        values["external_id"] = external_id
    if variant_ids is not None:
        values["variant_ids"] = variant_ids
    if pushed is not None:
        values["pushed"] = pushed
    if pushed_now:
        values["pushed_at"] = func.now()
    if remote_version_us is not None:
        values["remote_version_us"] = remote_version_us
    if error is not None:
        values["last_error"] = error[:2000]
    if excluded is not None:
        values["excluded"] = excluded
    stmt = insert(CatalogSyncProduct).values(
        store_id=store_id,
        product_code=code,
        **{"variant_ids": {}, "pushed": {}, **values},
    )
    if values:
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["store_id", "product_code"],
                set_={k: stmt.excluded[k] for k in values},
            )
        )
    else:
        session.execute(stmt.on_conflict_do_nothing(index_elements=["store_id", "product_code"]))


def record_listing_error(session: Session, store_id: int, code: str, message: str) -> None:
    """A refusal, on our link and on each of the product's stock listings."""
    save_link(session, store_id, code, error=message)
    skus = session.scalars(
        select(Variant.sku)
        .join(Product, Product.id == Variant.product_id)
        .where(Product.code == code)
    )
    for sku in skus:
        webstores.record_push_error(session, store_id, sku, message)


# ---- product webhooks waiting in the inbox ------------------------------------------------------


def inbound_provider(platform: str) -> str:
    """The inbox provider of a platform's product webhooks (order webhooks keep the platform's
    own name, so the order relay never sees these)."""
    return f"{platform}-catalog"


@dataclass(frozen=True)
class Inbound:
    inbox_id: int
    event_id: str
    topic: str
    body: dict[str, Any]
    triggered_at: str


def pending_inbound(
    session: Session, provider: str, store_code: str, limit: int = 100
) -> list[Inbound]:
    rows = session.scalars(
        select(WebhookEvent)
        .where(
            WebhookEvent.provider == provider,
            WebhookEvent.status == "received",
            WebhookEvent.payload["store"].astext == store_code,
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return [
        Inbound(
            r.id,
            r.event_id,
            r.topic,
            dict((r.payload or {}).get("body") or {}),
            str((r.payload or {}).get("triggered_at") or ""),
        )
        for r in rows
    ]


def count_inbound(session: Session, provider: str, store_code: str) -> int:
    """How many of the store's product webhooks wait (the poll asks this, not for the rows)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(
                WebhookEvent.provider == provider,
                WebhookEvent.status == "received",
                WebhookEvent.payload["store"].astext == store_code,
            )
        )
        or 0
    )


def mark_inbound(session: Session, inbox_id: int, status: str, workflow_id: str) -> None:
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == inbox_id)
        .values(status=status, workflow_id=workflow_id)
    )


# ---- applying a web store's change to the catalogue ---------------------------------------------


def _product_for_update(session: Session, code: str) -> Product:
    product = session.scalar(select(Product).where(Product.code == code).with_for_update())
    if product is None:
        raise NotFound(f"There is no product {code}.")
    return product


def set_text(session: Session, code: str, field: str, value: str) -> None:
    """Change a product's title or description (a version bump: the ETag changes)."""
    product = _product_for_update(session, code)
    if field == "title":
        if not value.strip():
            raise InvalidRequest("A product's title cannot be empty.", code="empty_title")
        product.name = value.strip()[:200]
    elif field == "description":
        product.description = value
    else:
        raise InvalidRequest(f"{field} is not a text field of a product.")
    product.version += 1


def set_store_price(session: Session, sku: str, store_id: int, amount: int, currency: str) -> None:
    """Open a price on the web store's own price list from now on (the open one is closed)."""
    variant = session.scalar(select(Variant).where(Variant.sku == sku))
    if variant is None:
        raise NotFound(f"There is no product with SKU {sku}.")
    if amount < 0:
        raise InvalidRequest("A price cannot be negative.", code="negative_price")
    now = db_now(session)
    current = session.scalar(
        select(Price)
        .where(
            Price.variant_id == variant.id, Price.web_store_id == store_id, Price.valid_to.is_(None)
        )
        .with_for_update()
    )
    if current is not None:
        if current.amount == amount and current.currency == currency:
            return
        if current.valid_from >= now:
            raise Conflict(f"{sku} has a price starting later on this list; change that one.")
        current.valid_to = now
        session.flush()
    session.add(
        Price(
            variant_id=variant.id,
            web_store_id=store_id,
            amount=amount,
            currency=currency,
            valid_from=now,
        )
    )
    product = session.get(Product, variant.product_id)
    if product is not None:
        product.version += 1
    session.flush()


def replace_barcode(session: Session, sku: str, old: str, new: str, kind: str) -> None:
    """The variant is scanned by `new` instead of `old` (a barcode belongs to one variant)."""
    variant = session.scalar(select(Variant).where(Variant.sku == sku))
    if variant is None:
        raise NotFound(f"There is no product with SKU {sku}.")
    owner = session.get(Barcode, new)
    if owner is not None and owner.variant_id != variant.id:
        raise Conflict(f"Barcode {new} belongs to another product.", code="duplicate_barcode")
    if old and old != new:
        found = session.get(Barcode, old)
        if found is not None and found.variant_id == variant.id:
            session.delete(found)
            session.flush()
    if owner is None:
        session.add(Barcode(code=new, variant_id=variant.id, kind=kind))
    product = session.get(Product, variant.product_id)
    if product is not None:
        product.version += 1
    session.flush()


# ---- conflicts ----------------------------------------------------------------------------------


def record_conflict(
    session: Session,
    *,
    store_id: int,
    product_code: str,
    sku: str,
    field: str,
    tillflow_value: str,
    webstore_value: str,
    currency: str = "",
    event_id: str = "",
) -> int:
    """Open a conflict, or refresh the open one of the same store, product, variant and field."""
    stmt = insert(CatalogConflict).values(
        store_id=store_id,
        product_code=product_code,
        sku=sku,
        field=field,
        tillflow_value=tillflow_value,
        webstore_value=webstore_value,
        currency=currency,
        event_id=event_id[:200],
        status="open",
    )
    return int(
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["store_id", "product_code", "sku", "field"],
                index_where=CatalogConflict.status == "open",
                set_={
                    "tillflow_value": stmt.excluded.tillflow_value,
                    "webstore_value": stmt.excluded.webstore_value,
                    "event_id": stmt.excluded.event_id,
                    "detected_at": func.now(),
                },
            ).returning(CatalogConflict.id)
        ).scalar_one()
    )


@dataclass(frozen=True)
class ConflictView:
    id: int
    store: str
    platform: str
    product_code: str
    sku: str
    field: str
    tillflow_value: str
    webstore_value: str
    currency: str
    status: str
    resolution: str
    detected_at: datetime
    resolved_at: datetime | None


def _conflicts_query() -> Any:
    from db.models_webstore import WebStore

    return select(CatalogConflict, WebStore.code, WebStore.platform).join(
        WebStore, WebStore.id == CatalogConflict.store_id
    )


def _view(row: CatalogConflict, code: str, platform: str) -> ConflictView:
    return ConflictView(
        row.id,
        code,
        platform,
        row.product_code,
        row.sku,
        row.field,
        row.tillflow_value,
        row.webstore_value,
        row.currency,
        row.status,
        row.resolution,
        row.detected_at,
        row.resolved_at,
    )


def conflicts(
    session: Session,
    *,
    status: str | None = "open",
    store_code: str | None = None,
    product_code: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[ConflictView], int]:
    """A page of conflicts, newest first, and how many match."""
    from db.models_webstore import WebStore

    q = _conflicts_query()
    count = (
        select(func.count())
        .select_from(CatalogConflict)
        .join(WebStore, WebStore.id == CatalogConflict.store_id)
    )
    for cond in (
        CatalogConflict.status == status if status else None,
        WebStore.code == store_code if store_code else None,
        CatalogConflict.product_code == product_code if product_code else None,
    ):
        if cond is not None:
            q, count = q.where(cond), count.where(cond)
    rows = session.execute(q.order_by(CatalogConflict.id.desc()).limit(limit).offset(offset)).all()
    return [_view(r, c, p) for r, c, p in rows], int(session.scalar(count) or 0)


def conflict_for_update(session: Session, conflict_id: int) -> ConflictView | None:
    row = session.execute(
        _conflicts_query()
        .where(CatalogConflict.id == conflict_id)
        .with_for_update(of=CatalogConflict)
    ).first()
    return _view(*row) if row else None


def resolve_conflict(session: Session, conflict_id: int, keep: str, user_id: int | None) -> None:
    session.execute(
        update(CatalogConflict)
        .where(CatalogConflict.id == conflict_id)
        .values(status="resolved", resolution=keep, resolved_by=user_id, resolved_at=func.now())
    )
