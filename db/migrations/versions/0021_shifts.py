"""till shifts: shifts, their cash events, per-till Z counters and stored Z reports

Revision ID: 0021_shifts
Revises: 0014_backoffice
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021_shifts"
down_revision = "0014_backoffice"
branch_labels = ("shifts",)
depends_on = None


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    ref = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{ref}"))


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _json(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("till_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        _json("float_count", False),
        sa.Column("float_amount", sa.BigInteger(), nullable=False),
        sa.Column("float_difference", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counted_by", sa.Integer(), nullable=True),
        _json("close_count", True),
        _json("counted", True),
        sa.Column("left_in_drawer", sa.BigInteger(), nullable=True),
        sa.Column("variance", sa.BigInteger(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approval_note", sa.Text(), server_default="", nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("z_number", sa.Integer(), nullable=True),
        _created_at(),
        sa.CheckConstraint("status IN ('open', 'review', 'closed')", name=op.f("ck_shifts_status")),
        _fk("till_id", "shifts", "tills.id"),
        _fk("location_id", "shifts", "locations.id"),
        _fk("opened_by", "shifts", "users.id"),
        _fk("counted_by", "shifts", "users.id"),
        _fk("approved_by", "shifts", "users.id"),
        _fk("closed_by", "shifts", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_shifts_workflow_id")),
        sa.UniqueConstraint("till_id", "n", name=op.f("uq_shifts_till_id_n")),
        sa.UniqueConstraint("till_id", "z_number", name=op.f("uq_shifts_till_id_z_number")),
    )
    op.create_index(op.f("ix_shifts_location_id"), "shifts", ["location_id"])
    op.create_index(
        "uq_shifts_till_id_unclosed",
        "shifts",
        ["till_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "shift_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(200), server_default="", nullable=False),
        sa.Column("reference", sa.String(200), server_default="", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_shift_events_amount_not_negative")),
        sa.CheckConstraint(
            "kind IN ('sale_cash', 'change', 'refund_cash', 'paid_in', 'paid_out', 'drop',"
            " 'no_sale')",
            name=op.f("ck_shift_events_kind"),
        ),
        _fk("shift_id", "shift_events", "shifts.id"),
        _fk("created_by", "shift_events", "users.id"),
        _fk("approved_by", "shift_events", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shift_events")),
        sa.UniqueConstraint("shift_id", "seq", name=op.f("uq_shift_events_shift_id_seq")),
    )
    op.create_index(op.f("ix_shift_events_shift_id"), "shift_events", ["shift_id"])
    op.create_table(
        "shift_counters",
        sa.Column("till_id", sa.Integer(), nullable=False),
        sa.Column("last_z", sa.Integer(), server_default="0", nullable=False),
        _fk("till_id", "shift_counters", "tills.id"),
        sa.PrimaryKeyConstraint("till_id", name=op.f("pk_shift_counters")),
    )
    op.create_table(
        "z_reports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("shift_id", sa.BigInteger(), nullable=False),
        sa.Column("till_id", sa.Integer(), nullable=False),
        sa.Column("z_number", sa.Integer(), nullable=False),
        _json("report", False),
        sa.Column("escpos", sa.LargeBinary(), nullable=True),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        _fk("shift_id", "z_reports", "shifts.id"),
        _fk("till_id", "z_reports", "tills.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_z_reports")),
        sa.UniqueConstraint("shift_id", name=op.f("uq_z_reports_shift_id")),
        sa.UniqueConstraint("till_id", "z_number", name=op.f("uq_z_reports_till_id_z_number")),
    )


def downgrade() -> None:
    op.drop_table("z_reports")
    op.drop_table("shift_counters")
    op.drop_index(op.f("ix_shift_events_shift_id"), table_name="shift_events")
    op.drop_table("shift_events")
    op.drop_index("uq_shifts_till_id_unclosed", table_name="shifts")
    op.drop_index(op.f("ix_shifts_location_id"), table_name="shifts")
    op.drop_table("shifts")
