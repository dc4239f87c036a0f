"""tax rates keep their history: valid_from / valid_to per location and category, so an offline
sale is taxed as of its time

Revision ID: 0013_tax_history
Revises: 0001
Create Date: 2026-12-01 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_tax_history"
down_revision = "0001"
branch_labels = ("tax_history",)
depends_on = None


def upgrade() -> None:
    op.add_column(
        "location_tax_rates",
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("'1970-01-01 00:00:00+00'"),
            nullable=False,
        ),
    )
    op.add_column(
        "location_tax_rates", sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_constraint("pk_location_tax_rates", "location_tax_rates", type_="primary")
    op.create_primary_key(
        "pk_location_tax_rates",
        "location_tax_rates",
        ["location_id", "tax_category_id", "valid_from"],
    )
    op.create_check_constraint(
        "valid_range", "location_tax_rates", "valid_to IS NULL OR valid_to > valid_from"
    )
    op.create_index(
        "uq_location_tax_rates_open",
        "location_tax_rates",
        ["location_id", "tax_category_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_location_tax_rates_open", table_name="location_tax_rates")
    op.drop_constraint(
        op.f("ck_location_tax_rates_valid_range"), "location_tax_rates", type_="check"
    )
    op.execute("DELETE FROM location_tax_rates WHERE valid_to IS NOT NULL")
    op.drop_constraint("pk_location_tax_rates", "location_tax_rates", type_="primary")
    op.create_primary_key(
        "pk_location_tax_rates", "location_tax_rates", ["location_id", "tax_category_id"]
    )
    op.drop_column("location_tax_rates", "valid_to")
    op.drop_column("location_tax_rates", "valid_from")
