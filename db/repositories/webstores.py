"""Web store connections, the locations each one sells from, and where our SKUs sit in its
catalogue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Location
from db.models_webstore import WebStore, WebStoreListing, WebStoreLocation


@dataclass(frozen=True)
class StoreLocation:
    location_id: int
    code: str
    external_id: str


@dataclass(frozen=True)
class StoreConfig:
    """A connection as adapters and routes need it; secrets still as stored (value or
    secret:NAME)."""

    id: int
    code: str
    platform: str
    name: str
    shop_domain: str
    api_base_url: str
    webhook_secret: str
    access_token: str
    consumer_key: str
    consumer_secret: str
    currency: str
    pricing_location_id: int | None
    active: bool
    locations: tuple[StoreLocation, ...]
    # The webhook secret before the last rotation, accepted until `previous_valid_until`.
    webhook_secret_previous: str = ""
    previous_valid_until: datetime | None = None

    def webhook_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a signed delivery may use now: the current one, and the previous one
        during a rotation window."""
        if (
            self.webhook_secret_previous
            and self.previous_valid_until
            and now < self.previous_valid_until
        ):
            return (self.webhook_secret, self.webhook_secret_previous)
        return (self.webhook_secret,)

    @property
    def location_ids(self) -> tuple[int, ...]:
        return tuple(loc.location_id for loc in self.locations)


@dataclass(frozen=True)
class Listing:
    store_id: int
    sku: str
    product_id: str
    variant_id: str
    inventory_item_id: str
    pushed: Mapping[str, Any]


@dataclass(frozen=True)
class NewStore:
    code: str
    platform: str
    name: str
    currency: str
    shop_domain: str = ""
    api_base_url: str = ""
    webhook_secret: str = ""
    access_token: str = ""
    consumer_key: str = ""
    consumer_secret: str = ""
    storefront_key_hash: str | None = None
    pricing_location_id: int | None = None


def _config(session: Session, row: WebStore) -> StoreConfig:
    locs = session.execute(
        select(WebStoreLocation.location_id, Location.code, WebStoreLocation.external_id)
        .join(Location, Location.id == WebStoreLocation.location_id)
        .where(WebStoreLocation.store_id == row.id)
        .order_by(Location.code)
    ).all()
    return StoreConfig(
        id=row.id,
        code=row.code,
        platform=row.platform,
        name=row.name,
        shop_domain=row.shop_domain,
        api_base_url=row.api_base_url,
        webhook_secret=row.webhook_secret,
        access_token=row.access_token,
        consumer_key=row.consumer_key,
        consumer_secret=row.consumer_secret,
        currency=row.currency,
        pricing_location_id=row.pricing_location_id,
        active=row.active,
        locations=tuple(StoreLocation(i, c, e) for i, c, e in locs),
        webhook_secret_previous=row.webhook_secret_previous,
        previous_valid_until=row.previous_valid_until,
    )


def add_store(
    session: Session, new: NewStore, locations: Sequence[tuple[int, str]]
) -> StoreConfig | None:
    """Create a connection with its (location id, external id) pairs; None when the code is
    taken."""
    store_id = session.execute(
        insert(WebStore)
        .values(**new.__dict__, active=True)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(WebStore.id)
    ).scalar_one_or_none()
    if store_id is None:
        return None
    for location_id, external_id in locations:
        session.add(
            WebStoreLocation(store_id=store_id, location_id=location_id, external_id=external_id)
        )
    session.flush()
    return store(session, new.code)


def store(session: Session, code: str, *, active_only: bool = False) -> StoreConfig | None:
    q = select(WebStore).where(WebStore.code == code)
    row = session.scalar(q.where(WebStore.active) if active_only else q)
    return _config(session, row) if row else None


def store_by_id(session: Session, store_id: int) -> StoreConfig | None:
    row = session.get(WebStore, store_id)
    return _config(session, row) if row else None


