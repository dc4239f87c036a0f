"""customer messages are sent: delivery status, attempts, backoff, last error, provider id and the
store of each notification_outbox row (issue 18; model in db/models_fulfilment.py OutboxNotice)

Revision ID: 0032_message_delivery
Revises: 0022_sale_shifts, 0006_fulfilment
Create Date: 2026-12-01 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032_message_delivery"
# notification_outbox comes from the fulfilment branch, which 0022 does not descend from: this
# revision merges it (as 0022 merged returns), so the table is there before it is altered.
down_revision = ("0022_sale_shifts", "0006_fulfilment")
branch_labels = ("message_delivery",)
depends_on = None

_TABLE = "notification_outbox"


def upgrade() -> None:
    op.add_column(
        _TABLE, sa.Column("status", sa.String(16), server_default="pending", nullable=False)
    )
    op.add_column(_TABLE, sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column(_TABLE, sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(_TABLE, sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(_TABLE, sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(_TABLE, sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column(_TABLE, sa.Column("provider_id", sa.String(200), nullable=True))
    op.add_column(_TABLE, sa.Column("store_code", sa.String(32), nullable=True))
    # Rows written before: what was sent stays sent, store notices are the board's, and every row
    # knows its store (the workflows put it in data.store; a store notice is addressed to it).
    op.execute(
        f"UPDATE {_TABLE} SET "
        "status = CASE WHEN sent_at IS NOT NULL THEN 'sent' "
        "WHEN channel NOT IN ('email', 'sms') THEN 'skipped' ELSE 'pending' END, "
        "store_code = CASE WHEN channel = 'store' THEN left(recipient, 32) "
        "ELSE left(data->>'store', 32) END"
    )
    op.create_check_constraint(
        op.f("ck_notification_outbox_status"),
        _TABLE,
        "status IN ('pending', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
    )
    op.create_index("ix_notification_outbox_due", _TABLE, ["status", "next_attempt_at"])
    op.create_index("ix_notification_outbox_store_status", _TABLE, ["store_code", "status"])


def downgrade() -> None:
    op.drop_index("ix_notification_outbox_store_status", table_name=_TABLE)
    op.drop_index("ix_notification_outbox_due", table_name=_TABLE)
    op.drop_constraint(op.f("ck_notification_outbox_status"), _TABLE, type_="check")
    for column in (
        "store_code",
        "provider_id",
        "last_error",
        "last_attempt_at",
        "claimed_at",
        "next_attempt_at",
        "attempts",
        "status",
    ):
        op.drop_column(_TABLE, column)
