"""Loyalty points (issue 17): one account per customer (balance guarded by a lock and a CHECK, the
tier and the 12-month spend it comes from) and an append-only points ledger, like gift cards.

Every credit (earn, positive adjust, refund of a redemption) is a lot with its own expiry; every
debit (redeem, reverse, negative adjust, expire) consumes the lots first-in first-out
(domain/loyalty.py). An expire row names the lot it closes, once (its idempotency key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base

ENTRY_KINDS = ("earn", "reverse", "expire", "redeem", "refund_redeem", "adjust")


class LoyaltyAccount(Base):
    __tablename__ = "loyalty_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    # Kept equal to the sum of the account's ledger in the same transaction; never below zero.
    balance: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tier: Mapped[str] = mapped_column(String(32), default="base", server_default="base")
    # Minor units spent over the last 12 months (earns minus returns), the tier's basis.
    spend_12m: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)


class LoyaltyEntry(Base):
    __tablename__ = "loyalty_ledger"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("loyalty_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)  # signed: credits > 0, debits < 0
    # The sale / order / return workflow id (or "adjust:…", "expiry"), what the row is for.
    reference: Mapped[str] = mapped_column(String(200), default="")
    # Earn and reverse: the order whose points they are (a return reverses its sale's earn).
    order_workflow_id: Mapped[str | None] = mapped_column(String(200), index=True)
    # Minor units the row adds to (earn) or takes off (reverse) the 12-month spend.
    spend: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Credits: when what is left of this lot expires. Expire rows: the lot they close.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_ledger.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    __table_args__ = (
        CheckConstraint(
            "kind IN ('earn', 'reverse', 'expire', 'redeem', 'refund_redeem', 'adjust')",
            name="kind",
        ),
        # Lots still open are found by their expiry (the daily run).
        Index("ix_loyalty_ledger_expires_at", "expires_at"),
    )
