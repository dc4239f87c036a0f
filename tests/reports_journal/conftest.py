"""The journal export's tests: a store of its own per test (so no other test's sales fall in
its days), goods with and without a cost price, and builders for its sales, returns and shifts,
written through the repositories the sagas use (orders.add_order) or as their rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from db.models import (
    Location,
    Order,
    OrderLine,
    Payment,
    Product,
    Refund,
    TaxCategory,
    Till,
    Variant,
)
from db.models_accounting import JournalExport
from db.models_reconciliation import StripeBalanceTxn
from db.models_returns import Return, ReturnLine
from db.models_shifts import Shift
from db.repositories import balances
from db.repositories import orders as order_repo
from db.session import Database
from domain.pricing import GIFT_CARD_SKU, PricedLine

TZ = "Europe/Berlin"


@dataclass
class Store:
    code: str
    location_id: int
    till_id: int
    sku: str  # cost 400, 20 % VAT
    sku_free: str  # no cost price, 10 % VAT

    def at(self, day: date, hour: int = 12, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(TZ)).astimezone(UTC)


@pytest.fixture
def store(db: Database) -> Iterator[Store]:
    code = f"J{uuid.uuid4().hex[:7].upper()}"
    with db.unit_of_work() as s:
        tax = s.scalar(select(TaxCategory.id).order_by(TaxCategory.id).limit(1))
        loc = Location(code=code, name=f"Journal {code}", kind="store", timezone=TZ, currency="EUR")
        s.add(loc)
        s.flush()
        till = Till(code=f"{code}-T1", location_id=loc.id, name="Till 1", active=True)
        s.add(till)
        skus = []
        for i, cost in enumerate((400, None)):
            p = Product(
                code=f"{code}-P{i}",
                name=f"Product {i}",
                tax_category_id=tax,
                cost_price=cost,
                cost_currency="EUR",
            )
            s.add(p)
            s.flush()
            sku = f"{code}-SKU{i}"
            s.add(Variant(product_id=p.id, sku=sku, name="", attributes={}))
            skus.append(sku)
        s.flush()
        made = Store(code, loc.id, till.id, skus[0], skus[1])
    yield made
    with db.unit_of_work() as s:
        _clean(s, made)


def _clean(s: Session, st: Store) -> None:
    wf_like = f"jtest:{st.code}:%"
    s.execute(
        delete(StripeBalanceTxn).where(StripeBalanceTxn.payment_intent.like(f"pi_{st.code}%"))
    )
    s.execute(delete(JournalExport).where(JournalExport.location_id == st.location_id))
    ret_ids = select(Return.id).where(Return.location_id == st.location_id)
    s.execute(delete(ReturnLine).where(ReturnLine.return_pk.in_(ret_ids)))
    s.execute(delete(Refund).where(Refund.workflow_id.like(wf_like)))
    s.execute(delete(Return).where(Return.location_id == st.location_id))
    # Gift cards and their ledger are append-only (a trigger): the cards issued stay, tied to
    # no store.
    s.execute(delete(Payment).where(Payment.location_id == st.location_id))
    order_ids = select(Order.id).where(Order.location_id == st.location_id)
    s.execute(delete(OrderLine).where(OrderLine.order_id.in_(order_ids)))
    s.execute(delete(Order).where(Order.location_id == st.location_id))
    s.execute(delete(Shift).where(Shift.location_id == st.location_id))
    s.execute(delete(Till).where(Till.location_id == st.location_id))
    variants = select(Variant.product_id).where(Variant.sku.in_([st.sku, st.sku_free]))
    products = list(s.scalars(variants))
    s.execute(delete(Variant).where(Variant.sku.in_([st.sku, st.sku_free])))
    s.execute(delete(Product).where(Product.id.in_(products)))
    s.execute(delete(Location).where(Location.id == st.location_id))


def line(
    n: int, sku: str, qty: int, unit_gross: int, rate_bp: int, discount: int = 0
) -> PricedLine:
    """A priced line: gross after the discount, net and tax inside it (prices include tax)."""
    gross = qty * unit_gross - discount
    tax = round(gross * rate_bp / (10_000 + rate_bp))
    return PricedLine(
        n, sku, sku, qty, unit_gross, gross - tax, tax, gross, "std", rate_bp, discount
    )


def add_sale(
    db: Database,
    st: Store,
    when: datetime,
    lines: Sequence[PricedLine],
    tenders: Sequence[tuple[str, int, str] | tuple[str, int, str, str]],  # tender, amount,
    # status[, provider_ref: the card's PaymentIntent]
    *,
    recorded_at: datetime | None = None,
    name: str | None = None,
) -> str:
    """One till sale with its payments; `recorded_at` sets when it reached the database (a late
    offline upload). Returns its workflow id."""
    wf = f"jtest:{st.code}:{name or uuid.uuid4().hex[:10]}"
    total = sum(ln.gross for ln in lines)
    with db.unit_of_work() as s:
        order_repo.add_order(
            s,
            order_repo.NewOrder(
                workflow_id=wf,
                number_prefix=st.code,
                channel="store",
                fulfilment_type="in_store",
                status="completed",
                location_id=st.location_id,
                till_id=st.till_id,
                cashier_id=None,
                currency="EUR",
                subtotal=sum(ln.net for ln in lines),
                tax_total=sum(ln.tax for ln in lines),
                total=total,
                change_due=0,
                warnings=[],
                placed_at=when,
                lines=list(lines),
            ),
            [
                order_repo.NewPayment(
                    workflow_id=wf,
                    tender=tender[0],
                    amount=tender[1],
                    tendered=tender[1],
                    currency="EUR",
                    status=tender[2],
                    idempotency_key=f"{wf}:pay:{i}",
                    location_id=st.location_id,
                    till_id=st.till_id,
                    provider="stripe" if tender[0] == "card" else "",
                    provider_ref=tender[3] if len(tender) > 3 else "",
                )
                for i, tender in enumerate(tenders)
            ],
        )
        if recorded_at is not None:
            s.execute(
                text("UPDATE orders SET created_at = :t WHERE workflow_id = :wf"),
                {"t": recorded_at, "wf": wf},
            )
        for g in [ln for ln in lines if ln.sku == GIFT_CARD_SKU]:
            balances.issue_gift_card(
                s, amount=g.gross, currency="EUR", key=f"{wf}:giftcard:{g.line_no}", reference=wf
            )
    return wf


def add_return(
    db: Database,
    st: Store,
    when: datetime,
    sale_wf: str,
    order_line_no: int,
    qty: int,
    amount: int,
    *,
    disposition: str = "restock",
) -> str:
    """A completed return of `qty` units of a sale's line, paid back in cash (a refund row of
    the sale's cash payment, keyed as the Return workflow keys it)."""
    return_id = uuid.uuid4().hex[:12]
    with db.unit_of_work() as s:
        order = s.scalars(select(Order).where(Order.workflow_id == sale_wf)).one()
        sku = s.scalar(
            select(OrderLine.sku).where(
                OrderLine.order_id == order.id, OrderLine.line_no == order_line_no
            )
        )
        cash = s.scalars(
            select(Payment).where(Payment.workflow_id == sale_wf, Payment.tender == "cash")
        ).first()
        assert cash is not None and sku is not None
        r = Return(
            return_id=return_id,
            workflow_id=f"return:{return_id}",
            order_id=order.id,
            location_id=st.location_id,
            till_id=st.till_id,
            status="completed",
            refund_method="original",
            refund_total=amount,
            currency="EUR",
            created_at=when,
        )
        s.add(r)
        s.flush()
        s.add(
            ReturnLine(
                return_pk=r.id,
                line_no=1,
                order_line_no=order_line_no,
                sku=sku,
                quantity=qty,
                refund_amount=amount,
                disposition=disposition,
            )
        )
        s.add(
            Refund(
                payment_id=cash.id,
                amount=amount,
                status="succeeded",
                idempotency_key=f"return:{return_id}:{cash.id}",
                workflow_id=sale_wf,
                created_at=when,
            )
        )
    return return_id


