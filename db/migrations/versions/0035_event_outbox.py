"""outbound events: the event outbox, subscriptions and dead letters (issue 19)

Revision ID: 0035_event_outbox
Revises: 0034_promotion_pins
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0035_event_outbox"
down_revision = "0034_promotion_pins"
branch_labels = ("event_outbox",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=200), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_outbox_event_id")),
    )
    op.create_table(
        "event_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delivered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscriptions")),
        sa.UniqueConstraint("code", name=op.f("uq_event_subscriptions_code")),
    )
    op.create_table(
        "event_dead_letters",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="dead", nullable=False),
        sa.Column(
            "dead_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('dead', 'replayed')", name=op.f("ck_event_dead_letters_status")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["event_outbox.id"],
            name=op.f("fk_event_dead_letters_outbox_id_event_outbox"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["event_subscriptions.id"],
            name=op.f("fk_event_dead_letters_subscription_id_event_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_dead_letters")),
        sa.UniqueConstraint("subscription_id", "outbox_id", name="uq_event_dead_letters_event"),
    )
    op.create_index(
        "ix_event_dead_letters_status", "event_dead_letters", ["subscription_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_event_dead_letters_status", table_name="event_dead_letters")
    op.drop_table("event_dead_letters")
    op.drop_table("event_subscriptions")
    op.drop_table("event_outbox")
