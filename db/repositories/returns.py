"""Returns: what a sale can still give back, the claims against it, fraud signals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, cast, func, select, update
from sqlalchemy.orm import Session

from db.models import Customer, Order, OrderLine, Payment, Product, Variant
from db.models_returns import FraudSignal, Return, ReturnLine

LIVE = ("claimed", "completed")


@dataclass(frozen=True)
class ReturnableLine:
    line_no: int
    sku: str
    name: str
    category: str
    quantity: int
    returned: int
    gross: int
    serial: str
    serialized: bool


def returned_per_line(session: Session, order_id: int) -> dict[int | None, int]:
    rows = session.execute(
        select(ReturnLine.order_line_no, func.sum(ReturnLine.quantity))
        .join(Return, Return.id == ReturnLine.return_pk)
        .where(Return.order_id == order_id, Return.status.in_(LIVE))
        .group_by(ReturnLine.order_line_no)
    )
    return {no: int(q) for no, q in rows}


def returnable_lines(session: Session, order_id: int) -> list[ReturnableLine]:
    back = returned_per_line(session, order_id)
    rows = session.execute(
        select(OrderLine, Product.category, Product.serialized)
        .join(Variant, Variant.sku == OrderLine.sku)
        .join(Product, Product.id == Variant.product_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.line_no)
    )
    return [
        ReturnableLine(
            ln.line_no,
            ln.sku,
            ln.name,
            cat,
            ln.quantity,
            back.get(ln.line_no, 0),
            ln.gross,
            ln.serial,
            serialized,
        )
        for ln, cat, serialized in rows
    ]


def lock_order(session: Session, order_id: int) -> None:
    """Serialize returns against one sale: two cashiers cannot both return its last unit."""
    session.execute(select(Order.id).where(Order.id == order_id).with_for_update())


def by_return_id(session: Session, return_id: str) -> Return | None:
    return session.scalar(select(Return).where(Return.return_id == return_id))


def lines_of(session: Session, return_pk: int) -> list[ReturnLine]:
    return list(
        session.scalars(
            select(ReturnLine).where(ReturnLine.return_pk == return_pk).order_by(ReturnLine.line_no)
        )
    )


def set_status(session: Session, return_id: str, status: str, **values: object) -> None:
    session.execute(
        update(Return).where(Return.return_id == return_id).values(status=status, **values)
    )


def receiptless_credit_since(session: Session, customer_id: int, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Return.refund_total), 0)).where(
                Return.customer_id == customer_id,
                Return.receiptless,
                Return.status.in_(LIVE),
                Return.created_at >= since,
            )
        )
        or 0
    )


def add_fraud_signal(
    session: Session,
    *,
    kind: str,
    customer_id: int | None,
    return_id: str,
    detail: dict[str, object],
) -> None:
    session.add(FraudSignal(kind=kind, customer_id=customer_id, return_id=return_id, detail=detail))


def fraud_signals(session: Session, return_id: str) -> list[FraudSignal]:
    return list(session.scalars(select(FraudSignal).where(FraudSignal.return_id == return_id)))


# ---- finding the sale ----------------------------------------------------------------------


def find_orders(
    session: Session,
    *,
    number: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    last4: str | None = None,
    on: date | None = None,
    location_ids: frozenset[int] | None = None,
    limit: int = 20,
) -> list[Order]:
    """Sales by receipt / order number, by the customer's email or phone, or by card last4 + day."""
    q = select(Order).where(Order.status == "completed")
    if number:
        q = q.where(Order.number == number.strip())
    if email or phone:
        q = q.join(Customer, Customer.id == Order.customer_id)
        q = (
            q.where(func.lower(Customer.email) == email.lower())
            if email
            else q.where(Customer.phone == phone)
        )
    if last4:
        q = q.where(
            Order.workflow_id.in_(select(Payment.workflow_id).where(Payment.card_last4 == last4))
        )
    if on:
        q = q.where(cast(Order.placed_at, Date) == on)
    if location_ids is not None and not number:
        q = q.where(Order.location_id.in_(location_ids))
    return list(session.scalars(q.order_by(Order.placed_at.desc()).limit(limit)))


@dataclass(frozen=True)
class NewReturnLine:
    line_no: int
    order_line_no: int | None
    sku: str
    quantity: int
    refund_amount: int
    disposition: str
    reason: str
    serial: str


def insert_return(
    session: Session,
    *,
    return_id: str,
    workflow_id: str,
    order_id: int | None,
    location_id: int,
    till_id: int | None,
    cashier_id: int,
    customer_id: int | None,
    refund_method: str,
    refund_total: int,
    currency: str,
    receiptless: bool,
    approved_by: int | None,
    lines: list[NewReturnLine],
    shift_id: int | None = None,
    void: bool = False,
) -> Return:
    ret = Return(
        return_id=return_id,
        workflow_id=workflow_id,
        order_id=order_id,
        location_id=location_id,
        till_id=till_id,
        cashier_id=cashier_id,
        customer_id=customer_id,
        status="claimed",
        refund_method=refund_method,
        refund_total=refund_total,
        currency=currency,
        receiptless=receiptless,
        approved_by=approved_by,
        shift_id=shift_id,
        void=void,
    )
    session.add(ret)
    session.flush()
    session.add_all(ReturnLine(return_pk=ret.id, **ln.__dict__) for ln in lines)
    session.flush()
    return ret
