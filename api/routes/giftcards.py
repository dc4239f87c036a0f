"""Balances: gift cards (retailer-wide) and customers' store credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import DbDep, PrincipalDep
from api.errors import ApiError, error_responses
from api.schemas import BalanceOut
from db.repositories import balances
from db.repositories.users import Principal

router = APIRouter(tags=["balances"])
BALANCE_ROLES = frozenset({"cashier", "manager", "finance", "admin"})


def _may_read(principal: Principal) -> None:
    if principal.role not in BALANCE_ROLES:
        raise ApiError(403, "forbidden", f"A {principal.role} cannot look up balances.")


@router.get(
    "/giftcards/{code}", response_model=BalanceOut, responses=error_responses(401, 403, 404, 422)
)
def gift_card_balance(
    code: Annotated[str, Path(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")],
    principal: PrincipalDep,
    db: DbDep,
) -> BalanceOut:
    """Balance of a gift card (any store: gift cards are good everywhere)."""
    _may_read(principal)
    with db.unit_of_work() as s:
        card = balances.gift_card(s, code)
        return BalanceOut(
            code=card.code, currency=card.currency, balance=card.balance, status=card.status
        )


@router.get(
    "/customers/{customer_id}/store-credit",
    response_model=BalanceOut,
    responses=error_responses(401, 403, 404, 422),
)
def store_credit_balance(
    customer_id: Annotated[int, Path(ge=1)], principal: PrincipalDep, db: DbDep
) -> BalanceOut:
    """A customer's store credit balance."""
    _may_read(principal)
    with db.unit_of_work() as s:
        account = balances.store_credit_account(s, customer_id)
        return BalanceOut(
            code=str(customer_id),
            currency=account.currency,
            balance=account.balance,
            status="active",
        )
