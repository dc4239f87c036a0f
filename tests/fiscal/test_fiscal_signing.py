"""The signing step of the Sale (issue 20), end to end on the suite's Temporal and PostgreSQL: a
Berlin sale signed by the fake fiskaly TSE (the signature verified with the TSS's public key, the
TSE data and QR code in the ESC/POS bytes sent to the printer), a TSE outage printing "signature
pending" and signed after recovery, and a store without a fiscal unit running no step at all."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fiscal_helpers import Berlin, FiscalStore, fiscal_worker
from helpers.api import password_login
from helpers.fake_fiskaly import FakeFiskalyServer, signed_message, verify_signature
from helpers.history import activity_types
from helpers.webstore import eventually
from sqlalchemy import delete, select, update
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Replayer

from activities.receipts import receipt_for_order
from contracts.fiscal import FISCAL_SIGN_PATCH, CatchUpRequest, CatchUpResult, FiscalSignature
from contracts.sale import (
    CHECKOUT_UPDATE,
    BasketLine,
    SaleRequest,
    SaleResult,
    TenderIn,
    sale_workflow_id,
)
from db.models import Location
from db.models_fiscal import FiscalRecord
from db.models_fiscal_pt import FiscalPtDocument, FiscalPtSeries
from db.repositories import fiscal
from db.session import Database
from devices.receipt import receipt_text
from domain.fiscal_pt import generate_private_key_pem, load_private_key
from integrations.fiscal_pt import PortugalSigner, PtSoftware
from tillflow.cli import main
from tillflow.payloads import DATA_CONVERTER
from workflows.fiscal_catch_up import FiscalCatchUpWorkflow
from workflows.fiscal_steps import onto_receipt
from workflows.sale import SaleWorkflow


async def cash_sale(client: Client, queue: str, till: str = "BER1") -> tuple[SaleResult, Any]:
    """A one-keyring cash sale at `till` on `queue`: the till's answer and the workflow handle."""
    req = SaleRequest(
        till_code=till,
        client_sale_id=f"fiscal-{uuid.uuid4().hex[:12]}",
        cashier_id=1,
        lines=(BasketLine(sku="KEYRING", quantity=1),),
        tenders=(TenderIn(kind="cash", amount=50_00),),
    )
    start = WithStartWorkflowOperation(
        SaleWorkflow.run,
        req,
        id=sale_workflow_id(req.till_code, req.client_sale_id),
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    answer = await client.execute_update_with_start_workflow(
        CHECKOUT_UPDATE, start_workflow_operation=start, result_type=SaleResult
    )
    assert answer.status == "completed", answer.declines
    handle: WorkflowHandle[Any, SaleResult] = client.get_workflow_handle_for(
        SaleWorkflow.run, answer.workflow_id
    )
    return answer, handle


def signature(db: Database, workflow_id: str) -> FiscalSignature | None:
    with db.unit_of_work() as s:
        record = fiscal.record_of(s, workflow_id, "sale")
        return fiscal.signature_of(record) if record else None


def verifies(server: FakeFiskalyServer, tss_id: str, sig: FiscalSignature) -> bool:
    """The finish log message rebuilt from the stored fields, checked with the TSS's key."""
    message = signed_message(
        operation="finishTransaction",
        tss_serial=sig.field("tse_serial"),
        client_serial=sig.field("client_serial"),
        number=int(sig.field("transaction_number")),
        signature_counter=int(sig.field("signature_counter")),
        log_time=int(sig.field("log_time")),
        process_type=sig.field("process_type"),
        process_data=sig.field("process_data"),
    )
    return verify_signature(server.public_key_b64(tss_id), message, sig.field("signature"))


def printed_since(path: Path, offset: int) -> bytes:
    return path.read_bytes()[offset:] if path.exists() else b""


async def replays(handle: Any) -> None:
    history = await handle.fetch_history()
    result = await Replayer(
        workflows=[SaleWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_a_berlin_sale_is_signed_by_the_tse_and_the_receipt_carries_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, device_printers, gateway, berlin: Berlin, fiskaly
) -> None:
    printer: Path = device_printers["BER1"]
    before = printer.stat().st_size if printer.exists() else 0
    async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
        answer, handle = await cash_sale(temporal_client, queue)
        result = await handle.result()
    assert result.fiscal_status == "signed"
    sig = signature(db, answer.workflow_id)
    assert sig is not None and sig.status == "signed" and sig.scheme == "de-fiskaly"
    assert verifies(fiskaly, berlin.tss_id, sig)
    assert int(sig.field("signature_counter")) == fiskaly.signature_counter(berlin.tss_id)
    assert sig.qr.startswith("V0;") and sig.field("signature") in sig.qr
    # The receipt the printer got: the TSE lines and the QR code (ESC/POS GS ( k with its text).
    sent = await eventually(
        lambda: (b := printed_since(printer, before)) and sig.qr.encode() in b and b
    )
    assert b"\x1d(k" in sent
    assert f"TSE-Transaktion: {sig.field('transaction_number')}".encode() in sent
    assert f"TSE-Seriennummer: {sig.field('tse_serial')[:20]}".encode() in sent
    # A reprint shows the same signature; the history replays.
    with db.unit_of_work() as s:
        reprint = receipt_for_order(s, answer.sale_id, reprint=True)
    assert reprint.fiscal_qr == sig.qr and reprint.fiscal_lines == sig.receipt_lines
    assert "TSE-Transaktion" in receipt_text(reprint)
    await replays(handle)


async def test_the_signed_sale_is_in_the_records_and_the_export_of_api_and_cli(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database, temporal_client: Client, device_printers, gateway, berlin: Berlin,
    fiskaly, test_settings, database_url: str, tmp_path: Path, monkeypatch,
) -> None:  # fmt: skip
    async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
        answer, handle = await cash_sale(temporal_client, queue)
        await handle.result()
    sig = signature(db, answer.workflow_id)
    assert sig is not None and sig.status == "signed"
    with db.unit_of_work() as s:
        tz = ZoneInfo(s.get(Location, berlin.location_id).timezone)  # type: ignore[union-attr]  # the test store exists
    day = answer.sold_at.astimezone(tz).date().isoformat() if answer.sold_at else ""
    fiona = await password_login(api, "fiona", "finance-demo")
    span = {"from": day, "to": day}
    r = await api.get("/fiscal/BER/records", params=span, headers=fiona)
    assert r.status_code == 200, r.text
    [mine] = [x for x in r.json()["records"] if x["document_id"] == answer.workflow_id]
    assert mine["status"] == "signed" and mine["qr"] == sig.qr
    assert mine["fields"]["signature"] == sig.field("signature")
    exported = await api.get("/fiscal/BER/export", params={**span, "till": "BER1"}, headers=fiona)
    assert exported.status_code == 200, exported.text
    assert "attachment" in exported.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as z:  # DSFinV-K: a ZIP of tables
        assert any(
            sig.field("signature") in z.read(n).decode("utf-8", "replace") for n in z.namelist()
        )
    # The CLI writes the same export (it runs its own event loop: in a thread here).
    settings = test_settings.model_copy(update={"database_url": database_url})
    monkeypatch.setattr("tillflow.cli.get_settings", lambda: settings)
    out = tmp_path / "ber.zip"
    argv = ["fiscal", "export", "--location", "BER", "--from", day, "--to", day]
    assert await asyncio.to_thread(main, [*argv, "--till", "BER1", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        assert z.namelist()
    refused = ["fiscal", "export", "--location", "ZRH", "--from", day, "--to", day]
    assert await asyncio.to_thread(main, refused) == 2  # Zurich signs nothing


async def test_a_lisbon_sale_carries_its_atcud_and_qr_code(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, device_printers, gateway, fiskaly
) -> None:
    """Portugal signs locally (never pending): the receipt waits for the chained signature and
    prints the ATCUD, the hash characters and the AT's QR code."""
    tag = uuid.uuid4().hex[:6].upper()
    series = {"FS": f"FS{tag}", "NC": f"NC{tag}", "FT": f"FT{tag}"}
    options = {
        "nif": "500000000", "company_name": "Retalho Demo, Lda.", "address": "Rua Augusta 1",
        "city": "Lisboa", "postal_code": "1100-048",
        **{f"series.{t}": name for t, name in series.items()},
        **{f"validation_code.{name}": f"AAJ{tag[:4]}{n}" for n, name in enumerate(series.values())},
    }  # fmt: skip
    software = PtSoftware(
        key=load_private_key(generate_private_key_pem()), key_version=1, certificate="9999",
        producer_nif="999999990", product_id="tillflow/tillflow", product_version="0.1",
        demo_key=False,
    )  # fmt: skip
    lisbon = FiscalStore(db, "LIS", "pt-at", options)
    printer: Path = device_printers["LIS1"]
    before = printer.stat().st_size if printer.exists() else 0
    try:
        more = {"pt-at": PortugalSigner(db, software)}
        async with fiscal_worker(temporal_client, db, gateway, fiskaly, more=more) as queue:
            answer, handle = await cash_sale(temporal_client, queue, till="LIS1")
            result = await handle.result()
        assert result.fiscal_status == "signed"
        sig = signature(db, answer.workflow_id)
        assert sig is not None and sig.scheme == "pt-at" and sig.status == "signed"
        atcud = sig.field("atcud") or next(
            (ln.split(":", 1)[1].strip() for ln in sig.receipt_lines if "ATCUD" in ln), ""
        )
        assert atcud.startswith(f"AAJ{tag[:4]}0-"), sig.receipt_lines
        assert f"*H:{atcud}*" in sig.qr  # the ATCUD field of the AT's QR code
        sent = await eventually(
            lambda: (b := printed_since(printer, before)) and sig.qr.encode() in b and b
        )
        assert atcud.encode() in sent and b"\x1d(k" in sent
    finally:
        with db.unit_of_work() as s:
            ids = s.scalars(
                select(FiscalPtSeries.id).where(FiscalPtSeries.series.in_(series.values()))
            ).all()
            s.execute(delete(FiscalPtDocument).where(FiscalPtDocument.series_id.in_(ids)))
            s.execute(delete(FiscalPtSeries).where(FiscalPtSeries.id.in_(ids)))
        lisbon.restore()


async def test_a_tse_outage_prints_pending_and_the_sale_is_signed_on_recovery(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, device_printers, gateway, berlin: Berlin, fiskaly
) -> None:
    printer: Path = device_printers["BER1"]
    before = printer.stat().st_size if printer.exists() else 0
    fiskaly.unavailable = True
    async with fiscal_worker(temporal_client, db, gateway, fiskaly, till_wait_s=1.0) as queue:
        answer, handle = await cash_sale(temporal_client, queue)  # the till has its answer
        await eventually(lambda: b"TSE ausgefallen" in printed_since(printer, before))
        pending = signature(db, answer.workflow_id)
        assert pending is not None and pending.status == "pending" and not pending.qr
        assert fiskaly.signature_counter(berlin.tss_id) == 0  # nothing signed while it was down
        fiskaly.unavailable = False  # the TSE is back: the workflow's retry signs it
        result = await handle.result()
    assert result.fiscal_status == "signed"
    sig = signature(db, answer.workflow_id)
    assert sig is not None and sig.status == "signed" and verifies(fiskaly, berlin.tss_id, sig)
    with db.unit_of_work() as s:  # a reprint now carries the signature the original lacked
        reprint = receipt_for_order(s, answer.sale_id, reprint=True)
    assert reprint.fiscal_qr == sig.qr
    await replays(handle)


async def test_a_store_without_a_fiscal_unit_runs_no_signing_step(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, device_printers, gateway, fiskaly
) -> None:
    async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
        answer, handle = await cash_sale(temporal_client, queue)
        result = await handle.result()
    assert result.fiscal_status == ""
    history = await handle.fetch_history()
    assert not [t for t in activity_types(history) if t.startswith("fiscal.")]
    markers = [
        e.marker_recorded_event_attributes.details["patch_data"].payloads[0].data
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert not [m for m in markers if FISCAL_SIGN_PATCH.encode() in m]
    assert signature(db, answer.workflow_id) is None
    assert fiskaly.transactions == {}


def test_a_pending_signature_replaces_the_receipt_lines_only_where_signed() -> None:
    from datetime import UTC, datetime

    from contracts.devices import Receipt

    receipt = Receipt(
        sale_id="S-1", store_name="s", store_address="a", till_code="T", cashier_name="c",
        sold_at=datetime(2026, 1, 1, tzinfo=UTC), currency="EUR", lines=(), taxes=(),
        subtotal=0, tax_total=0, total=0, tenders=(), change_due=0,
    )  # fmt: skip
    none = FiscalSignature(document_id="d", scheme="none", status="not_required")
    assert onto_receipt(receipt, None) == receipt and onto_receipt(receipt, none) == receipt
    signed = FiscalSignature(
        document_id="d", scheme="pt-at", status="signed", receipt_lines=("ATCUD:X-1",), qr="A:1"
    )
    shown = onto_receipt(receipt, signed)
    assert shown.fiscal_lines == ("ATCUD:X-1",) and shown.fiscal_qr == "A:1"
    assert "ATCUD:X-1" in receipt_text(shown) and "QR: A:1" in receipt_text(shown)


async def test_a_signer_that_refuses_leaves_the_sale_standing_and_the_record_pending(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, device_printers, gateway, berlin: Berlin, fiskaly
) -> None:
    """A fiscal unit naming a TSS fiskaly does not know: not an outage (nothing to retry). The
    paid sale completes all the same, its receipt says the signature is pending, and the record
    stays pending for ops to see (and complete once the unit is fixed)."""
    with db.unit_of_work() as s:
        fiscal.set_unit(
            s, berlin.location_id, "de-fiskaly",
            {"tss_id": str(uuid.uuid4()), "client_id": berlin.client_id},
        )  # fmt: skip
    async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
        answer, handle = await cash_sale(temporal_client, queue)
        result = await handle.result()
    assert result.status == "completed" and result.fiscal_status == "pending"
    pending = signature(db, answer.workflow_id)
    assert pending is not None and pending.status == "pending"
    with db.unit_of_work() as s:
        reprint = receipt_for_order(s, answer.sale_id, reprint=True)
    assert "TSE ausgefallen" in " ".join(reprint.fiscal_lines)
    try:
        # The admin puts the unit right; the catch-up (the schedule's workflow) signs the record,
        # but only once it has been pending longer than the request's stale_after_s.
        with db.unit_of_work() as s:
            fiscal.set_unit(
                s, berlin.location_id, "de-fiskaly",
                {"tss_id": berlin.tss_id, "client_id": berlin.client_id},
            )  # fmt: skip
        req = CatchUpRequest(locations=("BER",), stale_after_s=3600)
        async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
            fresh = await catch_up(temporal_client, queue, req)
            assert fresh.signed == 0 and fresh.still_pending == ()  # too young: left alone
            with db.unit_of_work() as s:
                s.execute(
                    update(FiscalRecord)
                    .where(FiscalRecord.document_id == answer.workflow_id)
                    .values(created_at=datetime.now(UTC) - timedelta(hours=2))
                )
            done = await catch_up(temporal_client, queue, req)
        assert done.signed == 1 and done.still_pending == ()
        caught_up = signature(db, answer.workflow_id)
        assert caught_up is not None and caught_up.status == "signed"
        assert verifies(fiskaly, berlin.tss_id, caught_up)
        with db.unit_of_work() as s:
            reprint = receipt_for_order(s, answer.sale_id, reprint=True)
        assert any(line.startswith("TSE-Transaktion") for line in reprint.fiscal_lines)
    finally:
        with db.unit_of_work() as s:  # never left for another test's replay to sign
            s.execute(delete(FiscalRecord).where(FiscalRecord.document_id == answer.workflow_id))


async def catch_up(client: Client, queue: str, req: CatchUpRequest) -> CatchUpResult:
    result: CatchUpResult = await client.execute_workflow(
        FiscalCatchUpWorkflow.run,
        req,
        id=f"fiscal-catch-up-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    return result
