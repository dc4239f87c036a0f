"""Outbound events (issue 19): `emit` writes an event into the outbox in the caller's transaction
(it commits with the business change or not at all); the rest serves the delivery workflow and the
admin's subscription and dead-letter routes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.sale import OrderRecord
from db.models import Location, Order, OrderLine
from db.models_events import EventDeadLetter, EventSubscription, OutboxEvent
from db.models_returns import Return
from db.models_shifts import Shift
from domain.events import Event, EventType, encode_body, envelope

if TYPE_CHECKING:
    from db.repositories.stock import Applied, Movement


# The event types some active subscription wants, read at most every WANTED_TTL_S per process:
# a change nobody subscribed to writes no outbox row (a sale or a stock movement stays as cheap
# as before, and the outbox does not grow for nobody). A subscription saved in this process is
# seen at once; one saved elsewhere within WANTED_TTL_S (it hears of changes from its creation
# on, so at most those seconds are missed; docs/outbound-events.md).
WANTED_TTL_S = 5.0
_wanted: dict[str, tuple[float, frozenset[str]]] = {}


def _forget_wanted() -> None:
    _wanted.clear()


def wants(session: Session, event_type: str) -> bool:
    """Whether an active subscription takes `event_type`."""
    engine = session.get_bind()
    bind = str(getattr(engine, "url", id(engine)))
    now = time.monotonic()
    cached = _wanted.get(bind)
    if cached is None or now - cached[0] > WANTED_TTL_S:
        types = session.scalars(
            select(func.unnest(EventSubscription.event_types)).where(EventSubscription.active)
        )
        cached = (now, frozenset(types))
        _wanted[bind] = cached
    return event_type in cached[1]


def emit(session: Session, event: Event) -> str:
    """Add `event` to the outbox in the caller's transaction (when a subscription wants its type);
    emitting the same change again (same type and key) is a no-op. Returns the event id."""
    if not wants(session, event.type):
        return event.event_id
    session.execute(
        insert(OutboxEvent)
        .values(
            event_id=event.event_id,
            type=event.type,
            entity=event.entity[:200],
            data=event.data,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    return event.event_id


def latest_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0


def db_now(session: Session) -> datetime:
    now: datetime = session.scalar(select(func.now()))  # type: ignore[assignment]  # never NULL
    return now


# ---- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SubscriptionView:
    code: str
    url: str
    event_types: tuple[str, ...]
    description: str
    active: bool
    cursor: int
    delivered: int
    last_delivered_at: datetime | None
    last_error: str
    created_at: datetime
    secret_tail: str
    rotating_until: datetime | None
    dead_letters: int


def _view(s: Session, row: EventSubscription) -> SubscriptionView:
    now = db_now(s)
    dead = s.scalar(
        select(func.count())
        .select_from(EventDeadLetter)
        .where(EventDeadLetter.subscription_id == row.id, EventDeadLetter.status == "dead")
    )
    until = row.previous_valid_until
    return SubscriptionView(
        code=row.code,
        url=row.url,
        event_types=tuple(row.event_types),
        description=row.description,
        active=row.active,
        cursor=row.cursor,
        delivered=row.delivered,
        last_delivered_at=row.last_delivered_at,
        last_error=row.last_error,
        created_at=row.created_at,
        secret_tail=row.secret[-4:],
        rotating_until=until if until is not None and until > now else None,
        dead_letters=int(dead or 0),
    )


def _row(s: Session, code: str, *, lock: bool = False) -> EventSubscription | None:
    q = select(EventSubscription).where(EventSubscription.code == code)
    return s.scalar(q.with_for_update() if lock else q)


def add_subscription(
    s: Session, *, code: str, url: str, event_types: tuple[str, ...], secret: str, description: str
) -> SubscriptionView | None:
    """A new subscription, starting at the outbox's head (it hears of changes from now on); None
    when the code is taken."""
    _forget_wanted()
    if _row(s, code) is not None:
        return None
    row = EventSubscription(
        code=code,
        url=url,
        event_types=list(event_types),
        secret=secret,
        description=description,
        cursor=latest_id(s),
    )
    s.add(row)
    s.flush()
    s.refresh(row)
    return _view(s, row)


def subscription(s: Session, code: str) -> SubscriptionView | None:
    row = _row(s, code)
    return None if row is None else _view(s, row)


def subscriptions(s: Session, *, active_only: bool = False) -> list[SubscriptionView]:
    q = select(EventSubscription).order_by(EventSubscription.code)
    if active_only:
        q = q.where(EventSubscription.active.is_(True))
    return [_view(s, r) for r in s.scalars(q)]


def update_subscription(
    s: Session,
    code: str,
    *,
    url: str | None = None,
    event_types: tuple[str, ...] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> SubscriptionView | None:
    row = _row(s, code, lock=True)
    if row is None:
        return None
    if url is not None:
        row.url = url
    if event_types is not None:
        row.event_types = list(event_types)
    if description is not None:
        row.description = description
    if active is not None:
        if active and not row.active:
            row.cursor = latest_id(s)  # switched back on: from now, not a backlog
        row.active = active
    s.flush()
    _forget_wanted()
    return _view(s, row)


def rotate_secret(
    s: Session, code: str, new_secret: str, overlap: timedelta
) -> SubscriptionView | None:
    """`new_secret` signs from now on; the current one also signs (a second v1) for `overlap`."""
    row = _row(s, code, lock=True)
    if row is None:
        return None
    row.previous_secret = row.secret
    row.previous_valid_until = db_now(s) + overlap
    row.secret = new_secret
    s.flush()
    return _view(s, row)


# ---- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Pending:
    outbox_id: int
    entity: str


@dataclass(frozen=True, kw_only=True)
class Batch:
    active: bool
    events: tuple[Pending, ...] = ()
    upto_id: int = 0


def pending(s: Session, code: str, limit: int) -> Batch:
    """The next events after the subscription's cursor, oldest first, of the types it wants;
    `upto_id` is where the cursor goes once they are delivered (or dead-lettered)."""
    row = _row(s, code)
    if row is None or not row.active:
        return Batch(active=False)
    ids = list(
        s.execute(
            select(OutboxEvent.id, OutboxEvent.type, OutboxEvent.entity)
            .where(OutboxEvent.id > row.cursor)
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
    )
    wanted = set(row.event_types)
    return Batch(
        active=True,
        events=tuple(Pending(outbox_id=i, entity=e) for i, t, e in ids if t in wanted),
        upto_id=ids[-1][0] if ids else row.cursor,
    )


def advance(s: Session, code: str, upto_id: int) -> None:
    s.execute(
        update(EventSubscription)
        .where(EventSubscription.code == code, EventSubscription.cursor < upto_id)
        .values(cursor=upto_id)
    )


@dataclass(frozen=True, kw_only=True)
class Delivery:
    url: str
    secrets: tuple[str, ...]
    event_id: str
    type: str
    body: bytes


def delivery(s: Session, code: str, outbox_id: int) -> Delivery | None:
    """What to send: the URL, the valid secrets (current first) and the body bytes."""
    row = _row(s, code)
    ev = s.get(OutboxEvent, outbox_id)
    if row is None or ev is None:
        return None
    secrets = [row.secret]
    if (
        row.previous_secret
        and row.previous_valid_until is not None
        and row.previous_valid_until > db_now(s)
    ):
        secrets.append(row.previous_secret)
    body = envelope(
        event_id=ev.event_id, type=ev.type, entity=ev.entity, created=ev.occurred_at, data=ev.data
    )
    return Delivery(
        url=row.url,
        secrets=tuple(secrets),
        event_id=ev.event_id,
        type=ev.type,
        body=encode_body(body),
    )


def record_outcome(s: Session, code: str, *, ok: bool, error: str = "") -> None:
    values: dict[str, Any] = (
        {
            "delivered": EventSubscription.delivered + 1,
            "last_delivered_at": func.now(),
            "last_error": "",
        }
        if ok
        else {"last_error": error[:500]}
    )
    s.execute(update(EventSubscription).where(EventSubscription.code == code).values(**values))


def dead_letter(
    s: Session, code: str, outbox_id: int, *, attempts: int, status: int, error: str
) -> None:
    """Put the event on the dead-letter list (again, if a replay failed)."""
    row = _row(s, code)
    if row is None:
        return
    s.execute(
        insert(EventDeadLetter)
        .values(
            subscription_id=row.id,
            outbox_id=outbox_id,
            attempts=attempts,
            last_status=status,
            last_error=error[:500],
        )
        .on_conflict_do_update(
            constraint="uq_event_dead_letters_event",
            set_={
                "attempts": EventDeadLetter.attempts + attempts,
                "last_status": status,
                "last_error": error[:500],
                "status": "dead",
                "dead_at": func.now(),
            },
        )
    )


def mark_replayed(s: Session, code: str, outbox_id: int) -> None:
    row = _row(s, code)
    if row is None:
        return
    s.execute(
        update(EventDeadLetter)
        .where(EventDeadLetter.subscription_id == row.id, EventDeadLetter.outbox_id == outbox_id)
        .values(status="replayed", replayed_at=func.now())
    )


@dataclass(frozen=True, kw_only=True)
class DeadLetterView:
    id: int
    outbox_id: int
    event_id: str
    type: str
    entity: str
    attempts: int
    last_status: int
    last_error: str
    status: str
    dead_at: datetime
    replayed_at: datetime | None


def dead_letters(
    s: Session, code: str, *, status: str | None, ids: tuple[int, ...] = ()
) -> list[DeadLetterView]:
    """The subscription's dead letters, oldest event first (the order a replay sends them)."""
    q = (
        select(EventDeadLetter, OutboxEvent)
        .join(EventSubscription, EventSubscription.id == EventDeadLetter.subscription_id)
        .join(OutboxEvent, OutboxEvent.id == EventDeadLetter.outbox_id)
        .where(EventSubscription.code == code)
        .order_by(EventDeadLetter.outbox_id)
        .limit(1000)
    )
    if status is not None:
        q = q.where(EventDeadLetter.status == status)
    if ids:
        q = q.where(EventDeadLetter.id.in_(ids))
    return [
        DeadLetterView(
            id=d.id,
            outbox_id=d.outbox_id,
            event_id=e.event_id,
            type=e.type,
            entity=e.entity,
            attempts=d.attempts,
            last_status=d.last_status,
            last_error=d.last_error,
            status=d.status,
            dead_at=d.dead_at,
            replayed_at=d.replayed_at,
        )
        for d, e in s.execute(q).all()
    ]