def store_by_key_hash(
    session: Session, key_hash: str, now: datetime | None = None
) -> StoreConfig | None:
    """The active store with this storefront key (the previous key too, within its window)."""
    at = now or datetime.now(UTC)
    row = session.scalar(
        select(WebStore).where(
            WebStore.active,
            or_(
                WebStore.storefront_key_hash == key_hash,
                (WebStore.storefront_key_previous_hash == key_hash)
                & (WebStore.previous_valid_until > at),
            ),
        )
    )
    return _config(session, row) if row else None


def rotate_secrets(
    session: Session,
    code: str,
    *,
    storefront_key_hash: str | None,
    webhook_secret: str | None,
    previous_valid_until: datetime,
) -> StoreConfig | None:
    """Replace the storefront key and / or the webhook secret; the replaced ones stay valid until
    `previous_valid_until` (a rotation without downtime). None when there is no such store."""
    row = session.scalar(select(WebStore).where(WebStore.code == code).with_for_update())
    if row is None:
        return None
    if storefront_key_hash is not None:
        row.storefront_key_previous_hash = row.storefront_key_hash
        row.storefront_key_hash = storefront_key_hash
    if webhook_secret is not None:
        row.webhook_secret_previous = row.webhook_secret
        row.webhook_secret = webhook_secret
    row.previous_valid_until = previous_valid_until
    session.flush()
    return _config(session, row)


def stores(
    session: Session, *, active_only: bool = True, platforms: Sequence[str] | None = None
) -> list[StoreConfig]:
    q = select(WebStore).order_by(WebStore.code)
    if active_only:
        q = q.where(WebStore.active)
    if platforms:
        q = q.where(WebStore.platform.in_(list(platforms)))
    return [_config(session, r) for r in session.scalars(q)]


def set_active(session: Session, code: str, active: bool) -> bool:
    result = session.execute(update(WebStore).where(WebStore.code == code).values(active=active))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML executes to a CursorResult


# ---- listings ----------------------------------------------------------------------------------


def listings(session: Session, store_id: int, skus: Sequence[str] | None = None) -> list[Listing]:
    q = (
        select(WebStoreListing)
        .where(WebStoreListing.store_id == store_id)
        .order_by(WebStoreListing.sku)
    )
    if skus is not None:
        q = q.where(WebStoreListing.sku.in_(list(skus)))
    return [
        Listing(
            r.store_id, r.sku, r.product_id, r.variant_id, r.inventory_item_id, dict(r.pushed or {})
        )
        for r in session.scalars(q)
    ]


def upsert_listing(
    session: Session,
    store_id: int,
    sku: str,
    *,
    product_id: str,
    variant_id: str = "",
    inventory_item_id: str = "",
) -> None:
    """Where the SKU sits in the store's catalogue; what we pushed is forgotten if the item
    changed."""
    values = {
        "product_id": product_id,
        "variant_id": variant_id,
        "inventory_item_id": inventory_item_id,
    }
    session.execute(
        insert(WebStoreListing)
        .values(store_id=store_id, sku=sku, pushed={}, last_error="", **values)
        .on_conflict_do_update(
            index_elements=["store_id", "sku"],
            set_={**values, "pushed": {}},
            where=(WebStoreListing.product_id != product_id)
            | (WebStoreListing.variant_id != variant_id)
            | (WebStoreListing.inventory_item_id != inventory_item_id),
        )
    )


def record_push(
    session: Session, store_id: int, sku: str, location_key: str, quantity: int, at: datetime
) -> None:
    """Remember what the store acknowledged, so an unchanged number is not sent again."""
    row = session.get(WebStoreListing, (store_id, sku), with_for_update=True)
    if row is not None:
        row.pushed = {**(row.pushed or {}), location_key: quantity}
        row.pushed_at = at
        row.last_error = ""


def record_push_error(session: Session, store_id: int, sku: str, message: str) -> None:
    session.execute(
        update(WebStoreListing)
        .where(WebStoreListing.store_id == store_id, WebStoreListing.sku == sku)
        .values(last_error=message[:2000])
    )


def listed_skus(session: Session) -> list[str]:
    """Every SKU some active web store lists."""
    return list(
        session.scalars(
            select(WebStoreListing.sku)
            .join(WebStore, WebStore.id == WebStoreListing.store_id)
            .where(WebStore.active)
            .distinct()
            .order_by(WebStoreListing.sku)
        )
    )
