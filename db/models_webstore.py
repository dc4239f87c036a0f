"""Tables of the web-store link: connections, their locations and listings, carts, the order
exception queue and the stock-sync queue (filled by a trigger on stock_levels)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base

PLATFORMS = ("shopify", "woocommerce", "web", "magento")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class WebStore(Base):
    """A connected web store. Secret columns hold the value or `secret:NAME` (from
    TILLFLOW_WEBSTORE_SECRETS)."""

    __tablename__ = "web_stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(
        String(64), unique=True
    )  # the {shop} / {store} in webhook URLs
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    shop_domain: Mapped[str] = mapped_column(String(255), default="")
    api_base_url: Mapped[str] = mapped_column(String(500), default="")  # "" = https://{shop_domain}
    webhook_secret: Mapped[str] = mapped_column(String(300), default="")
    access_token: Mapped[str] = mapped_column(String(300), default="")  # Shopify Admin API
    consumer_key: Mapped[str] = mapped_column(String(300), default="")  # WooCommerce REST
    consumer_secret: Mapped[str] = mapped_column(String(300), default="")
    storefront_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 hex
    # During a rotation the previous storefront key and webhook secret stay valid until then.
    storefront_key_previous_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    webhook_secret_previous: Mapped[str] = mapped_column(String(300), default="", server_default="")
    previous_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(3))
    pricing_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint(
            "platform IN ('shopify', 'woocommerce', 'web', 'magento')", name="platform"
        ),
    )


class WebStoreLocation(Base):
    """Our locations whose stock a web store sells, with the store's own id for each (Shopify)."""

    __tablename__ = "web_store_locations"
    store_id: Mapped[int] = mapped_column(ForeignKey("web_stores.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), default="")


class WebStoreListing(Base):
    """Where one of our SKUs lives in a web store's catalogue, and what we last told it."""

    __tablename__ = "web_store_listings"
    store_id: Mapped[int] = mapped_column(ForeignKey("web_stores.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(64), default="")
    inventory_item_id: Mapped[str] = mapped_column(String(64), default="")
    # {external location id or "": quantity} as last acknowledged by the store
    pushed: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")


class Cart(Base):
    """A storefront cart; its lines are reservations of kind 'cart' with the cart id as
    reference."""

    __tablename__ = "carts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("web_stores.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    pickup_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    # A hash of the shopper's session (header or address): counts their open carts, names no one.
    shopper: Mapped[str] = mapped_column(String(64), default="", server_default="")
    __table_args__ = (
        CheckConstraint("status IN ('open', 'checked_out', 'expired')", name="status"),
        Index("ix_carts_store_id_shopper_status", "store_id", "shopper", "status"),
    )


class OrderException(Base):
    """An online order a person has to look at (unknown SKU, no stock); the order is never
    dropped."""

    __tablename__ = "order_exceptions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    store_code: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # unknown_sku | no_stock | store_only | ...
    sku: Mapped[str] = mapped_column(String(64), default="")  # as the web store sent it
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("workflow_id", "kind", "sku"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        Index("ix_order_exceptions_status", "status"),
    )


class StockSyncEntry(Base):
    """A SKU whose available-to-promise changed and is not yet pushed to the web stores.

    Written by the `stock_levels_sync` trigger, so every path that changes stock (sales,
    reservations, returns, replays, adjustments) is caught; `version` lets an ack delete only
    what was pushed.
    """

    __tablename__ = "stock_sync_queue"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    first_changed_at: Mapped[datetime] = _now()
    changed_at: Mapped[datetime] = _now()
