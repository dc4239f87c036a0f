"""Tampering as a superuser could (the append-only trigger disabled): a changed row, a deleted
row, a deleted last row and a row slipped in between are each caught by `tillflow audit verify`
and named by id; each test puts the row back, and the chain verifies again."""

from __future__ import annotations

import argparse
import uuid

import pytest
from audit_helpers import append, chain_of, new_location, put_back, row, tamper, verify
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from db.session import Database
from domain.audit_chain import ChainedFields, row_hash
from tillflow.audit_cli import COMMANDS, EXIT_BROKEN, EXIT_OK, EXIT_UNKNOWN_CHAIN
from tillflow.settings import Settings


def _cli(database_url: str, chain: str | None) -> int:
    args = argparse.Namespace(
        command="audit", audit_command="verify", chain=chain, no_progress=True
    )
    return COMMANDS["audit"](Settings(database_url=database_url), args)


def test_a_changed_row_is_named_by_the_cli(
    db: Database, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lid, code = new_location(db)
    ids = append(db, lid, 4, amount=1500)
    chain = chain_of(db, lid)
    assert _cli(database_url, code) == EXIT_OK
    assert f"{chain} (location {code}): OK, 4 rows" in capsys.readouterr().out
    tamper(
        db,
        "UPDATE audit_log SET detail = jsonb_set(detail, '{amount}', '15') WHERE id = :id",
        id=ids[1],
    )
    try:
        report = verify(db, chain)
        assert report.first_broken is not None
        assert (report.first_broken.id, report.first_broken.kind) == (ids[1], "content")
        assert report.breaks == 1 and report.rows_checked == 4
        assert _cli(database_url, chain) == EXIT_BROKEN
        out = capsys.readouterr()
        assert f"BROKEN at row {ids[1]} (content)" in out.out and "changed" in out.out
        assert "1 of 1 chain(s) broken" in out.err
    finally:
        tamper(
            db,
            "UPDATE audit_log SET detail = jsonb_set(detail, '{amount}', '1500') WHERE id = :id",
            id=ids[1],
        )
    assert verify(db, chain).ok and _cli(database_url, chain) == EXIT_OK


def test_a_deleted_row_breaks_the_link_of_the_next(db: Database) -> None:
    lid, _ = new_location(db)
    ids = append(db, lid, 4)
    chain = chain_of(db, lid)
    saved = row(db, ids[2])
    tamper(db, "DELETE FROM audit_log WHERE id = :id", id=ids[2])
    try:
        broken = verify(db, chain).first_broken
        assert broken is not None
        assert (broken.id, broken.kind, broken.after_id) == (ids[3], "link", ids[1])
    finally:
        put_back(db, saved)
    assert verify(db, chain).ok


def test_a_deleted_last_row_is_missed_by_the_head(db: Database) -> None:
    lid, _ = new_location(db)
    ids = append(db, lid, 3)
    chain = chain_of(db, lid)
    saved = row(db, ids[2])
    tamper(db, "DELETE FROM audit_log WHERE id = :id", id=ids[2])
    try:
        broken = verify(db, chain).first_broken
        assert broken is not None
        assert (broken.id, broken.kind, broken.after_id) == (ids[2], "missing_tail", ids[1])
    finally:
        put_back(db, saved)
    assert verify(db, chain).ok


def test_a_row_inserted_in_the_middle_is_named(db: Database) -> None:
    lid, _ = new_location(db)
    first = append(db, lid, 2)
    with db.unit_of_work() as s:  # leave a gap in the ids, where a forger would slip a row in
        gap = s.scalar(text("SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))"))
    rest = append(db, lid, 2)
    chain = chain_of(db, lid)
    before = row(db, first[1])
    forged = row(db, first[1]) | {"id": gap, "subject": "till:forged", "detail_text": "{}"}
    # Claiming the real predecessor is refused outright: a row has one successor per chain.
    with pytest.raises(IntegrityError):
        put_back(db, forged)
    # So the forger makes up a predecessor (and hashes the forged row correctly).
    forged["prev_hash"] = uuid.uuid4().hex * 2
    forged["row_hash"] = row_hash(
        ChainedFields(
            chain=chain,
            id=gap,
            at=forged["at"],
            actor_user_id=None,
            location_id=lid,
            action=forged["action"],
            subject="till:forged",
            workflow_id=None,
            detail_json="{}",
            prev_hash=forged["prev_hash"],
        )
    )
    put_back(db, forged)
    try:
        report = verify(db, chain)
        assert report.first_broken is not None
        assert (report.first_broken.id, report.first_broken.kind) == (gap, "link")
        assert report.first_broken.after_id == before["id"] and report.rows_checked == 5
        assert rest[0] > gap
    finally:
        tamper(db, "DELETE FROM audit_log WHERE id = :id", id=gap)
    assert verify(db, chain).ok


def test_the_cli_says_when_there_is_no_such_chain(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(database_url, f"NOPE{uuid.uuid4().hex[:6]}") == EXIT_UNKNOWN_CHAIN
    assert "there is no audit chain" in capsys.readouterr().err
