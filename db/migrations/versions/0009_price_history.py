"""offline journals checked on the server: price history, the till's offline window, customer
codes, one payment row per card PaymentIntent

Revision ID: 0009_price_history
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_price_history"
down_revision = "0001"
branch_labels = ("price_history",)
depends_on = None

# Prices that existed before their history was kept count as valid since long before any sale.
BEFORE_HISTORY = "1970-01-01 00:00:00+00"


def upgrade() -> None:
    # ---- prices: valid from / to, never overwritten ----------------------------------------
    op.add_column(
        "prices",
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text(f"'{BEFORE_HISTORY}'"),
            nullable=False,
        ),
    )
    op.alter_column("prices", "valid_from", server_default=sa.text("now()"))
    op.add_column("prices", sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("uq_prices_variant_id_location_id", "prices", type_="unique")
    op.create_index(
        "uq_prices_variant_id_location_id_open",
        "prices",
        ["variant_id", "location_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_prices_variant_id_location_id_valid_from",
        "prices",
        ["variant_id", "location_id", "valid_from"],
    )
    op.create_check_constraint(
        op.f("ck_prices_valid_range"), "prices", "valid_to IS NULL OR valid_to > valid_from"
    )

    # ---- tills: what the central side knows of each till's offline window --------------------
    op.add_column("tills", sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tills", sa.Column("offline_from", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tills", sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=True))

    # ---- customers: the hash of the code on their card ---------------------------------------
    op.add_column("customers", sa.Column("code_hash", sa.String(length=64), nullable=True))

    # ---- payments: a card PaymentIntent pays for one payment row ----------------------------
    op.create_index(
        "uq_payments_card_provider_ref",
        "payments",
        ["provider_ref"],
        unique=True,
        postgresql_where=sa.text("tender = 'card' AND provider_ref <> ''"),
    )


def downgrade() -> None:
    op.drop_index("uq_payments_card_provider_ref", table_name="payments")
    op.drop_column("customers", "code_hash")
    op.drop_column("tills", "snapshot_at")
    op.drop_column("tills", "offline_from")
    op.drop_column("tills", "last_contact_at")
    op.drop_constraint(op.f("ck_prices_valid_range"), "prices", type_="check")
    op.drop_index("ix_prices_variant_id_location_id_valid_from", table_name="prices")
    op.drop_index("uq_prices_variant_id_location_id_open", table_name="prices")
    # Back to one row per variant and location: the price valid now (or the latest) stays.
    op.execute(
        "DELETE FROM prices p USING prices q "
        "WHERE p.variant_id = q.variant_id "
        "AND p.location_id IS NOT DISTINCT FROM q.location_id "
        "AND (p.valid_from, p.id) < (q.valid_from, q.id) "
        "AND q.valid_from <= now()"
    )
    op.execute(
        "DELETE FROM prices p USING prices q "
        "WHERE p.variant_id = q.variant_id "
        "AND p.location_id IS NOT DISTINCT FROM q.location_id "
        "AND (p.valid_from, p.id) > (q.valid_from, q.id)"
    )
    op.create_unique_constraint(
        op.f("uq_prices_variant_id_location_id"),
        "prices",
        ["variant_id", "location_id"],
        postgresql_nulls_not_distinct=True,
    )
    op.drop_column("prices", "valid_to")
    op.drop_column("prices", "valid_from")
