"""Stripe's side of the tender reconciliation (migration 0024): every balance transaction of the
gateway's account (charges, refunds, dispute adjustments, payouts), copied by the
`reconciliation.sync_stripe` activity and upserted on Stripe's id, with the payout each belongs
to once Stripe paid it out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class StripeBalanceTxn(Base):
    __tablename__ = "stripe_balance_txns"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # txn_…
    # charge | payment | refund | payment_refund | adjustment | payout | stripe_fee | …
    type: Mapped[str] = mapped_column(String(40))
    reporting_category: Mapped[str] = mapped_column(String(60), default="", server_default="")
    amount: Mapped[int] = mapped_column(BigInteger)  # gross, minor units, signed as Stripe has it
    fee: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))  # upper case, as tillflow writes currencies
    status: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    available_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_id: Mapped[str] = mapped_column(
        String(100), default="", server_default=""
    )  # ch_/re_/dp_
    payment_intent: Mapped[str] = mapped_column(String(100), default="", server_default="")
    charge_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # source's metadata etc.
    payout_id: Mapped[str | None] = mapped_column(String(100))  # po_…, once paid out
    payout_status: Mapped[str | None] = mapped_column(String(16))
    payout_arrival: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    __table_args__ = (
        Index("ix_stripe_balance_txns_created_at", "created_at"),
        Index("ix_stripe_balance_txns_payment_intent", "payment_intent"),
        Index("ix_stripe_balance_txns_source_id", "source_id"),
    )
