"""Helpers of the audit-trail tests: a location (so a chain) of their own, appends, tampering as a
superuser would (the append-only trigger lifted for one statement)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text

from db.models import AuditEntry, Location
from db.repositories import audit_trail, bookkeeping
from db.session import Database


def new_location(db: Database) -> tuple[int, str]:
    """A store of its own, so a chain of its own: (id, code)."""
    code = f"AU{uuid.uuid4().hex[:8].upper()}"
    with db.unit_of_work() as s:
        loc = Location(
            code=code, name=f"Audit test {code}", kind="store", timezone="UTC", currency="EUR"
        )
        s.add(loc)
        s.flush()
        return loc.id, code


def append(db: Database, location_id: int | None, n: int = 1, **detail: Any) -> list[int]:
    """n audit rows for this location (None: central), one transaction each; their ids."""
    ids = []
    for i in range(n):
        with db.unit_of_work() as s:
            done = bookkeeping.audit(
                s,
                action="test.audit",
                subject=f"test:{uuid.uuid4().hex[:8]}",
                detail={"n": i, **detail},
                location_id=location_id,
            )
            ids.append(done.id)
    return ids


def verify(db: Database, chain: str) -> audit_trail.ChainReport:
    with audit_trail.snapshot(db) as s:
        return audit_trail.verify_chain(s, chain)


def chain_of(db: Database, location_id: int) -> str:
    with db.unit_of_work() as s:
        name = s.scalar(select(AuditEntry.chain).where(AuditEntry.location_id == location_id))
    assert name is not None
    return name


def tamper(db: Database, sql: str, **params: Any) -> None:
    """Run one statement on audit_log as a superuser could: with its append-only trigger
    disabled for that transaction alone."""
    with db.unit_of_work() as s:
        s.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        s.execute(text(sql), params)
        s.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def row(db: Database, audit_id: int) -> dict[str, Any]:
    """Every column of one audit row (to put it back exactly after a tamper test)."""
    with db.unit_of_work() as s:
        found = s.execute(
            text("SELECT *, detail::text AS detail_text FROM audit_log WHERE id = :id"),
            {"id": audit_id},
        ).mappings()
        return dict(found.one())


def put_back(db: Database, saved: dict[str, Any]) -> None:
    """Re-insert a deleted row exactly as it was."""
    tamper(
        db,
        "INSERT INTO audit_log (id, at, actor_user_id, action, subject, workflow_id, detail, "
        "location_id, chain, prev_hash, row_hash) VALUES (:id, :at, :actor_user_id, :action, "
        ":subject, :workflow_id, CAST(:detail_text AS jsonb), :location_id, :chain, :prev_hash, "
        ":row_hash)",
        **{k: v for k, v in saved.items() if k != "detail"},
    )