# ---- emitters: one call beside each business change -----------------------------------------
# Each builds the event from what the caller has at hand (plus a primary-key read at most) and
# writes it in the caller's transaction. Bodies carry no bearer secret (gift card codes, pickup
# codes): a tender says its kind and amount only.


def _location_code(s: Session, location_id: int | None) -> str:
    if location_id is None:
        return ""
    loc = s.get(Location, location_id)
    return loc.code if loc is not None else ""


def sale_completed(s: Session, cmd: OrderRecord, number: str) -> str:
    """`sale.completed` for a till sale just recorded (activities/sale.py record_order)."""
    p = cmd.priced
    return emit(
        s,
        Event(
            type="sale.completed",
            entity=f"order:{cmd.workflow_id}",
            key=cmd.workflow_id,
            data={
                "number": number,
                "sale_id": cmd.workflow_id,
                "till": cmd.till_code,
                "location": p.location_code,
                "currency": p.currency,
                "subtotal": p.subtotal,
                "tax_total": p.tax_total,
                "total": p.total,
                "placed_at": cmd.placed_at.isoformat(),
                "lines": [
                    {
                        "line_no": ln.line_no,
                        "sku": ln.sku,
                        "name": ln.name,
                        "quantity": ln.quantity,
                        "unit_price": ln.unit_price,
                        "discount": ln.discount,
                        "gross": ln.gross,
                    }
                    for ln in p.lines
                ],
                "tenders": [{"kind": t.kind, "amount": t.amount} for t in cmd.tenders],
            },
        ),
    )


