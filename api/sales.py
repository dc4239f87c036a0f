"""Starting and steering sales (through contracts/sale.py), and replays from the database."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from temporalio.client import Client

import contracts.sale as sales
from contracts.sale import AddTenders, SaleRequest, SaleResult
from db.repositories import balances, orders
from db.repositories.catalog import TillView
from db.session import Database
from domain.secrets import mask
from domain.tenders import GIFT_CARD

_LINE_FIELDS = (
    "line_no",
    "sku",
    "name",
    "quantity",
    "unit_price",
    "net",
    "tax",
    "gross",
    "tax_code",
    "tax_rate_bp",
    "discount",
)


def stored_sale(db: Database, workflow_id: str) -> dict[str, Any] | None:
    """A sale already recorded under this workflow id, shaped like the live answer but with every
    gift card code masked: only the selling till's live answer and the receipt show one in full."""
    with db.unit_of_work() as s:
        order = orders.order_by_workflow(s, workflow_id)
        if order is None or order.status != "completed":
            return None
        pays = [
            p for p in orders.payments_for(s, workflow_id) if p.status not in ("voided", "declined")
        ]
        cards = balances.gift_cards_loaded_by(s, workflow_id)
        lines = orders.order_lines(s, order.id)
        promotions = [{**p, "line_no": ln.line_no} for ln in lines for p in ln.promotions or ()]
        return {
            "sale_id": order.number,
            "workflow_id": order.workflow_id,
            "status": order.status,
            "currency": order.currency,
            "lines": [{k: getattr(ln, k) for k in _LINE_FIELDS} for ln in lines],
            "promotions": promotions,
            "promotion_total": sum(int(p["amount"]) for p in promotions),
            "subtotal": order.subtotal,
            "tax_total": order.tax_total,
            "total": order.total,
            "tenders": [
                {
                    "kind": p.tender,
                    "amount": p.amount,
                    "tendered": p.tendered,
                    "reference": mask(p.provider_ref) if p.tender == GIFT_CARD else p.provider_ref,
                    "card_brand": p.card_brand,
                    "card_last4": p.card_last4,
                    "card_wallet": p.card_wallet,  # issue 19
                }
                for p in pays
            ],
            "change_due": order.change_due,
            "warnings": list(order.warnings or []),
            "sold_at": order.placed_at,
            "due": 0,
            "declines": [],
            "gift_cards": [
                {"code": mask(c), "amount": d, "balance": balances.gift_card(s, c).balance}
                for c, d in cards
            ],
        }


def _as_body(result: SaleResult) -> dict[str, Any]:
    return asdict(result)


async def run_sale(client: Client, till: TillView, req: SaleRequest) -> dict[str, Any]:
    """Start the sale (or join the running one) and wait for its checkout answer."""
    return _as_body(await sales.checkout_sale(client, req, store=till.location_code))


async def steer_sale(client: Client, workflow_id: str, more: AddTenders | None) -> dict[str, Any]:
    """Add tenders to an open sale (more given) or abandon it (more None)."""
    return _as_body(await sales.steer_sale(client, workflow_id, more))
