"""customer profiles: several emails and phones (E.164), addresses, the marketing-consent history,
tax exemption, notes, merged / erased (issue 17; models in db/models_customers.py)

Revision ID: 0027_customer_profiles
Revises: 0022_sale_shifts
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_customer_profiles"
down_revision = "0022_sale_shifts"
branch_labels = ("customer_profiles",)
depends_on = None


def _now() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _customer(table: str) -> sa.Column[int]:
    return sa.Column(
        "customer_id",
        sa.Integer(),
        sa.ForeignKey("customers.id", name=f"fk_{table}_customer_id_customers"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "customer_profiles",
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", name="fk_customer_profiles_customer_id_customers"),
            nullable=False,
        ),
        sa.Column("tax_exempt", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "merged_into_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", name="fk_customer_profiles_merged_into_id_customers"),
            nullable=True,
        ),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_profiles"),
    )
    op.create_index("ix_customer_profiles_merged_into_id", "customer_profiles", ["merged_into_id"])

    op.create_table(
        "customer_emails",
        sa.Column("id", sa.BigInteger(), nullable=False),
        _customer("customer_emails"),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_customer_emails"),
        sa.UniqueConstraint("email", name="uq_customer_emails_email"),
    )
    op.create_index("ix_customer_emails_customer_id", "customer_emails", ["customer_id"])
    op.create_index(
        "uq_customer_emails_primary",
        "customer_emails",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("is_primary"),
    )

    op.create_table(
        "customer_phones",
        sa.Column("id", sa.BigInteger(), nullable=False),
        _customer("customer_phones"),
        sa.Column("e164", sa.String(20), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_customer_phones"),
        sa.UniqueConstraint("e164", name="uq_customer_phones_e164"),
    )
    op.create_index("ix_customer_phones_customer_id", "customer_phones", ["customer_id"])
    op.create_index(
        "uq_customer_phones_primary",
        "customer_phones",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("is_primary"),
    )

    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        _customer("customer_addresses"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("line1", sa.String(200), nullable=False),
        sa.Column("line2", sa.String(200), nullable=False),
        sa.Column("postcode", sa.String(20), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("id", name="pk_customer_addresses"),
    )
    op.create_index("ix_customer_addresses_customer_id", "customer_addresses", ["customer_id"])

    op.create_table(
        "customer_consents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        _customer("customer_consents"),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column(
            "recorded_by",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_customer_consents_recorded_by_users"),
            nullable=True,
        ),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_customer_consents"),
    )
    op.create_index("ix_customer_consents_customer_id", "customer_consents", ["customer_id"])


def downgrade() -> None:
    op.drop_table("customer_consents")
    op.drop_table("customer_addresses")
    op.drop_table("customer_phones")
    op.drop_table("customer_emails")
    op.drop_table("customer_profiles")
