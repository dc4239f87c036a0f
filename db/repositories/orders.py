"""Orders, their lines and their payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Order, OrderLine, Payment, Refund
from domain.pricing import PricedLine


# An order line stores what pricing produced for it.
NewOrderLine = PricedLine


@dataclass(frozen=True)
class NewOrder:
    workflow_id: str
    number_prefix: str
    channel: str
    fulfilment_type: str
    status: str
    location_id: int | None
    till_id: int | None
    cashier_id: int | None
    currency: str
    subtotal: int
    tax_total: int
    total: int
    change_due: int
    warnings: list[str]
    placed_at: datetime
    lines: list[NewOrderLine]
    customer_id: int | None = None


def insert_order(session: Session, new: NewOrder) -> Order:
    """Insert once per workflow id; a retry gets the order that is already there."""
    # A retry burns one sequence value; numbers may have gaps, they never repeat.
    order_id = session.scalar(select(func.nextval(func.pg_get_serial_sequence("orders", "id"))))
    inserted = session.scalars(
        insert(Order)
        .values(
            id=order_id,
            number=f"{new.number_prefix}-{order_id:06d}",
            workflow_id=new.workflow_id,
            channel=new.channel,
            fulfilment_type=new.fulfilment_type,
            status=new.status,
            location_id=new.location_id,
            till_id=new.till_id,
            cashier_id=new.cashier_id,
            currency=new.currency,
            subtotal=new.subtotal,
            tax_total=new.tax_total,
            total=new.total,
            change_due=new.change_due,
            warnings=new.warnings,
            placed_at=new.placed_at,
            customer_id=new.customer_id,
        )
        .on_conflict_do_nothing(index_elements=["workflow_id"])
        .returning(Order)
    ).one_or_none()
    if inserted is None:
        existing = order_by_workflow(session, new.workflow_id)
        assert existing is not None
        return existing
    if new.lines:
        session.execute(insert(OrderLine), [{"order_id": inserted.id, **line.__dict__} for line in new.lines])
    return inserted


def order_by_workflow(session: Session, workflow_id: str) -> Order | None:
    return session.scalar(select(Order).where(Order.workflow_id == workflow_id))


def order_by_number(session: Session, number: str) -> Order | None:
    return session.scalar(select(Order).where(Order.number == number))


def order_lines(session: Session, order_id: int) -> list[OrderLine]:
    return list(
        session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no))
    )


def count_orders(session: Session, workflow_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Order).where(Order.workflow_id == workflow_id)) or 0


# ---- payments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPayment:
    workflow_id: str
    tender: str
    amount: int
    tendered: int
    currency: str
    status: str
    idempotency_key: str
    location_id: int | None
    till_id: int | None
    provider: str = ""
    provider_ref: str = ""


def insert_payment(session: Session, new: NewPayment) -> Payment:
    """Insert once per idempotency key and return the stored row."""
    row = session.scalars(
        insert(Payment).values(**new.__dict__).on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Payment)
    ).one_or_none()
    if row is None:
        row = session.scalar(select(Payment).where(Payment.idempotency_key == new.idempotency_key))
    assert row is not None
    return row


def payments_for(session: Session, workflow_id: str) -> list[Payment]:
    return list(
        session.scalars(select(Payment).where(Payment.workflow_id == workflow_id).order_by(Payment.id))
    )


def void_payments(session: Session, workflow_id: str, *, statuses: tuple[str, ...]) -> int:
    """Mark the workflow's live payments voided; returns how many changed."""
    result = session.execute(
        update(Payment)
        .where(Payment.workflow_id == workflow_id, Payment.status.in_(statuses))
        .values(status="voided")
    )
    return result.rowcount or 0


def payment_by_key(session: Session, key: str, *, lock: bool = False) -> Payment | None:
    q = select(Payment).where(Payment.idempotency_key == key)
    return session.scalar(q.with_for_update() if lock else q)


def payment_by_provider_ref(session: Session, provider_ref: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.provider_ref == provider_ref))


def update_payment(session: Session, payment_id: int, **values: object) -> None:
    session.execute(update(Payment).where(Payment.id == payment_id).values(**values))


def payment(session: Session, payment_id: int) -> Payment:
    return session.get_one(Payment, payment_id)


# ---- refunds -----------------------------------------------------------------------------


def refunded_per_payment(session: Session, workflow_id: str) -> dict[int, int]:
    """Amount already refunded (or being refunded) per payment of a sale."""
    rows = session.execute(
        select(Refund.payment_id, func.coalesce(func.sum(Refund.amount), 0))
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.workflow_id == workflow_id, Refund.status.in_(("pending", "succeeded")))
        .group_by(Refund.payment_id)
    )
    return {pid: int(total) for pid, total in rows}


def refund_by_key(session: Session, key: str) -> Refund | None:
    return session.scalar(select(Refund).where(Refund.idempotency_key == key))


def insert_refund(session: Session, *, payment_id: int, amount: int, key: str, reason: str,
                  workflow_id: str | None) -> Refund:
    session.execute(
        insert(Refund).values(payment_id=payment_id, amount=amount, status="pending", reason=reason,
                              idempotency_key=key, workflow_id=workflow_id)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    row = refund_by_key(session, key)
    assert row is not None
    return row


def update_refund(session: Session, refund_id: int, **values: object) -> None:
    session.execute(update(Refund).where(Refund.id == refund_id).values(**values))


def refunds_for(session: Session, workflow_id: str) -> list[Refund]:
    return list(session.scalars(
        select(Refund).join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.workflow_id == workflow_id).order_by(Refund.id)))
