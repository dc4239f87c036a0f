"""fiscal pt: Portuguese document series (last number and signature, locked while numbering) and
every signed Portuguese document (issue 20)

Revision ID: 0041_fiscal_pt
Revises: 0040_fiscal_records
Create Date: 2026-12-01 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0041_fiscal_pt"
down_revision = "0040_fiscal_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fiscal_pt_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("doc_type", sa.String(length=2), nullable=False),
        sa.Column("validation_code", sa.String(length=64), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.Text(), nullable=False),
        sa.Column("last_system_entry", sa.DateTime(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "doc_type IN ('FS', 'FT', 'NC')", name=op.f("ck_fiscal_pt_series_known_doc_type")
        ),
        sa.CheckConstraint(
            "last_number >= 0", name=op.f("ck_fiscal_pt_series_last_number_positive")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_fiscal_pt_series_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_pt_series")),
        sa.UniqueConstraint(
            "location_id", "series", name=op.f("uq_fiscal_pt_series_location_id_series")
        ),
    )
    op.create_table(
        "fiscal_pt_documents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("till_code", sa.String(length=64), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=2), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("invoice_no", sa.String(length=60), nullable=False),
        sa.Column("atcud", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("system_entry", sa.DateTime(), nullable=False),
        sa.Column("gross_total", sa.BigInteger(), nullable=False),
        sa.Column("net_total", sa.BigInteger(), nullable=False),
        sa.Column("tax_payable", sa.BigInteger(), nullable=False),
        sa.Column("buyer_nif", sa.String(length=30), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.Text(), nullable=False),
        sa.Column("hash_control", sa.String(length=70), nullable=False),
        sa.Column("refers_to", sa.String(length=60), nullable=False),
        sa.Column("qr", sa.Text(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "doc_type IN ('FS', 'FT', 'NC')", name=op.f("ck_fiscal_pt_documents_known_doc_type")
        ),
        sa.CheckConstraint(
            "status IN ('N', 'A')", name=op.f("ck_fiscal_pt_documents_known_status")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_fiscal_pt_documents_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["fiscal_pt_series.id"],
            name=op.f("fk_fiscal_pt_documents_series_id_fiscal_pt_series"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_pt_documents")),
        sa.UniqueConstraint(
            "document_id", "kind", name=op.f("uq_fiscal_pt_documents_document_id_kind")
        ),
        sa.UniqueConstraint(
            "series_id", "number", name=op.f("uq_fiscal_pt_documents_series_id_number")
        ),
    )
    op.create_index(
        "ix_fiscal_pt_documents_location_date",
        "fiscal_pt_documents",
        ["location_id", "invoice_date"],
    )


def downgrade() -> None:
    op.drop_index("ix_fiscal_pt_documents_location_date", table_name="fiscal_pt_documents")
    op.drop_table("fiscal_pt_documents")
    op.drop_table("fiscal_pt_series")
