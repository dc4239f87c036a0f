"""Returns and exchanges at a till, and the manager's approval of returns outside the policy."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import ratelimit
from api.approvals import manager_approval, store_rule
from api.auth import require_till
from api.deps import ClientDep, DbDep, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.routes.tills import TillCode, load_till, proven_tenders, till_for
from api.schemas import SaleOut
from api.schemas_returns import (
    DecisionIn,
    ReturnableLineOut,
    ReturnIn,
    ReturnOut,
    SaleForReturnOut,
)
from contracts.returns import (
    ApprovalDecision,
    ExchangeIn,
    ReturnLineIn,
    ReturnRequest,
    decide_return,
    return_status,
    return_workflow_id,
)
from contracts.returns import (
    submit_return as start_return,
)
from contracts.sale import BasketLine, TenderIn, sale_answer
from db.repositories import availability, bookkeeping, returns
from db.repositories.catalog import TillView
from db.session import Database
from domain.errors import Conflict, InvalidRequest, NotFound
from tillflow.settings import Settings

router = APIRouter(tags=["returns"])
ReturnId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
# The API's own bookkeeping of which store named a return id first (an idempotency record under
# this scope): the id is then that store's, and the workflow is `return:{store}:{return_id}`.
RETURN_IDS = "returns:ids"


def _lookup(
    db: Database,
    receipt: str | None,
    email: str | None,
    phone: str | None,
    last4: str | None,
    on: date | None,
) -> list[SaleForReturnOut]:
    if not (receipt or email or phone or (last4 and on)):
        raise InvalidRequest(
            "Look up by receipt number, customer email or phone, or card last4 with a date."
        )
    with db.unit_of_work() as s:
        found = returns.find_orders(s, number=receipt, email=email, phone=phone, last4=last4, on=on)
        out = []
        for order in found:
            lines = returns.returnable_lines(s, order.id)
            out.append(
                SaleForReturnOut(
                    sale_id=order.number,
                    channel=order.channel,
                    sold_at=order.placed_at,
                    total=order.total,
                    currency=order.currency,
                    lines=[
                        ReturnableLineOut(
                            line_no=ln.line_no,
                            sku=ln.sku,
                            name=ln.name,
                            quantity=ln.quantity,
                            returned=ln.returned,
                            returnable=ln.quantity - ln.returned,
                            gross=ln.gross,
                        )
                        for ln in lines
                    ],
                )
            )
    if receipt and not out:
        raise NotFound(f"No sale {receipt}: check the receipt number.")
    return out


@router.get(
    "/tills/{till}/returns/lookup",
    response_model=list[SaleForReturnOut],
    responses={**error_responses(401, 403, 404, 422), **ratelimit.RATE_LIMITED},
    dependencies=[ratelimit.RETURNS],
)
def lookup_sale(
    till: TillCode,
    principal: PrincipalDep,
    db: DbDep,
    receipt: Annotated[
        str | None, Query(max_length=64, description="receipt barcode / order number")
    ] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    last4: Annotated[str | None, Query(pattern=r"^\d{4}$", description="card last four")] = None,
    on: Annotated[
        date | None, Query(alias="date", description="day of purchase, with last4")
    ] = None,
) -> list[SaleForReturnOut]:
    """Find the sale being returned (bought in any store or online) and what can still come back.

    Rate limited per token and per address (429 with Retry-After): it finds sales by customer
    details."""
    till_for(db, principal, till)
    return _lookup(db, receipt, email, phone, last4, on)


def _request(
    till: str,
    cashier_id: int,
    body: ReturnIn,
    timeout_minutes: int,
    exchange_tenders: tuple[TenderIn, ...] = (),
    receiptless_needs_manager: bool = False,
) -> ReturnRequest:
    exchange = None
    if body.exchange is not None:
        exchange = ExchangeIn(
            lines=tuple(BasketLine(sku=ln.sku, quantity=ln.quantity) for ln in body.exchange.lines),
            tenders=exchange_tenders,
        )
    return ReturnRequest(
        return_id=body.return_id,
        till_code=till,
        cashier_id=cashier_id,
        sale_number=body.sale_id or "",
        lines=tuple(
            ReturnLineIn(
                quantity=ln.quantity,
                disposition=ln.disposition,
                line_no=ln.line_no or 0,
                sku=ln.sku or "",
                reason=ln.reason,
                serial=ln.serial,
            )
            for ln in body.lines
        ),
        refund_method=body.refund_to,
        customer_id=body.customer_id,
        exchange=exchange,
        approval_timeout_s=timeout_minutes * 60,
        receiptless_needs_manager=receiptless_needs_manager,
    )


async def _with_exchange(client: Any, result: dict[str, Any]) -> dict[str, Any]:
    """Attach the exchange sale's own answer (paid, or open for the difference)."""
    wf = result.get("exchange_sale_workflow_id")
    if wf:
        sale = await sale_answer(client, wf)
        result["exchange_sale"] = SaleOut.model_validate(asdict(sale)).model_dump(mode="json")
    return result


