"""A store's locale reaches its paper (issue 19): the Lisbon till's receipt, printed by its device
worker through python-escpos, writes money as pt_PT does; its offline catalogue carries the locale
for the receipts it prints offline; a Z report does the same."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from helpers.api import till_login
from helpers.webstore import new_product
from sqlalchemy import update

from contracts.devices import ZReportDoc
from db.models import Location
from db.session import Database
from devices.z_report import z_lines, z_report_bytes


def _set_locale(db: Database, code: str, locale: str) -> None:
    with db.unit_of_work() as s:
        s.execute(update(Location).where(Location.code == code).values(locale=locale))


async def test_the_lisbon_receipt_writes_money_as_portugal_does(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, temporal_client, device_printers
) -> None:
    _set_locale(db, "LIS", "pt_PT")
    try:
        luis = await till_login(api, "LIS1", "2001", "1234")
        snapshot = await api.get("/tills/LIS1/catalog", headers=luis)
        assert snapshot.status_code == 200 and snapshot.json()["store"]["locale"] == "pt_PT"
        sku = new_product(db, {"LIS": 2}, price=123450)
        before = device_printers["LIS1"].stat().st_size if device_printers["LIS1"].exists() else 0
        r = await api.post(
            "/tills/LIS1/sales",
            json={
                "client_sale_id": uuid.uuid4().hex,
                "lines": [{"sku": sku, "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 130000}],
            },
            headers=luis,
        )
        assert r.status_code == 200 and r.json()["total"] == 123450, r.text
        await asyncio.wait_for(
            temporal_client.get_workflow_handle(r.json()["workflow_id"]).result(), 30
        )
        printed = device_printers["LIS1"].read_bytes()[before:]
        assert b"1 234,50" in printed  # the item, the subtotal and the total
        assert b"Change due" in printed and b"65,50" in printed  # 1300,00 - 1234,50
        assert b"1234.50" not in printed
        total = next(line for line in printed.split(b"\n") if b"TOTAL" in line)
        # python-escpos switches to a code page that has the euro sign (ESC t 15: ISO 8859-15 in
        # the default profile, where it is 0xA4) and prints it after the amount, as pt_PT does.
        assert total.rstrip().endswith(b"1 234,50 \x1bt\x0f\xa4")
    finally:
        _set_locale(db, "LIS", "")


def _z(locale: str) -> ZReportDoc:
    at = datetime(2026, 11, 30, 20, 0)
    return ZReportDoc(
        z_number=7,
        shift_n=7,
        till_code="LIS1",
        store_name="tillflow Lisboa",
        store_address="",
        currency="EUR",
        business_date="2026-11-30",
        opened_at=at,
        closed_at=at,
        cashiers=("Luis Caixa",),
        sales_count=3,
        sales_total=123450,
        returns_count=0,
        taxes=(),
        tenders=(),
        movements=(),
        no_sales=0,
        float_amount=15000,
        left_in_drawer=15000,
        variance=-250,
        locale=locale,
    )


def test_the_z_report_writes_money_in_the_stores_locale() -> None:
    lines: list[Any] = z_lines(_z("pt_PT"))
    text = "\n".join(lines)
    assert "1 234,50" in text and "150,00" in text and "-2,50" in text
    assert "1234.50" in "\n".join(z_lines(_z("")))
    assert b"1 234,50" in z_report_bytes(_z("pt_PT"))
