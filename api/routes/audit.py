"""The audit trail: reading the hash-chained audit log (admins everything, a store manager the
chains of their own stores) and verifying every chain (admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import DbDep, PrincipalDep
from api.errors import ApiError, error_responses
from api.permissions import require_role
from db.repositories import audit_trail
from db.repositories.users import Principal
from domain.errors import NotFound

router = APIRouter(tags=["audit"])

ChainQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        description="a chain: 'central' or a location's chain name (its code), e.g. BER",
    ),
]


class BreakOut(BaseModel):
    id: int | None  # the first row that does not verify (for a missing tail: the head's last id)
    kind: str  # content | link | missing_tail | no_head | head_mismatch
    message: str
    after_id: int | None  # the last row before it that verified


class ChainVerifyOut(BaseModel):
    chain: str
    location: str | None
    rows_checked: int
    ok: bool
    breaks: int
    first_broken: BreakOut | None
    head_id: int | None
    head_hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked_at: datetime
    chains: list[ChainVerifyOut]


class AuditRowOut(BaseModel):
    id: int
    at: datetime
    chain: str
    location: str | None
    actor: str | None
    action: str
    subject: str
    workflow_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    row_hash: str


class AuditPage(BaseModel):
    items: list[AuditRowOut]
    page: int
    per_page: int
    total: int


def _codes(infos: list[audit_trail.ChainInfo]) -> dict[str, str | None]:
    return {i.chain: i.location_code for i in infos}


@router.get(
    "/audit/verify", response_model=VerifyOut, responses=error_responses(401, 403, 404, 422)
)
def verify(principal: PrincipalDep, db: DbDep, chain: ChainQuery = None) -> VerifyOut:
    """Recompute every chain of the audit log (or one) as of one instant and name, per chain,
    the first row that does not verify (admins)."""
    require_role(principal)
    checked_at = datetime.now(UTC)
    with audit_trail.snapshot(db) as s:
        infos = audit_trail.chains(s, chain)
        if chain is not None and not infos:
            raise NotFound(f"There is no audit chain {chain}.", code="unknown_chain")
        reports = [audit_trail.verify_chain(s, i.chain) for i in infos]
    codes = _codes(infos)
    out = [
        ChainVerifyOut(
            chain=r.chain,
            location=codes.get(r.chain),
            rows_checked=r.rows_checked,
            ok=r.ok,
            breaks=r.breaks,
            first_broken=(
                BreakOut(
                    id=r.first_broken.id,
                    kind=r.first_broken.kind,
                    message=r.first_broken.message,
                    after_id=r.first_broken.after_id,
                )
                if r.first_broken
                else None
            ),
            head_id=r.head_id,
            head_hash=r.head_hash,
        )
        for r in reports
    ]
    return VerifyOut(ok=all(c.ok for c in out), checked_at=checked_at, chains=out)


def _visible_chains(principal: Principal, infos: list[audit_trail.ChainInfo]) -> set[str] | None:
    """None: every chain (an admin); else the chains of the manager's own locations."""
    if principal.role == "admin":
        return None
    if principal.role != "manager":
        raise ApiError(
            403,
            "forbidden",
            f"The audit log is for admins and store managers; you are a {principal.role}.",
        )
    return {i.chain for i in infos if i.location_id in principal.location_ids}


@router.get("/audit", response_model=AuditPage, responses=error_responses(401, 403, 404, 422))
def entries(
    principal: PrincipalDep,
    db: DbDep,
    chain: ChainQuery = None,
    action: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="an action (signin.failed), or a prefix ending in a dot (signin.)",
        ),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="rows at or after this time (ISO 8601; UTC if bare)")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Audit rows, newest first: an admin sees every chain, a store manager their stores'."""
    with db.unit_of_work() as s:
        infos = audit_trail.chains(s)
        visible = _visible_chains(principal, infos)
        name: str | None = None
        if chain is not None:
            found = audit_trail.chains(s, chain)
            if not found:
                raise NotFound(f"There is no audit chain {chain}.", code="unknown_chain")
            name = found[0].chain
            if visible is not None and name not in visible:
                raise ApiError(403, "forbidden", f"The audit chain {chain} is not of your stores.")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        rows, total = audit_trail.entries(
            s,
            chains_in=visible,
            chain=name,
            action=action,
            since=since,
            page_no=page,
            per_page=per_page,
        )
    codes = _codes(infos)
    return AuditPage(
        items=[
            AuditRowOut(
                id=r.id,
                at=r.at,
                chain=r.chain,
                location=codes.get(r.chain),
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                workflow_id=r.workflow_id,
                detail=r.detail,
                prev_hash=r.prev_hash,
                row_hash=r.row_hash,
            )
            for r in rows
        ],
        page=page,
        per_page=per_page,
        total=total,
    )
