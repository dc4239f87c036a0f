"""Which till actions need a manager's approval at a store, and up to what limit (migration 0022).

One row per store and action that differs from the defaults in `domain/approvals.py`; a store
without rows follows the defaults. Edited by head office and the store's managers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class StorePermission(Base):
    __tablename__ = "store_permissions"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    action: Mapped[str] = mapped_column(String(32), primary_key=True)
    approval: Mapped[bool] = mapped_column(Boolean)  # a cashier needs a manager's PIN for it
    # Up to this a cashier may act alone: basis points for discounts, minor units for amounts;
    # None: no allowance (every time needs approval while `approval` is on).
    cashier_limit: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
