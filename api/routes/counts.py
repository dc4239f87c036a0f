"""Cycle counts: a manager starts a count of some SKUs at a store, staff there enter what they
count (sales go on meanwhile), a manager submits it and approves variances over the threshold."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.permissions import require_location, require_manager_of, require_role
from api.routes.transfers import STAFF, once, visible
from api.schemas_transfers import (
    ApproveBody,
    CancelBody,
    CountIn,
    CountLineOut,
    CountLinesBody,
    CountOut,
    CountPage,
)
from contracts.approvals import Approval
from contracts.count import (
    STATUS_QUERY,
    CancelCountIn,
    CountEntryIn,
    CountRequest,
    CountView,
    EnterIn,
    SubmitIn,
    approve_count,
    cancel_count,
    count_workflow_id,
    enter_counts,
    start_count,
    submit_count,
)
from db.repositories import counts, transfers
from db.repositories.users import Principal
from db.session import Database
from domain.errors import NotFound

router = APIRouter(tags=["stock operations"])
CountId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]


def count_out(row: counts.CountRow, review: tuple[str, ...], message: str = "") -> CountOut:
    return CountOut(
        count_id=row.count_id,
        location=row.location_code,
        status=row.status,  # type: ignore[arg-type]  # a CHECK constraint holds it to the Literal
        note=row.note,
        started_at=row.started_at,
        submitted_at=row.submitted_at,
        closed_at=row.closed_at,
        review_skus=list(review),
        lines=[
            CountLineOut(
                sku=ln.sku,
                snapshot_on_hand=ln.snapshot_on_hand,
                counted=ln.counted,
                expected=ln.expected,
                variance=None
                if ln.counted is None or ln.expected is None
                else ln.counted - ln.expected,
                round=ln.round,
                needs_review=ln.sku in review,
                applied_delta=ln.applied_delta,
            )
            for ln in row.lines
        ],
        message=message,
    )


def _load(db: Database, principal: Principal, count_id: str) -> counts.CountRow:
    with db.unit_of_work() as s:
        row = counts.by_code(s, count_id)
    seen = visible(principal)
    if row is None or (seen is not None and row.location_id not in seen):
        raise NotFound(f"There is no count {count_id} at your locations.")
    return row


async def _review(client: Client, row: counts.CountRow) -> tuple[str, ...]:
    """The SKUs a count in review holds for a recount or a manager (the workflow knows)."""
    if row.status != "review":
        return ()
    try:
        view = await client.get_workflow_handle(row.workflow_id).query(
            STATUS_QUERY, result_type=CountView
        )
    except RPCError:
        return ()
    return view.review_skus if view else ()


async def _answer(
    db: Database, client: Client, principal: Principal, count_id: str, message: str = ""
) -> CountOut:
    row = await run_in_threadpool(_load, db, principal, count_id)
    return count_out(row, await _review(client, row), message)


def _counter(principal: Principal, row: counts.CountRow) -> None:
    if principal.role != "admin" and principal.role not in STAFF:
        raise ApiError(403, "forbidden", f"A {principal.role} cannot enter counts.")
    require_location(principal, row.location_id, row.location_code)


@router.post(
    "/stock/counts",
    response_model=CountOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def create_count(
    body: CountIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the location (or an admin) starts a count of some SKUs: on hand is
    snapshotted now; nothing is frozen."""
    with db.unit_of_work() as s:
        ref = transfers.place(s, body.location)
    if ref is None or not ref.active:
        raise NotFound(f"There is no active location {body.location}.", code="unknown_location")
    require_manager_of(principal, {ref.id}, ref.code)

    async def run() -> CountOut:
        view = await start_count(
            client,
            CountRequest(
                count_id=f"CT-{uuid.uuid4().hex[:12].upper()}",
                location_id=ref.id,
                location_code=ref.code,
                skus=tuple(dict.fromkeys(body.skus)),
                created_by=principal.user_id,
                max_units=settings.count_variance_max_units,
                max_value=settings.count_variance_max_value,
                note=body.note,
            ),
            task_queue=settings.backoffice_task_queue,
        )
        return await _answer(db, client, principal, view.count_id)

    return await once(db, principal, "counts", idempotency_key, body.model_dump(), 201, run)


