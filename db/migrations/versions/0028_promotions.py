"""promotions: promotions, coupons, and the append-only coupon redemptions and budget usage keyed
by the sale's workflow id (issue 17; models in db/models_promotions.py)

Revision ID: 0028_promotions
Revises: 0022_sale_shifts
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0028_promotions"
down_revision = "0022_sale_shifts"
branch_labels = ("promotions",)
depends_on = None

LEDGERS = ("coupon_redemptions", "promotion_budget_usage")


def _now(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=False)


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _json("rule"),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("combination_class", sa.String(8), nullable=False),
        _json("combines_with"),
        _json("channels"),
        _json("customer_groups"),
        _json("location_codes"),
        sa.Column("starts_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=False), nullable=True),
        _json("windows"),
        sa.Column("requires_coupon", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("budget_amount", sa.BigInteger(), nullable=True),
        sa.Column("budget_uses", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _now(),
        _now("updated_at"),
        sa.CheckConstraint(
            "combination_class IN ('product', 'order')",
            name="ck_promotions_combination_class",
        ),
        sa.CheckConstraint(
            "budget_amount IS NULL OR budget_amount >= 0", name="ck_promotions_budget_amount"
        ),
        sa.CheckConstraint(
            "budget_uses IS NULL OR budget_uses >= 0", name="ck_promotions_budget_uses"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_promotions"),
        sa.UniqueConstraint("code", name="uq_promotions_code"),
    )
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column(
            "promotion_id",
            sa.Integer(),
            sa.ForeignKey("promotions.id", name="fk_coupons_promotion_id_promotions"),
            nullable=False,
        ),
        sa.Column("multi_use", sa.Boolean(), nullable=False),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _now(),
        sa.CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1",
            name="ck_coupons_per_customer_limit",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_coupons"),
        sa.UniqueConstraint("code", name="uq_coupons_code"),
    )
    op.create_index("ix_coupons_promotion_id", "coupons", ["promotion_id"])
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "coupon_id",
            sa.Integer(),
            sa.ForeignKey("coupons.id", name="fk_coupon_redemptions_coupon_id_coupons"),
            nullable=False,
        ),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        _now(),
        sa.CheckConstraint("kind IN ('reserve', 'release')", name="ck_coupon_redemptions_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_coupon_redemptions"),
        sa.UniqueConstraint(
            "coupon_id", "key", "kind", name="uq_coupon_redemptions_coupon_id_key_kind"
        ),
    )
    op.create_index("ix_coupon_redemptions_coupon_id", "coupon_redemptions", ["coupon_id"])
    op.create_index("ix_coupon_redemptions_key", "coupon_redemptions", ["key"])
    op.create_table(
        "promotion_budget_usage",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "promotion_id",
            sa.Integer(),
            sa.ForeignKey(
                "promotions.id", name="fk_promotion_budget_usage_promotion_id_promotions"
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("coupon_code", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        _now(),
        sa.CheckConstraint("kind IN ('reserve', 'release')", name="ck_promotion_budget_usage_kind"),
        sa.CheckConstraint("amount >= 0", name="ck_promotion_budget_usage_amount"),
        sa.PrimaryKeyConstraint("id", name="pk_promotion_budget_usage"),
        sa.UniqueConstraint(
            "promotion_id", "key", "kind", name="uq_promotion_budget_usage_promotion_id_key_kind"
        ),
    )
    op.create_index(
        "ix_promotion_budget_usage_promotion_id", "promotion_budget_usage", ["promotion_id"]
    )
    op.create_index("ix_promotion_budget_usage_key", "promotion_budget_usage", ["key"])
    # The two ledgers are append-only, like the others (the function is the initial schema's).
    for table in LEDGERS:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tillflow_append_only()"
        )


def downgrade() -> None:
    for table in LEDGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.drop_index("ix_promotion_budget_usage_key", table_name="promotion_budget_usage")
    op.drop_index("ix_promotion_budget_usage_promotion_id", table_name="promotion_budget_usage")
    op.drop_table("promotion_budget_usage")
    op.drop_index("ix_coupon_redemptions_key", table_name="coupon_redemptions")
    op.drop_index("ix_coupon_redemptions_coupon_id", table_name="coupon_redemptions")
    op.drop_table("coupon_redemptions")
    op.drop_index("ix_coupons_promotion_id", table_name="coupons")
    op.drop_table("coupons")
    op.drop_table("promotions")
