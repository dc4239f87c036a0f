"""sign-in: consecutive failures and lockouts per staff code / username

Revision ID: 0008_signin
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_signin"
down_revision = "0001"
branch_labels = ("signin",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_guards",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('staff', 'user')", name=op.f("ck_sign_in_guards_kind")),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_sign_in_guards")),
    )
    op.create_index(
        op.f("ix_sign_in_guards_last_failure_at"),
        "sign_in_guards",
        ["last_failure_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_guards_last_failure_at"), table_name="sign_in_guards")
    op.drop_table("sign_in_guards")
