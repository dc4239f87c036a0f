"""The hash-chained audit log: appending a row (the one writer, behind bookkeeping.audit),
verifying every chain, and reading rows back for admins and managers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Text, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import AuditEntry, Location, Till, User
from db.models_audit import AuditChain
from db.session import Database
from domain.audit_chain import (
    CENTRAL,
    ChainedFields,
    chain_name_for,
    genesis_hash,
    location_hint,
    row_hash,
)

# ---- appending ----------------------------------------------------------------------------


def resolve_location(session: Session, subject: str, detail: dict[str, Any]) -> int | None:
    """The location an audit row belongs to, from its subject or detail (None: central)."""
    hint = location_hint(subject, detail)
    if hint is None or isinstance(hint, int):
        return hint
    kind, code = hint
    if kind == "till":
        return session.scalar(select(Till.location_id).where(Till.code == code))
    return session.scalar(select(Location.id).where(Location.code == code))


def _locked_head(session: Session, location_id: int | None) -> AuditChain | None:
    where = (
        AuditChain.chain == CENTRAL
        if location_id is None
        else AuditChain.location_id == location_id
    )
    return session.scalar(
        select(AuditChain).where(where).with_for_update().execution_options(populate_existing=True)
    )


def _create_head(session: Session, name: str, location_id: int | None) -> None:
    # A concurrent creator of the same chain makes this wait for it, then do nothing.
    session.execute(
        insert(AuditChain)
        .values(
            chain=name, location_id=location_id, last_id=None, last_hash=genesis_hash(name), rows=0
        )
        .on_conflict_do_nothing()
    )


def lock_chain(session: Session, location_id: int | None) -> AuditChain:
    """The head of the location's chain (made on first use), locked until the transaction ends:
    appends to one chain queue here, appends to other chains do not."""
    head = _locked_head(session, location_id)
    if head is not None:
        return head
    code = None
    if location_id is not None:
        code = session.scalar(select(Location.code).where(Location.id == location_id))
    for taken in (False, True):
        _create_head(session, chain_name_for(code, location_id, taken), location_id)
        head = _locked_head(session, location_id)
        if head is not None:
            return head
    raise RuntimeError(f"cannot make an audit chain for location {location_id}")


@dataclass(frozen=True, kw_only=True)
class Appended:
    id: int
    chain: str
    row_hash: str


def append(
    session: Session,
    *,
    action: str,
    subject: str,
    actor_user_id: int | None,
    workflow_id: str | None,
    detail: dict[str, Any],
    location_id: int | None,
) -> Appended:
    """Append one row to its chain in the caller's transaction: lock the chain's head, take the
    next id under that lock (so a chain's rows are in id order), hash, insert, move the head."""
    head = lock_chain(session, location_id)
    new_id, at, detail_json = session.execute(
        text(
            "SELECT nextval(pg_get_serial_sequence('audit_log', 'id')), now(), "
            "CAST(:detail AS jsonb)::text"
        ),
        {"detail": json.dumps(detail)},
    ).one()
    fields = ChainedFields(
        chain=head.chain,
        id=new_id,
        at=at,
        actor_user_id=actor_user_id,
        location_id=location_id,
        action=action,
        subject=subject,
        workflow_id=workflow_id,
        detail_json=detail_json,
        prev_hash=head.last_hash,
    )
    digest = row_hash(fields)
    session.execute(
        insert(AuditEntry).values(
            id=new_id,
            at=at,
            actor_user_id=actor_user_id,
            action=action,
            subject=subject,
            workflow_id=workflow_id,
            detail=detail,
            location_id=location_id,
            chain=head.chain,
            prev_hash=head.last_hash,
            row_hash=digest,
        )
    )
    session.execute(
        update(AuditChain)
        .where(AuditChain.chain == head.chain)
        .values(last_id=new_id, last_hash=digest, rows=AuditChain.rows + 1)
    )
    return Appended(id=new_id, chain=head.chain, row_hash=digest)


# ---- verifying ----------------------------------------------------------------------------

BreakKind = Literal["content", "link", "missing_tail", "no_head", "head_mismatch"]


@dataclass(frozen=True, kw_only=True)
class Break:
    """The first row of a chain that does not verify, and why."""

    id: int | None
    kind: BreakKind
    message: str
    after_id: int | None = None  # the last row that did verify before it


@dataclass(kw_only=True)
class ChainReport:
    chain: str
    location_id: int | None
    rows_checked: int = 0
    breaks: int = 0
    first_broken: Break | None = None
    head_id: int | None = None
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken is None

    def broke(self, found: Break) -> None:
        self.breaks += 1
        if self.first_broken is None:
            self.first_broken = found


@dataclass(frozen=True, kw_only=True)
class ChainInfo:
    chain: str
    location_id: int | None
    rows: int
    location_code: str | None = None


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read-only REPEATABLE READ transaction: every chain and its head as of one instant, while
    other writers go on appending (their rows are simply not in the snapshot yet)."""
    with (
        db.engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn,
        Session(bind=conn) as session,
        session.begin(),
    ):
        yield session


def chains(session: Session, only: str | None = None) -> list[ChainInfo]:
    """Every chain (heads, and any chain name found on rows without a head), or the one named
    `only` — a chain name, or a location's current code."""
    heads = {h.chain: h for h in session.scalars(select(AuditChain).order_by(AuditChain.chain))}
    named = set(heads) | set(session.scalars(select(AuditEntry.chain).distinct()))
    codes = dict(session.execute(select(Location.id, Location.code)).all())
    if only is not None:
        by_code = {h.chain for h in heads.values() if codes.get(h.location_id or -1) == only}
        named = {only} if only in named else by_code
    return [
        ChainInfo(
            chain=name,
            location_id=heads[name].location_id if name in heads else None,
            rows=heads[name].rows if name in heads else 0,
            location_code=codes.get(heads[name].location_id or -1) if name in heads else None,
        )
        for name in sorted(named)
    ]


def _rows(session: Session, chain: str) -> Iterator[Any]:
    stmt = (
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor_user_id,
            AuditEntry.location_id,
            AuditEntry.action,
            AuditEntry.subject,
            AuditEntry.workflow_id,
            cast(AuditEntry.detail, Text).label("detail_json"),
            AuditEntry.prev_hash,
            AuditEntry.row_hash,
        )
        .where(AuditEntry.chain == chain)
        .order_by(AuditEntry.id)
        .execution_options(yield_per=2000)
    )
    yield from session.execute(stmt)


