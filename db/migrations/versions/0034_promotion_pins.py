"""promotion pins: an append-only history of every promotion's terms (an offline sale is priced
with the promotions of its time), what each order line got from which promotion, and customer
groups on the profile (promotions scoped to a group) (issue 17)

Revision ID: 0034_promotion_pins
Revises: 0028_promotions, 0027_customer_profiles
Create Date: 2026-12-01 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0034_promotion_pins"
down_revision = ("0028_promotions", "0027_customer_profiles")  # merges the two: groups, lines
branch_labels = ("promotion_pins",)
depends_on = None


def _json(name: str) -> sa.Column[object]:
    return sa.Column(
        name,
        postgresql.JSONB(astext_type=sa.Text()),
        server_default=sa.text("'[]'::jsonb"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "promotion_versions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("promotion_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name="fk_promotion_versions_promotion_id_promotions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_promotion_versions"),
        sa.UniqueConstraint(
            "promotion_id", "version", name="uq_promotion_versions_promotion_id_version"
        ),
    )
    op.create_index(
        "ix_promotion_versions_recorded_at", "promotion_versions", ["recorded_at"], unique=False
    )
    op.add_column("order_lines", _json("promotions"))
    op.add_column("customer_profiles", _json("groups"))
    # The promotions saved before this history: their current terms, as of their last change.
    op.execute(
        """
        INSERT INTO promotion_versions (promotion_id, version, terms, recorded_at)
        SELECT id, version, jsonb_build_object(
            'code', code, 'name', name, 'kind', kind, 'rule', rule, 'priority', priority,
            'combines_with', combines_with, 'channels', channels,
            'customer_groups', customer_groups, 'location_codes', location_codes,
            'starts_at', starts_at, 'ends_at', ends_at, 'windows', windows,
            'requires_coupon', requires_coupon, 'currency', currency,
            'budgeted', (budget_amount IS NOT NULL OR budget_uses IS NOT NULL), 'active', active),
            updated_at
        FROM promotions
        """
    )


def downgrade() -> None:
    op.drop_column("customer_profiles", "groups")
    op.drop_column("order_lines", "promotions")
    op.drop_index("ix_promotion_versions_recorded_at", table_name="promotion_versions")
    op.drop_table("promotion_versions")
