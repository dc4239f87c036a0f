"""A customer's loyalty points (issue 17): the balance for the till, the tier, the next expiry and
the ledger for managers, and a manager's adjustment with its reason (a LoyaltyAdjust workflow posts
and audits it: this module never writes the ledger)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.permissions import require_role
from contracts.loyalty import AdjustRequest, adjust
from db.repositories import loyalty
from db.repositories.users import Principal
from db.session import Database
from domain import loyalty as rules

router = APIRouter(prefix="/customers", tags=["loyalty"])
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the customer's id")]
_FULL = ("manager", "finance", "admin")


class LoyaltyEntryOut(BaseModel):
    id: int
    kind: str
    points: int
    reference: str
    reason: str
    expires_at: datetime | None
    created_at: datetime


class LoyaltyOut(BaseModel):
    customer_id: int
    balance: int = Field(description="points")
    value: int = Field(description="what the points pay for, in minor units")
    # Managers, finance and admins only (None for a cashier: the till shows the balance).
    tier: str | None = None
    spend_12m: int | None = Field(default=None, description="minor units, the tier's basis")
    next_expiry_at: datetime | None = None
    next_expiry_points: int | None = None
    ledger: list[LoyaltyEntryOut] | None = Field(default=None, description="newest first")
    next_before: int | None = Field(default=None, description="`before` of the next ledger page")


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: int = Field(ge=-1_000_000, le=1_000_000, description="signed: + credits, - debits")
    reason: str = Field(min_length=3, max_length=300, description="why (kept in the audit log)")


def _staff(principal: Principal) -> None:
    if principal.role in ("admin", "finance") or principal.location_ids:
        return
    raise ApiError(403, "forbidden", "Only the staff of a store may look loyalty points up.")


def _known(db: Database, customer_id: int) -> None:
    with db.unit_of_work() as s:
        loyalty.balance(s, customer_id)  # NotFound for an unknown customer


@router.get(
    "/{customer_id}/loyalty",
    response_model=LoyaltyOut,
    response_model_exclude_none=True,
    responses=error_responses(401, 403, 404, 422),
)
def loyalty_balance(
    customer_id: CustomerId,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    before: Annotated[int | None, Query(ge=1, description="ledger entries older than this")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LoyaltyOut:
    """A customer's points (any store's staff: customers are retailer-wide). Cashiers get the
    balance and its value; managers, finance and admins also the tier, the next expiry and a
    page of the ledger."""
    _staff(principal)
    loyalty_rules = rules.rules_from_config(settings)
    with db.unit_of_work() as s:
        bal = loyalty.balance(s, customer_id)
        out = LoyaltyOut(
            customer_id=customer_id,
            balance=bal.balance,
            value=rules.points_value(bal.balance, loyalty_rules),
        )
        if principal.role not in _FULL:
            return out
        page = loyalty.ledger_page(s, customer_id, before=before, limit=limit)
        return out.model_copy(
            update={
                "tier": bal.tier,
                "spend_12m": bal.spend_12m,
                "next_expiry_at": bal.next_expiry_at,
                "next_expiry_points": bal.next_expiry_points,
                "ledger": [
                    LoyaltyEntryOut(
                        id=e.id,
                        kind=e.kind,
                        points=e.points,
                        reference=e.reference,
                        reason=e.reason,
                        expires_at=e.expires_at,
                        created_at=e.created_at,
                    )
                    for e in page
                ],
                "next_before": page[-1].id if len(page) == limit else None,
            }
        )


@router.post(
    "/{customer_id}/loyalty/adjust",
    response_model=LoyaltyOut,
    response_model_exclude_none=True,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def adjust_loyalty(
    customer_id: CustomerId,
    body: AdjustIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A manager's correction of a customer's points, with a reason; audited. Points cannot go
    below zero (409). The same Idempotency-Key posts once and answers the first answer again."""
    require_role(principal, "manager")
    if body.points == 0:
        raise ApiError(422, "bad_points", "An adjustment moves at least one point.")
    # Only a known customer: an unknown id is a 404 before anything starts.
    await run_in_threadpool(_known, db, customer_id)
    key = idempotency_key or uuid.uuid4().hex
    scope = f"loyalty-adjust:{principal.user_id}"

    async def run() -> dict[str, object]:
        posting = await adjust(
            client,
            AdjustRequest(
                customer_id=customer_id,
                points=body.points,
                reason=body.reason,
                actor_user_id=principal.user_id,
                key=f"{principal.user_id}:{key}",
            ),
            task_queue=settings.loyalty_task_queue,
        )
        out = LoyaltyOut(
            customer_id=customer_id,
            balance=posting.balance,
            value=rules.points_value(posting.balance, rules.rules_from_config(settings)),
            tier=posting.tier,
        )
        return out.model_dump(mode="json", exclude_none=True)

    request = {"customer_id": customer_id, **body.model_dump()}
    return await idempotency.once(db, scope, idempotency_key, request, run)
