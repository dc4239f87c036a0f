"""Shifts of a till: their rows, cash events, Z counters and Z reports; and the sales, change and
cash refunds of a shift, read from the till's payments by the shift's time window (a sale belongs
to the shift open at its till when it was paid)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Order, OrderLine, Payment, Refund, Till, User
from db.models_returns import Return
from db.models_shifts import Shift, ShiftCounter, ShiftEvent, ZReport
from domain.shifts import (
    CashEvent,
    DiscountLine,
    RefundPayment,
    SalePayment,
    ShiftFigures,
    TaxLine,
    shift_figures,
)

PAID = ("completed", "captured", "refunded")


def by_workflow(session: Session, workflow_id: str, *, lock: bool = False) -> Shift | None:
    q = select(Shift).where(Shift.workflow_id == workflow_id)
    return session.scalar(q.with_for_update() if lock else q)


def by_n(session: Session, till_id: int, n: int) -> Shift | None:
    return session.scalar(select(Shift).where(Shift.till_id == till_id, Shift.n == n))


def current(session: Session, till_id: int) -> Shift | None:
    """The till's shift that is open or waiting for its manager (at most one)."""
    return session.scalar(select(Shift).where(Shift.till_id == till_id, Shift.status != "closed"))


def open_shift_id(session: Session, till_id: int) -> int | None:
    """The till's shift that is open for sales now (not one counted and waiting)."""
    return session.scalar(select(Shift.id).where(Shift.till_id == till_id, Shift.status == "open"))


def shift_at(session: Session, till_id: int, at: datetime) -> int | None:
    """The till's shift that was open at `at` (an offline sale's time): the last one opened by
    then, unless it was counted before."""
    row = session.execute(
        select(Shift.id, Shift.counted_at)
        .where(Shift.till_id == till_id, Shift.opened_at <= at)
        .order_by(Shift.opened_at.desc())
        .limit(1)
    ).first()
    if row is None or (row.counted_at is not None and row.counted_at < at):
        return None
    return int(row.id)


def next_n(session: Session, till_id: int) -> int:
    last = session.scalar(select(func.max(Shift.n)).where(Shift.till_id == till_id))
    return (last or 0) + 1


def last_left_in_drawer(session: Session, till_id: int) -> int | None:
    """What the till's last closed shift left in the drawer (None: no shift closed yet)."""
    return session.scalar(
        select(Shift.left_in_drawer)
        .where(Shift.till_id == till_id, Shift.status == "closed")
        .order_by(Shift.n.desc())
        .limit(1)
    )


def add_shift(session: Session, **values: Any) -> Shift:
    shift = Shift(**values)
    session.add(shift)
    session.flush()
    return shift


def add_event(session: Session, shift_id: int, seq: int, **values: Any) -> bool:
    """One cash row of the shift, once per (shift, seq); False: it was there (a retry)."""
    added = session.execute(
        insert(ShiftEvent)
        .values(shift_id=shift_id, seq=seq, **values)
        .on_conflict_do_nothing(index_elements=["shift_id", "seq"])
        .returning(ShiftEvent.seq)
    ).first()
    return added is not None


def events(session: Session, shift_id: int) -> list[ShiftEvent]:
    return list(
        session.scalars(
            select(ShiftEvent).where(ShiftEvent.shift_id == shift_id).order_by(ShiftEvent.seq)
        )
    )


def cash_events(session: Session, shift_id: int) -> list[CashEvent]:
    return [
        CashEvent(kind=e.kind, amount=e.amount, reason=e.reason)  # type: ignore[arg-type]  # CHECK
        for e in events(session, shift_id)
    ]


def sale_payments(session: Session, shift_id: int) -> list[SalePayment]:
    """Tenders taken by the sales of the shift (an offline sale's too, once it replayed)."""
    rows = session.execute(
        select(Order.number, Payment.tender, Payment.amount, Payment.tendered)
        .join(Order, Order.workflow_id == Payment.workflow_id)
        .where(Order.shift_id == shift_id, Payment.status.in_(PAID))
        .order_by(Payment.id)
    )
    return [SalePayment(order=o, tender=t, amount=a, tendered=d) for o, t, a, d in rows]


def sale_taxes(session: Session, shift_id: int) -> list[TaxLine]:
    rows = session.execute(
        select(
            Order.number, OrderLine.tax_code, OrderLine.tax_rate_bp, OrderLine.net, OrderLine.tax
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.shift_id == shift_id)
        .order_by(Order.id, OrderLine.line_no)
    )
    return [TaxLine(order=o, tax_code=c, rate_bp=r, net=n, tax=t) for o, c, r, n, t in rows]


