"""report speed (sales, journal): the journal finds the Stripe balance transactions paid out on
a day by their payout arrival; without this index it reads all of them for every day
(bench/reports.py, docs/finance-benchmark.md)

Revision ID: 0047_report_speed_sj
Revises: 0034_promotion_pins, 0024_stripe_balance
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0047_report_speed_sj"
# after the current chain and after 0024, whose table it indexes (a branch of its own): a
# merge, so the version table lists this revision in place of both
down_revision = ("0034_promotion_pins", "0024_stripe_balance")
branch_labels = ("report_speed_sj",)
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_stripe_balance_txns_payout_arrival", "stripe_balance_txns", ["payout_arrival"]
    )


def downgrade() -> None:
    op.drop_index("ix_stripe_balance_txns_payout_arrival", table_name="stripe_balance_txns")