def _order_data(s: Session, order: Order, *, lines: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "number": order.number,
        "order_id": order.workflow_id,
        "status": order.status,
        "channel": order.channel,
        "fulfilment": order.fulfilment_type,
        "source": order.external_source or "",
        "external_id": order.external_id or "",
        "location": _location_code(s, order.location_id),
        "currency": order.currency,
        "subtotal": order.subtotal,
        "tax_total": order.tax_total,
        "total": order.total,
        "placed_at": order.placed_at.isoformat(),
    }
    if lines:
        data["lines"] = [
            {"line_no": ln.line_no, "sku": ln.sku, "name": ln.name, "quantity": ln.quantity}
            for ln in s.scalars(
                select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
            )
        ]
    return data


def order_created(s: Session, order: Order) -> str:
    """`order.created` for an online order just recorded (online_orders.record)."""
    if not wants(s, "order.created"):  # nobody takes it: its lines are not read (issue 21)
        return Event(type="order.created", entity="", key=order.workflow_id).event_id
    return emit(
        s,
        Event(
            type="order.created",
            entity=f"order:{order.workflow_id}",
            key=order.workflow_id,
            data=_order_data(s, order, lines=True),
        ),
    )


STATUS_EVENTS: dict[str, EventType] = {
    "completed": "order.fulfilled",
    "cancelled": "order.cancelled",
}


