"""stored files: generated files (carrier labels) in PostgreSQL instead of a container's disk
(issue 18; model in db/models_files.py)

Revision ID: 0031_stored_files
Revises: 0022_sale_shifts
Create Date: 2026-12-01 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_stored_files"
down_revision = "0022_sale_shifts"
branch_labels = ("stored_files",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name="pk_stored_files"),
        sa.CheckConstraint("size >= 0", name=op.f("ck_stored_files_size_not_negative")),
    )


def downgrade() -> None:
    op.drop_table("stored_files")
