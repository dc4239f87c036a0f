"""magento platform: a web store connection may be a Magento 2 / Adobe Commerce store (issue 19)

Revision ID: 0038_magento_platform
Revises: 0034_promotion_pins
Create Date: 2026-12-01 19:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0038_magento_platform"
down_revision = "0034_promotion_pins"
branch_labels = ("magento",)
depends_on = None

NAME = "ck_web_stores_platform"


def upgrade() -> None:
    op.drop_constraint(op.f(NAME), "web_stores", type_="check")
    op.create_check_constraint(
        op.f(NAME), "web_stores", "platform IN ('shopify', 'woocommerce', 'web', 'magento')"
    )


def downgrade() -> None:
    # Magento connections stay (inactive ones too); the old rule holds for new rows (NOT VALID).
    op.drop_constraint(op.f(NAME), "web_stores", type_="check")
    op.execute(
        f"ALTER TABLE web_stores ADD CONSTRAINT {NAME} "
        "CHECK (platform IN ('shopify', 'woocommerce', 'web')) NOT VALID"
    )
