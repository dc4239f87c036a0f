"""fulfilment: staff tasks, parcels, notification outbox, store opening hours

Revision ID: 0006_fulfilment
Revises: 0001
Create Date: 2026-11-22 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_fulfilment"
down_revision = "0001"
branch_labels = ("fulfilment",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_hours",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_store_hours_weekday_range")),
        sa.CheckConstraint(
            "opens_minute >= 0 AND opens_minute < closes_minute AND closes_minute <= 1440",
            name=op.f("ck_store_hours_minutes_range"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_store_hours_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("location_id", "weekday", name=op.f("pk_store_hours")),
    )
    op.create_table(
        "fulfilment_tasks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), server_default="", nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("order_workflow_id", sa.String(length=200), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("curbside_bay", sa.String(length=16), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "kind IN ('pick', 'pack', 'ship', 'handover')", name=op.f("ck_fulfilment_tasks_kind")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'done', 'cancelled')",
            name=op.f("ck_fulfilment_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_fulfilment_tasks_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_fulfilment_tasks_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_tasks")),
        sa.UniqueConstraint("key", name=op.f("uq_fulfilment_tasks_key")),
    )
    op.create_index(
        op.f("ix_fulfilment_tasks_workflow_id"), "fulfilment_tasks", ["workflow_id"], unique=False
    )
    op.create_index(
        op.f("ix_fulfilment_tasks_order_number"), "fulfilment_tasks", ["order_number"], unique=False
    )
    op.create_index(
        "ix_fulfilment_tasks_location_status_kind",
        "fulfilment_tasks",
        ["location_id", "status", "kind"],
        unique=False,
    )
    op.create_table(
        "parcels",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("length_cm", sa.Integer(), nullable=False),
        sa.Column("width_cm", sa.Integer(), nullable=False),
        sa.Column("height_cm", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("tracking_url", sa.String(length=500), server_default="", nullable=False),
        sa.Column("label_path", sa.String(length=500), nullable=False),
        sa.Column("label_format", sa.String(length=8), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_parcels_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["fulfilment_tasks.id"], name=op.f("fk_parcels_task_id_fulfilment_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
        sa.UniqueConstraint("key", name=op.f("uq_parcels_key")),
    )
    op.create_index(op.f("ix_parcels_workflow_id"), "parcels", ["workflow_id"], unique=False)
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_outbox_key")),
    )
    op.create_index(
        op.f("ix_notification_outbox_reference"), "notification_outbox", ["reference"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_outbox_reference"), table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index(op.f("ix_parcels_workflow_id"), table_name="parcels")
    op.drop_table("parcels")
    op.drop_index("ix_fulfilment_tasks_location_status_kind", table_name="fulfilment_tasks")
    op.drop_index(op.f("ix_fulfilment_tasks_order_number"), table_name="fulfilment_tasks")
    op.drop_index(op.f("ix_fulfilment_tasks_workflow_id"), table_name="fulfilment_tasks")
    op.drop_table("fulfilment_tasks")
    op.drop_table("store_hours")
