"""What offline tills left for a store manager: stock variances, collection tasks, flagged sales,
card limits."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import DbDep, PrincipalDep
from api.errors import ApiError, error_responses
from api.schemas_tills import (
    CollectionTaskOut,
    FlaggedSaleOut,
    OfflineCardLimits,
    OfflineCardPolicyIn,
    VarianceOut,
)
from db.repositories import bookkeeping, tills
from db.repositories.tills import StoreRef
from db.repositories.users import Principal
from db.session import Database
from domain.errors import NotFound

router = APIRouter(prefix="/stores", tags=["store manager"])
StoreCode = Annotated[str, Path(min_length=1, max_length=32, description="store code, e.g. BER")]
StatusFilter = Literal["open", "resolved", "collected", "written_off", "all"]
MANAGER_ROLES = frozenset({"manager", "admin"})


def _store_for_manager(db: Database, principal: Principal, code: str) -> StoreRef:
    if principal.role not in MANAGER_ROLES:
        raise ApiError(
            403, "forbidden", f"Only a manager can see this; you are signed in as {principal.role}."
        )
    with db.unit_of_work() as s:
        store = tills.store_by_code(s, code)
    if store is None:
        raise NotFound(f"There is no store {code}.")
    if store.id not in principal.location_ids:
        raise ApiError(403, "forbidden", f"You are not a manager of store {code}.")
    return store


@router.get(
    "/{store}/variances",
    response_model=list[VarianceOut],
    responses=error_responses(401, 403, 404, 422),
)
def list_variances(
    store: StoreCode,
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[StatusFilter, Query()] = "open",
) -> list[VarianceOut]:
    """Stock that was not on hand when an offline sale was applied: count it and correct the
    stock."""
    ref = _store_for_manager(db, principal, store)
    with db.unit_of_work() as s:
        codes = tills.till_codes(s, ref.id)
        rows = tills.variances(s, ref.id, None if status == "all" else status)
        return [
            VarianceOut(
                id=v.id,
                sku=v.sku,
                till=codes.get(v.till_id or 0),
                order_number=v.order_number,
                quantity_sold=v.quantity_sold,
                on_hand_before=v.on_hand_before,
                quantity_short=v.quantity_short,
                reason=v.reason,
                status=v.status,
                sold_at=v.sold_at,
            )
            for v in rows
        ]


@router.get(
    "/{store}/collection-tasks",
    response_model=list[CollectionTaskOut],
    responses=error_responses(401, 403, 404, 422),
)
def list_collection_tasks(
    store: StoreCode,
    principal: PrincipalDep,
    db: DbDep,
    status: Annotated[StatusFilter, Query()] = "open",
) -> list[CollectionTaskOut]:
    """Card payments taken offline and declined on capture: collect the money from the customer."""
    ref = _store_for_manager(db, principal, store)
    with db.unit_of_work() as s:
        codes = tills.till_codes(s, ref.id)
        rows = tills.collection_tasks(s, ref.id, None if status == "all" else status)
        return [
            CollectionTaskOut(
                id=t.id,
                till=codes.get(t.till_id, ""),
                client_sale_id=t.client_sale_id,
                amount=t.amount,
                currency=t.currency,
                card_brand=t.card_brand,
                card_last4=t.card_last4,
                decline_reason=t.decline_reason,
                receipt=t.receipt,
                status=t.status,
                sold_at=t.sold_at,
            )
            for t in rows
        ]


@router.get(
    "/{store}/offline-sales/flagged",
    response_model=list[FlaggedSaleOut],
    responses=error_responses(401, 403, 404),
)
def list_flagged_sales(
    store: StoreCode, principal: PrincipalDep, db: DbDep
) -> list[FlaggedSaleOut]:
    """Offline sales that could not be applied (e.g. a product deleted since): kept whole, for a
    manager."""
    ref = _store_for_manager(db, principal, store)
    with db.unit_of_work() as s:
        codes = tills.till_codes(s, ref.id)
        return [
            FlaggedSaleOut(
                till=codes.get(e.till_id, ""),
                client_sale_id=e.client_sale_id,
                sold_at=e.sold_at,
                message=e.message,
                entry=e.payload,
            )
            for e in tills.flagged_entries(s, list(codes))
        ]


@router.get(
    "/{store}/offline-card-policy",
    response_model=OfflineCardLimits,
    responses=error_responses(401, 403, 404),
)
def get_offline_card_policy(
    store: StoreCode, principal: PrincipalDep, db: DbDep
) -> OfflineCardLimits:
    """Whether this store's tills may take cards while offline, and the limits."""
    ref = _store_for_manager(db, principal, store)
    with db.unit_of_work() as s:
        p = tills.offline_card_policy(s, ref.id)
    return OfflineCardLimits(
        enabled=p.enabled,
        per_sale_cap=p.per_sale_cap,
        total_cap=p.total_cap,
        max_age_hours=int(p.max_age.total_seconds() // 3600),
    )


@router.put(
    "/{store}/offline-card-policy",
    response_model=OfflineCardLimits,
    responses=error_responses(401, 403, 404, 422),
)
def set_offline_card_policy(
    store: StoreCode, body: OfflineCardPolicyIn, principal: PrincipalDep, db: DbDep
) -> OfflineCardLimits:
    """Allow (within limits) or stop card payments while offline; tills pick it up with their next
    snapshot."""
    ref = _store_for_manager(db, principal, store)
    if body.per_sale_cap > body.total_cap:
        raise ApiError(422, "invalid", "per_sale_cap can't be more than total_cap.")
    with db.unit_of_work() as s:
        tills.set_offline_card_policy(
            s,
            ref.id,
            enabled=body.enabled,
            per_sale_cap=body.per_sale_cap,
            total_cap=body.total_cap,
            max_age_hours=body.max_age_hours,
        )
        bookkeeping.audit(
            s,
            action="store.offline_card_policy",
            subject=f"store:{store}",
            actor_user_id=principal.user_id,
            detail=body.model_dump(),
        )
    return OfflineCardLimits(**body.model_dump())
