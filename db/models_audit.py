"""The audit log's chain heads (migration 0020): one row per chain (a location, or "central"),
locked FOR UPDATE by each append so a chain has one writer at a time and never forks, while
appends to different chains (different stores) never wait for each other."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class AuditChain(Base):
    """The head of one chain of audit_log: its last row and that row's hash."""

    __tablename__ = "audit_chains"
    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    # None: the central chain. No foreign key: the chain outlives a deleted location.
    location_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    last_id: Mapped[int | None] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))  # the genesis hash while empty
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