def verify_chain(
    session: Session, chain: str, tick: Callable[[int], None] | None = None
) -> ChainReport:
    """Recompute one chain: each row's hash from its content, each link to the row before, and
    the head against the last row."""
    head = session.get(AuditChain, chain)
    report = ChainReport(chain=chain, location_id=head.location_id if head else None)
    expected = genesis_hash(chain)
    last_ok: int | None = None
    previous_id: int | None = None
    for r in _rows(session, chain):
        report.rows_checked += 1
        if tick is not None:
            tick(1)
        fields = ChainedFields(
            chain=chain,
            id=r.id,
            at=r.at,
            actor_user_id=r.actor_user_id,
            location_id=r.location_id,
            action=r.action,
            subject=r.subject,
            workflow_id=r.workflow_id,
            detail_json=r.detail_json,
            prev_hash=r.prev_hash,
        )
        if row_hash(fields) != r.row_hash:
            report.broke(
                Break(
                    id=r.id,
                    kind="content",
                    after_id=last_ok,
                    message=f"row {r.id}: its content does not match its hash: the row was "
                    "changed after it was written",
                )
            )
        elif r.prev_hash != expected:
            before = f"row {previous_id}" if previous_id is not None else "the chain's start"
            report.broke(
                Break(
                    id=r.id,
                    kind="link",
                    after_id=last_ok,
                    message=f"row {r.id}: the previous-row hash it carries is not the hash of "
                    f"{before}: a row before it is missing, was inserted, or was changed and "
                    "re-hashed",
                )
            )
        else:
            last_ok = r.id
        expected = r.row_hash
        previous_id = r.id
    if head is None:
        report.broke(
            Break(
                id=None,
                kind="no_head",
                after_id=previous_id,
                message=f"chain {chain} has rows but no head in audit_chains: rows were "
                "written around tillflow, or its head was deleted",
            )
        )
        return report
    report.head_id, report.head_hash = head.last_id, head.last_hash
    if head.last_id != previous_id or head.rows != report.rows_checked:
        missing = head.last_id is not None and (previous_id is None or head.last_id > previous_id)
        report.broke(
            Break(
                id=head.last_id,
                kind="missing_tail" if missing else "head_mismatch",
                after_id=previous_id,
                message=(
                    f"the chain's head says its last row is {head.last_id} "
                    f"({head.rows} rows) but the table ends at row {previous_id} "
                    f"({report.rows_checked} rows): "
                    + ("rows at its end were deleted" if missing else "rows were added or removed")
                ),
            )
        )
    elif head.last_hash != expected:
        report.broke(
            Break(
                id=head.last_id,
                kind="head_mismatch",
                after_id=previous_id,
                message=f"row {head.last_id}: the chain's head holds another hash for it: "
                "the row was changed and re-hashed",
            )
        )
    return report


