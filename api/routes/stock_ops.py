"""Stock operations for store managers: goods receipts, adjustments with reason codes and their
approval, quarantine release / write-off, offline variances, reorder suggestions.

Managers act on their own locations, admins everywhere; everyone else gets a 403. Every change of
stock is a workflow (contracts/stock.py); this module only starts them and reads."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.permissions import require_manager_of, require_role
from api.schemas_stock_ops import (
    AdjustmentIn,
    AdjustmentLineOut,
    AdjustmentOut,
    DecisionBody,
    QuarantineIn,
    ReceiptIn,
    ReceiptLineOut,
    ReceiptOut,
    ReorderPointIn,
    ReorderPointOut,
    StockVarianceOut,
    SuggestionOut,
    VarianceResolveIn,
)
from contracts.approvals import Approval
from contracts.common import WorkflowClosed
from contracts.stock import (
    AdjustmentKind,
    AdjustmentLineIn,
    AdjustmentRequest,
    AdjustmentState,
    ReceiptLineIn,
    ReceiptRequest,
    ReorderRequest,
    VarianceRequest,
    adjustment_status,
    decide_adjustment,
    receive_goods,
    resolve_variance,
    submit_adjustment,
)
from db.models import Location
from db.repositories import bookkeeping, purchasing, stock_ops
from db.repositories.users import Principal
from db.session import Database
from domain.errors import Conflict, NotFound
from tillflow.settings import Settings

router = APIRouter(prefix="/stock", tags=["stock operations"])
DocPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
LocationQuery = Annotated[str | None, Query(min_length=1, max_length=32)]


def manager_location(db: Database, principal: Principal, code: str) -> Location:
    """The location by code, if the caller manages it (an admin: any): 403 for other roles and
    other stores, 404 for an unknown code."""
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        loc = stock_ops.location_by_code(s, code)
    if loc is None:
        raise NotFound(f"There is no location {code}.", code="unknown_location")
    require_manager_of(principal, {loc.id}, code)
    return loc


def managed_ids(principal: Principal) -> list[int] | None:
    """The locations a caller's lists cover (None: all, for an admin)."""
    require_role(principal, "manager")
    return None if principal.role == "admin" else sorted(principal.location_ids)


