"""Till shifts: open with a counted float, cash movements, X report, blind close, a manager's
approval of a variance, the stored Z report, and a store's shifts for its manager."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from api import idempotency
from api.approvals import Approver, approval_required, manager_approval, store_rule, store_rules
from api.auth import authenticate_at_till, require_till
from api.deps import (
    AuthorizationHeader,
    ClientDep,
    DbDep,
    IdempotencyKey,
    PrincipalDep,
    SettingsDep,
)
from api.errors import ApiError, error_responses
from api.permissions import require_manager_of
from api.schemas_shifts import (
    ApprovalOut,
    ApproveShiftIn,
    CashMovementIn,
    CloseShiftIn,
    OpenShiftIn,
    ShiftListItem,
    ShiftOut,
    XReportOut,
)
from contracts.approvals import Approval
from contracts.shift import (
    CashIn,
    CloseIn,
    ShiftRequest,
    ShiftView,
    approve_shift,
    close_shift,
    open_shift,
    record_cash,
)
from db.models_shifts import Shift
from db.repositories import catalog, shifts, transfers, users
from db.repositories.catalog import TillView
from db.repositories.users import Principal
from db.session import Database
from domain import shifts as rules
from domain.approvals import Rule
from domain.errors import Conflict, NotFound

router = APIRouter(tags=["shifts"])
TillCode = Annotated[str, Path(min_length=1, max_length=32)]
ShiftN = Annotated[int, Path(ge=1, le=10_000_000)]
ERRORS = error_responses(401, 403, 404, 409, 422)
NO_LIMIT = 2**62  # an action the store lets anyone do: never over the limit


def _at_till(db: Database, authorization: str | None, code: str) -> tuple[Principal, TillView]:
    with db.read() as conn:
        principal, till = authenticate_at_till(conn, authorization, code)
    if till is None:
        raise NotFound(f"There is no till {code}.")
    require_till(principal, till)
    return principal, till


def _shift(db: Database, till: TillView, n: int) -> Shift:
    with db.unit_of_work() as s:
        shift = shifts.by_n(s, till.till_id, n)
        if shift is not None:
            s.expunge(shift)
    if shift is None:
        raise NotFound(f"Till {till.till_code} has no shift {n}.", code="unknown_shift")
    return shift


def _out(v: ShiftView) -> ShiftOut:
    return ShiftOut(
        workflow_id=v.workflow_id,
        till=v.till_code,
        n=v.n,
        status=v.state,
        opened_at=v.opened_at,
        float_amount=v.float_amount,
        float_difference=v.float_difference,
        closes_at=v.closes_at,
        flagged=v.flagged,
        variance=v.variance if v.state != "open" else None,
        z_number=v.z_number,
        message=v.message,
    )


def _row_out(shift: Shift, till: str) -> ShiftOut:
    return ShiftOut(
        workflow_id=shift.workflow_id,
        till=till,
        n=shift.n,
        status=shift.status,
        opened_at=shift.opened_at,
        float_amount=shift.float_amount,
        float_difference=shift.float_difference,
        closes_at=shift.closes_at,
        flagged=shift.flagged_at is not None,
        variance=shift.variance if shift.status != "open" else None,
        z_number=shift.z_number,
    )


def _count(currency: str, rows: list[Any]) -> tuple[tuple[int, int], ...]:
    merged: dict[int, int] = {}
    for r in rows:
        merged[r.denomination] = merged.get(r.denomination, 0) + r.quantity
    return tuple(rules.validate_count(currency, merged).items())


def _scope(principal: Principal, till: TillView, what: str) -> str:
    return f"shift:{till.till_code}:{principal.user_id}:{what}"


def _limit(rule: Rule) -> int:
    """A rule's allowance as the Shift workflow checks it: off is no limit, none is zero."""
    if not rule.approval:
        return NO_LIMIT
    return rule.cashier_limit or 0