def add_closed_shift(db: Database, st: Store, closed: datetime, variance: int) -> None:
    """A closed shift of the store's till with its counted − expected cash."""
    with db.unit_of_work() as s:
        n = (
            s.scalar(text("SELECT count(*) FROM shifts WHERE till_id = :t"), {"t": st.till_id}) or 0
        ) + 1
        s.add(
            Shift(
                workflow_id=f"shift:{st.code}-T1:{n}",
                till_id=st.till_id,
                n=n,
                location_id=st.location_id,
                currency="EUR",
                status="closed",
                opened_at=closed,
                float_count={},
                float_amount=0,
                variance=variance,
                closed_at=closed,
            )
        )


def add_stripe_charge(
    db: Database, st: Store, intent: str, when: datetime, amount: int, fee: int, paid_out: datetime
) -> None:
    """Stripe's balance transaction of a card charge (as the reconciliation copies it), paid
    out at `paid_out`."""
    with db.unit_of_work() as s:
        s.add(
            StripeBalanceTxn(
                id=f"txn_{uuid.uuid4().hex[:16]}",
                type="charge",
                amount=amount,
                fee=fee,
                net=amount - fee,
                currency="EUR",
                status="available",
                created_at=when,
                payment_intent=intent,
                details={},
                payout_id="po_test",
                payout_status="paid",
                payout_arrival=paid_out,
            )
        )
