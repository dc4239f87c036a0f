"""Promotions (issue 17): the promotions head office sets up, their coupons, and two append-only
ledgers keyed by the sale's or order's workflow id: what each sale reserved of a promotion's budget
and which coupon it redeemed (a release is another row, never an update)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class PromotionRow(Base):
    __tablename__ = "promotions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    rule: Mapped[dict[str, Any]] = mapped_column(JSONB)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    combination_class: Mapped[str] = mapped_column(String(8))  # product | order (from the rule)
    combines_with: Mapped[list[str]] = mapped_column(JSONB, default=list)
    channels: Mapped[list[str]] = mapped_column(JSONB, default=list)  # empty: every channel
    customer_groups: Mapped[list[str]] = mapped_column(JSONB, default=list)  # empty: everyone
    location_codes: Mapped[list[str]] = mapped_column(JSONB, default=list)  # empty: everywhere
    # Wall-clock times in each location's own timezone (a 9:00 start is 9:00 in every store).
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    requires_coupon: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str | None] = mapped_column(String(3))
    budget_amount: Mapped[int | None] = mapped_column(BigInteger)  # total discount, minor units
    budget_uses: Mapped[int | None] = mapped_column(Integer)  # sales it may apply to
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("combination_class IN ('product', 'order')", name="combination_class"),
        CheckConstraint("budget_amount IS NULL OR budget_amount >= 0", name="budget_amount"),
        CheckConstraint("budget_uses IS NULL OR budget_uses >= 0", name="budget_uses"),
    )


class Coupon(Base):
    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # upper-cased
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    multi_use: Mapped[bool] = mapped_column(Boolean, default=False)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1", name="per_customer_limit"
        ),
    )


class CouponRedemption(Base):
    """Append-only: a coupon taken by one sale (kind "reserve") or given back ("release")."""

    __tablename__ = "coupon_redemptions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200), index=True)  # the sale's / order's workflow id
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("coupon_id", "key", "kind"),
        CheckConstraint("kind IN ('reserve', 'release')", name="kind"),
    )


class PromotionBudgetUsage(Base):
    """Append-only: the discount (and one use) a sale reserved of a promotion, or gave back."""

    __tablename__ = "promotion_budget_usage"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units, >= 0 (a release repeats it)
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("promotion_id", "key", "kind"),
        CheckConstraint("kind IN ('reserve', 'release')", name="kind"),
        CheckConstraint("amount >= 0", name="amount"),
    )


class PromotionVersion(Base):
    """Append-only: a promotion's terms from one save on (an offline sale is priced with the
    terms valid when the till sold it; the row's budget is never part of them)."""

    __tablename__ = "promotion_versions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    version: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False, index=True
    )
    __table_args__ = (UniqueConstraint("promotion_id", "version"),)
