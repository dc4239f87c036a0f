"""Every audit row is chained to the one before it in its location's chain: appends from many
threads never fork a chain, different chains never wait for each other, and the whole database
verifies while writers carry on."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from audit_helpers import append, chain_of, new_location, verify
from helpers.webstore import eventually
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db.models import AuditEntry
from db.models_audit import AuditChain
from db.repositories import audit_trail, bookkeeping
from db.session import Database
from domain.audit_chain import CENTRAL, ChainedFields, genesis_hash, row_hash


def test_the_hash_covers_every_field_and_the_link() -> None:
    base = ChainedFields(
        chain="BER",
        id=7,
        at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        actor_user_id=3,
        location_id=1,
        action="till.drawer_opened",
        subject="till:BER1",
        workflow_id=None,
        detail_json='{"reason": "no sale"}',
        prev_hash=genesis_hash("BER"),
    )
    digest = row_hash(base)
    assert len(digest) == 64 and row_hash(base) == digest
    from dataclasses import replace

    changes = [
        replace(base, chain="LIS"),
        replace(base, id=8),
        replace(base, at=datetime(2026, 12, 1, 9, 30, 0, 1, tzinfo=UTC)),
        replace(base, actor_user_id=None),
        replace(base, location_id=2),
        replace(base, action="till.drawer_opened2"),
        replace(base, subject="till:BER2"),
        replace(base, workflow_id=""),
        replace(base, detail_json='{"reason": "no sale!"}'),
        replace(base, prev_hash=genesis_hash("LIS")),
    ]
    assert len({row_hash(c) for c in changes} | {digest}) == len(changes) + 1


def test_a_row_goes_to_its_locations_chain(db: Database) -> None:
    lid, code = new_location(db)
    with db.unit_of_work() as s:
        by_subject = bookkeeping.audit(s, action="location.updated", subject=f"location:{code}")
        by_detail = bookkeeping.audit(
            s, action="x.y", subject="user:nobody", detail={"store": code}
        )
        by_till = bookkeeping.audit(
            s, action="signin.failed", subject="staff:1001", detail={"till": "BER1"}
        )
        central = bookkeeping.audit(s, action="user.created", subject="user:nobody")
    assert by_subject.chain == by_detail.chain == code == chain_of(db, lid)
    assert by_till.chain == "BER" and central.chain == CENTRAL
    with db.unit_of_work() as s:
        rows = {e.id: e for e in s.scalars(select(AuditEntry).where(AuditEntry.chain == code))}
    assert rows[by_detail.id].prev_hash == rows[by_subject.id].row_hash  # one transaction, linked
    assert rows[by_subject.id].prev_hash == genesis_hash(code)
    report = verify(db, code)
    assert report.ok and report.rows_checked == 2 and report.head_id == by_detail.id


def test_concurrent_appends_never_fork_a_chain(db: Database) -> None:
    lid, _ = new_location(db)
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for got in pool.map(lambda t: append(db, lid, 6, thread=t), range(8)) for i in got]
    chain = chain_of(db, lid)
    with db.unit_of_work() as s:
        rows = list(
            s.scalars(select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.id))
        )
        head = s.get(AuditChain, chain)
    assert sorted(ids) == [r.id for r in rows] and len(rows) == 48
    assert len({r.prev_hash for r in rows}) == 48  # no two rows claim the same predecessor
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.row_hash
    assert head is not None and head.rows == 48 and head.last_id == rows[-1].id
    assert verify(db, chain).ok


async def test_different_chains_do_not_wait_for_each_other(db: Database) -> None:
    """A writer holding store A's chain (its transaction still open) blocks the next writer of A
    only: store B appends and commits meanwhile."""
    a, _ = new_location(db)
    b, _ = new_location(db)
    append(db, a), append(db, b)  # both chains exist: the next writers queue on their heads
    holding, release = threading.Event(), threading.Event()

    def hold_a() -> None:
        with db.unit_of_work() as s:
            bookkeeping.audit(s, action="test.hold", subject="test:hold", location_id=a)
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=hold_a)
    holder.start()
    try:
        await asyncio.to_thread(holding.wait, 60)
        second_a = asyncio.create_task(asyncio.to_thread(append, db, a, 1))
        # B's append commits while A's head is held.
        assert len(await asyncio.to_thread(append, db, b, 3)) == 3

        def a_waits_for_its_lock() -> bool:
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%audit_chains%'"
            )
            with db.read() as conn:
                return bool(conn.scalar(waiting)) or second_a.done()

        await eventually(a_waits_for_its_lock)
        assert not second_a.done()  # the second writer of A is still queued behind the first
    finally:
        release.set()
        await asyncio.to_thread(holder.join)
    assert len(await second_a) == 1
    assert verify(db, chain_of(db, a)).ok and verify(db, chain_of(db, b)).ok


def test_append_only_refuses_update_delete_truncate(db: Database) -> None:
    lid, _ = new_location(db)
    [audit_id] = append(db, lid)
    for sql in (
        "UPDATE audit_log SET subject = 'x' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.unit_of_work() as s:
            s.execute(text(sql), {"id": audit_id})
    with pytest.raises(DBAPIError, match="only moves forward"), db.unit_of_work() as s:
        s.execute(
            text("UPDATE audit_chains SET rows = rows - 1 WHERE location_id = :l"), {"l": lid}
        )
    with pytest.raises(DBAPIError, match="never deleted"), db.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_chains WHERE location_id = :l"), {"l": lid})
    assert verify(db, chain_of(db, lid)).ok


def test_the_suites_database_verifies(db: Database) -> None:
    """Runs last (see conftest): every chain the whole run wrote verifies, even while writers
    keep appending to the central chain and to a store's during the check."""
    lid, _ = new_location(db)
    stop = threading.Event()

    def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            append(db, None if n % 2 else lid)
            n += 1
        return n

    with ThreadPoolExecutor(max_workers=2) as pool:
        writers = [pool.submit(keep_writing) for _ in range(2)]
        try:
            for _ in range(3):
                with audit_trail.snapshot(db) as s:
                    reports = audit_trail.verify(s)
                assert reports and all(r.ok for r in reports), [
                    r.first_broken for r in reports if not r.ok
                ]
        finally:
            stop.set()
        assert sum(w.result() for w in writers) > 0
    with audit_trail.snapshot(db) as s:
        assert all(r.ok for r in audit_trail.verify(s))
