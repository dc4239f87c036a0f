"""Numbers are gap-free and strictly sequential per series under concurrent signers, and a
retried document gets the document already stored (same number, same signature)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pt_helpers import pt_unit, sale
from sqlalchemy import func, select

from contracts.fiscal import FiscalClosing
from db.models_fiscal_pt import FiscalPtDocument
from db.session import Database
from domain.errors import Conflict, InvalidRequest
from integrations.fiscal import FiscalSigner, FiscalUnit
from integrations.fiscal_pt import PortugalSigner


async def test_ten_concurrent_signers_take_numbers_one_to_ten(
    db: Database, pt_signer: PortugalSigner, pt_store: str
) -> None:
    unit = pt_unit(pt_store, "CC")
    signer: FiscalSigner = pt_signer  # the Protocol, as the signing activity sees it
    docs = [sale(pt_store, till=f"T{i % 2}", total=500 + i) for i in range(10)]
    # each finish runs in its own thread with its own session and transaction
    sigs = await asyncio.gather(*(signer.finish(unit, d) for d in docs))
    numbers = sorted(int(s.field("number").rsplit("/", 1)[1]) for s in sigs)
    assert numbers == list(range(1, 11))
    assert pt_signer.verify(pt_store).ok

    # retried (even concurrently, twice at once): the stored document, never a new number
    again = await asyncio.gather(*(pt_signer.finish(unit, d) for d in docs + docs[:3]))
    assert [s.fields for s in again[:10]] == [s.fields for s in sigs]
    assert [s.fields for s in again[10:]] == [s.fields for s in sigs[:3]]
    with db.unit_of_work() as s:
        count = s.scalar(
            select(func.count())
            .select_from(FiscalPtDocument)
            .where(FiscalPtDocument.document_id.in_([d.document_id for d in docs]))
        )
    assert count == 10


async def test_a_till_can_have_its_own_series(pt_signer: PortugalSigner, pt_store: str) -> None:
    base = pt_unit(pt_store, "SH")
    unit = FiscalUnit(
        location_code=pt_store,
        scheme="pt-at",
        country="PT",
        options={**base.options, "series.FS.T2": "FST2", "validation_code.FST2": "BBBBBBB2"},
    )
    a = await pt_signer.finish(unit, sale(pt_store, till="T1"))
    b = await pt_signer.finish(unit, sale(pt_store, till="T2"))
    assert (a.field("number"), b.field("number")) == ("FS FSSH/1", "FS FST2/1")
    assert b.field("atcud") == "BBBBBBB2-1"
    big = await pt_signer.finish(unit, sale(pt_store, total=150_000))
    assert big.field("number") == "FT FTSH/1"  # over the FS limit: a fatura


async def test_bad_input_is_refused_before_anything_is_numbered(
    pt_signer: PortugalSigner, pt_store: str
) -> None:
    unit = pt_unit(pt_store, "BD")
    with pytest.raises(InvalidRequest) as err:
        await pt_signer.finish(unit, sale(pt_store, buyer="123"))
    assert err.value.code == "pt_buyer_nif_invalid"
    changed = FiscalUnit(
        location_code=pt_store,
        scheme="pt-at",
        country="PT",
        options={**unit.options, "validation_code.FSBD": "ZZZZZZZ9"},
    )
    first = await pt_signer.finish(unit, sale(pt_store))
    assert first.field("number") == "FS FSBD/1"
    with pytest.raises(Conflict) as conflict:
        await pt_signer.finish(changed, sale(pt_store))
    assert conflict.value.code == "pt_series_changed"
    closing = await pt_signer.sign_closing(unit, _closing(pt_store))
    assert closing.status == "not_required"


def _closing(code: str) -> FiscalClosing:
    now = datetime(2026, 11, 3, 20, tzinfo=UTC)
    return FiscalClosing(
        document_id="shift:x:1", location_code=code, till_code="T1", currency="EUR",
        z_number=1, opened_at=now, closed_at=now, total=0, vat=(), tenders=(),
    )  # fmt: skip
