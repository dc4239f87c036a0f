"""Returns and their lines, and fraud signals raised by them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class Return(Base):
    __tablename__ = "returns"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    return_id: Mapped[str] = mapped_column(String(64), unique=True)  # the till's id for it
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id"), index=True
    )  # None: no receipt
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"))
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # claimed | completed | rejected
    refund_method: Mapped[str] = mapped_column(String(16))  # original | store_credit | exchange
    refund_total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    receiptless: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    exchange_workflow_id: Mapped[str | None] = mapped_column(String(200))
    # Shifts (migration 0022): the till's shift that paid it back; a void names its sale's order.
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    void: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReturnLine(Base):
    __tablename__ = "return_lines"
    return_pk: Mapped[int] = mapped_column(ForeignKey("returns.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_line_no: Mapped[int | None] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    disposition: Mapped[str] = mapped_column(String(16))  # restock | quarantine | damaged
    reason: Mapped[str] = mapped_column(String(200), default="")
    serial: Mapped[str] = mapped_column(String(64), default="")


class FraudSignal(Base):
    __tablename__ = "fraud_signals"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    return_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
