"""Offline tills: card limits per store, uploaded journal entries, stock variances, collection
tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import ApiToken, Location, Payment, StockMovement, Till, User, UserLocation
from db.models_tills import CollectionTask, OfflineCardPolicy, OfflineJournalEntry, StockVariance
from domain import offline

# ---- stores and their tills --------------------------------------------------------------


@dataclass(frozen=True)
class StoreRef:
    id: int
    code: str
    currency: str


def store_by_code(session: Session, code: str) -> StoreRef | None:
    row = session.scalar(select(Location).where(Location.code == code, Location.kind == "store"))
    return StoreRef(row.id, row.code, row.currency) if row else None


def till_codes(session: Session, location_id: int) -> dict[int, str]:
    """Every till of a store (active or not), by id."""
    rows = session.execute(select(Till.id, Till.code).where(Till.location_id == location_id))
    return {till_id: code for till_id, code in rows}


# ---- offline card limits -----------------------------------------------------------------


def offline_card_policy(session: Session, location_id: int) -> offline.OfflineCardPolicy:
    """The store's offline card limits; a store without a row takes no cards offline."""
    row = session.get(OfflineCardPolicy, location_id)
    if row is None:
        return offline.OfflineCardPolicy()
    return offline.OfflineCardPolicy(
        enabled=row.enabled,
        per_sale_cap=row.per_sale_cap,
        total_cap=row.total_cap,
        max_age=timedelta(hours=row.max_age_hours),
    )


def set_offline_card_policy(
    session: Session,
    location_id: int,
    *,
    enabled: bool,
    per_sale_cap: int,
    total_cap: int,
    max_age_hours: int,
) -> None:
    values = {
        "enabled": enabled,
        "per_sale_cap": per_sale_cap,
        "total_cap": total_cap,
        "max_age_hours": max_age_hours,
    }
    session.execute(
        insert(OfflineCardPolicy)
        .values(location_id=location_id, **values)
        .on_conflict_do_update(
            index_elements=["location_id"], set_={**values, "updated_at": func.now()}
        )
    )


# ---- what the central side knows of a till's offline window --------------------------------


@dataclass(frozen=True)
class TillWindow:
    last_contact_at: datetime | None  # its last authenticated call
    offline_from: datetime | None  # its last call before its latest silence (or first call)
    snapshot_at: datetime | None  # when it last downloaded its offline catalogue


def till_window(session: Session, till_id: int) -> TillWindow:
    row = session.execute(
        select(Till.last_contact_at, Till.offline_from, Till.snapshot_at).where(Till.id == till_id)
    ).one()
    return TillWindow(*row)


def record_contact(session: Session, till_id: int, now: datetime) -> None:
    """Note an authenticated call of the till (at most every `CONTACT_RESOLUTION`).

    After a silence longer than `CONTACT_SILENCE` the till may have sold offline meanwhile: its
    offline window then starts at the call before the silence. A till seen for the first time
    sold nothing offline before now."""
    previous = Till.last_contact_at
    session.execute(
        update(Till)
        .where(
            Till.id == till_id,
            previous.is_(None) | (previous < now - offline.CONTACT_RESOLUTION),
        )
        .values(
            offline_from=case(
                (previous.is_(None), now),
                (previous < now - offline.CONTACT_SILENCE, previous),
                else_=Till.offline_from,
            ),
            last_contact_at=now,
        )
    )


def record_snapshot(session: Session, till_id: int, at: datetime) -> None:
    """The till was served its offline catalogue with the prices valid at `at`."""
    session.execute(update(Till).where(Till.id == till_id).values(snapshot_at=at))


def signed_in_at_till(
    session: Session, user_id: int, till_id: int, since: datetime, until: datetime
) -> bool:
    """Whether the user signed in at this till (a token issued for it) between since and until."""
    found = session.scalar(
        select(ApiToken.id)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.till_id == till_id,
            ApiToken.created_at >= since,
            ApiToken.created_at <= until,
        )
        .limit(1)
    )
    return found is not None


def is_manager_of(session: Session, user_id: int, location_id: int) -> bool:
    found = session.scalar(
        select(User.id)
        .join(UserLocation, UserLocation.user_id == User.id)
        .where(
            User.id == user_id,
            User.active,
            User.role == "manager",
            UserLocation.location_id == location_id,
        )
    )
    return found is not None


def card_total(payload: dict[str, Any]) -> int:
    """What a journal entry put on cards (its payload as uploaded)."""
    return sum(
        int(t.get("amount", 0)) for t in payload.get("tenders", ()) if t.get("kind") == "card"
    )


def cards_held_at(
    session: Session, till_id: int, sold_at: datetime, client_sale_id: str
) -> offline.StoredCards:
    """The offline card payments the till held when it rang up this sale: every earlier sale of
    the till that reached the central system only after this one was made."""
    rows = session.execute(
        select(OfflineJournalEntry.sold_at, OfflineJournalEntry.payload).where(
            OfflineJournalEntry.till_id == till_id,
            OfflineJournalEntry.received_at > sold_at,
            OfflineJournalEntry.sold_at <= sold_at,
            OfflineJournalEntry.client_sale_id != client_sale_id,
        )
    ).all()
    held = [(at, card_total(payload)) for at, payload in rows]
    held = [(at, amount) for at, amount in held if amount > 0]
    if not held:
        return offline.StoredCards()
    return offline.StoredCards(
        total=sum(amount for _, amount in held), first_stored_at=min(at for at, _ in held)
    )


