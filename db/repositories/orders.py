"""Orders, their lines and their payments."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Order, OrderLine, Payment, Refund
from db.session import core
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
    shift_id: int | None = None
    adjustments: list[dict[str, object]] | None = None  # discounts / overrides, who approved
    basket_started_at: datetime | None = None  # the till's first scan
    # What each promotion took off each line, by line number: [{"code", "name", "amount", …}].
    line_promotions: dict[int, list[dict[str, object]]] | None = None


@dataclass(frozen=True)
class AddedOrder:
    id: int
    number: str
    cashier_name: str  # for the receipt; "" without a cashier


# A sale's whole record in one fixed statement: the order, its number (made from its id), its
# lines, the payments taken with it, and the cashier's name for the receipt. psycopg prepares it
# after a few runs; every till sale goes through here.
_ADD_ORDER = text("""
    WITH n AS (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id),
    o AS (
        INSERT INTO orders (id, number, workflow_id, channel, fulfilment_type, status, location_id,
                            till_id, cashier_id, customer_id, currency, subtotal, tax_total, total,
                            change_due, warnings, placed_at, shift_id, adjustments,
                            basket_started_at)
        SELECT n.id,
               CAST(:prefix AS varchar) || '-'
                   || lpad(n.id::text, greatest(6, length(n.id::text)), '0'),
               CAST(:workflow_id AS varchar), CAST(:channel AS varchar),
               CAST(:fulfilment_type AS varchar),
               CAST(:status AS varchar), CAST(:location_id AS integer), CAST(:till_id AS integer),
               CAST(:cashier_id AS integer), CAST(:customer_id AS integer),
               CAST(:currency AS varchar),
               CAST(:subtotal AS bigint), CAST(:tax_total AS bigint), CAST(:total AS bigint),
               CAST(:change_due AS bigint), CAST(:warnings AS jsonb),
               CAST(:placed_at AS timestamptz), CAST(:shift_id AS bigint),
               CAST(:adjustments AS jsonb), CAST(:basket_started_at AS timestamptz)
        FROM n
        ON CONFLICT (workflow_id) DO NOTHING
        RETURNING id, number),
    lines AS (
        INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price, net, tax,
                                 gross, tax_code, tax_rate_bp, discount, promotions)
        SELECT o.id, x.* FROM o, unnest(
            CAST(:line_no AS integer[]), CAST(:sku AS varchar[]), CAST(:name AS varchar[]),
            CAST(:quantity AS integer[]), CAST(:unit_price AS bigint[]), CAST(:net AS bigint[]),
            CAST(:tax AS bigint[]), CAST(:gross AS bigint[]), CAST(:tax_code AS varchar[]),
            CAST(:tax_rate_bp AS integer[]), CAST(:discount AS bigint[]),
            CAST(:promotions AS jsonb[])) AS x),
    pays AS (
        INSERT INTO payments (workflow_id, tender, amount, tendered, currency, status,
                              idempotency_key, location_id, till_id, provider, provider_ref)
        SELECT * FROM unnest(
            CAST(:pay_workflow_id AS varchar[]), CAST(:pay_tender AS varchar[]),
            CAST(:pay_amount AS bigint[]), CAST(:pay_tendered AS bigint[]),
            CAST(:pay_currency AS varchar[]), CAST(:pay_status AS varchar[]),
            CAST(:pay_idempotency_key AS varchar[]), CAST(:pay_location_id AS integer[]),
            CAST(:pay_till_id AS integer[]), CAST(:pay_provider AS varchar[]),
            CAST(:pay_provider_ref AS varchar[]))
        ON CONFLICT (idempotency_key) DO NOTHING)
    SELECT o.id, o.number,
           coalesce((SELECT display_name FROM users WHERE id = CAST(:cashier_id AS integer)), '')
               AS cashier_name
    FROM o
