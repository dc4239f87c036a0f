"""The hash chain over 100 signed receipts: it verifies with the public key, and editing one
stored document's total breaks it at that document (every later one depends on it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pt_helpers import LISBON, pt_unit, sale
from sqlalchemy import delete, select, update

from db.models_fiscal_pt import FiscalPtDocument
from db.repositories import fiscal_pt as repo
from db.session import Database
from domain.fiscal_pt import (
    generate_private_key_pem,
    load_private_key,
    public_key_pem,
    verify_chain,
)
from integrations.fiscal_pt import PortugalSigner


async def test_a_hundred_receipts_chain_and_one_edit_breaks_it(
    db: Database, pt_signer: PortugalSigner, pt_store: str
) -> None:
    unit = pt_unit(pt_store, "CH")
    start = datetime(2026, 11, 3, 9, 0, tzinfo=LISBON)
    signed = []
    for i in range(100):
        doc = sale(pt_store, total=100 + 7 * i, at=start + timedelta(minutes=i))
        signed.append((doc.document_id, await pt_signer.finish(unit, doc)))
    assert [s.field("number") for _, s in signed] == [f"FS FSCH/{n}" for n in range(1, 101)]
    for (_, prev), (_, cur) in zip(signed, signed[1:], strict=False):
        assert cur.field("previous_hash") == prev.field("hash")  # each one signs over the last

    report = pt_signer.verify(pt_store)
    assert report.ok and report.checked == 100

    edited = signed[39][0]  # FS FSCH/40: someone "corrects" its total in the database
    with db.unit_of_work() as s:
        s.execute(
            update(FiscalPtDocument)
            .where(FiscalPtDocument.document_id == edited)
            .values(gross_total=FiscalPtDocument.gross_total + 100)
        )
    report = pt_signer.verify(pt_store)
    assert not report.ok
    assert report.broken == (edited,)
    assert [p.reason for p in report.problems] == ["signature"] + ["depends"] * 60
    assert [p.document_id for p in report.problems[1:]] == [d for d, _ in signed[40:]]

    # another key verifies none of them: the check really uses the software's key
    with db.unit_of_work() as s:
        loc_id = s.scalar(
            select(FiscalPtDocument.location_id).where(FiscalPtDocument.document_id == edited)
        )
        chain = repo.chain(s, loc_id or 0)
    other = public_key_pem(load_private_key(generate_private_key_pem()))
    assert verify_chain(chain, other).broken == tuple(d for d, _ in signed)


async def test_a_deleted_document_is_a_gap(
    db: Database, pt_signer: PortugalSigner, pt_store: str
) -> None:
    unit = pt_unit(pt_store, "GP")
    ids = [
        (await pt_signer.finish(unit, d), d.document_id) for d in [sale(pt_store) for _ in range(3)]
    ]
    with db.unit_of_work() as s:
        s.execute(delete(FiscalPtDocument).where(FiscalPtDocument.document_id == ids[1][1]))
    report = pt_signer.verify(pt_store)
    assert [(p.document_id, p.reason) for p in report.problems] == [(ids[2][1], "gap")]