def card_payment_elsewhere(session: Session, provider_ref: str, own: Sequence[str]) -> str | None:
    """The workflow of a payment row outside `own` (the sale's ids) that used this card payment
    (PaymentIntent), if any."""
    return session.scalar(
        select(Payment.workflow_id)
        .where(
            Payment.tender == "card",
            Payment.provider_ref == provider_ref,
            Payment.workflow_id.not_in(list(own)),
        )
        .limit(1)
    )


# ---- journal entries ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewJournalEntry:
    client_sale_id: str
    workflow_id: str
    cashier_id: int | None
    sold_at: datetime
    payload: dict[str, Any]


def receive_entries(
    session: Session, till_id: int, batch_id: str, entries: Sequence[NewJournalEntry]
) -> set[str]:
    """Keep each uploaded entry once per (till, client sale id); a re-upload changes nothing.
    Returns the client sale ids received for the first time."""
    if not entries:
        return set()
    new = session.scalars(
        insert(OfflineJournalEntry)
        .values(
            [
                {
                    "till_id": till_id,
                    "client_sale_id": e.client_sale_id,
                    "workflow_id": e.workflow_id,
                    "batch_id": batch_id,
                    "cashier_id": e.cashier_id,
                    "sold_at": e.sold_at,
                    "payload": e.payload,
                    "status": "received",
                    "message": "",
                }
                for e in entries
            ]
        )
        .on_conflict_do_nothing()
        .returning(OfflineJournalEntry.client_sale_id)
    )
    return set(new)


def entries_for(
    session: Session, till_id: int, client_sale_ids: Sequence[str]
) -> list[OfflineJournalEntry]:
    return list(
        session.scalars(
            select(OfflineJournalEntry).where(
                OfflineJournalEntry.till_id == till_id,
                OfflineJournalEntry.client_sale_id.in_(list(client_sale_ids)),
            )
        )
    )


def mark_entry(
    session: Session, workflow_id: str, *, status: str, order_number: str | None, message: str = ""
) -> None:
    session.execute(
        update(OfflineJournalEntry)
        .where(OfflineJournalEntry.workflow_id == workflow_id)
        .values(status=status, order_number=order_number, message=message, updated_at=func.now())
    )


def flagged_entries(session: Session, till_ids: Sequence[int]) -> list[OfflineJournalEntry]:
    return list(
        session.scalars(
            select(OfflineJournalEntry)
            .where(
                OfflineJournalEntry.till_id.in_(list(till_ids)),
                OfflineJournalEntry.status == "flagged",
            )
            .order_by(OfflineJournalEntry.sold_at)
        )
    )


# ---- stock variances ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shortfall:
    line_no: int
    sku: str
    quantity: int
    on_hand_before: int


def sale_shortfalls(session: Session, workflow_id: str, location_id: int) -> list[Shortfall]:
    """Lines of a sale that took more than was on hand, read from the ledger.

    A movement's on_hand before is the sum of earlier movements of its SKU: rows of one SKU are
    written under that SKU's row lock, so their ids follow the order they were applied in.
    """
    prefix = f"{workflow_id}:stock:"
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    moves = session.scalars(
        select(StockMovement)
        .where(
            StockMovement.idempotency_key.like(escaped + "%", escape="\\"),
            StockMovement.location_id == location_id,
            StockMovement.reason == "sale",
        )
        .order_by(StockMovement.id)
    ).all()
    out = []
    for m in moves:
        before = (
            session.scalar(
                select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
                    StockMovement.location_id == m.location_id,
                    StockMovement.sku == m.sku,
                    StockMovement.id < m.id,
                )
            )
            or 0
        )
        sold = -m.delta
        if before < sold:
            line_no = int((m.idempotency_key or "0").rsplit(":", 1)[-1])
            out.append(Shortfall(line_no, m.sku, sold, int(before)))
    return out


@dataclass(frozen=True)
class NewVariance:
    location_id: int
    sku: str
    till_id: int | None
    workflow_id: str
    order_number: str
    line_no: int
    quantity_sold: int
    on_hand_before: int
    sold_at: datetime
    reason: str = "offline_sale_short"


def add_variance(session: Session, v: NewVariance) -> None:
    """Flag a shortfall once per sale line."""
    short = v.quantity_sold - max(0, v.on_hand_before)
    session.execute(
        insert(StockVariance)
        .values(**v.__dict__, quantity_short=short, status="open")
        .on_conflict_do_nothing(index_elements=["workflow_id", "line_no"])
    )


def variances(
    session: Session, location_id: int, status: str | None = "open"
) -> list[StockVariance]:
    q = select(StockVariance).where(StockVariance.location_id == location_id)
    if status:
        q = q.where(StockVariance.status == status)
    return list(session.scalars(q.order_by(StockVariance.id)))


# ---- collection tasks --------------------------------------------------------------------


@dataclass(frozen=True)
class NewCollectionTask:
    idempotency_key: str
    location_id: int
    till_id: int
    workflow_id: str
    client_sale_id: str
    amount: int
    currency: str
    card_brand: str
    card_last4: str
    card_reference: str
    decline_reason: str
    receipt: dict[str, Any]
    sold_at: datetime


def add_collection_task(session: Session, task: NewCollectionTask) -> CollectionTask:
    """Open a "collect from customer" task once per idempotency key and return it."""
    session.execute(
        insert(CollectionTask)
        .values(**task.__dict__, status="open")
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    row = session.scalar(
        select(CollectionTask).where(CollectionTask.idempotency_key == task.idempotency_key)
    )
    assert row is not None
    return row


def collection_tasks(
    session: Session, location_id: int, status: str | None = "open"
) -> list[CollectionTask]:
    q = select(CollectionTask).where(CollectionTask.location_id == location_id)
    if status:
        q = q.where(CollectionTask.status == status)
    return list(session.scalars(q.order_by(CollectionTask.id)))
