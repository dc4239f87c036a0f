"""Offline till endpoints: the catalogue snapshot a till sells from offline, and the journal
upload."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import ClientDep, DbDep, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.routes.tills import TillCode, till_for
from api.schemas_offline_shift import JournalWithClosesUpload, ShiftCloseEntryIn
from api.schemas_tills import (
    CatalogSnapshot,
    CatalogVersion,
    JournalAnswer,
    JournalEntryIn,
    JournalEntryOut,
    OfflineCardLimits,
    SnapshotItem,
    SnapshotStore,
)
from contracts.promotions import pin_to_json
from contracts.replay import TASK_QUEUE as REPLAY_TASK_QUEUE
from contracts.replay import (
    JournalEntry,
    JournalLine,
    JournalTender,
    OfflineShiftClose,
    ReplayRequest,
    replay_journal,
    replay_workflow_id,
)
from contracts.sale import GIFT_CARD_SKU, sale_workflow_id
from db.repositories import catalog, customers, orders, places_admin, promotions, tills
from db.repositories.catalog import TillView
from db.session import Database
from tillflow.settings import Settings

log = logging.getLogger("tillflow.api.tills")
router = APIRouter(prefix="/tills", tags=["till (offline)"])
MAX_WAIT_SECONDS = 30


@router.get(
    "/{till}/catalog", response_model=CatalogSnapshot, responses=error_responses(401, 403, 404, 422)
)
def snapshot(till: TillCode, principal: PrincipalDep, db: DbDep) -> CatalogSnapshot:
    """Everything the till needs to price and sell offline: items, barcodes, prices, tax, card
    limits.

    The prices are those valid at `generated_at`; the central side notes that time for the till,
    so a replayed offline sale's prices can be told apart from made-up ones."""
    view = till_for(db, principal, till)
    at = datetime.now(UTC)
    with db.unit_of_work() as s:
        # Read before the items: a change committed in between makes the till fetch again.
        version = _catalog_version(s, view)
        staff = places_admin.till_staff(s, view.location_id)
        next_change = places_admin.next_price_change(s, view.location_id, at)
        items = catalog.all_items(s, view.location_id, at)
        rates = catalog.tax_rates(s, view.location_id)
        policy = tills.offline_card_policy(s, view.location_id)
        offline_promotions = promotions.pin(s, view.location_code, "store", at=at, offline=True)
        tills.record_snapshot(s, view.till_id, at)
    return CatalogSnapshot(
        till=view.till_code,
        store=SnapshotStore(
            code=view.location_code,
            name=view.location_name,
            address=view.address,
            timezone=view.timezone,
            shift_required=view.shift_required,
            locale=view.locale,
        ),
        currency=view.currency,
        prices_include_tax=view.prices_include_tax,
        tax_rates=rates,
        # Gift cards are issued against the central ledger: never sold offline.
        items=[
            SnapshotItem(
                sku=i.sku,
                name=i.name,
                tax_code=i.tax_code,
                unit_price=i.unit_price,
                barcodes=list(i.barcodes),
                category=i.category,
            )
            for i in items
            if i.unit_price is not None and i.currency == view.currency and i.sku != GIFT_CARD_SKU
        ],
        offline_card=OfflineCardLimits(
            enabled=policy.enabled,
            per_sale_cap=policy.per_sale_cap,
            total_cap=policy.total_cap,
            max_age_hours=int(policy.max_age.total_seconds() // 3600),
        ),
        promotions=pin_to_json(offline_promotions),
        generated_at=at,
        catalog_version=version,
        next_change_at=next_change,
        staff=staff,
    )


def _catalog_version(s: Session, view: TillView) -> str:
    """Moves when anything in a till's snapshot may have: a catalogue change (the outbox), a tax
    rate changed or starting at the store, the store's own details, or who may sign in there."""
    changes, rates = places_admin.snapshot_version(s, view.location_id)
    store = (view.location_name, view.address, view.timezone, view.currency)
    staff = sorted(places_admin.till_staff(s, view.location_id).items())
    digest = hashlib.sha256(repr((store, view.prices_include_tax, staff)).encode()).hexdigest()[:8]
    return f"{changes}.{rates}.{digest}.{promotions.last_change(s)}"


@router.get(
    "/{till}/catalog/version",
    response_model=CatalogVersion,
    responses=error_responses(401, 403, 404, 422),
)
def snapshot_version(till: TillCode, principal: PrincipalDep, db: DbDep) -> CatalogVersion:
    """The catalogue version the till's snapshot is compared with: one cheap query, polled by the
    till agent; a different value than its snapshot's `catalog_version` means fetch it again."""
    view = till_for(db, principal, till)
    with db.unit_of_work() as s:
        return CatalogVersion(version=_catalog_version(s, view))


def _close(e: ShiftCloseEntryIn) -> OfflineShiftClose:
    merged: dict[int, int] = {}
    for d in e.cash:
        merged[d.denomination] = merged.get(d.denomination, 0) + d.quantity
    return OfflineShiftClose(
        client_id=e.client_sale_id,
        n=e.n or 0,
        closed_at=e.closed_at,
        cashier=e.cashier,
        cash_count=tuple(sorted(merged.items(), reverse=True)),
        other=tuple((t.tender, t.amount) for t in e.tenders),
        drop_at_close=e.drop_at_close,
    )


def _known_customers(db: Database, ids: list[int]) -> frozenset[int]:
    """Which of the customers the journal names exist (a sale naming another is replayed without
    one: an offline sale is never refused for it)."""
    with db.unit_of_work() as s:
        return frozenset(i for i in ids if customers.exists(s, i))


def replay_queue(settings: Settings) -> str:
    """Where journals replay: TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE, else the sales queue."""
    return settings.offline_replay_task_queue or REPLAY_TASK_QUEUE


def _request(
    view: TillView,
    body: JournalWithClosesUpload,
    user_id: int,
    settings: Settings,
    known_customers: frozenset[int] = frozenset(),
) -> ReplayRequest:
    sales = [e for e in body.entries if isinstance(e, JournalEntryIn)]
    return ReplayRequest(
        till_code=view.till_code,
        batch_id=body.batch_id,
        uploaded_by=user_id,
        clock_skew_s=settings.till_clock_skew_seconds,
        max_age_s=settings.offline_max_age_hours * 3600,
        shift_closes=tuple(_close(e) for e in body.entries if isinstance(e, ShiftCloseEntryIn)),
        shift_task_queue=settings.shift_task_queue,
        # Issue 21: the replay's own queue and pace (TILLFLOW_OFFLINE_REPLAY_*).
        sale_task_queue=replay_queue(settings),
        window=settings.offline_replay_window,
        entries=tuple(
            JournalEntry(
                client_sale_id=e.client_sale_id,
                sold_at=e.sold_at,
                cashier=e.cashier,
                lines=tuple(
                    JournalLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
                    for ln in e.lines
                ),
                tenders=tuple(
                    JournalTender(
                        kind=t.kind,
                        amount=t.amount,
                        tendered=t.tendered,
                        reference=t.reference,
                        brand=t.brand,
                        last4=t.last4,
                    )
                    for t in e.tenders
                ),
                total=e.total,
                change_due=e.change_due,
                customer_id=e.customer_id if e.customer_id in known_customers else None,
            )
            for e in sales
        ),
    )


def _state_in_db(db: Database, view: TillView, ids: list[str]) -> list[JournalEntryOut]:
    """Where each entry stands while its replay is still running: the database is the truth."""
    with db.unit_of_work() as s:
        rows = {r.client_sale_id: r for r in tills.entries_for(s, view.till_id, ids)}
        out = []
        for cid in ids:
            row = rows.get(cid)
            if row is not None and row.status in ("applied", "flagged"):
                out.append(
                    JournalEntryOut(
                        client_sale_id=cid,
                        status=row.status,  # type: ignore[arg-type]  # narrowed by the `in` test above
                        sale_id=row.order_number or "",
                        message=row.message,
                    )
                )
                continue
            order = orders.order_by_workflow(s, sale_workflow_id(view.till_code, cid))
            if order is not None and order.status == "completed":
                out.append(
                    JournalEntryOut(client_sale_id=cid, status="applied", sale_id=order.number)
                )
            else:
                out.append(
                    JournalEntryOut(
                        client_sale_id=cid, status="pending", message="still being applied"
                    )
                )
        return out


@router.post(
    "/{till}/journal",
    response_model=JournalAnswer,
    responses={
        **error_responses(401, 403, 404, 422),
        202: {"model": JournalAnswer, "description": "Replay still running"},
    },
)
async def upload_journal(
    till: TillCode,
    body: JournalWithClosesUpload,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="seconds to wait for the replay before answering 202",
        ),
    ] = 20,
) -> Any:
    """Hand over sales the till made offline; each is applied exactly once, however often it is
    sent.

    The OfflineReplay workflow replays every entry as a Sale with its client id and original time,
    priced from the catalogue as of that time. An entry whose time falls outside the till's offline
    window, whose cashier did not sign in at this till, whose prices no catalogue the till had
    explains, whose tenders do not cover the server's total, whose cards break the store's offline
    limits or whose stored card payment is not this sale's comes back `flagged` (kept for a
    manager, never applied). Mark an entry done at the till only when it comes back `applied` or
    `flagged`; send `pending` ones again later.

    An entry of kind `shift_close` is a blind close the till took offline: once the sales sold
    before it are applied, it closes the shift (Z printed on the till's printer) or leaves it
    waiting for a manager's approval of the variance (both `applied`, the message says which);
    a shift closed or counted at the central system already comes back `flagged` with why.
    """
    view = await run_in_threadpool(till_for, db, principal, till)
    workflow_id = replay_workflow_id(till, body.batch_id)
    named = sorted(
        {e.customer_id for e in body.entries if isinstance(e, JournalEntryIn) and e.customer_id}
    )
    known = await run_in_threadpool(_known_customers, db, named) if named else frozenset()
    result = await replay_journal(
        client,
        _request(view, body, principal.user_id, settings, known),
        store=view.location_code,
        wait_s=wait,
        task_queue=replay_queue(settings),
    )
    ids = [e.client_sale_id for e in body.entries]
    by_id = {r.client_sale_id: r for r in result.entries} if result else {}
    if result is not None and all(cid in by_id for cid in ids):
        entries = [
            JournalEntryOut(
                client_sale_id=cid,
                status=by_id[cid].status,
                sale_id=by_id[cid].sale_id,
                message=by_id[cid].message,
            )
            for cid in ids
        ]
    else:
        entries = await run_in_threadpool(_state_in_db, db, view, ids)
    complete = all(e.status != "pending" for e in entries)
    answer = JournalAnswer(
        batch_id=body.batch_id, workflow_id=workflow_id, complete=complete, entries=entries
    )
    log.info(
        "journal batch answered",
        extra={"till": till, "workflow_id": workflow_id, "entries": len(ids), "complete": complete},
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=200 if complete else 202)
