"""Till endpoints: sign-in, look-up, quote, sale, receipt reprint."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api import idempotency, ratelimit
from api.approvals import manager_approval
from api.auth import (
    SIGN_IN_LOCKED,
    SignIn,
    authenticate_at_till,
    require_till,
    sign_in,
)
from api.deps import (
    AuthorizationHeader,
    ClientDep,
    DbDep,
    IdempotencyKey,
    PrincipalDep,
    SettingsDep,
)
from api.errors import ApiError, error_responses
from api.sales import run_sale, steer_sale, stored_sale
from api.schemas import (
    ItemOut,
    QuoteIn,
    QuoteOut,
    ReprintOut,
    SaleIn,
    SaleOut,
    SalePromotionOut,
    TenderInBody,
    TendersIn,
    TillLogin,
    TokenOut,
)
from contracts.devices import ReprintRequest, start_reprint
from contracts.promotions import PromotionPin
from contracts.sale import (
    AddTenders,
    BasketLine,
    GiftCardLine,
    PriceChange,
    SaleRequest,
    TenderIn,
    sale_workflow_id,
)
from db.pricing import BasketItem, adjusted_quote
from db.promotion_pricing import PromotionScope
from db.repositories import (
    balances,  # issue 19: gift cards / store credit in their currency
    bookkeeping,
    catalog,
    customers,
    orders,
    promotions,
    stock,
    tills,
)
from db.repositories.catalog import TillView
from db.repositories.users import Principal
from db.session import Database
from domain.discounts import Adjustment, approval_reason
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.offline import contact_due
from domain.secrets import mask
from tillflow.settings import Settings

log = logging.getLogger("tillflow.api.tills")
router = APIRouter(prefix="/tills", tags=["till"])
TillCode = Annotated[str, Path(min_length=1, max_length=32, description="till code, e.g. BER1")]
ClientSaleId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the till's client_sale_id of an open sale",
    ),
]


def load_till(db: Database, code: str) -> TillView:
    with db.unit_of_work() as s:
        till = catalog.till_view(s, code)
    if till is None:
        raise NotFound(f"There is no till {code}.")
    return till


def till_for(db: Database, principal: Principal, code: str) -> TillView:
    till = load_till(db, code)
    require_till(principal, till)
    record_contact(db, till)
    return till


def record_contact(db: Database, till: TillView) -> None:
    """Note the till's successful authenticated call (at most every 30 s, so not on every sale):
    an offline sale it uploads later may be dated no earlier than its last call before it went
    quiet."""
    now = datetime.now(UTC)
    if contact_due(till.last_contact_at, now):
        with db.unit_of_work() as s:
            tills.record_contact(s, till.till_id, now)


def sale_context(db: Database, authorization: str | None, code: str) -> tuple[Principal, TillView]:
    """The caller and the till in one query (the path every sale takes): 401, then 404, then 403."""
    with db.read() as conn:
        principal, till = authenticate_at_till(conn, authorization, code)
    if till is None:
        raise NotFound(f"There is no till {code}.")
    require_till(principal, till)
    record_contact(db, till)
    return principal, till


def _sale_context_dep(
    till: TillCode, db: DbDep, authorization: AuthorizationHeader = None
) -> tuple[Principal, TillView]:
    return sale_context(db, authorization, till)


# A dependency, so a caller without a valid token hears 401 before anything about the body.
SaleContext = Annotated[tuple[Principal, TillView], Depends(_sale_context_dep)]


@router.post(
    "/{till}/login",
    response_model=TokenOut,
    responses={**error_responses(401, 404, 422), **SIGN_IN_LOCKED, **ratelimit.RATE_LIMITED},
    dependencies=[ratelimit.SIGN_IN],
)
def login(
    till: TillCode, body: TillLogin, request: Request, db: DbDep, settings: SettingsDep
) -> TokenOut:
    """Sign a cashier or manager in at a till with staff code and PIN; returns a bearer token.

    Wrong PINs are throttled per till + staff code and per address (429 with Retry-After);
    `signin_max_failures` in a row lock the staff code (423 `signin_locked` with Retry-After) until
    a manager unlocks it or `signin_lockout_minutes` pass. An unknown staff code gets the same
    answers, as slowly."""
    view = load_till(db, till)
    attempt = SignIn(
        kind="staff",
        name=body.staff_code,
        secret=body.pin,
        address=ratelimit.address_of(request),
        till=view,
    )
    user, token, expires = sign_in(db, settings, ratelimit.limits_of(request.app), attempt)
    return TokenOut(
        token=token,
        expires_at=expires,
        user=user.username,
        display_name=user.display_name,
        role=user.role,
        till=till,
    )


@router.get("/{till}/lookup", response_model=ItemOut, responses=error_responses(401, 403, 404, 422))
def lookup(
    till: TillCode,
    principal: PrincipalDep,
    db: DbDep,
    barcode: Annotated[
        str, Query(min_length=1, max_length=64, description="EAN-13 or any barcode")
    ],
) -> ItemOut:
    """Find the product behind a scanned barcode, with its price and stock at this store."""
    view = till_for(db, principal, till)
    with db.unit_of_work() as s:
        item = catalog.item_by_barcode(s, view.location_id, barcode.strip())
        if item is None:
            raise NotFound(f"No product has barcode {barcode}.")
        level = stock.level(s, view.location_id, item.sku)
    return ItemOut(
        **{
            k: getattr(item, k)
            for k in ("sku", "name", "category", "tax_code", "unit_price", "currency")
        },
        barcodes=list(item.barcodes),
        on_hand=level.on_hand if level else 0,
        available=level.available if level else 0,
    )


@router.post(
    "/{till}/quote", response_model=QuoteOut, responses=error_responses(401, 403, 404, 422)
)
def quote(till: TillCode, body: QuoteIn, principal: PrincipalDep, db: DbDep) -> QuoteOut:
    """Price a basket (promotions, the cashier's adjustments, tax, totals) without side effects.

    Each line says which promotion took what off it; coupons that cannot be honoured are listed
    in `coupons_refused` (a sale with them would be refused)."""
    view = till_for(db, principal, till)
    asked = [Adjustment(a.scope, a.line, a.kind, a.value, a.reason) for a in body.adjustments]
    basket = [BasketItem(ln.sku, ln.quantity) for ln in body.lines]
    with db.unit_of_work() as s:
        if body.customer_id is not None and not customers.exists(s, body.customer_id):
            raise NotFound(f"There is no customer {body.customer_id}.")
        scope = till_promotions(s, view, tuple(body.coupon_codes), body.customer_id)
        priced = adjusted_quote(s, view, basket, None, asked, principal.role, scope)
    out = QuoteOut.model_validate(priced.quote, from_attributes=True)
    out.discount_total = sum(a.amount for a, _ in priced.changes)
    out.approval_needed = [
        approval_reason(
            a.adjustment.scope, a.adjustment.line, a.action, a.amount, a.share_bp, view.currency
        )
        for a, needs in priced.changes
        if needs
    ]
    out.promotions = [SalePromotionOut(**asdict(p)) for p in priced.promoted.lines]
    out.promotion_total = priced.promoted.total
    out.coupons_refused = list(priced.promoted.refused)
    return out.model_validate(out.model_dump())  # each line gets its promotions


def till_promotions(
    s: Session, view: TillView, coupon_codes: tuple[str, ...], customer_id: int | None
) -> PromotionScope:
    """The store's promotions as they are now, for a quote at the till."""
    return PromotionScope(
        pin=promotions.pin(s, view.location_code, "store"),
        channel="store",
        currency=view.currency,
        timezone=view.timezone,
        at=datetime.now(UTC),
        customer_id=customer_id,
        coupon_codes=coupon_codes,
    )


@router.post(
    "/{till}/sales", response_model=SaleOut, responses=error_responses(401, 403, 404, 409, 422)
)
async def create_sale(
    till: TillCode,
    body: SaleIn,
    request: Request,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    context: SaleContext,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Ring up a sale: the Sale workflow prices it, takes stock and tenders, and answers when
    settled.

    If the tenders do not cover the total (a declined card, a split to come) the answer has
    status `open`, the amount still `due` and the `declines`; add tenders with
    `/sales/{client_sale_id}/tenders` or abandon it. The same client_sale_id always returns the
    same sale and changes nothing.

    Store credit pays only with proof the customer is there: the `customer_code` on their card
    (403 `customer_code_refused` when it is not theirs) or a manager's `approval` (403
    `approval_refused`; wrong PINs count as failed sign-ins of that staff code, 429 / 423).
    Loyalty points (`kind` `points`, `amount` in money, `reference` the customer id) pay the
    same way, and only for the sale's own `customer_id` (422 `points_not_own_customer`); a short
    balance is a decline (the sale stays open).
    """
    principal, view = context
    scope = f"{principal.user_id}:sales:{till}"
    digest = idempotency.request_hash(body.model_dump())
    if (
        idempotency_key
        and (
            replayed := await run_in_threadpool(
                idempotency.replay, db, scope, idempotency_key, digest
            )
        )
        is not None
    ):
        return replayed
    workflow_id = sale_workflow_id(till, body.client_sale_id)
    if view.shift_required and view.open_shift_id is None:
        raise Conflict(
            f"Till {till} has no open shift: open one (count the float) before selling.",
            code="no_open_shift",
        )
    _check_simulation(view, body.tenders)
    _points_of_own_customer(body.tenders, body.customer_id)
    if reloads := tuple(g.reload_code for g in body.gift_cards if g.reload_code):  # issue 19
        await run_in_threadpool(balances_in_currency, db, view.currency, [], reloads)
    tenders = await proven_tenders(db, settings, request, view, principal, body.tenders)
    req = SaleRequest(
        till_code=till,
        client_sale_id=body.client_sale_id,
        cashier_id=principal.user_id,
        lines=tuple(BasketLine(sku=ln.sku, quantity=ln.quantity) for ln in body.lines),
        tenders=tenders,
        gift_cards=tuple(
            GiftCardLine(amount=g.amount, reload_code=g.reload_code) for g in body.gift_cards
        ),
        customer_id=body.customer_id,
        basket_started_at=body.basket_started_at,
        adjustments=tuple(
            PriceChange(scope=a.scope, line=a.line, kind=a.kind, value=a.value, reason=a.reason)
            for a in body.adjustments
        ),
        coupon_codes=tuple(body.coupon_codes),
        # The promotions as they are now: a change while the sale is open never changes its price.
        promotions=await run_in_threadpool(_pin, db, view),
    )
    try:
        # A repeat of a running sale joins it; a repeat of a closed one is answered from the
        # database.
        done = await run_sale(client, view, req)
    except Conflict as err:
        if err.code != "sale_closed":
            raise
        stored = await run_in_threadpool(stored_sale, db, workflow_id)
        if stored is None:
            raise
        done = stored
    payload = SaleOut.model_validate(done).model_dump(mode="json")
    log.info(
        "sale answered",
        extra={
            "till": till,
            "sale_id": payload["sale_id"],
            "workflow_id": workflow_id,
            "total": payload["total"],
        },
    )
    if idempotency_key:
        await run_in_threadpool(
            idempotency.remember, db, scope, idempotency_key, digest, 200, payload
        )
    return JSONResponse(payload)


def _points_of_own_customer(tenders: list[TenderInBody], customer_id: int | None) -> None:
    """Points pay only for the sale's own customer (the Sale workflow checks it again)."""
    for t in tenders:
        if t.kind == "points" and (customer_id is None or t.reference != str(customer_id)):
            raise InvalidRequest(
                "Points pay only for the sale's own customer: attach the customer to the sale "
                "and give their id as the points tender's reference.",
                code="points_not_own_customer",
            )


def _pin(db: Database, view: TillView) -> PromotionPin:
    with db.unit_of_work() as s:
        return promotions.pin(s, view.location_code, "store")


def _tenders(tenders: list[TenderInBody], proofs: list[str] | None = None) -> tuple[TenderIn, ...]:
    return tuple(
        TenderIn(
            kind=t.kind, amount=t.amount, reference=t.reference, simulate=t.simulate, proof=proof
        )
        for t, proof in zip(tenders, proofs or [""] * len(tenders), strict=True)
    )


async def proven_tenders(
    db: Database,
    settings: Settings,
    request: Request,
    view: TillView,
    principal: Principal,
    tenders: list[TenderInBody],
) -> tuple[TenderIn, ...]:
    """The tenders, each store credit with the proof (checked here) that its customer is present;
    the secret itself goes no further than this request."""
    if any(t.kind in ("gift_card", "store_credit") for t in tenders):  # issue 19: 409 up front
        await run_in_threadpool(balances_in_currency, db, view.currency, tenders)
    if not any(t.kind in ("store_credit", "points") for t in tenders):
        return _tenders(tenders)  # the everyday sale: nothing to look up
    proofs = []
    for t in tenders:
        if t.kind not in ("store_credit", "points"):
            proofs.append("")
        elif t.customer_code.strip():
            proofs.append(await run_in_threadpool(_customer_proof, db, view, principal, t))
        else:
            assert t.approval is not None  # the schema asks for one or the other
            approver = await run_in_threadpool(
                manager_approval,
                db,
                settings,
                request,
                view,
                principal,
                t.approval,
                f"till.{t.kind}",
            )
            proofs.append(f"manager:{approver.user_id}")
    return _tenders(tenders, proofs)


def balances_in_currency(
    db: Database, currency: str, tenders: list[TenderInBody], reload_codes: tuple[str, ...] = ()
) -> None:
    """Gift cards and store credit pay (and cards reload) only in their own currency: 409
    currency_mismatch before anything is taken (the activities check again under the lock)."""
    with db.unit_of_work() as s:
        for code in reload_codes:
            try:
                card = balances.gift_card(s, code)
            except NotFound:
                continue  # refused by the sale as before
            balances.require_currency(card.currency, currency, f"Gift card {mask(card.code)}")
        for t in tenders:
            try:
                if t.kind == "gift_card":
                    card = balances.gift_card(s, t.reference)
                    balances.require_currency(
                        card.currency, currency, f"Gift card {mask(card.code)}"
                    )
                elif t.kind == "store_credit" and t.reference.isdigit():
                    acc = balances.store_credit_account(s, int(t.reference))
                    balances.require_currency(acc.currency, currency, "The customer's store credit")
            except NotFound:
                continue  # the tender declines as before (unknown card, no credit yet)


def _customer_proof(db: Database, view: TillView, principal: Principal, t: TenderInBody) -> str:
    """The hash of the customer's card code once it proves to be theirs (never the code)."""
    digest = customers.code_digest(t.customer_code)
    with db.unit_of_work() as s:
        ok = customers.digest_matches(s, int(t.reference), digest)
        if not ok:
            bookkeeping.audit(
                s,
                action="till.customer_code_refused",
                subject=f"customer:{t.reference}",
                actor_user_id=principal.user_id,
                detail={"till": view.till_code},
            )
    if not ok:
        raise ApiError(
            403,
            "customer_code_refused",
            f"That is not the code on customer {t.reference}'s card: ask for the card, or for a "
            "manager's approval.",
        )
    return f"customer:{digest}"


def _check_simulation(view: TillView, tenders: list[TenderInBody]) -> None:
    if any(t.simulate for t in tenders) and view.card_reader != "simulated":
        raise InvalidRequest(
            f"Till {view.till_code} has a real card reader; 'simulate' is for simulated readers."
        )


@router.post(
    "/{till}/sales/{client_sale_id}/tenders",
    response_model=SaleOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def add_tenders(
    till: TillCode,
    client_sale_id: ClientSaleId,
    body: TendersIn,
    request: Request,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Another tender for an open sale (after a decline, or the second part of a split); store
    credit needs the customer's code or a manager's approval, as in the sale."""
    view = await run_in_threadpool(till_for, db, principal, till)
    _check_simulation(view, body.tenders)
    tenders = await proven_tenders(db, settings, request, view, principal, body.tenders)
    return await _steered(
        db,
        client,
        principal,
        till,
        client_sale_id,
        idempotency_key,
        body.model_dump(),
        AddTenders(tenders=tenders),
    )


@router.post(
    "/{till}/sales/{client_sale_id}/abandon",
    response_model=SaleOut,
    responses=error_responses(401, 403, 404, 409),
)
async def abandon_sale(
    till: TillCode,
    client_sale_id: ClientSaleId,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The customer walks away: card authorizations are voided, balances and stock restored."""
    await run_in_threadpool(till_for, db, principal, till)
    return await _steered(
        db, client, principal, till, client_sale_id, idempotency_key, {"abandon": True}, None
    )


async def _steered(
    db: Database,
    client: Any,
    principal: Principal,
    till: str,
    client_sale_id: str,
    idempotency_key: str | None,
    request: dict[str, Any],
    more: AddTenders | None,
) -> Any:
    scope = f"{principal.user_id}:sale:{till}:{client_sale_id}"
    digest = idempotency.request_hash(request)
    replayed = await run_in_threadpool(idempotency.replay, db, scope, idempotency_key, digest)
    if replayed is not None:
        return replayed
    result = await steer_sale(client, sale_workflow_id(till, client_sale_id), more)
    payload = SaleOut.model_validate(result).model_dump(mode="json")
    await run_in_threadpool(idempotency.remember, db, scope, idempotency_key, digest, 200, payload)
    return JSONResponse(payload)


def _sale_at_till(db: Database, view: TillView, sale_id: str) -> str:
    with db.unit_of_work() as s:
        order = orders.order_by_number(s, sale_id)
        if order is None or order.location_id != view.location_id:
            raise NotFound(f"There is no sale {sale_id} at this store.")
        return order.workflow_id


@router.get(
    "/{till}/sales/{sale_id}", response_model=SaleOut, responses=error_responses(401, 403, 404)
)
def get_sale(till: TillCode, sale_id: str, principal: PrincipalDep, db: DbDep) -> Any:
    """A recorded sale of this store, by the number on its receipt."""
    view = till_for(db, principal, till)
    workflow_id = _sale_at_till(db, view, sale_id)
    done = stored_sale(db, workflow_id)
    if done is None:
        raise NotFound(f"Sale {sale_id} did not complete.")
    return done


@router.post(
    "/{till}/sales/{sale_id}/reprint",
    response_model=ReprintOut,
    status_code=202,
    responses=error_responses(401, 403, 404),
)
async def reprint(
    till: TillCode,
    sale_id: str,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> ReprintOut:
    """Print the receipt of a sale again on this till's printer, marked as a reprint."""
    view = await run_in_threadpool(till_for, db, principal, till)
    await run_in_threadpool(_sale_at_till, db, view, sale_id)
    workflow_id = await start_reprint(
        client,
        ReprintRequest(till_code=till, order_number=sale_id),
        idempotency_key or uuid.uuid4().hex,
    )
    return ReprintOut(workflow_id=workflow_id)
