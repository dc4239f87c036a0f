"""Customer profiles (issue 17): beside the bare `customers` row (name, primary email and phone
mirrored there for the till look-up, card code), a profile row (tax exemption, notes, merged /
erased), several emails and phones, addresses, and the marketing-consent history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class CustomerProfile(Base):
    """One per customer that has been touched since profiles exist (none: all defaults)."""

    __tablename__ = "customer_profiles"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tax_exempt: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A duplicate merged into another profile keeps its row and points at the survivor.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Customer groups promotions may be scoped to (e.g. "staff", "wholesale"); the loyalty tier
    # counts as a group too (migration 0034).
    groups: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    updated_at: Mapped[datetime] = _now()


class CustomerEmail(Base):
    __tablename__ = "customer_emails"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="api")  # till | web | api
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        Index(
            "uq_customer_emails_primary",
            "customer_id",
            unique=True,
            postgresql_where=text("is_primary"),
        ),
    )


class CustomerPhone(Base):
    __tablename__ = "customer_phones"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        Index(
            "uq_customer_phones_primary",
            "customer_id",
            unique=True,
            postgresql_where=text("is_primary"),
        ),
    )


class CustomerAddress(Base):
    __tablename__ = "customer_addresses"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="home")  # home | billing | shipping
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = _now()


class CustomerConsent(Base):
    """Append-only: each grant or withdrawal of marketing consent on one channel, its source and
    time. Holds no contact detail, so it survives erasure."""

    __tablename__ = "customer_consents"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms | post
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(16))  # till | web | form | api | import
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = _now()