@router.get("/stock/counts", response_model=CountPage, responses=error_responses(401, 403, 422))
def list_counts(
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[str | None, Query(pattern=r"^(counting|review|applied|cancelled)$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CountPage:
    """Counts at the caller's locations (admins and finance: all), newest first."""
    require_role(principal, *STAFF, "finance")
    with db.unit_of_work() as s:
        rows, total = counts.page(
            s, location_ids=visible(principal), status=status, page_no=page, per_page=per_page
        )
    return CountPage(
        items=[count_out(r, ()) for r in rows], page=page, per_page=per_page, total=total
    )


@router.get(
    "/stock/counts/{count_id}", response_model=CountOut, responses=error_responses(401, 403, 404)
)
async def get_count(
    count_id: CountId, principal: PrincipalDep, db: DbDep, client: ClientDep
) -> CountOut:
    """A count with each SKU's snapshot, count, expected (snapshot + movements until it was
    counted) and variance; only for staff of its location."""
    return await _answer(db, client, principal, count_id)


@router.post(
    "/stock/counts/{count_id}/lines",
    response_model=CountOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def enter_lines(
    count_id: CountId,
    body: CountLinesBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Staff of the location enter what they counted, per bin (the latest entry of a bin
    replaces the earlier one; a SKU's count is the sum of its bins). During a review this is the
    recount."""
    row = await run_in_threadpool(_load, db, principal, count_id)
    _counter(principal, row)

    async def run() -> CountOut:
        await enter_counts(
            client,
            row.workflow_id,
            EnterIn(
                entries=tuple(
                    CountEntryIn(sku=e.sku, quantity=e.quantity, bin=e.bin) for e in body.entries
                ),
                entered_by=principal.user_id,
            ),
            row.status,
        )
        return await _answer(db, client, principal, count_id)

    return await once(
        db, principal, f"count-lines:{count_id}", idempotency_key, body.model_dump(), 200, run
    )


@router.post(
    "/stock/counts/{count_id}/submit",
    response_model=CountOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def submit(
    count_id: CountId,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the location finishes the count: the corrections are applied at once, or
    (variances over the threshold) the count waits in review for a recount or an approval."""
    row = await run_in_threadpool(_load, db, principal, count_id)
    require_manager_of(principal, {row.location_id}, row.location_code)

    async def run() -> CountOut:
        view = await submit_count(
            client, row.workflow_id, SubmitIn(submitted_by=principal.user_id), row.status
        )
        return await _answer(db, client, principal, count_id, view.message)

    return await once(db, principal, f"count-submit:{count_id}", idempotency_key, {}, 200, run)


@router.post(
    "/stock/counts/{count_id}/approve",
    response_model=CountOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def approve(
    count_id: CountId,
    body: ApproveBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the location approves the variances in review (they are applied now), or
    rejects the count (nothing is applied)."""
    row = await run_in_threadpool(_load, db, principal, count_id)
    require_manager_of(principal, {row.location_id}, row.location_code)

    async def run() -> CountOut:
        answer = await approve_count(
            client,
            row.workflow_id,
            Approval(
                manager_user_id=principal.user_id,
                manager_name=principal.display_name,
                decision=body.decision,
                note=body.note,
            ),
            row.status,
        )
        return await _answer(db, client, principal, count_id, answer.message)

    return await once(
        db, principal, f"count-approve:{count_id}", idempotency_key, body.model_dump(), 200, run
    )


@router.post(
    "/stock/counts/{count_id}/cancel",
    response_model=CountOut,
    responses=error_responses(401, 403, 404, 409),
)
async def cancel(
    count_id: CountId,
    body: CancelBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the location calls the count off; nothing is applied."""
    row = await run_in_threadpool(_load, db, principal, count_id)
    require_manager_of(principal, {row.location_id}, row.location_code)

    async def run() -> CountOut:
        await cancel_count(
            client,
            row.workflow_id,
            CancelCountIn(cancelled_by=principal.user_id, reason=body.reason),
            row.status,
        )
        return await _answer(db, client, principal, count_id)

    return await once(
        db, principal, f"count-cancel:{count_id}", idempotency_key, body.model_dump(), 200, run
    )


_ = count_workflow_id  # the id scheme the workflow runs under: count:{location}:{id}