async def idempotent(
    db: Database,
    scope: str,
    key: str | None,
    request: Any,
    run: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """Replay the first answer to this Idempotency-Key, or run and remember it."""

    async def answer() -> idempotency.Answer:
        return idempotency.Answer(*await run())

    return await idempotency.once(db, scope, key, request, answer)


# ---- goods receipts -------------------------------------------------------------------------


def receipt_out(db: Database, receipt_id: str, location_ids: list[int] | None) -> ReceiptOut:
    with db.unit_of_work() as s:
        r = stock_ops.receipt_by_id(s, receipt_id)
        if r is None or (location_ids is not None and r.location_id not in location_ids):
            raise NotFound(f"There is no receipt {receipt_id}.")
        if r.status != "completed":
            raise NotFound(f"Receipt {receipt_id} is still being booked; try again in a moment.")
        po = purchasing.order_by_id(s, r.po_id) if r.po_id else None
        sup = purchasing.supplier_by_id(s, r.supplier_id) if r.supplier_id else None
        lines = []
        for ln in stock_ops.receipt_lines(s, r.id):
            short = 0
            if ln.expected is not None:
                short = max(ln.expected - ln.quantity, 0)
            lines.append(
                ReceiptLineOut(
                    line_no=ln.line_no,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    expected=ln.expected,
                    over=ln.over,
                    short=short,
                    unit_cost=ln.unit_cost,
                )
            )
        return ReceiptOut(
            receipt_id=r.receipt_id,
            location=purchasing.location_code(s, r.location_id),
            status=r.status,
            purchase_order=po.number if po else None,
            purchase_order_status=po.status if po else None,
            supplier=sup.code if sup else None,
            currency=r.currency,
            delivery_note=r.delivery_note,
            received_at=r.received_at,
            lines=lines,
        )


@router.post(
    "/receipts",
    response_model=ReceiptOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def create_receipt(
    body: ReceiptIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Book a delivery: against a purchase order (partial deliveries, over- and under-deliveries
    recorded per line; `close_short` ends the order) or free. The goods become sellable at once
    and the web stores are told. The same `receipt_id` is the same delivery."""
    loc = await run_in_threadpool(manager_location, db, principal, body.location)

    async def run() -> tuple[int, dict[str, Any]]:
        receipt_id = body.receipt_id or f"{loc.code}-{uuid.uuid4().hex[:12]}"
        req = ReceiptRequest(
            receipt_id=receipt_id,
            location_id=loc.id,
            location_code=loc.code,
            lines=tuple(
                ReceiptLineIn(sku=ln.sku, quantity=ln.quantity, unit_cost=ln.unit_cost)
                for ln in body.lines
            ),
            po_number=body.purchase_order or "",
            supplier_code=body.supplier or "",
            close_short=body.close_short,
            delivery_note=body.delivery_note,
            received_by=principal.user_id,
            cost_method=settings.receipt_cost_method,
        )
        with contextlib.suppress(WorkflowClosed):  # booked before: answer with what it recorded
            await receive_goods(client, req, task_queue=settings.backoffice_task_queue)
        out = await run_in_threadpool(receipt_out, db, receipt_id, [loc.id])
        return 201, out.model_dump(mode="json")

    return await idempotent(
        db, f"{principal.user_id}:stock:receipts", idempotency_key, body.model_dump(), run
    )


@router.get("/receipts", response_model=list[ReceiptOut], responses=error_responses(401, 403))
def list_receipts(
    principal: PrincipalDep,
    db: DbDep,
    location: LocationQuery = None,
    purchase_order: Annotated[str | None, Query(max_length=40)] = None,
) -> list[ReceiptOut]:
    """Deliveries booked at the caller's locations, newest first."""
    ids = managed_ids(principal)
    if location:
        ids = [manager_location(db, principal, location).id]
    with db.unit_of_work() as s:
        po_id = None
        if purchase_order:
            po = purchasing.order_by_number(s, purchase_order)
            if po is None:
                return []
            po_id = po.id
        found = [
            r.receipt_id
            for r in stock_ops.receipts(s, location_ids=ids, po_id=po_id)
            if r.status == "completed"
        ]
    return [receipt_out(db, rid, ids) for rid in found]


@router.get(
    "/receipts/{receipt_id}", response_model=ReceiptOut, responses=error_responses(401, 403, 404)
)
def get_receipt(receipt_id: DocPath, principal: PrincipalDep, db: DbDep) -> ReceiptOut:
    """One delivery: what came, what the order expected, what was over or short."""
    return receipt_out(db, receipt_id, managed_ids(principal))


# ---- adjustments, quarantine release and write-off -------------------------------------------


def adjustment_out(
    db: Database, adjustment_id: str, state: AdjustmentState | None
) -> AdjustmentOut:
    with db.unit_of_work() as s:
        row = stock_ops.adjustment_by_id(s, adjustment_id)
        if row is None:
            raise NotFound(f"There is no adjustment {adjustment_id}.")
        lines = [
            AdjustmentLineOut(
                line_no=ln.line_no, sku=ln.sku, delta=ln.delta, unit_cost=ln.unit_cost
            )
            for ln in stock_ops.adjustment_lines(s, row.id)
        ]
        return AdjustmentOut(
            adjustment_id=row.adjustment_id,
            location=purchasing.location_code(s, row.location_id),
            kind=row.kind,
            reason=row.reason,
            status=row.status,
            units=row.units,
            value=row.value,
            currency=row.currency,
            note=row.note,
            approval_reasons=list(state.approval_reasons) if state else [],
            message=state.message if state else "",
            requested_by=row.requested_by,
            decided_by=row.decided_by,
            decision_note=row.decision_note,
            created_at=row.created_at,
            decided_at=row.decided_at,
            lines=lines,
        )


def _status_code(state: AdjustmentState) -> int:
    return {"applied": 201, "awaiting_approval": 202}.get(state.status, 200)


async def _adjust(
    db: Database,
    client: Any,
    settings: Settings,
    principal: Principal,
    loc: Location,
    *,
    kind: AdjustmentKind,
    reason: str,
    adjustment_id: str | None,
    lines: tuple[AdjustmentLineIn, ...],
    note: str,
) -> tuple[int, dict[str, Any]]:
    adj_id = adjustment_id or f"{loc.code}-{uuid.uuid4().hex[:12]}"
    with db.unit_of_work() as s:
        taken = stock_ops.adjustment_by_id(s, adj_id)
    if taken is not None and taken.location_id != loc.id:
        raise Conflict(
            f"Adjustment id {adj_id} is already in use; give it a new id.",
            code="adjustment_id_taken",
        )
    req = AdjustmentRequest(
        adjustment_id=adj_id,
        location_id=loc.id,
        location_code=loc.code,
        kind=kind,
        reason=reason,
        lines=lines,
        requested_by=principal.user_id,
        threshold_units=settings.adjustment_approval_units,
        threshold_value=settings.adjustment_approval_value,
        approval_timeout_s=settings.adjustment_approval_timeout_minutes * 60,
        note=note,
    )
    state = await submit_adjustment(client, req, task_queue=settings.backoffice_task_queue)
    out = await run_in_threadpool(adjustment_out, db, adj_id, state)
    return _status_code(state), out.model_dump(mode="json")


@router.post(
    "/adjustments",
    response_model=AdjustmentOut,
    status_code=201,
    responses={
        **error_responses(401, 403, 404, 409, 422),
        202: {"description": "Waiting for a manager's approval"},
    },
)
async def create_adjustment(
    body: AdjustmentIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Change stock with a reason code: damage and theft take units away (negative `delta`),
    found adds them, a correction goes either way. 201 when applied; 202 when it is above the
    approval threshold and waits for a manager (`POST /stock/adjustments/{id}/approve|reject`)."""
    loc = await run_in_threadpool(manager_location, db, principal, body.location)
    lines = tuple(AdjustmentLineIn(sku=ln.sku, delta=ln.delta) for ln in body.lines)

    async def run() -> tuple[int, dict[str, Any]]:
        return await _adjust(
            db,
            client,
            settings,
            principal,
            loc,
            kind="adjustment",
            reason=body.reason,
            adjustment_id=body.adjustment_id,
            lines=lines,
            note=body.note,
        )

    return await idempotent(
        db, f"{principal.user_id}:stock:adjustments", idempotency_key, body.model_dump(), run
    )


def _quarantine_route(kind: Literal["quarantine_release", "write_off"]) -> Any:
    async def route(
        body: QuarantineIn,
        principal: PrincipalDep,
        db: DbDep,
        client: ClientDep,
        settings: SettingsDep,
        idempotency_key: IdempotencyKey = None,
    ) -> Any:
        loc = await run_in_threadpool(manager_location, db, principal, body.location)
        lines = tuple(AdjustmentLineIn(sku=ln.sku, delta=ln.quantity) for ln in body.lines)

        async def run() -> tuple[int, dict[str, Any]]:
            return await _adjust(
                db,
                client,
                settings,
                principal,
                loc,
                kind=kind,
                reason=kind,
                adjustment_id=body.adjustment_id,
                lines=lines,
                note=body.note,
            )

        return await idempotent(
            db, f"{principal.user_id}:stock:{kind}", idempotency_key, body.model_dump(), run
        )

    return route


router.add_api_route(
    "/quarantine/release",
    _quarantine_route("quarantine_release"),
    methods=["POST"],
    response_model=AdjustmentOut,
    status_code=201,
    responses={**error_responses(401, 403, 404, 409, 422), 202: {"description": "Waiting"}},
    summary="Release quarantined goods to sellable",
    description="Inspected goods go back on sale (same approval threshold in units as an "
    "adjustment).",
)
router.add_api_route(
    "/quarantine/write-off",
    _quarantine_route("write_off"),
    methods=["POST"],
    response_model=AdjustmentOut,
    status_code=201,
    responses={**error_responses(401, 403, 404, 409, 422), 202: {"description": "Waiting"}},
    summary="Write quarantined goods off",
    description="Goods that cannot be sold leave the quarantine for good (reason write_off).",
)


def _adjustment_location(db: Database, principal: Principal, adjustment_id: str) -> Location:
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        row = stock_ops.adjustment_by_id(s, adjustment_id)
        loc = stock_ops.location_by_id(s, row.location_id) if row else None
    if row is None or loc is None:
        raise NotFound(f"There is no adjustment {adjustment_id}.")
    require_manager_of(principal, {loc.id}, loc.code)
    return loc


@router.get(
    "/adjustments", response_model=list[AdjustmentOut], responses=error_responses(401, 403, 404)
)
def list_adjustments(
    principal: PrincipalDep,
    db: DbDep,
    location: LocationQuery = None,
    status: Annotated[
        Literal["awaiting_approval", "approved", "applied", "rejected"] | None, Query()
    ] = None,
) -> list[AdjustmentOut]:
    """Adjustments at the caller's locations, newest first (`?status=awaiting_approval`: what
    waits for a manager)."""
    ids = managed_ids(principal)
    if location:
        ids = [manager_location(db, principal, location).id]
    with db.unit_of_work() as s:
        found = [r.adjustment_id for r in stock_ops.adjustments(s, location_ids=ids, status=status)]
    return [adjustment_out(db, a, None) for a in found]


@router.get(
    "/adjustments/{adjustment_id}",
    response_model=AdjustmentOut,
    responses=error_responses(401, 403, 404),
)
async def get_adjustment(
    adjustment_id: DocPath, principal: PrincipalDep, db: DbDep, client: ClientDep
) -> Any:
    """One adjustment and where it is."""
    loc = await run_in_threadpool(_adjustment_location, db, principal, adjustment_id)
    state = await adjustment_status(client, loc.code, adjustment_id)
    return await run_in_threadpool(adjustment_out, db, adjustment_id, state)


async def _decide(
    adjustment_id: str,
    decision: Literal["approve", "reject"],
    body: DecisionBody,
    principal: Principal,
    db: Database,
    client: Any,
) -> Any:
    loc = await run_in_threadpool(_adjustment_location, db, principal, adjustment_id)
    with db.unit_of_work() as s:
        row = stock_ops.adjustment_by_id(s, adjustment_id)
    assert row is not None
    if row.status != "awaiting_approval":
        raise Conflict(
            f"Adjustment {adjustment_id} is not waiting for approval (it is {row.status}).",
            code="not_awaiting_approval",
        )
    if principal.role != "admin" and row.requested_by == principal.user_id:
        raise ApiError(
            403,
            "forbidden",
            "You asked for this adjustment: another manager of the store or an admin decides.",
        )
    await decide_adjustment(
        client,
        loc.code,
        adjustment_id,
        Approval(
            manager_user_id=principal.user_id,
            manager_name=principal.display_name,
            decision=decision,
            note=body.note,
        ),
    )
    state = await adjustment_status(client, loc.code, adjustment_id)
    return await run_in_threadpool(adjustment_out, db, adjustment_id, state)


@router.post(
    "/adjustments/{adjustment_id}/approve",
    response_model=AdjustmentOut,
    responses=error_responses(401, 403, 404, 409),
)
async def approve_adjustment(
    adjustment_id: DocPath,
    body: DecisionBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the location (not the one who asked) or an admin approves: it applies."""

    async def run() -> tuple[int, dict[str, Any]]:
        out = await _decide(adjustment_id, "approve", body, principal, db, client)
        return 200, out.model_dump(mode="json")

    return await idempotent(
        db,
        f"{principal.user_id}:stock:approve:{adjustment_id}",
        idempotency_key,
        body.model_dump(),
        run,
    )


@router.post(
    "/adjustments/{adjustment_id}/reject",
    response_model=AdjustmentOut,
    responses=error_responses(401, 403, 404, 409),
)
async def reject_adjustment(
    adjustment_id: DocPath,
    body: DecisionBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the location or an admin rejects: nothing moves."""

    async def run() -> tuple[int, dict[str, Any]]:
        out = await _decide(adjustment_id, "reject", body, principal, db, client)
        return 200, out.model_dump(mode="json")

    return await idempotent(
        db,
        f"{principal.user_id}:stock:reject:{adjustment_id}",
        idempotency_key,
        body.model_dump(),
        run,
    )


# ---- offline variances ----------------------------------------------------------------------


def _variances(
    db: Database, ids: list[int] | None, status: str | None, only: int | None = None
) -> list[StockVarianceOut]:
    with db.unit_of_work() as s:
        out = []
        codes: dict[int, str] = {}
        for v, r in stock_ops.variances(s, ids, status):
            if only is not None and v.id != only:
                continue
            code = codes.get(v.location_id) or purchasing.location_code(s, v.location_id)
            codes[v.location_id] = code
            out.append(
                StockVarianceOut(
                    id=v.id,
                    location=code,
                    sku=v.sku,
                    order_number=v.order_number,
                    quantity_sold=v.quantity_sold,
                    on_hand_before=v.on_hand_before,
                    quantity_short=v.quantity_short,
                    reason=v.reason,
                    status=v.status,
                    sold_at=v.sold_at,
                    resolution=r.resolution if r else None,
                    count_id=r.count_id if r else None,
                    loss_quantity=r.quantity if r else None,
                    loss_value=r.value if r else None,
                    resolved_at=r.resolved_at if r else None,
                )
            )
        return out


@router.get(
    "/variances", response_model=list[StockVarianceOut], responses=error_responses(401, 403, 404)
)
def list_variances(
    principal: PrincipalDep,
    db: DbDep,
    location: LocationQuery = None,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
) -> list[StockVarianceOut]:
    """Stock that was short when an offline sale was applied, at the caller's locations."""
    ids = managed_ids(principal)
    if location:
        ids = [manager_location(db, principal, location).id]
    return _variances(db, ids, None if status == "all" else status)


@router.post(
    "/variances/{variance_id}/resolve",
    response_model=StockVarianceOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def resolve(
    variance_id: Annotated[int, Path(ge=1, le=2**62)],
    body: VarianceResolveIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Close a variance: `loss` books the shortfall in the ledger (reason variance_loss); `count`
    names the stock count that already set the shelf right (no movement)."""
    require_role(principal, "manager")
    with db.unit_of_work() as s:
        v = stock_ops.variance(s, variance_id)
        loc = stock_ops.location_by_id(s, v.location_id) if v else None
    if v is None or loc is None:
        raise NotFound(f"There is no variance {variance_id}.")
    require_manager_of(principal, {loc.id}, loc.code)
    if body.resolution == "count" and not body.count_id:
        raise ApiError(422, "count_id_missing", "Name the count that settled it: give count_id.")

    async def run() -> tuple[int, dict[str, Any]]:
        await resolve_variance(
            client,
            VarianceRequest(
                variance_id=variance_id,
                location_id=loc.id,
                resolution=body.resolution,
                count_id=body.count_id or "",
                note=body.note,
                resolved_by=principal.user_id,
            ),
            location_code=loc.code,
            task_queue=settings.backoffice_task_queue,
        )
        out = await run_in_threadpool(_variances, db, [loc.id], None, variance_id)
        return 200, out[0].model_dump(mode="json")

    return await idempotent(
        db,
        f"{principal.user_id}:stock:variance:{variance_id}",
        idempotency_key,
        body.model_dump(),
        run,
    )


# ---- reorder suggestions --------------------------------------------------------------------


@router.get(
    "/reorder-suggestions",
    response_model=list[SuggestionOut],
    responses=error_responses(401, 403, 404, 422),
)
def reorder_suggestions(
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    location: LocationQuery = None,
    supplier: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    all_skus: Annotated[
        bool, Query(alias="all", description="every SKU, not only those due")
    ] = False,
) -> list[SuggestionOut]:
    """What to order now: each SKU whose position (on hand - reserved + in transit + on order)
    is at or below its reorder point, with the quantity up to its target in whole packs."""
    ids = managed_ids(principal)
    if location:
        ids = [manager_location(db, principal, location).id]
    req = ReorderRequest(
        window_days=settings.reorder_window_days,
        cover_days=settings.reorder_cover_days,
        default_lead_time_days=settings.reorder_default_lead_time_days,
    )
    with db.unit_of_work() as s:
        supplier_id = None
        if supplier:
            sup = purchasing.supplier_by_code(s, supplier)
            if sup is None:
                raise NotFound(f"There is no supplier {supplier}.", code="unknown_supplier")
            supplier_id = sup.id
        found = stock_ops.reorder_suggestions(
            s,
            req,
            location_ids=ids,
            supplier_id=supplier_id,
            now=datetime.now(UTC),
            only_due=not all_skus,
        )
    return [
        SuggestionOut(
            location=sg.location_code,
            sku=sg.sku,
            name=sg.name,
            supplier=sg.supplier_code or None,
            on_hand=sg.on_hand,
            reserved=sg.reserved,
            in_transit=sg.in_transit,
            on_order=sg.on_order,
            safety_stock=sg.safety_stock,
            available=sg.available,
            position=sg.position,
            reorder_point=sg.reorder_point,
            order_up_to=sg.order_up_to,
            source=sg.source,
            units_sold=sg.units_sold,
            window_days=req.window_days,
            velocity_per_day=sg.velocity_per_day,
            lead_time_days=sg.lead_time_days,
            pack_size=sg.pack_size,
            unit_cost=sg.unit_cost,
            currency=sg.currency,
            suggested_quantity=sg.quantity,
        )
        for sg in found
    ]


@router.put(
    "/reorder-points/{location}/{sku}",
    response_model=ReorderPointOut,
    responses=error_responses(401, 403, 404, 422),
)
async def set_reorder_point(
    location: Annotated[str, Path(min_length=1, max_length=32)],
    sku: Annotated[str, Path(min_length=1, max_length=64)],
    body: ReorderPointIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Safety stock (held back from sale) and the reorder min / max of a SKU at a location; no
    min: the reorder point is computed from sales velocity and lead time."""
    loc = await run_in_threadpool(manager_location, db, principal, location)
    if body.reorder_min is None and body.reorder_max is not None:
        raise ApiError(422, "invalid", "reorder_max needs reorder_min.")
    if (
        body.reorder_min is not None
        and body.reorder_max is not None
        and body.reorder_max < body.reorder_min
    ):
        raise ApiError(422, "invalid", "reorder_max can't be less than reorder_min.")

    def write() -> dict[str, Any]:
        with db.unit_of_work() as s:
            info = stock_ops.skus(s, [sku]).get(sku)
            if info is None:
                raise NotFound(f"There is no SKU {sku}.", code="unknown_sku")
            level = stock_ops.set_reorder_point(
                s,
                loc.id,
                sku,
                safety_stock=body.safety_stock,
                reorder_min=body.reorder_min,
                reorder_max=body.reorder_max,
            )
            bookkeeping.audit(
                s,
                action="stock.reorder_point",
                subject=f"stock:{loc.code}:{sku}",
                actor_user_id=principal.user_id,
                detail=body.model_dump(),
            )
            return ReorderPointOut(
                location=loc.code,
                sku=sku,
                safety_stock=level.safety_stock,
                reorder_min=level.reorder_min,
                reorder_max=level.reorder_max,
            ).model_dump(mode="json")

    async def run() -> tuple[int, dict[str, Any]]:
        return 200, await run_in_threadpool(write)

    return await idempotent(
        db,
        f"{principal.user_id}:stock:reorder-point:{loc.code}:{sku}",
        idempotency_key,
        body.model_dump(),
        run,
    )
