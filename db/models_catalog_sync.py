"""Catalogue sync with the web stores: each store's outbox cursor, where each of our products sits
in its catalogue (with what we last told it), and the conflicts a person has to decide."""

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
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class CatalogSyncCursor(Base):
    """How far one web store has been told of the catalogue outbox (catalog_changes.id)."""

    __tablename__ = "catalog_sync_cursors"
    store_id: Mapped[int] = mapped_column(ForeignKey("web_stores.id"), primary_key=True)
    last_change_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_resync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Scheduled prices that started (or ended) up to this time have been pushed.
    prices_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = _now()


class CatalogSyncProduct(Base):
    """One of our products in one web store's catalogue: its ids there and what we last told it
    (`pushed`), so a repeat is skipped and an echo of our own push is not taken for an edit."""

    __tablename__ = "catalog_sync_products"
    store_id: Mapped[int] = mapped_column(ForeignKey("web_stores.id"), primary_key=True)
    product_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # {sku: the store's variant id}
    variant_ids: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {"title", "description", "status", "variants": {sku: {"price", "barcode"}}}
    pushed: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The store's own modification time of the newest product webhook applied (microseconds).
    remote_version_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The store deleted it and a manager kept it that way: not pushed to this store any more.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    __table_args__ = (Index("ix_catalog_sync_products_external_id", "store_id", "external_id"),)


CONFLICT_FIELDS = ("title", "description", "price", "barcode", "deleted", "product")


class CatalogConflict(Base):
    """A web store's own admin changed something tillflow owns (or something tillflow does not
    know): tillflow's value was pushed back, and a person decides which one stays."""

    __tablename__ = "catalog_conflicts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("web_stores.id"))
    product_code: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64), default="", server_default="")
    field: Mapped[str] = mapped_column(String(16))
    tillflow_value: Mapped[str] = mapped_column(Text, default="", server_default="")
    webstore_value: Mapped[str] = mapped_column(Text, default="", server_default="")
    currency: Mapped[str] = mapped_column(String(3), default="", server_default="")
    event_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    resolution: Mapped[str] = mapped_column(String(16), default="", server_default="")
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detected_at: Mapped[datetime] = _now()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint(
            "field IN ('title', 'description', 'price', 'barcode', 'deleted', 'product')",
            name="field",
        ),
        # One open conflict per store, product, variant and field: a repeat edit updates it.
        Index(
            "uq_catalog_conflicts_open",
            "store_id",
            "product_code",
            "sku",
            "field",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_catalog_conflicts_status", "status"),
    )
