"""Online orders in the orders table: recorded once per workflow, keyed by source and external id
too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from db.models import Order
from db.repositories import events, orders  # events: outbound events (issue 19)

PREFIX = {"web": "WEB", "shopify": "SHOP", "woocommerce": "WOO", "magento": "MAG"}


@dataclass(frozen=True)
class OrderSummary:
    number: str
    workflow_id: str
    status: str
    currency: str
    total: int
    fulfilment_type: str
    external_source: str
    external_id: str
    warnings: tuple[str, ...]


def record(session: Session, new: orders.NewOrder, *, source: str, external_id: str) -> str:
    """Insert the order once (a retry finds it) and tag it with where it came from; returns its
    number."""
    order = orders.insert_order(session, new)
    if order.external_source is None:
        order.external_source, order.external_id = source, external_id
        session.flush()
    events.order_created(session, order)  # outbound events (issue 19); once per order
    return order.number


def set_status(
    session: Session,
    workflow_id: str,
    status: str,
    *,
    warnings: list[str] | None = None,
    location_id: int | None = None,
) -> None:
    values: dict[str, object] = {"status": status}
    if warnings is not None:
        values["warnings"] = warnings
    if location_id is not None:
        values["location_id"] = location_id
    session.execute(update(Order).where(Order.workflow_id == workflow_id).values(**values))
    events.order_status(session, workflow_id, status)  # outbound events (issue 19)


def summary(session: Session, workflow_id: str) -> OrderSummary | None:
    o = orders.order_by_workflow(session, workflow_id)
    if o is None:
        return None
    return OrderSummary(
        o.number,
        o.workflow_id,
        o.status,
        o.currency,
        o.total,
        o.fulfilment_type,
        o.external_source or "",
        o.external_id or "",
        tuple(o.warnings or ()),
    )


def placed_before(session: Session, workflow_id: str) -> datetime | None:
    o = orders.order_by_workflow(session, workflow_id)
    return o.placed_at if o else None
