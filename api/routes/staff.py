"""Unlocking a staff code or username that too many wrong sign-ins locked (a manager of the
person's store, or an admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from api import ratelimit
from api.deps import DbDep, PrincipalDep
from api.errors import ApiError, error_responses
from db.models import User
from db.repositories import bookkeeping, tills, users
from db.repositories.users import GuardState, Principal
from db.session import Database
from domain.errors import NotFound

router = APIRouter(tags=["store manager"])
StoreCode = Annotated[str, Path(min_length=1, max_length=32, description="store code, e.g. BER")]
StaffCode = Annotated[str, Path(min_length=1, max_length=16, description="staff code, e.g. 1001")]
Username = Annotated[str, Path(min_length=1, max_length=100, description="a back-office username")]


class UnlockOut(BaseModel):
    user: str
    staff_code: str | None
    was_locked: bool  # False: nothing was locked (failures, if any, are cleared all the same)
    failures_cleared: int


def _may_unlock(principal: Principal, location_ids: frozenset[int], whom: str) -> None:
    """An admin anyone; a manager the people of their own stores."""
    if principal.role == "admin":
        return
    if principal.role != "manager":
        raise ApiError(
            403, "forbidden", f"Only a manager can unlock sign-ins; you are a {principal.role}."
        )
    if not location_ids & principal.location_ids:
        raise ApiError(403, "forbidden", f"{whom} does not work at a store you manage.")


def _unlock(
    db: Database, request: Request, principal: Principal, user: User, store: str | None
) -> UnlockOut:
    """Clear the person's staff code and username, audited, and this process's failure throttle
    for them (at every till of their stores)."""
    cleared: list[tuple[str, GuardState]] = []
    with db.unit_of_work() as s:
        if user.staff_code:
            found = users.clear_sign_in_guard(s, "staff", user.staff_code)
            if found:
                cleared.append((f"staff:{user.staff_code}", found))
        found = users.clear_sign_in_guard(s, "user", user.username)
        if found:
            cleared.append((f"user:{user.username}", found))
        for subject, state in cleared or [(f"user:{user.username}", GuardState(0, None, None))]:
            bookkeeping.audit(
                s,
                action="signin.unlocked",
                subject=subject,
                actor_user_id=principal.user_id,
                detail={
                    "by": principal.username,
                    "store": store,
                    "was_locked": state.locked_at is not None,
                    "failures": state.failures,
                },
            )
        till_codes = [
            code
            for location_id in users.user_location_ids(s, user.id)
            for code in tills.till_codes(s, location_id).values()
        ]
    limits = ratelimit.limits_of(request.app)
    limits.forget("signin_failures", f"user:{user.username}")
    for code in till_codes if user.staff_code else []:
        limits.forget("signin_failures", f"staff:{user.staff_code}@{code}")
    return UnlockOut(
        user=user.username,
        staff_code=user.staff_code,
        was_locked=any(state.locked_at is not None for _, state in cleared),
        failures_cleared=sum(state.failures for _, state in cleared),
    )


@router.post(
    "/stores/{store}/staff/{staff_code}/unlock",
    response_model=UnlockOut,
    responses=error_responses(401, 403, 404, 422),
)
def unlock_staff(
    store: StoreCode, staff_code: StaffCode, principal: PrincipalDep, db: DbDep, request: Request
) -> UnlockOut:
    """Managers of the store (or an admin): let a cashier or manager whose staff code locked after
    wrong PINs sign in again now (their username too); audited. Doing it twice changes nothing."""
    with db.unit_of_work() as s:
        ref = tills.store_by_code(s, store)
        user = users.user_by_staff_code(s, staff_code)
        where = users.user_location_ids(s, user.id) if user else frozenset()
    if ref is None:
        raise NotFound(f"There is no store {store}.")
    _may_unlock(principal, frozenset({ref.id}), f"Store {store}")
    if user is None or ref.id not in where:
        raise NotFound(f"No one at store {store} has staff code {staff_code}.")
    return _unlock(db, request, principal, user, store)


@router.post(
    "/users/{username}/unlock",
    response_model=UnlockOut,
    responses=error_responses(401, 403, 404, 422),
)
def unlock_user(
    username: Username, principal: PrincipalDep, db: DbDep, request: Request
) -> UnlockOut:
    """Admins, or a manager of one of the person's stores: let a username that locked after wrong
    passwords sign in again now (their staff code too); audited."""
    with db.unit_of_work() as s:
        user = users.user_by_username(s, username)
        where = users.user_location_ids(s, user.id) if user else frozenset()
    if principal.role not in ("manager", "admin"):
        _may_unlock(principal, where, username)  # refuses: not a manager
    if user is None:
        raise NotFound(f"There is no user {username}.")
    _may_unlock(principal, where, username)
    return _unlock(db, request, principal, user, None)