@router.post(
    "/tills/{till}/returns",
    response_model=ReturnOut,
    responses={
        **error_responses(401, 403, 404, 409, 422),
        202: {"description": "Waiting for a manager's approval"},
    },
)
async def submit_return(
    till: TillCode,
    body: ReturnIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    request: Request,
) -> Any:
    """Return goods (with or without receipt), optionally exchanging them for others.

    Answers 200 when done (refunded, goods disposed of), or 202 when the return is outside the
    policy and waits for a manager of the store (`POST /returns/{return_id}/approve|reject`).
    The same return_id always means the same return; return ids are the store's own, so one
    another store used already is a 404 `return_id_taken`: that return is not this store's to
    reach, and the id cannot name a new one here.
    """
    view = await run_in_threadpool(till_for, db, principal, till)
    if view.shift_required and view.open_shift_id is None:
        raise Conflict(
            f"Till {till} has no open shift: open one before taking returns.", code="no_open_shift"
        )
    await run_in_threadpool(_claim_return_id, db, body.return_id, view)
    receiptless = False
    if not body.sale_id:
        rule = await run_in_threadpool(store_rule, db, settings, view, "return_without_receipt")
        receiptless = rule.needs_manager(principal.role)
    # The exchange's tenders are proven as a sale's are (store credit needs the customer present).
    exchange_tenders: tuple[TenderIn, ...] = ()
    if body.exchange is not None and body.exchange.tenders:
        exchange_tenders = await proven_tenders(
            db, settings, request, view, principal, body.exchange.tenders
        )
    req = _request(
        till,
        principal.user_id,
        body,
        settings.return_approval_timeout_minutes,
        exchange_tenders,
        receiptless,
    )
    result = await start_return(client, req, store=view.location_code)
    payload = ReturnOut.model_validate(await _with_exchange(client, asdict(result))).model_dump(
        mode="json"
    )
    return JSONResponse(
        payload, status_code=202 if payload["status"] == "awaiting_approval" else 200
    )


def _claim_return_id(db: Database, return_id: str, view: TillView) -> None:
    """The first store to name a return id owns it; the same id from another store is a 404 (as
    every other store's id is to a till), so it can never reach, nor be recorded as, that store's
    return."""
    store = view.location_code
    with db.unit_of_work() as s:
        bookkeeping.save_idempotency_record(
            s,
            scope=RETURN_IDS,
            key=return_id,
            request_hash=hashlib.sha256(store.encode()).hexdigest(),
            status_code=200,
            body={"store": store},
        )
        owner = bookkeeping.idempotency_record(s, RETURN_IDS, return_id)
        recorded = returns.by_return_id(s, return_id)  # also those from before ids were scoped
    taken = owner is not None and (owner.response_body or {}).get("store") != store
    if recorded is not None and recorded.workflow_id != return_workflow_id(store, return_id):
        taken = True
    if taken:
        raise NotFound(
            f"There is no return {return_id} at this store, and the id cannot be used for a new "
            "one: give this return a new id.",
            code="return_id_taken",
        )


