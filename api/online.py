"""Starting and steering the web-store link's workflows from the API (it never writes their state).

The start and signal helpers, with their id policies and search attributes, live in
contracts/online.py and contracts/cart.py; this module names them for the routes."""

from __future__ import annotations

from typing import Any

from contracts.cart import open_cart, steer_cart
from contracts.online import checkout_order, hand_over, signal_retry

__all__ = ["checkout_order", "describe", "hand_over", "open_cart", "signal_retry", "steer_cart"]


def describe(answer: Any) -> dict[str, Any]:
    """A CheckoutAnswer as the storefront's JSON."""
    return {
        "order_number": answer.order_number,
        "workflow_id": answer.workflow_id,
        "status": answer.status,
        "currency": answer.currency,
        "total": answer.total,
        "payment_intent": answer.payment_intent,
        "client_secret": answer.client_secret,
        "payment_status": answer.payment_status,
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity, "location": ln.location_code}
            for ln in answer.lines
        ],
        "message": answer.message,
        "points_paid": getattr(answer, "points_paid", 0),
    }
