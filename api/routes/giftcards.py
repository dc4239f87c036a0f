"""Balances: gift cards (retailer-wide) and customers' store credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api import ratelimit
from api.deps import DbDep, PrincipalDep
from api.errors import ApiError, error_responses
from api.schemas import BalanceOut
from db.repositories import balances
from db.repositories.users import Principal
from domain.secrets import mask

router = APIRouter(tags=["balances"])
BALANCE_ROLES = frozenset({"cashier", "manager", "finance", "admin"})
# The whole code, as printed (XXXX-XXXX-XXXX-XXXX) or without its dashes: a part never finds a card.
GiftCardCode = Annotated[
    str,
    Path(
        min_length=16,
        max_length=19,
        pattern=r"^[A-Za-z0-9]{4}(-?[A-Za-z0-9]{4}){3}$",
        description="the full 16-character gift card code, e.g. ABCD-EFGH-JKLM-NPQR",
    ),
]


def _printed(code: str) -> str:
    raw = code.replace("-", "").upper()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _may_read(principal: Principal) -> None:
    if principal.role not in BALANCE_ROLES:
        raise ApiError(403, "forbidden", f"A {principal.role} cannot look up balances.")


@router.get(
    "/giftcards/{code}",
    response_model=BalanceOut,
    responses={**error_responses(401, 403, 404, 422), **ratelimit.RATE_LIMITED},
    dependencies=[ratelimit.GIFT_CARDS],
)
def gift_card_balance(code: GiftCardCode, principal: PrincipalDep, db: DbDep) -> BalanceOut:
    """Balance of a gift card (any store: gift cards are good everywhere), by its full code.

    Look-ups are rate limited per token and per address (429 with Retry-After); the answer shows
    the code masked to its last four."""
    _may_read(principal)
    with db.unit_of_work() as s:
        card = balances.gift_card(s, _printed(code))
        return BalanceOut(
            code=mask(card.code, hidden="*"),  # the code is spendable by whoever holds it
            currency=card.currency,
            balance=card.balance,
            status=card.status,
        )


@router.get(
    "/customers/{customer_id}/store-credit",
    response_model=BalanceOut,
    responses=error_responses(401, 403, 404, 422),
)
def store_credit_balance(
    customer_id: Annotated[int, Path(ge=1, le=2**31 - 1)], principal: PrincipalDep, db: DbDep
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
