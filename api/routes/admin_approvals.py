"""A store's approval table: which till actions need a manager's staff code and PIN, and the
allowance a cashier may use alone (Shopify POS's staff permissions are the model). Admins edit
every store's; a store's managers edit their own. Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.approvals import deployment_defaults
from api.deps import DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.permissions import require_manager_of
from api.routes.admin_places import audit, idempotent
from db.repositories import approval_rules, transfers
from db.repositories.transfers import PlaceRef
from domain.approvals import ACTIONS, check_rule
from domain.errors import NotFound
from tillflow.settings import Settings

router = APIRouter(prefix="/admin", tags=["admin"])
LocationCode = Annotated[str, Path(min_length=1, max_length=32)]
ActionName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
_ERRORS = error_responses(401, 403, 404, 409, 422)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approval: bool = Field(description="a cashier needs a manager's staff code + PIN for it")
    cashier_limit: int | None = Field(
        default=None,
        ge=0,
        le=10**12,
        description="what a cashier may do alone: basis points (discounts, overrides) or minor "
        "units (paid-out, shift variance); null: no allowance",
    )


class RuleOut(BaseModel):
    action: str
    label: str
    unit: str = Field(description="basis_points | minor_units | none")
    approval: bool
    cashier_limit: int | None
    own: bool = Field(description="the store's own row (else the default)")


class ApprovalTableOut(BaseModel):
    store: str
    rules: list[RuleOut]


def _place(s: Session, code: str) -> PlaceRef:
    ref = transfers.place(s, code)
    if ref is None:
        raise NotFound(f"There is no location {code}.", code="unknown_location")
    return ref


def _table(s: Session, settings: Settings, ref: PlaceRef) -> ApprovalTableOut:
    rules = approval_rules.rules_for(s, ref.id, deployment_defaults(settings))
    own = approval_rules.own_actions(s, ref.id)
    return ApprovalTableOut(
        store=ref.code,
        rules=[
            RuleOut(
                action=a,
                label=info.label,
                unit=info.unit,
                approval=rules[a].approval,
                cashier_limit=rules[a].cashier_limit,
                own=a in own,
            )
            for a, info in ACTIONS.items()
        ],
    )


@router.get("/locations/{code}/approvals", response_model=ApprovalTableOut, responses=_ERRORS)
def approval_table(
    code: LocationCode, principal: PrincipalDep, db: DbDep, settings: SettingsDep
) -> ApprovalTableOut:
    """The store's table: every action, whether a cashier needs a manager for it, the allowance,
    and whether it is the store's own setting or the default."""
    with db.unit_of_work() as s:
        ref = _place(s, code)
        require_manager_of(principal, {ref.id}, code)
        return _table(s, settings, ref)


@router.put(
    "/locations/{code}/approvals/{action}", response_model=ApprovalTableOut, responses=_ERRORS
)
def set_approval_rule(
    code: LocationCode,
    action: ActionName,
    body: RuleIn,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Set one action's rule for the store (422 for an unknown action or an allowance it does not
    take)."""
    rule = check_rule(action, body.approval, body.cashier_limit)

    def run() -> ApprovalTableOut:
        with db.unit_of_work() as s:
            ref = _place(s, code)
            require_manager_of(principal, {ref.id}, code)
            before = approval_rules.rules_for(s, ref.id, deployment_defaults(settings))[action]
            approval_rules.set_rule(s, ref.id, rule, principal.user_id)
            audit(
                s,
                principal,
                "permissions.approval_rule_set",
                f"location:{code}",
                rule=action,
                before={"approval": before.approval, "cashier_limit": before.cashier_limit},
                after=body.model_dump(),
            )
            return _table(s, settings, ref)

    request: Any = {"action": action, **body.model_dump()}
    return idempotent(
        db, principal, f"PUT approvals {code} {action}", idempotency_key, request, 200, run
    )


@router.delete(
    "/locations/{code}/approvals/{action}", response_model=ApprovalTableOut, responses=_ERRORS
)
def reset_approval_rule(
    code: LocationCode,
    action: ActionName,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
) -> ApprovalTableOut:
    """Back to the default for this action (deleting twice changes nothing)."""
    check_rule(action, True, None)
    with db.unit_of_work() as s:
        ref = _place(s, code)
        require_manager_of(principal, {ref.id}, code)
        approval_rules.reset_rule(s, ref.id, action)
        audit(s, principal, "permissions.approval_rule_reset", f"location:{code}", rule=action)
        return _table(s, settings, ref)