def order_status(s: Session, workflow_id: str, status: str) -> str | None:
    """`order.updated` / `order.fulfilled` / `order.cancelled` for an online order's new status
    (online_orders.set_status); the same status twice is one event. None when no event is due
    (no such online order, or no subscription takes the type)."""
    kind = STATUS_EVENTS.get(status, "order.updated")
    if not wants(s, kind):  # nobody takes it: the order is not read (issue 21)
        return None
    order = s.scalar(select(Order).where(Order.workflow_id == workflow_id))
    if order is None or order.channel == "store":
        return None
    return emit(
        s,
        Event(
            type=kind,
            entity=f"order:{workflow_id}",
            key=f"{workflow_id}:{status}",
            data=_order_data(s, order, lines=False),
        ),
    )


def return_completed(s: Session, ret: Return) -> str:
    """`return.completed` for a closed return (activities/returns.py complete)."""
    return emit(
        s,
        Event(
            type="return.completed",
            entity=f"return:{ret.return_id}",
            key=ret.return_id,
            data={
                "return_id": ret.return_id,
                "location": _location_code(s, ret.location_id),
                "currency": ret.currency,
                "refund_total": ret.refund_total,
                "refund_method": ret.refund_method,
                "receiptless": ret.receiptless,
                "void": ret.void,
                "order": s.scalar(select(Order.number).where(Order.id == ret.order_id))
                if ret.order_id is not None
                else None,
            },
        ),
    )


def shift_closed(s: Session, shift: Shift, till_code: str) -> str:
    """`shift.closed` for a shift just closed with its Z number (activities/shifts.py finish)."""
    return emit(
        s,
        Event(
            type="shift.closed",
            entity=f"shift:{shift.workflow_id}",
            key=shift.workflow_id,
            data={
                "shift_id": shift.workflow_id,
                "till": till_code,
                "n": shift.n,
                "location": _location_code(s, shift.location_id),
                "currency": shift.currency,
                "z_number": shift.z_number,
                "opened_at": shift.opened_at.isoformat(),
                "closed_at": shift.closed_at.isoformat() if shift.closed_at else None,
                "counted": shift.counted or {},
                "variance": shift.variance,
            },
        ),
    )


def stock_changed(
    s: Session,
    location_id: int,
    movements: Sequence[Movement],
    applied: Sequence[Applied],
    occurred_at: datetime,
) -> int:
    """`stock.changed` for each movement that applied (db/repositories/stock.py apply_movements),
    in one statement; keyed by the movement's own idempotency key."""
    if not wants(s, "stock.changed"):
        return 0
    code = _location_code(s, location_id)
    rows = []
    for m, a in zip(movements, applied, strict=True):
        if not a.applied:
            continue
        ev = Event(
            type="stock.changed",
            entity=f"stock:{code}:{m.sku}",
            key=m.idempotency_key,
            data={
                "location": code,
                "sku": m.sku,
                "delta": m.delta,
                "bucket": m.bucket,
                "on_hand": a.on_hand_before + m.delta
                if m.bucket == "sellable"
                else a.on_hand_before,
                "reason": m.reason,
                "reference": m.reference,
                "occurred_at": occurred_at.isoformat(),
            },
        )
        rows.append(
            {"event_id": ev.event_id, "type": ev.type, "entity": ev.entity[:200], "data": ev.data}
        )
    if rows:
        s.execute(
            insert(OutboxEvent).values(rows).on_conflict_do_nothing(index_elements=["event_id"])
        )
    return len(rows)


def product_changed(
    s: Session, change_id: int, product_code: str, action: str, fields: Sequence[str], source: str
) -> str:
    """`product.changed` beside a catalogue outbox row (db/repositories/catalog_outbox.py)."""
    return emit(
        s,
        Event(
            type="product.changed",
            entity=f"product:{product_code}",
            key=f"catalog:{change_id}",
            data={
                "product": product_code,
                "action": action,
                "fields": sorted(set(fields)),
                "source": source,
            },
        ),
    )