def sale_discounts(session: Session, shift_id: int) -> list[DiscountLine]:
    """Discounts and price overrides of the shift's sales, as their orders recorded them."""
    rows = session.execute(
        select(Order.number, Order.adjustments)
        .where(Order.shift_id == shift_id, Order.adjustments.is_not(None))
        .order_by(Order.id)
    )
    return [
        DiscountLine(
            order=number,
            action=str(a.get("action", "discount")),
            amount=int(a.get("amount", 0)),
            approved=a.get("approved_by") is not None,
        )
        for number, adjustments in rows
        for a in adjustments or ()
    ]


def refunds(session: Session, shift_id: int) -> list[RefundPayment]:
    """Money paid back by the shift's returns (and voids), by tender."""
    rows = session.execute(
        select(Payment.tender, Refund.amount, Return.return_id, Return.void)
        .join(Payment, Payment.id == Refund.payment_id)
        # A return's refunds are keyed "return:{return_id}:{payment}" (activities/refunds.py);
        # their workflow_id is the sale's.
        .join(Return, func.split_part(Refund.idempotency_key, ":", 2) == Return.return_id)
        .where(
            Return.shift_id == shift_id,
            Refund.status == "succeeded",
            Refund.idempotency_key.like("return:%"),
        )
        .order_by(Refund.id)
    )
    return [RefundPayment(tender=t, amount=a, reference=r, void=v) for t, a, r, v in rows]


def cashier_names(session: Session, shift_id: int, also: list[int]) -> list[str]:
    """Who sold in the shift, and who opened and closed it."""
    ids = set(
        session.scalars(
            select(Order.cashier_id).where(
                Order.shift_id == shift_id, Order.cashier_id.is_not(None)
            )
        )
    ) | {i for i in also if i}
    if not ids:
        return []
    return sorted(session.scalars(select(User.display_name).where(User.id.in_(ids))))


def allocate_z(session: Session, till_id: int) -> int:
    """The till's next Z number, taken in the caller's transaction (a rollback gives it back)."""
    n = session.scalar(
        insert(ShiftCounter)
        .values(till_id=till_id, last_z=1)
        .on_conflict_do_update(index_elements=["till_id"], set_={"last_z": ShiftCounter.last_z + 1})
        .returning(ShiftCounter.last_z)
    )
    assert n is not None
    return int(n)


def add_z_report(session: Session, shift: Shift, report: dict[str, Any]) -> None:
    session.add(
        ZReport(shift_id=shift.id, till_id=shift.till_id, z_number=shift.z_number, report=report)
    )
    session.flush()


def z_report(session: Session, shift_id: int) -> ZReport | None:
    return session.scalar(select(ZReport).where(ZReport.shift_id == shift_id))


@dataclass(frozen=True)
class ShiftListRow:
    till_code: str
    n: int
    status: str
    opened_at: datetime
    closes_at: datetime | None
    flagged_at: datetime | None
    closed_at: datetime | None
    z_number: int | None
    variance: int | None


def for_store(
    session: Session, location_id: int, *, status: str | None, flagged: bool | None, limit: int
) -> list[ShiftListRow]:
    q = (
        select(
            Till.code,
            Shift.n,
            Shift.status,
            Shift.opened_at,
            Shift.closes_at,
            Shift.flagged_at,
            Shift.closed_at,
            Shift.z_number,
            Shift.variance,
        )
        .join(Till, Till.id == Shift.till_id)
        .where(Shift.location_id == location_id)
    )
    if status == "open":
        q = q.where(Shift.status != "closed")
    elif status is not None:
        q = q.where(Shift.status == status)
    if flagged is True:
        q = q.where(Shift.flagged_at.is_not(None))
    elif flagged is False:
        q = q.where(Shift.flagged_at.is_(None))
    rows = session.execute(q.order_by(Shift.opened_at.desc()).limit(limit))
    return [ShiftListRow(*r) for r in rows]


def figures(session: Session, shift: Shift, counted: dict[str, int] | None = None) -> ShiftFigures:
    """The shift's X (not counted yet) or Z figures, from its events and its sales' rows."""
    return shift_figures(
        currency=shift.currency,
        float_amount=shift.float_amount,
        manual=cash_events(session, shift.id),
        payments=sale_payments(session, shift.id),
        taxes=sale_taxes(session, shift.id),
        refunds=refunds(session, shift.id),
        counted=counted,
        discounts=sale_discounts(session, shift.id),
    )
