"""A manager's say at the cashier's till: approving a sale's discounts and price overrides with
their staff code and PIN (an update on the Sale workflow), and voiding a completed sale (a return
of the whole sale, same day, same till, tenders back as taken)."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import idempotency, ratelimit
from api.approvals import Approver, approval_required, manager_approval, store_rule
from api.auth import SIGN_IN_LOCKED
from api.deps import ClientDep, DbDep, IdempotencyKey, SettingsDep
from api.errors import error_responses
from api.routes.tills import ClientSaleId, SaleContext, TillCode
from api.schemas import ManagerApprovalIn, SaleApproveIn, SaleOut, VoidIn
from api.schemas_returns import ReturnOut
from contracts.approvals import Approval
from contracts.returns import ReturnLineIn, ReturnRequest, submit_return
from contracts.sale import approve_sale, sale_workflow_id
from db.repositories import orders, returns
from db.repositories.catalog import TillView
from db.repositories.users import Principal
from db.session import Database
from domain.errors import Conflict, NotFound
from domain.pricing import GIFT_CARD_SKU

router = APIRouter(prefix="/tills", tags=["till"])
SaleNumber = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the sale's number (its receipt barcode), e.g. BER1-000123",
    ),
]


@router.post(
    "/{till}/sales/{client_sale_id}/approve",
    response_model=SaleOut,
    responses={
        **error_responses(401, 403, 404, 409, 422),
        **SIGN_IN_LOCKED,
        **ratelimit.RATE_LIMITED,
    },
)
async def approve_sale_adjustments(
    till: TillCode,
    client_sale_id: ClientSaleId,
    body: SaleApproveIn,
    request: Request,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    context: SaleContext,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager approves, at the cashier's till, the discounts over the cashier's limit of a
    sale waiting for it (`approval_needed`): their staff code and PIN, checked as a sign-in is (403
    `approval_refused` when wrong or not a manager of this store; the sale keeps waiting). The
    approval is an update on the Sale workflow, in its history and the audit log; the sale then
    takes its tenders and answers as a sale does."""
    principal, view = context
    workflow_id = sale_workflow_id(till, client_sale_id)

    async def run() -> Any:
        approver = await run_in_threadpool(
            manager_approval,
            db,
            settings,
            request,
            view,
            principal,
            ManagerApprovalIn(staff_code=body.staff_code, pin=body.pin),
            "sale.discount",
            {"sale": workflow_id},
        )
        done = await approve_sale(
            client,
            workflow_id,
            Approval(
                manager_user_id=approver.user_id,
                manager_name=approver.name,
                decision="approve",
                note=body.note.strip(),
            ),
        )
        return SaleOut.model_validate(asdict(done)).model_dump(mode="json")

    scope = f"{principal.user_id}:approve:{workflow_id}"
    return await idempotency.once(
        db, scope, idempotency_key, body.model_dump(exclude={"pin", "staff_code"}), run
    )


def _void_request(
    db: Database, view: TillView, principal: Principal, number: str, reason: str
) -> ReturnRequest:
    """The whole sale as a return, once it proves voidable: this till's, today's (in the store's
    time), completed, nothing returned from it yet, no gift card issued by it."""
    return_id = f"VOID-{number}"[:40]
    with db.unit_of_work() as s:
        order = orders.order_by_number(s, number)
        if order is None or order.till_id != view.till_id:
            raise NotFound(f"Till {view.till_code} has no sale {number}.", code="unknown_sale")
        lines = returns.returnable_lines(s, order.id)
        if returns.by_return_id(s, return_id) is not None:
            return _as_void(return_id, view, principal, number, reason, lines)  # asked again
        if order.status != "completed":
            raise Conflict(f"Sale {number} is {order.status}; only a completed sale is voided.")
        zone = ZoneInfo(view.timezone)
        today = datetime.now(UTC).astimezone(zone).date()
        if order.placed_at.astimezone(zone).date() != today:
            raise Conflict(
                f"Sale {number} is not from today: a void is for today's sales; take a return.",
                code="void_too_late",
            )
        if any(ln.returned for ln in lines):
            raise Conflict(
                f"Part of sale {number} was returned already: take a return of the rest.",
                code="already_returned",
            )
        if any(ln.sku == GIFT_CARD_SKU for ln in lines):
            raise Conflict(
                f"Sale {number} issued a gift card, which cannot be voided; take a return of "
                "its goods.",
                code="not_voidable",
            )
    return _as_void(return_id, view, principal, number, reason, lines)


def _as_void(
    return_id: str,
    view: TillView,
    principal: Principal,
    number: str,
    reason: str,
    lines: list[returns.ReturnableLine],
) -> ReturnRequest:
    return ReturnRequest(
        return_id=return_id,
        till_code=view.till_code,
        cashier_id=principal.user_id,
        sale_number=number,
        lines=tuple(
            ReturnLineIn(
                quantity=ln.quantity,
                disposition="restock",
                line_no=ln.line_no,
                reason=f"void: {reason}"[:200],
                serial=ln.serial,
            )
            for ln in lines
        ),
        refund_method="original",
        void=True,
    )


@router.post(
    "/{till}/sales/{number}/void",
    response_model=ReturnOut,
    responses={
        **error_responses(401, 403, 404, 409, 422),
        **SIGN_IN_LOCKED,
        **ratelimit.RATE_LIMITED,
    },
)
async def void_sale(
    till: TillCode,
    number: SaleNumber,
    body: VoidIn,
    request: Request,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    context: SaleContext,
) -> Any:
    """Void a completed sale of today at this till: every line back (restocked), every tender
    refunded as it was taken (cash from this drawer, cards to the card). Where the store's approval
    table asks for it (by default), a manager's staff code and PIN as `manager` (403
    `approval_required` without, `approval_refused` when wrong). Voiding the same sale again
    answers the first void."""
    principal, view = context
    if view.shift_required and view.open_shift_id is None:
        raise Conflict(f"Till {till} has no open shift: open one first.", code="no_open_shift")
    req = await run_in_threadpool(_void_request, db, view, principal, number, body.reason.strip())
    rule = await run_in_threadpool(store_rule, db, settings, view, "void")
    approver: Approver | None = None
    if body.manager is not None:
        approver = await run_in_threadpool(
            manager_approval,
            db,
            settings,
            request,
            view,
            principal,
            body.manager,
            "sale.void",
            {"sale": number, "reason": body.reason},
        )
    elif rule.needs_manager(principal.role):
        raise approval_required("A void")
    by = approver.user_id if approver else principal.user_id
    result = await submit_return(client, replace(req, approved_by=by), store=view.location_code)
    out = ReturnOut.model_validate(result, from_attributes=True).model_dump(mode="json")
    return JSONResponse(out, status_code=202 if out["status"] == "awaiting_approval" else 200)
