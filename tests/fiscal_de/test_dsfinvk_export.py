"""The DSFinV-K export read back: documents signed through FiskalySigner against the fake TSE,
recorded as the signing activity records them (db/repositories/fiscal.py), one till closed by its
shift's Z report, then the ZIP opened, validated against its index.xml (the dsfinvk package's
validator) and its CSVs checked: totals per VAT rate and tender, TSE rows = the signatures."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from dsfinvk.validate import validate_zip
from helpers.fake_fiskaly import FakeFiskalyServer
from sqlalchemy import delete

from contracts.fiscal import (
    FiscalDocument,
    FiscalExportRequest,
    FiscalLine,
    FiscalSignature,
    TenderAmount,
    VatAmount,
)
from db.models import Location, Till
from db.models_fiscal import FiscalRecord
from db.models_shifts import Shift
from db.repositories import fiscal as fiscal_repo
from db.session import Database
from domain.errors import InvalidRequest, NotFound
from integrations.fiscal import FiscalUnit
from integrations.fiskaly import FiskalySigner

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 6, 15)


@dataclass
class GermanStore:
    id: int
    code: str
    tills: tuple[str, str]
    till_ids: tuple[int, int]


@pytest.fixture
def german_store(db: Database) -> Iterator[GermanStore]:
    """A store of its own (country DE) with two tills; everything of it removed afterwards."""
    code = f"DE{uuid.uuid4().hex[:6].upper()}"
    with db.unit_of_work() as s:
        loc = Location(
            code=code,
            name=f"Laden {code}",
            kind="store",
            timezone="Europe/Berlin",
            address="Friedrichstraße 10, 10117 Berlin",
            currency="EUR",
            country="DE",
            shift_required=False,
        )
        s.add(loc)
        s.flush()
        tills = [Till(code=f"{code}-{n}", location_id=loc.id, name=f"Kasse {n}") for n in (1, 2)]
        s.add_all(tills)
        s.flush()
        store = GermanStore(
            id=loc.id,
            code=code,
            tills=(tills[0].code, tills[1].code),
            till_ids=(tills[0].id, tills[1].id),
        )
    yield store
    with db.unit_of_work() as s:
        s.execute(delete(FiscalRecord).where(FiscalRecord.location_id == store.id))
        s.execute(delete(Shift).where(Shift.location_id == store.id))
        s.execute(delete(Till).where(Till.location_id == store.id))
        s.execute(delete(Location).where(Location.id == store.id))


@pytest.fixture
async def db_signer(fiskaly: FakeFiskalyServer, db: Database) -> AsyncIterator[FiskalySigner]:
    async with httpx.AsyncClient() as http:
        yield FiskalySigner(http, fiskaly.url, fiskaly.api_key, fiskaly.api_secret, db)


def _doc(
    store: GermanStore,
    till: str,
    hour: int,
    lines: list[tuple[int, int]],  # (gross, rate_bp) per line
    tenders: list[tuple[str, int]],
    *,
    kind: str = "sale",
    refers_to: str = "",
    day: date = DAY,
) -> FiscalDocument:
    vat: dict[int, int] = defaultdict(int)
    for gross, rate in lines:
        vat[rate] += gross
    return FiscalDocument(
        document_id=f"{kind}:{uuid.uuid4()}",
        kind=kind,  # type: ignore[arg-type]  # the test passes valid kinds only
        location_code=store.code,
        till_code=till,
        currency="EUR",
        occurred_at=datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN),
        cashier="Anna",
        total=sum(g for g, _ in lines),
        vat=tuple(
            VatAmount(
                rate_bp=r,
                gross=g,
                net=round(g * 10000 / (10000 + r)),
                vat=g - round(g * 10000 / (10000 + r)),
            )
            for r, g in sorted(vat.items())
        ),
        tenders=tuple(TenderAmount(kind=k, amount=a) for k, a in tenders),
        lines=tuple(
            FiscalLine(
                line_no=i,
                sku=f"SKU-{i}",
                name=f"Artikel {i}",
                quantity=-1 if g < 0 else 1,
                unit_price=abs(g),
                total=g,
                rate_bp=r,
            )
            for i, (g, r) in enumerate(lines, start=1)
        ),
        number=f"N-{hour}",
        refers_to=refers_to,
    )


def _record(
    db: Database, store: GermanStore, doc: FiscalDocument, sig: FiscalSignature
) -> FiscalSignature:
    with db.unit_of_work() as s:
        return fiscal_repo.store_record(
            s,
            kind=doc.kind,
            location_id=store.id,
            till_code=doc.till_code,
            number=doc.number,
            occurred_at=doc.occurred_at,
            document=fiscal_repo.document_json(doc),
            signature=sig,
        )


def _read(content: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {
            name: list(csv.DictReader(io.StringIO(zf.read(name).decode()), delimiter=";"))
            for name in zf.namelist()
            if name.endswith(".csv")
        }


def _num(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))


def _sums(rows: list[dict[str, str]], key: str, value: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        out[row[key]] += _num(row[value])
    return dict(out)


async def test_dsfinvk_export_reads_back_with_the_right_totals_and_tse_rows(
    db: Database, german_store: GermanStore, db_signer: FiskalySigner, fiskaly: FakeFiskalyServer
) -> None:
    store = german_store
    tss_id, client_id = fiskaly.provision(client_serial=f"{store.tills[0]}-TSE")
    unit = FiscalUnit(
        location_code=store.code,
        scheme="de-fiskaly",
        country="DE",
        options={
            "tss_id": tss_id,
            "client_id": client_id,
            "company_name": "Demo Einzelhandel GmbH",
            "tax_number": "27/123/45678",
            "vat_id": "DE123456789",
        },
    )
    t1, t2 = store.tills
    sale1 = _doc(store, t1, 10, [(1190, 1900), (535, 700)], [("cash", 725), ("card", 1000)])
    sale2 = _doc(store, t1, 11, [(2380, 1900)], [("card", 2380)])
    refund = _doc(
        store,
        t1,
        12,
        [(-1190, 1900)],
        [("cash", -1190)],
        kind="return",
        refers_to=sale1.document_id,
    )
    sale3 = _doc(store, t2, 13, [(535, 700)], [("cash", 535)])
    later = _doc(store, t1, 9, [(999, 1900)], [("cash", 999)], day=date(2026, 6, 16))
    signed: dict[str, FiscalSignature] = {}
    for doc in (sale1, sale2, refund, sale3, later):
        signed[doc.document_id] = _record(db, store, doc, await db_signer.finish(unit, doc))
    pending = _doc(store, t1, 14, [(1190, 1900)], [("gift_card", 1190)])
    _record(
        db,
        store,
        pending,
        FiscalSignature(document_id=pending.document_id, scheme="de-fiskaly", status="pending"),
    )
    # till 1 closed its day (Z 4) at 20:00; till 2 has not closed yet (a provisional Z 1)
    with db.unit_of_work() as s:
        s.add(
            Shift(
                workflow_id=f"shift:{t1}:{uuid.uuid4()}",
                till_id=store.till_ids[0],
                n=4,
                location_id=store.id,
                currency="EUR",
                status="closed",
                opened_at=datetime(2026, 6, 15, 8, tzinfo=BERLIN),
                float_count={},
                float_amount=10000,
                closed_at=datetime(2026, 6, 15, 20, tzinfo=BERLIN),
                z_number=4,
            )
        )

    export = await db_signer.export(
        unit, FiscalExportRequest(location_code=store.code, date_from=DAY, date_to=DAY)
    )
    assert export.media_type == "application/zip"
    assert export.filename == f"dsfinvk_{store.code}_20260615_20260615.zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as zf:
        assert "index.xml" in zf.namelist()
    assert validate_zip(io.BytesIO(export.content)) == []
    t = _read(export.content)

    heads = t["transactions.csv"]
    assert len(heads) == 5  # the 16 June sale is outside the range
    assert sum(_num(r["UMS_BRUTTO"]) for r in heads) == Decimal("46.40")
    assert {r["Z_KASSE_ID"] for r in heads} == {t1, t2}
    # totals per VAT key (1 = 19 %, 2 = 7 %) and per tender, documents and closings alike
    per_vat = {"1": Decimal("35.70"), "2": Decimal("10.70")}
    assert _sums(t["transactions_vat.csv"], "UST_SCHLUESSEL", "BON_BRUTTO") == per_vat
    assert _sums(t["lines_vat.csv"], "UST_SCHLUESSEL", "POS_BRUTTO") == per_vat
    assert _sums(t["businesscases.csv"], "UST_SCHLUESSEL", "Z_UMS_BRUTTO") == per_vat
    per_tender = {
        "Bar": Decimal("0.70"),
        "Unbar": Decimal("33.80"),
        "GuthabenKarte": Decimal("11.90"),
    }
    assert _sums(t["datapayment.csv"], "ZAHLART_TYP", "BASISWAEH_BETRAG") == per_tender
    assert _sums(t["payment.csv"], "ZAHLART_TYP", "Z_ZAHLART_BETRAG") == per_tender
    assert len(t["lines.csv"]) == 6

    closings = {r["Z_KASSE_ID"]: r for r in t["cashpointclosing.csv"]}
    assert closings[t1]["Z_NR"] == "4" and closings[t2]["Z_NR"] == "1"
    assert _num(closings[t1]["Z_SE_ZAHLUNGEN"]) == Decimal("41.05")
    assert _num(closings[t1]["Z_SE_BARZAHLUNGEN"]) == Decimal("-4.65")
    assert closings[t1]["NAME"] == "Demo Einzelhandel GmbH"
    assert closings[t1]["USTID"] == "DE123456789" and closings[t1]["PLZ"] == "10117"

    # one TSE row per document, equal to what the fake TSE signed; the pending one says so
    bon_of = {r["BON_NOTIZ"].removeprefix("tillflow "): r["BON_ID"] for r in heads}
    tse = {r["BON_ID"]: r for r in t["transactions_tse.csv"]}
    assert len(tse) == 5
    for doc in (sale1, sale2, refund, sale3):
        row, sig = tse[bon_of[doc.number]], signed[doc.document_id]
        assert row["TSE_TANR"] == sig.field("transaction_number")
        assert row["TSE_TA_SIGZ"] == sig.field("signature_counter")
        assert row["TSE_TA_SIG"] == sig.field("signature")
        assert row["TSE_TA_VORGANGSART"] == "Kassenbeleg-V1"
        assert row["TSE_VORGANGSDATEN"] == sig.field("process_data")
        assert row["TSE_TA_FEHLER"] == ""
    assert tse[bon_of[pending.number]]["TSE_TA_FEHLER"].startswith("TSE nicht erreichbar")
    tse_master = t["tse.csv"]
    assert {r["TSE_SERIAL"] for r in tse_master} == {signed[sale1.document_id].field("tse_serial")}
    assert {r["TSE_PUBLIC_KEY"] for r in tse_master} == {fiskaly.public_key_b64(tss_id)}
    # the return refers to the sale it refunds
    assert [(r["BON_ID"], r["REF_BON_ID"]) for r in t["references.csv"]] == [
        (bon_of[refund.number], bon_of[sale1.number])
    ]
    assert {r["UST_SCHLUESSEL"] for r in t["vat.csv"]} == {"1", "2"}

    # one till only
    only = await db_signer.export(
        unit,
        FiscalExportRequest(location_code=store.code, date_from=DAY, date_to=DAY, till_code=t2),
    )
    one = _read(only.content)
    assert [r["Z_KASSE_ID"] for r in one["transactions.csv"]] == [t2]
    assert _sums(one["datapayment.csv"], "ZAHLART_TYP", "BASISWAEH_BETRAG") == {
        "Bar": Decimal("5.35")
    }
    assert only.filename == f"dsfinvk_{store.code}_{t2}_20260615_20260615.zip"


async def test_dsfinvk_export_refuses_what_it_cannot_export(
    german_store: GermanStore, db_signer: FiskalySigner
) -> None:
    unit = FiscalUnit(location_code=german_store.code, scheme="de-fiskaly", country="DE")
    with pytest.raises(InvalidRequest) as backwards:
        await db_signer.export(
            unit,
            FiscalExportRequest(
                location_code=german_store.code, date_from=DAY, date_to=date(2026, 6, 1)
            ),
        )
    assert backwards.value.code == "invalid_range"
    with pytest.raises(NotFound):
        await db_signer.export(
            unit,
            FiscalExportRequest(
                location_code=german_store.code, date_from=DAY, date_to=DAY, till_code="NOPE"
            ),
        )
    swiss = FiscalUnit(location_code="ZRH", scheme="de-fiskaly", country="CH")
    with pytest.raises(InvalidRequest) as not_german:
        await db_signer.export(
            swiss, FiscalExportRequest(location_code="ZRH", date_from=DAY, date_to=DAY)
        )
    assert not_german.value.code == "dsfinvk_not_german"
    # an empty range is a valid, empty export (every table with its header row)
    empty = await db_signer.export(
        unit, FiscalExportRequest(location_code=german_store.code, date_from=DAY, date_to=DAY)
    )
    tables = _read(empty.content)
    assert tables["transactions.csv"] == [] and "cashpointclosing.csv" in tables
