"""The till page's day beyond the sale: shift open / X / cash / close, returns, pickups, open-sale
tenders and abandon, manager approvals at the till, product and customer search.

These screens need the central system (a shift, a refund, a hand-over are its business): the
agent passes the cashier's request on with their token and passes the central answer back, a
refusal with its own code and message. Only a shift close has an offline path (journalled)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from domain import shifts as shift_rules
from tills.cashiers import Session
from tills.central import CentralRefused, CentralUnavailable
from tills.journal import KnownCustomer
from tills.page_models import (
    ApproveIn,
    CashMoveIn,
    HandOverIn,
    ReturnIn,
    ShiftApproveIn,
    ShiftCloseIn,
    ShiftOpenIn,
    TenderIn,
    TendersIn,
    VoidIn,
)
from tills.till import AgentError, TillAgent


def page_session(
    request: Request, x_till_session: Annotated[str | None, Header()] = None
) -> Session:
    """The person signed in at the page, from the X-Till-Session header."""
    found = request.app.state.till.sessions.get(x_till_session)
    if found is None:
        raise AgentError(401, "unauthorized", "Sign in first.")
    return found


def _agent(request: Request) -> TillAgent:
    agent: TillAgent = request.app.state.till
    return agent


SessionDep = Annotated[Session, Depends(page_session)]
TillDep = Annotated[TillAgent, Depends(_agent)]
router = APIRouter(prefix="/api", tags=["till day"])
ShiftN = Annotated[int, Path(ge=1, le=10_000_000)]
OpenSaleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ReturnId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
OrderNo = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Search = Annotated[str, Query(min_length=1, max_length=100)]
CustomerId = Annotated[int, Path(ge=1, le=2**62)]
# The page sends one key per attempt and the same one when it retries: an act happens once.
IdemKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$"),
]


async def _remember(till: TillAgent, shift: Any) -> None:
    """Keep the shift's number and state as central answered, for a close taken offline later
    (tills/offline_shift.py reads it)."""
    if isinstance(shift, dict) and isinstance(shift.get("n"), int):
        await asyncio.to_thread(
            till.journal.remember_shift, shift["n"], str(shift.get("status", ""))
        )


def _tenders(tenders: list[TenderIn]) -> list[dict[str, Any]]:
    """What central takes of the page's tenders (a card's reference is the reader's business; a
    simulated tap only for a card)."""
    return [
        {
            "kind": t.kind,
            "amount": t.amount,
            **({"reference": t.reference} if t.reference and t.kind != "card" else {}),
            **({"simulate": t.simulate} if t.simulate and t.kind == "card" else {}),
            **({"customer_code": t.customer_code} if t.customer_code else {}),
        }
        for t in tenders
    ]


# ---- shifts ----------------------------------------------------------------------------


@router.get("/shift")
async def shift(s: SessionDep, till: TillDep) -> dict[str, Any]:
    """The till's open shift (null when there is none), with the notes and coins to count in
    the store's currency."""
    snapshot = till.snapshot
    if snapshot is None:
        await till.refresh_snapshot(force=True)
        snapshot = till.snapshot
    if snapshot is None:
        raise AgentError(503, "no_snapshot", "The till has not heard from the central system yet.")
    try:
        _, current = await till.forward(s, "GET", "/shifts/current")
    except CentralRefused as err:
        if err.status != 404:
            raise
        current = None
    if current is not None:
        await _remember(till, current)
    return {
        "till": till.config.till,
        "store": snapshot.store_code,
        "currency": snapshot.currency,
        "denominations": list(shift_rules.denominations(snapshot.currency)),
        # Whether the store sells only in an open shift, once the snapshot says (None: unknown,
        # and the page asks for the float first).
        "required": snapshot.body.get("store", {}).get("shift_required"),
        "shift": current,
    }


@router.post("/shift/open", status_code=201)
async def open_shift(s: SessionDep, till: TillDep, body: ShiftOpenIn, key: IdemKey = None) -> Any:
    """Open the till's next shift with the counted float."""
    opened = (await till.forward(s, "POST", "/shifts", json=body.model_dump(), key=key))[1]
    await _remember(till, opened)
    return opened


@router.get("/shift/{n}/x")
async def x_report(s: SessionDep, till: TillDep, n: ShiftN) -> Any:
    """The running totals per tender (no expected amounts for a cashier: the close is
    blind)."""
    return (await till.forward(s, "GET", f"/shifts/{n}/x"))[1]


@router.post("/shift/{n}/cash")
async def cash(
    s: SessionDep, till: TillDep, n: ShiftN, body: CashMoveIn, key: IdemKey = None
) -> Any:
    """Paid-in, paid-out, drop or no-sale; 403 `approval_required` asks for a manager."""
    return (
        await till.forward(
            s, "POST", f"/shifts/{n}/cash", json=body.model_dump(exclude_none=True), key=key
        )
    )[1]


