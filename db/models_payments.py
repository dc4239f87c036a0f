"""Gift cards, store credit (both append-only ledgers with a guarded balance) and the webhook
inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, Payment

# A card payment's provider object (a Stripe PaymentIntent) pays for one payment row, ever: an
# offline journal naming a PaymentIntent another sale already recorded can never be applied with
# it. Rows still without a reference ("creating") are left out.
Index(
    "uq_payments_card_provider_ref",
    Payment.provider_ref,
    unique=True,
    postgresql_where=text("tender = 'card' AND provider_ref <> ''"),
)


class GiftCard(Base):
    __tablename__ = "gift_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    # Kept equal to the sum of the card's ledger in the same transaction; never below zero.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)


class GiftCardEntry(Base):
    __tablename__ = "gift_card_ledger"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    gift_card_id: Mapped[int] = mapped_column(ForeignKey("gift_cards.id"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))  # issue | reload | redeem | refund | reversal
    reference: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StoreCreditAccount(Base):
    __tablename__ = "store_credit_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)


class StoreCreditEntry(Base):
    __tablename__ = "store_credit_ledger"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("store_credit_accounts.id"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookEvent(Base):
    """Every verified webhook delivery, once per provider event id (the dedupe)."""

    __tablename__ = "webhook_inbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(
        String(16), default="received"
    )  # received|signalled|recorded
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    __table_args__ = (UniqueConstraint("provider", "event_id"),)