def verify(
    session: Session, chain: str | None = None, tick: Callable[[int], None] | None = None
) -> list[ChainReport]:
    """Verify every chain (or one); call inside `snapshot` for a consistent answer."""
    return [verify_chain(session, c.chain, tick) for c in chains(session, chain)]


# ---- reading ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuditRow:
    id: int
    at: datetime
    chain: str
    location_id: int | None
    actor: str | None
    action: str
    subject: str
    workflow_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    row_hash: str


def entries(
    session: Session,
    *,
    chains_in: Iterable[str] | None,
    chain: str | None,
    action: str | None,
    since: datetime | None,
    page_no: int,
    per_page: int,
) -> tuple[list[AuditRow], int]:
    """Audit rows newest first, filtered; `chains_in` None: every chain."""
    stmt = select(AuditEntry, User.username).outerjoin(User, User.id == AuditEntry.actor_user_id)
    count = select(func.count()).select_from(AuditEntry)
    conditions: list[ColumnElement[bool]] = []
    if chains_in is not None:
        conditions.append(AuditEntry.chain.in_(list(chains_in)))
    if chain is not None:
        conditions.append(AuditEntry.chain == chain)
    if action is not None:
        # "signin." matches every sign-in action; a full name matches only itself
        conditions.append(
            AuditEntry.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if since is not None:
        conditions.append(AuditEntry.at >= since)
    for c in conditions:
        stmt, count = stmt.where(c), count.where(c)
    total = session.scalar(count) or 0
    found = session.execute(
        stmt.order_by(AuditEntry.id.desc()).limit(per_page).offset((page_no - 1) * per_page)
    ).all()
    return [
        AuditRow(
            id=e.id,
            at=e.at,
            chain=e.chain,
            location_id=e.location_id,
            actor=username,
            action=e.action,
            subject=e.subject,
            workflow_id=e.workflow_id,
            detail=e.detail,
            prev_hash=e.prev_hash,
            row_hash=e.row_hash,
        )
        for e, username in found
    ], total


def chains_of_locations(session: Session, location_ids: Iterable[int]) -> dict[str, int]:
    """{chain name: location id} of these locations' chains."""
    ids = list(location_ids)
    rows = session.execute(
        select(AuditChain.chain, AuditChain.location_id).where(AuditChain.location_id.in_(ids))
    )
    return {name: lid for name, lid in rows if lid is not None}
