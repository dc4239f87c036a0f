"""Magento order pull: where the last pull got to (read from the webhook inbox, issue 19)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models_payments import WebhookEvent

PROVIDER = "magento"


def pull_cursor(session: Session, store_code: str) -> str | None:
    """The newest Magento `updated_at` stored for this store (pulled or by webhook), or None."""
    value = session.scalar(
        select(func.max(WebhookEvent.payload["body"]["updated_at"].astext)).where(
            WebhookEvent.provider == PROVIDER,
            WebhookEvent.payload["store"].astext == store_code,
        )
    )
    return str(value) if value else None