""")
_LINE_COLUMNS = (
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
_PAYMENT_COLUMNS = (
    "workflow_id",
    "tender",
    "amount",
    "tendered",
    "currency",
    "status",
    "idempotency_key",
    "location_id",
    "till_id",
    "provider",
    "provider_ref",
)


def add_order(
    session: Session, new: NewOrder, payments: Sequence[NewPayment] = ()
) -> AddedOrder | None:
    """Insert the order with its lines once per workflow id, and each payment once per key; None
    when the order is there already. A retry burns one sequence value: numbers may have gaps,
    they never repeat."""
    params: dict[str, object] = {
        "prefix": new.number_prefix,
        "workflow_id": new.workflow_id,
        "channel": new.channel,
        "fulfilment_type": new.fulfilment_type,
        "status": new.status,
        "location_id": new.location_id,
        "till_id": new.till_id,
        "cashier_id": new.cashier_id,
        "customer_id": new.customer_id,
        "currency": new.currency,
        "subtotal": new.subtotal,
        "tax_total": new.tax_total,
        "total": new.total,
        "change_due": new.change_due,
        "warnings": json.dumps(new.warnings),
        "placed_at": new.placed_at,
        "shift_id": new.shift_id,
        "adjustments": None if new.adjustments is None else json.dumps(new.adjustments),
        "basket_started_at": new.basket_started_at,
    }
    for column in _LINE_COLUMNS:
        params[column] = [getattr(line, column) for line in new.lines]
    promos = new.line_promotions or {}
    params["promotions"] = [json.dumps(promos.get(line.line_no, [])) for line in new.lines]
    for column in _PAYMENT_COLUMNS:
        params[f"pay_{column}"] = [getattr(p, column) for p in payments]
    row = core(session).execute(_ADD_ORDER, params).first()
    return None if row is None else AddedOrder(row.id, row.number, row.cashier_name)


def insert_order(session: Session, new: NewOrder) -> Order:
    """Insert once per workflow id; a retry gets the order that is already there."""
    add_order(session, new)
    existing = order_by_workflow(session, new.workflow_id)
    assert existing is not None
    return existing


def order_by_workflow(session: Session, workflow_id: str) -> Order | None:
    return session.scalar(select(Order).where(Order.workflow_id == workflow_id))


def order_by_number(session: Session, number: str) -> Order | None:
    return session.scalar(select(Order).where(Order.number == number))


def order_lines(session: Session, order_id: int) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        )
    )


def count_orders(session: Session, workflow_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Order).where(Order.workflow_id == workflow_id)
        )
        or 0
    )


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
        insert(Payment)
        .values(**new.__dict__)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Payment)
    ).one_or_none()
    if row is None:
        row = session.scalar(select(Payment).where(Payment.idempotency_key == new.idempotency_key))
    assert row is not None
    return row


def payments_for(session: Session, workflow_id: str) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment).where(Payment.workflow_id == workflow_id).order_by(Payment.id)
        )
    )


def void_payments(session: Session, workflow_id: str, *, statuses: tuple[str, ...]) -> int:
    """Mark the workflow's live payments voided; returns how many changed."""
    result = session.execute(
        update(Payment)
        .where(Payment.workflow_id == workflow_id, Payment.status.in_(statuses))
        .values(status="voided")
    )
    return result.rowcount or 0  # type: ignore[attr-defined]  # DML executes to a CursorResult


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


def insert_refund(
    session: Session,
    *,
    payment_id: int,
    amount: int,
    key: str,
    reason: str,
    workflow_id: str | None,
) -> Refund:
    session.execute(
        insert(Refund)
        .values(
            payment_id=payment_id,
            amount=amount,
            status="pending",
            reason=reason,
            idempotency_key=key,
            workflow_id=workflow_id,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    row = refund_by_key(session, key)
    assert row is not None
    return row


def update_refund(session: Session, refund_id: int, **values: object) -> None:
    session.execute(update(Refund).where(Refund.id == refund_id).values(**values))


def refunds_for(session: Session, workflow_id: str) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Payment.workflow_id == workflow_id)
            .order_by(Refund.id)
        )
    )
