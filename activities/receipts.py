"""Build a receipt: from what the cash checkout has just written, or from what the database
recorded (every other sale and every reprint). A test holds the two equal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.devices import (
    Receipt,
    ReceiptDiscount,
    ReceiptLine,
    ReceiptRequest,
    ReceiptTax,
    ReceiptTender,
)
from contracts.errors import encode_errors
from contracts.sale import SaleLine, TenderOut
from db.models import Location, Order, OrderLine, Till
from db.promotion_pricing import line_promotions
from db.repositories import balances, fiscal, loyalty, orders, users
from db.repositories.catalog import TillView
from db.session import Database
from domain.errors import NotFound
from domain.loyalty import receipt_note
from domain.money import format_minor
from domain.secrets import mask
from domain.wallets import wallet_label

if TYPE_CHECKING:  # activities.sale imports this module
    from contracts.sale import PricedSale


def _taxes(lines: Sequence[Any]) -> tuple[ReceiptTax, ...]:
    by_rate: dict[tuple[str, int], list[int]] = {}
    for ln in lines:
        acc = by_rate.setdefault((ln.tax_code, ln.tax_rate_bp), [0, 0])
        acc[0] += ln.net
        acc[1] += ln.tax
    return tuple(
        ReceiptTax(code=c, rate_bp=r, net=n, tax=t) for (c, r), (n, t) in sorted(by_rate.items())
    )


def _tender_detail(kind: str, brand: str, last4: str, reference: str, wallet: str = "") -> str:
    """What a receipt may say about a tender: brand and last four (and the wallet), never more."""
    if kind == "card" and last4:
        paid_with = f" ({wallet_label(wallet)})" if wallet else ""
        return f"{brand.upper()} ****{last4}{paid_with}"
    if kind == "gift_card" and reference:
        return f"****{reference[-4:]}"
    return ""


def _receipt_lines(
    lines: Sequence[SaleLine] | Sequence[OrderLine],
    promotions: Mapping[int, Sequence[Mapping[str, Any]]],
) -> tuple[ReceiptLine, ...]:
    return tuple(
        ReceiptLine(
            name=ln.name,
            sku=ln.sku,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            line_total=ln.gross,
            tax_code=ln.tax_code,
            discounts=tuple(
                ReceiptDiscount(label=f"{p['name']} ({p['code']})", amount=int(p["amount"]))
                for p in promotions.get(ln.line_no, ())
            ),
        )
        for ln in lines
    )


def receipt_for_order(s: Session, number: str, *, reprint: bool = False) -> Receipt:
    """The receipt of a recorded order (read in the caller's transaction)."""
    order = orders.order_by_number(s, number)
    if order is None:
        raise NotFound(f"No sale {number}.")
    return receipt_of(s, order, reprint=reprint)


def receipt_of(s: Session, order: Order, *, reprint: bool = False) -> Receipt:
    """The receipt of an order the caller holds already."""
    lines = orders.order_lines(s, order.id)
    pays = [p for p in orders.payments_for(s, order.workflow_id) if p.status != "voided"]
    location = s.get(Location, order.location_id) if order.location_id else None
    till = s.get(Till, order.till_id) if order.till_id else None
    cashier = users.display_name(s, order.cashier_id) if order.cashier_id else ""
    return Receipt(
        sale_id=order.number,
        store_name=location.name if location else "",
        store_address=location.address if location else "",
        till_code=till.code if till else "",
        cashier_name=cashier,
        # Printed in the store's own time, as the customer saw the clock.
        sold_at=order.placed_at.astimezone(ZoneInfo(location.timezone))
        if location
        else order.placed_at,
        currency=order.currency,
        locale=location.locale if location else "",
        lines=_receipt_lines(lines, {ln.line_no: ln.promotions or () for ln in lines}),
        taxes=_taxes(lines),
        subtotal=order.subtotal,
        tax_total=order.tax_total,
        total=order.total,
        tenders=tuple(
            ReceiptTender(
                kind=p.tender,
                amount=p.tendered,
                detail=_tender_detail(
                    p.tender, p.card_brand, p.card_last4, p.provider_ref, p.card_wallet
                ),
            )
            for p in pays
        ),
        change_due=order.change_due,
        prices_include_tax=location.prices_include_tax if location else True,
        reprint=reprint,
        # The code is printed in full on the sale's own receipt only: a reprint masks it.
        notes=tuple(
            f"Gift card {mask(code) if reprint else code}: "
            f"{format_minor(delta, order.currency)} loaded"
            for code, delta in balances.gift_cards_loaded_by(s, order.workflow_id)
        )
        + _points_notes(s, order),
        **_fiscal(s, order),
    )


def _fiscal(s: Session, order: Order) -> dict[str, Any]:
    """The sale's fiscal signature as its receipt printed it (issue 20); a reprint shows the
    signature completed since, where the original said "signature pending"."""
    record = fiscal.record_of(s, order.workflow_id, "sale")
    if record is None or record.status == "not_required":
        return {}
    return {"fiscal_lines": tuple(record.receipt_lines or ()), "fiscal_qr": record.qr or ""}


def _points_notes(s: Session, order: Order) -> tuple[str, ...]:
    """The points the sale earned and the balance just after, as the Sale printed them."""
    earned = loyalty.earned_for(s, order.workflow_id) if order.customer_id else None
    if earned is None:
        return ()
    return (receipt_note(earned.points, loyalty.balance_after(s, earned)),)


def receipt_of_sale(
    till: TillView,
    number: str,
    cashier_name: str,
    placed_at: datetime,
    priced: PricedSale,
    tenders: Sequence[TenderOut],
    change_due: int,
) -> Receipt:
    """The receipt of a sale this transaction has just recorded, from what it wrote: the same
    receipt `receipt_of` reads back from the database (a test holds the two together)."""
    return Receipt(
        sale_id=number,
        store_name=till.location_name,
        store_address=till.address,
        till_code=till.till_code,
        cashier_name=cashier_name,
        sold_at=placed_at.astimezone(ZoneInfo(till.timezone)),
        currency=priced.currency,
        locale=till.locale,
        lines=_receipt_lines(priced.lines, line_promotions(priced.promotions)),
        taxes=_taxes(list(priced.lines)),
        subtotal=priced.subtotal,
        tax_total=priced.tax_total,
        total=priced.total,
        tenders=tuple(
            ReceiptTender(
                kind=t.kind,
                amount=t.tendered,
                detail=_tender_detail(
                    t.kind, t.card_brand, t.card_last4, t.reference, t.card_wallet
                ),
            )
            for t in tenders
        ),
        change_due=change_due,
        prices_include_tax=till.prices_include_tax,
    )


@encode_errors
class ReceiptActivities:
    """Reads an order with its lines and tenders and shapes it for the printer."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="receipt.build")
    def build(self, req: ReceiptRequest) -> Receipt:
        """The receipt of a recorded order, as the device worker will print it."""
        with self.db.unit_of_work() as s:
            return receipt_for_order(s, req.order_number, reprint=req.reprint)
