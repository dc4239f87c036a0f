"""The sale's short database steps; run as local activities, each one transaction and idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.repositories import catalog, orders, stock
from db.pricing import BasketItem, price_for_till
from db.session import Database
from domain.errors import DomainError, NotFound
from domain.tenders import Tendered, settle
from workflows.contracts import SaleLine, SaleRequest, TenderOut


@dataclass(frozen=True)
class PricedSale:
    till_id: int
    location_id: int
    location_code: str
    currency: str
    prices_include_tax: bool
    lines: tuple[SaleLine, ...]
    subtotal: int
    tax_total: int
    total: int
    tenders: tuple[TenderOut, ...]
    change_due: int


@dataclass(frozen=True)
class StockCommit:
    workflow_id: str
    location_id: int
    reference: str
    lines: tuple[SaleLine, ...]
    occurred_at: datetime


@dataclass(frozen=True)
class StockOutcome:
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class StockRestore:
    workflow_id: str
    location_id: int
    occurred_at: datetime


@dataclass(frozen=True)
class TenderRecord:
    workflow_id: str
    till_id: int
    location_id: int
    currency: str
    tenders: tuple[TenderOut, ...]


@dataclass(frozen=True)
class VoidTenders:
    workflow_id: str


@dataclass(frozen=True)
class OrderRecord:
    workflow_id: str
    till_code: str
    priced: PricedSale
    cashier_id: int
    warnings: tuple[str, ...]
    placed_at: datetime


@dataclass(frozen=True)
class RecordedOrder:
    number: str


def business_error(err: DomainError) -> ApplicationError:
    """Business refusals are not retried; the type carries the code the API maps to a status."""
    return ApplicationError(err.message, type=type(err).__name__, non_retryable=True)


def _sale_key(workflow_id: str, line_no: int) -> str:
    return f"{workflow_id}:stock:{line_no}"


class SaleActivities:
    """Pricing, stock, tenders and the order record of a till sale."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="sale.price")
    def price(self, req: SaleRequest) -> PricedSale:
        """Price the basket with the store's current prices and tax, and settle the tenders."""
        try:
            with self.db.unit_of_work() as s:
                till = catalog.till_view(s, req.till_code)
                if till is None:
                    raise NotFound(f"Till {req.till_code} does not exist.")
                quote = price_for_till(
                    s, till, [BasketItem(ln.sku, ln.quantity) for ln in req.lines]
                )
            settlement = settle(
                quote.total, [Tendered(t.kind, t.amount) for t in req.tenders], till.currency
            )
        except DomainError as err:
            raise business_error(err) from None
        return PricedSale(
            till_id=till.till_id,
            location_id=till.location_id,
            location_code=till.location_code,
            currency=till.currency,
            prices_include_tax=till.prices_include_tax,
            lines=tuple(SaleLine(**ln.__dict__) for ln in quote.lines),
            subtotal=quote.subtotal,
            tax_total=quote.tax_total,
            total=quote.total,
            tenders=tuple(TenderOut(a.kind, a.applied, a.tendered) for a in settlement.applied),
            change_due=settlement.change_due,
        )

    @activity.defn(name="sale.commit_stock")
    def commit_stock(self, cmd: StockCommit) -> StockOutcome:
        """Take the goods off on_hand; goods in the customer's hand are sold even at zero."""
        moves = [
            stock.Movement(ln.sku, -ln.quantity, "sale", cmd.reference, _sale_key(cmd.workflow_id, ln.line_no))
            for ln in cmd.lines
        ]
        with self.db.unit_of_work() as s:
            applied = stock.apply_movements(
                s, cmd.location_id, moves, workflow_id=cmd.workflow_id, occurred_at=cmd.occurred_at
            )
        warnings = []
        for line, a in zip(cmd.lines, applied, strict=True):
            if a.on_hand_before < line.quantity:
                warnings.append(
                    f"{line.name}: the system showed {a.on_hand_before} on hand; sold "
                    f"{line.quantity} anyway. Please tell the manager so stock can be counted."
                )
            elif a.available_before < line.quantity:
                warnings.append(
                    f"{line.name}: this unit was held for an online order; the order will be re-sourced."
                )
        return StockOutcome(tuple(warnings))

    @activity.defn(name="sale.restore_stock")
    def restore_stock(self, cmd: StockRestore) -> int:
        """Compensation: put back every unit this sale took, once."""
        with self.db.unit_of_work() as s:
            taken = [
                m for m in stock.movements_with_key_prefix(s, f"{cmd.workflow_id}:stock:")
                if m.location_id == cmd.location_id and m.reason == "sale"
            ]
            moves = [
                stock.Movement(m.sku, -m.delta, "sale_reversal", m.reference,
                               f"{cmd.workflow_id}:restock:{(m.idempotency_key or '').rsplit(':', 1)[-1]}")
                for m in taken
            ]
            applied = stock.apply_movements(
                s, cmd.location_id, moves, workflow_id=cmd.workflow_id, occurred_at=cmd.occurred_at
            )
        return sum(1 for a in applied if a.applied)

    @activity.defn(name="sale.record_tenders")
    def record_tenders(self, cmd: TenderRecord) -> None:
        """Record each tender as a payment row keyed by workflow and position."""
        with self.db.unit_of_work() as s:
            for i, t in enumerate(cmd.tenders, start=1):
                orders.insert_payment(
                    s,
                    orders.NewPayment(
                        workflow_id=cmd.workflow_id,
                        tender=t.kind,
                        amount=t.amount,
                        tendered=t.tendered,
                        currency=cmd.currency,
                        status="completed",
                        idempotency_key=f"{cmd.workflow_id}:tender:{i}",
                        location_id=cmd.location_id,
                        till_id=cmd.till_id,
                    ),
                )

    @activity.defn(name="sale.void_tenders")
    def void_tenders(self, cmd: VoidTenders) -> int:
        """Compensation: void the sale's payments (cash goes back to the customer)."""
        with self.db.unit_of_work() as s:
            return orders.void_payments(s, cmd.workflow_id, statuses=("completed", "authorized"))

    @activity.defn(name="sale.record_order")
    def record_order(self, cmd: OrderRecord) -> RecordedOrder:
        """Record the completed sale as an order; the number is what the receipt barcode carries."""
        p = cmd.priced
        with self.db.unit_of_work() as s:
            order = orders.insert_order(
                s,
                orders.NewOrder(
                    workflow_id=cmd.workflow_id,
                    number_prefix=cmd.till_code,
                    channel="store",
                    fulfilment_type="in_store",
                    status="completed",
                    location_id=p.location_id,
                    till_id=p.till_id,
                    cashier_id=cmd.cashier_id,
                    currency=p.currency,
                    subtotal=p.subtotal,
                    tax_total=p.tax_total,
                    total=p.total,
                    change_due=p.change_due,
                    warnings=list(cmd.warnings),
                    placed_at=cmd.placed_at,
                    lines=[orders.NewOrderLine(**ln.__dict__) for ln in p.lines],
                ),
            )
            return RecordedOrder(order.number)
