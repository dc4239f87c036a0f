"""A manager's approval given at the cashier's till: their staff code and PIN, checked as a
sign-in at that till is (throttled; wrong PINs count towards the staff code's lockout; every
failure audited), never a separate manager session. One check for every action that needs it
(discounts, voids, receipt-less returns, store credit without the customer's code, no-sale,
paid-out, a shift variance); which actions need it is the store's approval table
(`db/repositories/approval_rules.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from api import ratelimit
from api.auth import SignIn, sign_in, token_hash
from api.errors import ApiError
from api.schemas import ManagerApprovalIn
from db.repositories import approval_rules, bookkeeping, users
from db.repositories.catalog import TillView
from db.repositories.users import Principal
from db.session import Database
from domain.approvals import Rule
from tillflow.settings import Settings


@dataclass(frozen=True)
class Approver:
    user_id: int
    name: str


def manager_approval(
    db: Database,
    settings: Settings,
    request: Request,
    till: TillView,
    principal: Principal,
    approval: ManagerApprovalIn,
    action: str,
    detail: dict[str, object] | None = None,
) -> Approver:
    """The manager of this till's store who vouched for `action` (e.g. "sale.discount"); 403
    `approval_refused` when the code or PIN is wrong or not a manager's of this store, 429 / 423
    as at sign-in. The token the check issues is revoked at once: an approval opens no session."""
    attempt = SignIn(
        kind="staff",
        name=approval.staff_code,
        secret=approval.pin,
        address=ratelimit.address_of(request),
        till=till,
    )
    try:
        user, token, _ = sign_in(db, settings, ratelimit.limits_of(request.app), attempt)
    except ApiError as err:
        if err.status != 401:
            raise  # throttled (429) or locked (423): as at sign-in
        # Not 401: the cashier's own session is fine, only the approval failed.
        raise ApiError(
            403, "approval_refused", "The manager's staff code or PIN is wrong."
        ) from None
    with db.unit_of_work() as s:
        users.revoke_token(s, token_hash(token), datetime.now(UTC))
        manager = user.role in ("manager", "admin") and (
            user.role == "admin" or till.location_id in users.user_location_ids(s, user.id)
        )
        bookkeeping.audit(
            s,
            action=f"{action}_approved" if manager else f"{action}_refused",
            subject=f"till:{till.till_code}",
            actor_user_id=user.id,
            location_id=till.location_id,
            detail={"cashier": principal.username, **(detail or {})},
        )
        name = user.display_name
    if not manager:
        raise ApiError(
            403,
            "approval_refused",
            f"Only a manager of store {till.location_code} can approve this.",
        )
    return Approver(user.id, name)


def deployment_defaults(settings: Settings) -> dict[str, Rule]:
    """The approval table's defaults where settings give the allowance."""
    return {
        "paid_out": Rule("paid_out", True, settings.shift_paid_out_approval_above),
        "shift_variance": Rule("shift_variance", True, settings.shift_variance_threshold),
    }


def store_rules(db: Database, settings: Settings, location_id: int) -> dict[str, Rule]:
    with db.unit_of_work() as s:
        return approval_rules.rules_for(s, location_id, deployment_defaults(settings))


def store_rule(db: Database, settings: Settings, till: TillView, action: str) -> Rule:
    """The till's store's rule for `action` (its own row, else the default)."""
    return store_rules(db, settings, till.location_id)[action]


def approval_required(what: str) -> ApiError:
    return ApiError(
        403,
        "approval_required",
        f"{what} needs a manager's approval: their staff code and PIN as `manager`.",
    )