@router.post("/tills/{till}/shifts", response_model=ShiftOut, status_code=201, responses=ERRORS)
async def open_till_shift(
    till: TillCode,
    body: OpenShiftIn,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    authorization: AuthorizationHeader = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Open the till's next shift with the counted float (by denomination)."""
    principal, view = await run_in_threadpool(_at_till, db, authorization, till)
    count = _count(view.currency, body.float)
    table = await run_in_threadpool(store_rules, db, settings, view.location_id)

    async def run() -> ShiftOut:
        with db.unit_of_work() as s:
            if shifts.current(s, view.till_id) is not None:
                raise Conflict(
                    f"Till {view.till_code} has a shift open already: close it first.",
                    code="shift_open",
                )
            n = shifts.next_n(s, view.till_id)
        req = ShiftRequest(
            till_code=view.till_code,
            till_id=view.till_id,
            location_id=view.location_id,
            location_code=view.location_code,
            currency=view.currency,
            n=n,
            opened_by=principal.user_id,
            float_count=count,
            variance_threshold=_limit(table["shift_variance"]),
            paid_out_limit=_limit(table["paid_out"]),
            no_sale_approval=table["no_sale"].approval,
            overdue_grace_minutes=settings.shift_overdue_grace_minutes,
        )
        return _out(await open_shift(client, req, task_queue=settings.shift_task_queue))

    return await idempotency.once(
        db, _scope(principal, view, "open"), idempotency_key, body.model_dump(), run, status=201
    )


@router.get("/tills/{till}/shifts/current", response_model=ShiftOut, responses=ERRORS)
def current_shift(till: TillCode, db: DbDep, authorization: AuthorizationHeader = None) -> Any:
    """The till's shift that is open (or waiting for a manager); 404 when there is none."""
    _, view = _at_till(db, authorization, till)
    with db.unit_of_work() as s:
        shift = shifts.current(s, view.till_id)
        if shift is None:
            raise NotFound(f"Till {view.till_code} has no open shift.", code="no_open_shift")
        return _row_out(shift, view.till_code)


@router.get("/tills/{till}/shifts/{n}/x", response_model=XReportOut, responses=ERRORS)
def x_report(
    till: TillCode, n: ShiftN, db: DbDep, authorization: AuthorizationHeader = None
) -> Any:
    """The running totals of the shift (read only). Expected amounts are shown to managers only:
    the cashier's close is blind."""
    principal, view = _at_till(db, authorization, till)
    with db.unit_of_work() as s:
        shift = shifts.by_n(s, view.till_id, n)
        if shift is None:
            raise NotFound(f"Till {view.till_code} has no shift {n}.", code="unknown_shift")
        fig = shifts.figures(s, shift)
        return XReportOut(
            till=view.till_code,
            n=n,
            status=shift.status,
            currency=fig.currency,
            sales_count=fig.sales_count,
            sales_total=fig.sales_total,
            by_tender=fig.by_tender,
            by_tax=[{"code": c, "rate_bp": r, "net": net, "tax": t} for c, r, net, t in fig.by_tax],
            returns_count=fig.returns_count,
            refunds_by_tender=fig.refunds_by_tender,
            movements=fig.movements,
            no_sales=fig.no_sales,
            expected=fig.expected if principal.role == "manager" else None,
        )


@router.post("/tills/{till}/shifts/{n}/cash", response_model=ShiftOut, responses=ERRORS)
async def cash_movement(
    till: TillCode,
    n: ShiftN,
    body: CashMovementIn,
    request: Request,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    authorization: AuthorizationHeader = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A paid-in, paid-out (with a reason), drop to the safe, or no-sale drawer open. A no-sale,
    and a paid-out above the store's limit, need `manager` (staff code + PIN)."""
    principal, view = await run_in_threadpool(_at_till, db, authorization, till)
    shift = await run_in_threadpool(_shift, db, view, n)
    if body.kind in ("paid_in", "paid_out", "drop") and body.amount <= 0:
        raise ApiError(422, "bad_amount", f"A {body.kind.replace('_', '-')} needs an amount.")
    if body.kind in ("paid_in", "paid_out") and not body.reason.strip():
        raise ApiError(422, "reason_required", f"A {body.kind.replace('_', '-')} needs a reason.")
    action = body.kind if body.kind in ("no_sale", "paid_out") else ""
    rule = await run_in_threadpool(store_rule, db, settings, view, action) if action else None
    needs = rule is not None and rule.needs_manager(principal.role, body.amount)
    if shift.status == "closed":
        raise Conflict(f"Shift {n} of till {till} is closed.", code="shift_closed")
    if needs and body.manager is None:
        raise approval_required(f"A {body.kind.replace('_', '-')}")
    # A manager signed in at the till vouches for their own no-sale or paid-out.
    approved_by = principal.user_id if principal.role in ("manager", "admin") else None
    if body.manager is not None:
        approver = await run_in_threadpool(
            manager_approval,
            db,
            settings,
            request,
            view,
            principal,
            body.manager,
            f"shift.{body.kind}",
        )
        approved_by = approver.user_id
    request_body = body.model_dump(exclude={"manager"})  # no PIN in the stored hash

    async def run() -> ShiftOut:
        cash = CashIn(
            kind=body.kind,
            amount=0 if body.kind == "no_sale" else body.amount,
            reason=body.reason.strip(),
            by=principal.user_id,
            approved_by=approved_by,
            reference=body.reference,
        )
        return _out(await record_cash(client, shift.workflow_id, cash))

    return await idempotency.once(
        db, _scope(principal, view, f"{n}:cash"), idempotency_key, request_body, run
    )


@router.post("/tills/{till}/shifts/{n}/close", response_model=ShiftOut, responses=ERRORS)
async def close_till_shift(
    till: TillCode,
    n: ShiftN,
    body: CloseShiftIn,
    db: DbDep,
    client: ClientDep,
    authorization: AuthorizationHeader = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The blind close: counted cash by denomination and the card / other tender totals. Within
    the store's threshold the shift closes with its Z report; over it, it waits for a manager."""
    principal, view = await run_in_threadpool(_at_till, db, authorization, till)
    shift = await run_in_threadpool(_shift, db, view, n)
    count = _count(view.currency, body.cash)
    if body.drop_at_close > sum(d * q for d, q in count):
        raise ApiError(422, "bad_drop", "The closing drop cannot be more than the counted cash.")

    async def run() -> ShiftOut:
        close = CloseIn(
            cash_count=count,
            other=tuple((t.tender, t.amount) for t in body.tenders),
            by=principal.user_id,
            drop_at_close=body.drop_at_close,
        )
        return _out(await close_shift(client, shift.workflow_id, close))

    return await idempotency.once(
        db, _scope(principal, view, f"{n}:close"), idempotency_key, body.model_dump(), run
    )


@router.post("/tills/{till}/shifts/{n}/approve", response_model=ApprovalOut, responses=ERRORS)
async def approve_till_shift(
    till: TillCode,
    n: ShiftN,
    body: ApproveShiftIn,
    request: Request,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the store accepts the variance with a note (the shift closes, Z printed) or
    rejects the count (the cashier counts again): signed in themselves, or with their staff code
    and PIN as `manager` at the cashier's till."""
    with db.unit_of_work() as s:
        view = catalog.till_view(s, till)
    if view is None:
        raise NotFound(f"There is no till {till}.")
    if body.manager is None:
        require_manager_of(principal, {view.location_id}, view.location_code)
        with db.unit_of_work() as s:
            approver = Approver(principal.user_id, users.display_name(s, principal.user_id))
    else:
        require_till(principal, view)
    shift = await run_in_threadpool(_shift, db, view, n)
    if body.manager is not None:
        approver = await run_in_threadpool(
            manager_approval,
            db,
            settings,
            request,
            view,
            principal,
            body.manager,
            "shift.variance",
            {"shift": n, "decision": body.decision},
        )

    async def run() -> ApprovalOut:
        answer = await approve_shift(
            client,
            shift.workflow_id,
            Approval(
                manager_user_id=approver.user_id,
                manager_name=approver.name,
                decision=body.decision,
                note=body.note.strip(),
            ),
        )
        return ApprovalOut(status=answer.state, message=answer.message)

    request_body = body.model_dump(exclude={"manager"})
    return await idempotency.once(
        db, _scope(principal, view, f"{n}:approve"), idempotency_key, request_body, run
    )


@router.get("/tills/{till}/shifts/{n}/z", responses=ERRORS)
def z_report(
    till: TillCode, n: ShiftN, db: DbDep, authorization: AuthorizationHeader = None
) -> Any:
    """The stored Z report of a closed shift (as printed)."""
    _, view = _at_till(db, authorization, till)
    with db.unit_of_work() as s:
        shift = shifts.by_n(s, view.till_id, n)
        z = shifts.z_report(s, shift.id) if shift is not None else None
        if z is None:
            raise NotFound(f"Shift {n} of till {till} has no Z report (yet).", code="no_z_report")
        return {
            "z_number": z.z_number,
            "report": z.report,
            "printed": z.escpos is not None,
            "printed_at": z.printed_at,
        }


@router.get("/stores/{store}/shifts", response_model=list[ShiftListItem], responses=ERRORS)
def store_shifts(
    store: Annotated[str, Path(min_length=1, max_length=32)],
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[str | None, Query(pattern=r"^(open|review|closed)$")] = None,
    flagged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The store's shifts for its manager, newest first; `status=open&flagged=true` lists the
    ones left open past closing time."""
    with db.unit_of_work() as s:
        ref = transfers.place(s, store)
        if ref is None:
            raise NotFound(f"There is no store {store}.", code="unknown_location")
        require_manager_of(principal, {ref.id}, ref.code)
        rows = shifts.for_store(s, ref.id, status=status, flagged=flagged, limit=limit)
    return [
        ShiftListItem(
            till=r.till_code,
            n=r.n,
            status=r.status,
            opened_at=r.opened_at,
            closes_at=r.closes_at,
            flagged=r.flagged_at is not None,
            closed_at=r.closed_at,
            z_number=r.z_number,
            variance=r.variance,
        )
        for r in rows
    ]
