"""Daily exchange rates for group totals across currencies (issue 19): an admin or finance sets
a day's rate of a currency into the group currency; the group totals report converts with it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import idempotency
from api.deps import DbDep, IdempotencyKey, PrincipalDep
from api.errors import error_responses
from api.permissions import require_role
from db.repositories import bookkeeping, fx
from db.session import Database
from domain.errors import InvalidRequest
from domain.fx import parse_rate

router = APIRouter(tags=["finance"])
Currency = Annotated[
    str, Path(pattern="^[A-Za-z]{3}$", description="ISO 4217 code of the converted currency")
]


class RateIn(BaseModel):
    rate: str = Field(
        min_length=1,
        max_length=24,
        description="what 1 unit of the currency is worth in `base`, as a decimal string, e.g. "
        "'1.0642' (at most 8 decimals)",
    )
    base: str = Field(
        default="EUR", pattern="^[A-Za-z]{3}$", description="the group currency it converts into"
    )


class RateOut(BaseModel):
    day: date
    currency: str
    base: str
    rate: str


def _out(r: fx.Rate) -> RateOut:
    return RateOut(
        day=r.day, currency=r.currency, base=r.base, rate=format(r.rate.normalize(), "f")
    )


def _set(db: Database, user_id: int, day: date, currency: str, body: RateIn) -> RateOut:
    cur, base = currency.upper(), body.base.upper()
    if cur == base:
        raise InvalidRequest(f"{cur} into {base} is always 1.", code="same_currency")
    rate = parse_rate(body.rate)
    with db.unit_of_work() as s:
        stored = fx.set_rate(s, day=day, currency=cur, base=base, rate=rate, user_id=user_id)
        bookkeeping.audit(
            s,
            action="fx_rate.set",
            subject=f"fx:{day}:{cur}:{base}",
            actor_user_id=user_id,
            detail={"rate": str(rate)},
        )
    return _out(stored)


@router.put(
    "/fx-rates/{day}/{currency}",
    response_model=RateOut,
    responses=error_responses(401, 403, 409, 422),
)
async def set_fx_rate(
    day: date,
    currency: Currency,
    body: RateIn,
    principal: PrincipalDep,
    db: DbDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Store the day's exchange rate of `currency` into `base` (admin or finance); setting it
    again replaces it. The group totals report converts each store's day with that day's rate."""
    require_role(principal, "finance")
    scope = f"{principal.user_id}:fx:{day}:{currency.upper()}"
    digest = idempotency.request_hash(body.model_dump())
    replayed = await run_in_threadpool(idempotency.replay, db, scope, idempotency_key, digest)
    if replayed is not None:
        return replayed
    out = await run_in_threadpool(_set, db, principal.user_id, day, currency, body)
    payload = out.model_dump(mode="json")
    await run_in_threadpool(idempotency.remember, db, scope, idempotency_key, digest, 200, payload)
    return JSONResponse(payload)


@router.get("/fx-rates", response_model=list[RateOut], responses=error_responses(401, 403, 422))
def list_fx_rates(
    principal: PrincipalDep,
    db: DbDep,
    day: Annotated[date, Query(description="the business day, e.g. 2026-12-01")],
) -> list[RateOut]:
    """The exchange rates stored for a day (admin or finance)."""
    require_role(principal, "finance")
    with db.unit_of_work() as s:
        return [_out(r) for r in fx.rates_of_day(s, day)]