@router.post("/shift/{n}/close")
async def close(
    s: SessionDep, till: TillDep, n: ShiftN, body: ShiftCloseIn, key: IdemKey = None
) -> Any:
    """The blind close; when the central system is out of reach it is journalled here and
    closes once the till uploads. While such a close waits to upload, the same answer comes back
    (online or not): the drawer is counted once."""
    from tills.offline_shift import close_offline, waiting_close

    if (waiting := await waiting_close(till)) is not None:
        return waiting
    try:
        closed = (
            await till.forward(s, "POST", f"/shifts/{n}/close", json=body.model_dump(), key=key)
        )[1]
    except CentralUnavailable:
        return await close_offline(till, s, {"n": n, **body.model_dump()})
    await _remember(till, closed)
    return closed


@router.post("/shift/{n}/approve")
async def approve_shift(
    s: SessionDep, till: TillDep, n: ShiftN, body: ShiftApproveIn, key: IdemKey = None
) -> Any:
    """A manager accepts the variance (or rejects the count) with staff code, PIN and a note,
    right at this till."""
    answer = (
        await till.forward(
            s,
            "POST",
            f"/shifts/{n}/approve",
            json={
                "decision": body.decision,
                "note": body.note,
                "manager": {"staff_code": body.staff_code, "pin": body.pin},
            },
            key=key,
        )
    )[1]
    if answer.get("status") in ("open", "review", "closed"):
        await _remember(till, {"n": n, "status": answer["status"]})
    return answer


@router.get("/shift/{n}/z")
async def z_report(s: SessionDep, till: TillDep, n: ShiftN) -> Any:
    """The stored Z report of a closed shift."""
    return (await till.forward(s, "GET", f"/shifts/{n}/z"))[1]


# ---- an open sale: another tender, abandon, a manager's approval, a void ---------------


@router.post("/sales/{sale_id}/tenders")
async def add_tenders(
    s: SessionDep, till: TillDep, sale_id: OpenSaleId, body: TendersIn, key: IdemKey = None
) -> Any:
    """Another tender for a sale left open (a declined card, a split)."""
    return (
        await till.forward(
            s,
            "POST",
            f"/sales/{sale_id}/tenders",
            json={"tenders": _tenders(body.tenders)},
            key=key,
            timeout=till.config.card_timeout,
        )
    )[1]


@router.post("/sales/{sale_id}/abandon")
async def abandon(s: SessionDep, till: TillDep, sale_id: OpenSaleId, key: IdemKey = None) -> Any:
    """The customer walks away: authorizations voided, stock back."""
    return (await till.forward(s, "POST", f"/sales/{sale_id}/abandon", key=key))[1]


@router.post("/sales/{sale_id}/approve")
async def approve_sale(
    s: SessionDep, till: TillDep, sale_id: OpenSaleId, body: ApproveIn, key: IdemKey = None
) -> Any:
    """A manager approves the sale's discounts or overrides at the cashier's till."""
    return (
        await till.forward(
            s,
            "POST",
            f"/sales/{sale_id}/approve",
            json=body.model_dump(),
            key=key,
            timeout=till.config.card_timeout,
        )
    )[1]


@router.post("/sales/{sale_id}/void")
async def void(
    s: SessionDep, till: TillDep, sale_id: OpenSaleId, body: VoidIn, key: IdemKey = None
) -> Any:
    """Void a completed sale of today at this till: its tenders go back as taken."""
    return (
        await till.forward(s, "POST", f"/sales/{sale_id}/void", json=body.model_dump(), key=key)
    )[1]


# ---- returns -----------------------------------------------------------------------------


@router.get("/returns/lookup")
async def return_lookup(
    s: SessionDep,
    till: TillDep,
    receipt: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=320)] = None,
    phone: Annotated[str | None, Query(min_length=3, max_length=32)] = None,
) -> Any:
    """The sale being returned (receipt barcode, customer email or phone) and what can still
    come back."""
    params = {k: v for k, v in (("receipt", receipt), ("email", email), ("phone", phone)) if v}
    if not params:
        raise AgentError(422, "invalid", "Scan the receipt, or give an email or phone.")
    return (await till.forward(s, "GET", "/returns/lookup", params=params))[1]


@router.post("/returns")
async def submit_return(s: SessionDep, till: TillDep, body: ReturnIn) -> Any:
    """Refund to the original tenders or store credit; 202 while it waits for a manager."""
    payload = body.model_dump(exclude_none=True)
    if body.exchange is not None:
        # An exchange without tenders is fine: when the new goods cost more, its sale stays open
        # for the difference and the page takes the tender (POST /api/sales/x-{return_id}/tenders).
        payload["exchange"]["tenders"] = _tenders(body.exchange.tenders)
        if not body.exchange.tenders:
            payload["exchange"].pop("tenders")
    status, answer = await till.forward(s, "POST", "/returns", json=payload)
    return JSONResponse(answer, status_code=status)


