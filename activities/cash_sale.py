"""The everyday cash sale in one transaction: price, take stock, take the cash, record, build the
receipt.

Cash has no provider to call, so nothing in a cash-only sale needs a saga step of its own: all of it
commits together or none of it does, and a failure leaves nothing to compensate. It is one local
activity, which is what keeps the till's answer fast. Anything else (cards, gift cards, store
credit, cash that does not cover the total) takes the step-by-step path of the Sale workflow, which
then starts from the prices worked out here.
"""

from __future__ import annotations

from temporalio import activity

from activities.sale import price_sale, record_order, sale_till, take_stock
from activities.tenders import payment_row
from contracts.errors import encode_errors
from contracts.promotions import PromotionReservation
from contracts.sale import (
    CashCheckout,
    CashOutcome,
    OrderRecord,
    PricedSale,
    SaleRequest,
    StockCommit,
    StockOutcome,
    TenderAttempt,
    TenderOut,
)
from db.repositories import promotions
from db.session import Database
from domain.tenders import CASH, settle_exactly


@encode_errors
class CashSaleActivities:
    """The one-transaction checkout of a cash-only sale."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="sale.cash_checkout")
    def checkout(self, cmd: CashCheckout) -> CashOutcome:
        """Everything a cash sale writes, committed together; idempotent per workflow id."""
        req = cmd.request
        with self.db.unit_of_work() as s:
            till = sale_till(s, req.till_code)
            priced = price_sale(s, req, till)
            if priced.approval_needed:  # a manager first: the workflow waits, then goes on
                return CashOutcome(priced=priced)
            plan = _cash_plan(req, priced)
            if plan is None:
                return CashOutcome(priced=priced)  # rolled back: nothing was written
            tenders, change = plan
            if priced.promotion_takes:  # the budgets and coupons, in the same transaction
                promotions.take(
                    s,
                    PromotionReservation(
                        key=cmd.workflow_id,
                        takes=priced.promotion_takes,
                        customer_id=req.customer_id,
                    ),
                )
            outcome = StockOutcome(warnings=())
            if priced.stock_lines:
                outcome = take_stock(
                    s,
                    StockCommit(
                        workflow_id=cmd.workflow_id,
                        location_id=priced.location_id,
                        reference=cmd.workflow_id,
                        lines=priced.stock_lines,
                        occurred_at=cmd.sold_at,
                    ),
                )
            payments = [
                payment_row(
                    TenderAttempt(
                        workflow_id=cmd.workflow_id,
                        number=n,
                        kind=CASH,
                        amount=t.amount,
                        tendered=t.tendered,
                        currency=priced.currency,
                        till_code=req.till_code,
                        till_id=priced.till_id,
                        location_id=priced.location_id,
                        reference=t.reference,
                    ),
                    status="completed",
                    provider_ref=t.reference,
                )
                for n, t in enumerate(tenders, start=1)
            ]
            recorded = record_order(
                s,
                OrderRecord(
                    workflow_id=cmd.workflow_id,
                    till_code=req.till_code,
                    priced=priced,
                    cashier_id=req.cashier_id,
                    tenders=tenders,
                    change_due=change,
                    warnings=outcome.warnings,
                    placed_at=cmd.sold_at,
                    customer_id=req.customer_id,
                    basket_started_at=req.basket_started_at,
                ),
                till,
                payments,
            )
        stock = StockOutcome(
            warnings=recorded.warnings, taken_from_orders=outcome.taken_from_orders
        )
        return CashOutcome(
            priced=priced, recorded=recorded, stock=stock, tenders=tenders, change_due=change
        )


def _cash_plan(req: SaleRequest, priced: PricedSale) -> tuple[tuple[TenderOut, ...], int] | None:
    """The cash tenders as taken and the change due, or None when they do not settle the sale
    exactly as the step-by-step path would (short, a refused tender, or a tender left over)."""
    book = settle_exactly(priced.total, priced.currency, ((t.kind, t.amount) for t in req.tenders))
    if book is None:
        return None
    taken = tuple(
        TenderOut(kind=p.kind, amount=p.applied, tendered=p.tendered, reference=t.reference)
        for p, t in zip(book.taken, req.tenders, strict=True)
    )
    return taken, book.change
