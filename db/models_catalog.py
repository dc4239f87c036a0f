"""The catalogue's transactional outbox: every change of a product (its variants, barcodes and
prices) is one row, written in the transaction that made the change, read by CatalogSync (each web
store keeps its own cursor) and by the tills (the newest id is the catalogue's version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class CatalogChange(Base):
    """One change of one product: `upsert` (created or changed) or `delete` (archived).

    `fields` names what changed (e.g. ["price", "title"]) so a consumer can skip what it does not
    own; `source` says who made it ("tillflow", or "webstore:{code}" for a change that came back
    from a web store's own admin, which that store need not be told again)."""

    __tablename__ = "catalog_changes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    product_code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    fields: Mapped[list[str]] = mapped_column(JSONB, default=list)
    source: Mapped[str] = mapped_column(String(80), default="tillflow", server_default="tillflow")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    __table_args__ = (
        CheckConstraint("action IN ('upsert', 'delete')", name="action"),
        Index("ix_catalog_changes_product_code", "product_code"),
    )