@router.get("/returns/{return_id}")
async def get_return(s: SessionDep, till: TillDep, return_id: ReturnId) -> Any:
    return (await till.forward(s, "GET", f"/returns/{return_id}", at_till=False))[1]


@router.post("/returns/{return_id}/approve")
async def approve_return(
    s: SessionDep, till: TillDep, return_id: ReturnId, body: ApproveIn, key: IdemKey = None
) -> Any:
    """A manager of the store approves the return at this till (staff code + PIN)."""
    return (
        await till.forward(
            s,
            "POST",
            f"/returns/{return_id}/approve",
            json={"note": body.note, "manager": {"staff_code": body.staff_code, "pin": body.pin}},
            key=key,
            at_till=False,
        )
    )[1]


# ---- pickups -----------------------------------------------------------------------------


def _store(till: TillAgent) -> str:
    if till.snapshot is None:
        raise AgentError(503, "no_snapshot", "The till has not heard from the central system yet.")
    return till.snapshot.store_code


@router.get("/pickups/{order}")
async def pickup(s: SessionDep, till: TillDep, order: OrderNo) -> Any:
    """The pickup order waiting at this store: its lines and where it stands."""
    return (
        await till.forward(s, "GET", f"/fulfilment/{_store(till)}/pickups/{order}", at_till=False)
    )[1]


@router.post("/pickups/{order}/handover")
async def hand_over(
    s: SessionDep, till: TillDep, order: OrderNo, body: HandOverIn, key: IdemKey = None
) -> Any:
    """Hand the order over on the customer's pickup code (or its scanned barcode)."""
    if not (body.code or body.barcode):
        raise AgentError(422, "invalid", "Type the pickup code or scan its barcode.")
    return (
        await till.forward(
            s,
            "POST",
            f"/fulfilment/{_store(till)}/pickups/{order}/handover",
            json=body.model_dump(exclude_none=True),
            key=key,
            at_till=False,
        )
    )[1]


# ---- search --------------------------------------------------------------------------------


@router.get("/products")
async def products(s: SessionDep, till: TillDep, q: Search) -> Any:
    """Products by name or SKU (when a barcode will not scan)."""
    return (await till.forward(s, "GET", "/products", params={"q": q}))[1]


@router.get("/customers")
async def customers(s: SessionDep, till: TillDep, q: Search) -> Any:
    """Customers by phone, email or name, to attach to the sale, with their points balance.
    Offline, the same look-up made here while online answers from the till's cache: the last
    known balance (`offline` true, `points_as_of` when it was seen)."""
    found: Any = None
    if s.central_token is not None:  # signed in offline: the cache is all there is
        with contextlib.suppress(CentralUnavailable):
            found = (await till.forward(s, "GET", "/customers", params={"q": q}))[1]
    if found is None:
        known = await asyncio.to_thread(till.journal.known_lookup, q)
        if known is None:
            raise AgentError(503, "offline", OFFLINE_CUSTOMER)
        return [_known_json(c) for c in known]
    if isinstance(found, list):
        await asyncio.to_thread(till.journal.remember_lookup, q, found, till.clock())
    return found


@router.get("/customers/{customer_id}/points")
async def customer_points(s: SessionDep, till: TillDep, customer_id: CustomerId) -> Any:
    """A customer's points balance: central's while online (and kept), the last known one
    offline (`offline` true, `points_as_of`). Points are never redeemed offline."""
    body: Any = None
    if s.central_token is not None:
        with contextlib.suppress(CentralUnavailable):
            path = f"/customers/{customer_id}/loyalty"
            body = (await till.forward(s, "GET", path, at_till=False))[1]
    if not isinstance(body, dict):
        known = await asyncio.to_thread(till.journal.known_customer, customer_id)
        if known is None:
            raise AgentError(503, "offline", OFFLINE_CUSTOMER)
        return _known_json(known)
    if isinstance(body.get("balance"), int):
        await asyncio.to_thread(
            till.journal.remember_points, customer_id, body["balance"], till.clock()
        )
    return {**body, "points_balance": body.get("balance"), "offline": False}


OFFLINE_CUSTOMER = (
    "The till is offline and has not looked this customer up before: sell without points (the "
    "sale can still name a customer the till knows)."
)


def _known_json(c: KnownCustomer) -> dict[str, Any]:
    return {
        "customer_id": c.customer_id,
        "name": c.name,
        "email_masked": c.email_masked,
        "phone_masked": c.phone_masked,
        "points_balance": c.points_balance,
        "points_as_of": c.seen_at.isoformat(),
        "offline": True,
    }
