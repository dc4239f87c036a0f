"""Signing beyond the live sale (issue 20): offline sales signed at their replay in sold-at order
and exactly once, a return signed as a refund of its sale, and a shift's closing signed at its Z.
The fiscal location is BER on the fake fiskaly TSE (configured for the test only)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fiscal_helpers import Berlin, fiscal_worker
from helpers.fake_fiskaly import FakeFiskalyServer, signed_message, verify_signature
from helpers.history import activity_types
from helpers.tills import login
from helpers.webstore import new_product
from sqlalchemy import select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from contracts.fiscal import FiscalSignature
from contracts.replay import (
    REPLAY_WORKFLOW,
    JournalEntry,
    JournalLine,
    JournalTender,
    ReplayRequest,
    ReplayResult,
    replay_workflow_id,
)
from contracts.returns import ReturnLineIn, ReturnRequest, return_workflow_id
from contracts.sale import (
    CHECKOUT_UPDATE,
    BasketLine,
    SaleRequest,
    SaleResult,
    TenderIn,
    sale_workflow_id,
)
from contracts.shift import CloseIn, ShiftRequest, close_shift, open_shift
from db.models import Location, Till
from db.repositories import fiscal
from db.session import Database
from devices.worker import build_device_worker
from workflows.returns import ReturnWorkflow
from workflows.sale import SaleWorkflow

PRICE = 1000


def record(db: Database, document_id: str, kind: str) -> FiscalSignature | None:
    with db.unit_of_work() as s:
        found = fiscal.record_of(s, document_id, kind)
        return fiscal.signature_of(found) if found else None


def verifies(server: FakeFiskalyServer, tss_id: str, sig: FiscalSignature) -> bool:
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


def entry(cid: str, sku: str, sold_at: datetime) -> JournalEntry:
    return JournalEntry(
        client_sale_id=cid,
        sold_at=sold_at,
        cashier="cora",
        lines=(JournalLine(sku=sku, quantity=1, unit_price=PRICE),),
        tenders=(JournalTender(kind="cash", amount=PRICE, tendered=PRICE),),
        total=PRICE,
    )


async def replay(
    client: Client, queue: str, entries: tuple[JournalEntry, ...]
) -> tuple[ReplayResult, list[str]]:
    """The batch replayed on `queue`: its result and the activities its history ran."""
    req = ReplayRequest(
        till_code="BER2", batch_id=f"fiscal-{uuid.uuid4().hex[:10]}", uploaded_by=1,
        entries=entries,
    )  # fmt: skip
    handle = await client.start_workflow(
        REPLAY_WORKFLOW,
        req,
        id=replay_workflow_id(req.till_code, req.batch_id),
        task_queue=queue,
        result_type=ReplayResult,
    )
    result = await handle.result()
    return result, activity_types(await handle.fetch_history())


async def test_offline_sales_are_signed_at_replay_in_sold_at_order_exactly_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database, temporal_client: Client, gateway, berlin: Berlin, fiskaly
) -> None:
    """Three offline sales uploaded out of order: each Sale (run a few at a time) records its
    document pending; the replay then signs them oldest first. Uploaded again, nothing is signed
    a second time."""
    await login(api, "BER2", "1002", "2345")  # Cora signed in at BER2: the replay vouches for her
    sku = new_product(db, {"BER": 10}, price=PRICE)
    t0 = datetime.now(UTC) + timedelta(seconds=5)  # after the product's first price
    sold = {f"fo-{uuid.uuid4().hex[:8]}": t0 + timedelta(seconds=n) for n in (30, 10, 20)}
    entries = tuple(entry(cid, sku, at) for cid, at in sold.items())
    async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
        result, ran = await replay(temporal_client, queue, entries)
        assert {e.status for e in result.entries} == {"applied"}, result.entries
        assert ran.count("fiscal.complete_pending") == 1  # after all three sales ran
        for cid in sold:  # each Sale only recorded its document (deferred), once
            sale = temporal_client.get_workflow_handle(sale_workflow_id("BER2", cid))
            assert activity_types(await sale.fetch_history()).count("fiscal.sign_document") == 1
        in_order = sorted(sold, key=lambda cid: sold[cid])
        sigs = [record(db, sale_workflow_id("BER2", cid), "sale") for cid in in_order]
        assert all(s is not None and s.status == "signed" for s in sigs), sigs
        numbers = [int(s.field("transaction_number")) for s in sigs if s]
        assert numbers == sorted(numbers) and len(set(numbers)) == 3
        assert all(verifies(fiskaly, berlin.tss_id, s) for s in sigs if s)
        counter = fiskaly.signature_counter(berlin.tss_id)
        again, ran_again = await replay(temporal_client, queue, entries)  # uploaded again
    assert {e.status for e in again.entries} == {"applied"}
    assert "fiscal.complete_pending" not in ran_again  # applied already: nothing to sign
    assert fiskaly.signature_counter(berlin.tss_id) == counter  # nothing signed twice
    assert [record(db, sale_workflow_id("BER2", cid), "sale") for cid in in_order] == sigs


async def test_a_return_is_signed_as_a_refund_of_its_sale(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, device_printers, gateway, berlin: Berlin, fiskaly
) -> None:
    async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
        req = SaleRequest(
            till_code="BER1", client_sale_id=f"fr-{uuid.uuid4().hex[:10]}", cashier_id=1,
            lines=(BasketLine(sku="KEYRING", quantity=1),),
            tenders=(TenderIn(kind="cash", amount=50_00),),
        )  # fmt: skip
        sale_id = sale_workflow_id(req.till_code, req.client_sale_id)
        sold = await temporal_client.execute_update_with_start_workflow(
            CHECKOUT_UPDATE,
            start_workflow_operation=WithStartWorkflowOperation(
                SaleWorkflow.run,
                req,
                id=sale_id,
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            ),  # fmt: skip
            result_type=SaleResult,
        )
        await temporal_client.get_workflow_handle(sale_id).result()
        rid = f"fr-{uuid.uuid4().hex[:10]}"
        back = ReturnRequest(
            return_id=rid, till_code="BER1", cashier_id=1, sale_number=sold.sale_id,
            lines=(ReturnLineIn(quantity=1, disposition="restock", line_no=1),),
        )  # fmt: skip
        returned = await temporal_client.execute_workflow(
            ReturnWorkflow.run, back, id=return_workflow_id("BER", rid), task_queue=queue
        )
    assert returned.status == "completed", returned.message
    sale = record(db, sale_id, "sale")
    refund = record(db, return_workflow_id("BER", rid), "return")
    assert sale is not None and refund is not None and refund.status == "signed"
    assert verifies(fiskaly, berlin.tss_id, refund)
    assert int(refund.field("signature_counter")) > int(sale.field("signature_counter"))
    with db.unit_of_work() as s:
        stored = fiscal.record_of(s, return_workflow_id("BER", rid), "return")
        assert stored is not None
        doc = fiscal.document_from_json(stored.document)
    assert doc.refers_to == sale_id and doc.total == -sold.total
    assert sum(v.gross for v in doc.vat) == -sold.total
    assert [(t.kind, t.amount) for t in doc.tenders] == [("cash", -sold.total)]


async def test_a_shift_closing_is_signed_at_its_z(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, gateway, berlin: Berlin, fiskaly, tmp_path: Path
) -> None:
    """A till of the test's own at BER (its device worker prints the Z to a file)."""
    tag = uuid.uuid4().hex[:6].upper()
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location).where(Location.code == "BER"))
        assert loc is not None
        till = Till(code=f"FZ{tag}", location_id=loc.id, name="Fiscal Z till")
        s.add(till)
        s.flush()
        till_id, till_code = till.id, till.code
    devices = build_device_worker(
        temporal_client, till_code, f"file:{tmp_path / 'z.bin'}", tmp_path / "jobs.sqlite"
    )
    running = asyncio.create_task(devices.run())
    try:
        async with fiscal_worker(temporal_client, db, gateway, fiskaly) as queue:
            opened = await open_shift(
                temporal_client,
                ShiftRequest(
                    till_code=till_code,
                    till_id=till_id,
                    location_id=berlin.location_id,
                    location_code="BER",
                    currency="EUR",
                    n=1,
                    opened_by=1,
                    float_count=((1000, 10),),
                    variance_threshold=500,
                    paid_out_limit=5000,
                    no_sale_approval=False,
                    overdue_grace_minutes=30,
                ),  # fmt: skip
                task_queue=queue,
            )
            closed = await close_shift(
                temporal_client,
                opened.workflow_id,
                CloseIn(cash_count=((1000, 10),), other=(), by=1),
            )
            assert closed.state == "closed" and closed.z_number is not None
            await temporal_client.get_workflow_handle(opened.workflow_id).result()
    finally:
        await devices.shutdown()
        await running
    closing = record(db, opened.workflow_id, "closing")
    assert closing is not None and closing.status == "signed" and closing.scheme == "de-fiskaly"
    assert closing.field("signature")
    with db.unit_of_work() as s:
        stored = fiscal.record_of(s, opened.workflow_id, "closing")
        assert stored is not None
        data: dict[str, Any] = dict(stored.document)
    assert fiscal.closing_from_json(data).z_number == closed.z_number
    printed = (tmp_path / "z.bin").read_bytes()
    assert f"Z REPORT {closed.z_number}".encode() in printed
    assert f"Kassenabschluss Z-Nr. {closed.z_number}".encode() in printed  # signed, then printed
    assert f"TSE-Transaktion: {closing.field('transaction_number')}".encode() in printed