def _store_of(db: Database, principal: Any, return_id: str) -> str:
    """The store whose return this is, if it is one of the caller's stores; 404 otherwise (another
    store's return is not there for them, not even as a 403)."""
    with db.unit_of_work() as s:
        owner = bookkeeping.idempotency_record(s, RETURN_IDS, return_id)
        mine = availability.location_codes(s, principal.location_ids)
    store = (owner.response_body or {}).get("store") if owner is not None else None
    if store is None or store not in mine.values():
        raise NotFound(f"There is no return {return_id}.")
    return str(store)


async def _status(client: Any, store: str, return_id: str) -> dict[str, Any]:
    return asdict(await return_status(client, store, return_id))


def _may_see(db: Database, principal: Any, till_code: str, *, manager: bool) -> None:
    """Staff of the return's store only (404 for anyone else); deciding needs a manager (or
    admin)."""
    view = load_till(db, till_code)
    if view.location_id not in principal.location_ids:
        raise NotFound("There is no such return at your stores.")
    allowed = ("manager", "admin") if manager else ("cashier", "manager", "admin", "finance")
    if principal.role not in allowed:
        what = "decide" if manager else "see"
        raise ApiError(
            403,
            "forbidden",
            f"A {principal.role} cannot {what} returns of store {view.location_code}.",
        )


@router.get(
    "/returns/{return_id}", response_model=ReturnOut, responses=error_responses(401, 403, 404)
)
async def get_return(
    return_id: ReturnId, principal: PrincipalDep, db: DbDep, client: ClientDep
) -> Any:
    """A return's state: waiting for approval, completed (with where the money went) or rejected.

    Only a return of one of the caller's stores: another store's return id is a 404."""
    store = await run_in_threadpool(_store_of, db, principal, return_id)
    result = await _status(client, store, return_id)
    await run_in_threadpool(_may_see, db, principal, result["till_code"], manager=False)
    return ReturnOut.model_validate(result)


async def _decide(
    return_id: str,
    approved: bool,
    body: DecisionIn,
    principal: Any,
    db: Database,
    client: Any,
    settings: Settings,
    request: Request,
) -> Any:
    store = await run_in_threadpool(_store_of, db, principal, return_id)
    current = await _status(client, store, return_id)
    by_pin = body.manager is not None
    await run_in_threadpool(_may_see, db, principal, current["till_code"], manager=not by_pin)
    closed = Conflict(f"This return is not waiting for approval (it is {current['status']}).")
    if current["status"] != "awaiting_approval":
        raise closed
    manager_id = principal.user_id
    if body.manager is not None:  # the manager vouches at the cashier's till
        view = await run_in_threadpool(load_till, db, current["till_code"])
        require_till(principal, view)  # at the return's own till
        approver = await run_in_threadpool(
            manager_approval,
            db,
            settings,
            request,
            view,
            principal,
            body.manager,
            "return.approval" if approved else "return.rejection",
            {"return": return_id},
        )
        manager_id = approver.user_id
    decision = ApprovalDecision(approved=approved, manager_id=manager_id, note=body.note)
    result = await decide_return(client, store, return_id, decision, closed)
    return ReturnOut.model_validate(await _with_exchange(client, asdict(result)))


@router.post(
    "/returns/{return_id}/approve",
    response_model=ReturnOut,
    responses=error_responses(401, 403, 404, 409),
)
async def approve_return(
    return_id: ReturnId,
    body: DecisionIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    request: Request,
) -> Any:
    """A manager of the store approves a return outside the policy; it then completes. Signed in
    themselves, or with their staff code and PIN as `manager` at the cashier's till."""
    return await _decide(return_id, True, body, principal, db, client, settings, request)


@router.post(
    "/returns/{return_id}/reject",
    response_model=ReturnOut,
    responses=error_responses(401, 403, 404, 409),
)
async def reject_return(
    return_id: ReturnId,
    body: DecisionIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    request: Request,
) -> Any:
    """A manager of the store rejects a return outside the policy (signed in, or by PIN at the
    till)."""
    return await _decide(return_id, False, body, principal, db, client, settings, request)
