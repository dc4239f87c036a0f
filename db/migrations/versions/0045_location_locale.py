"""location locale: how receipts and reports write money at a location (issue 19)

Revision ID: 0045_location_locale
Revises: 0034_promotion_pins
Create Date: 2026-12-01 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045_location_locale"
down_revision = "0034_promotion_pins"
branch_labels = ("location_locale",)
depends_on = None


def upgrade() -> None:
    op.add_column(
        "locations",
        sa.Column("locale", sa.String(length=16), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("locations", "locale")
