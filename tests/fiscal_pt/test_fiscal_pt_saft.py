"""SAF-T (PT) for a month with sales and a credit note: valid against the AT's XSD, with the
right control totals; a deliberately broken file fails (the validator really runs)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime

from pt_helpers import LISBON, pt_unit, sale

from contracts.fiscal import (
    FiscalDocument,
    FiscalExportRequest,
    FiscalLine,
    TenderAmount,
    VatAmount,
)
from domain.errors import InvalidRequest
from integrations.fiscal_pt import PortugalSigner
from integrations.saft_pt import NS, validation_errors

N = {"s": NS}


def _two_rates(code: str) -> FiscalDocument:
    """A coffee at 6 % (3 x 1.06) and a mug at 23 % (12.30), card and cash, a buyer's NIF."""
    return FiscalDocument(
        document_id=f"sale:T1:{uuid.uuid4().hex}",
        kind="sale",
        location_code=code,
        till_code="T1",
        currency="EUR",
        occurred_at=datetime(2026, 11, 20, 18, 0, tzinfo=LISBON),
        cashier="joao",
        total=1548,
        vat=(
            VatAmount(rate_bp=600, gross=318, net=300, vat=18),
            VatAmount(rate_bp=2300, gross=1230, net=1000, vat=230),
        ),
        tenders=(TenderAmount(kind="card", amount=1000), TenderAmount(kind="cash", amount=548)),
        lines=(
            FiscalLine(
                line_no=1,
                sku="CAFE",
                name="Café",
                quantity=3,
                unit_price=106,
                total=318,
                rate_bp=600,
            ),
            FiscalLine(
                line_no=2,
                sku="SKU-1",
                name="Caneca",
                quantity=1,
                unit_price=1230,
                total=1230,
                rate_bp=2300,
            ),
        ),  # fmt: skip
        buyer_tax_id="123456789",
    )


async def test_a_month_of_sales_and_a_credit_note(pt_signer: PortugalSigner, pt_store: str) -> None:
    unit = pt_unit(pt_store, "SF")
    first = sale(pt_store, total=1230, at=datetime(2026, 11, 2, 10, 0, tzinfo=LISBON))
    await pt_signer.finish(unit, first)
    await pt_signer.finish(unit, _two_rates(pt_store))
    await pt_signer.finish(
        unit, sale(pt_store, total=615, at=datetime(2026, 11, 21, 9, 0, tzinfo=LISBON))
    )
    refund = sale(pt_store, total=1230, kind="return", refers_to=first.document_id,
                  at=datetime(2026, 11, 22, 12, 0, tzinfo=LISBON))  # fmt: skip
    await pt_signer.finish(unit, refund)
    await pt_signer.finish(unit, sale(pt_store, at=datetime(2026, 12, 1, 9, 0, tzinfo=LISBON)))

    export = await pt_signer.export(
        unit,
        FiscalExportRequest(
            location_code=pt_store, date_from=date(2026, 11, 1), date_to=date(2026, 11, 30)
        ),
    )
    assert export.media_type == "application/xml" and export.filename.endswith("_20261130.xml")
    assert validation_errors(export.content) == []

    root = ET.fromstring(export.content)
    sales = root.find("s:SourceDocuments/s:SalesInvoices", N)
    assert sales is not None
    invoices = sales.findall("s:Invoice", N)
    assert [i.findtext("s:InvoiceNo", namespaces=N) for i in invoices] == [
        "FS FSSF/1",
        "FS FSSF/2",
        "FS FSSF/3",
        "NC NCSF/1",
    ]  # fmt: skip  (December's FS FSSF/4 is not in November's file)
    assert sales.findtext("s:NumberOfEntries", namespaces=N) == "4"
    # invoices' lines are credits (10.00 + 13.00 + 5.00), the credit note's a debit (10.00)
    assert sales.findtext("s:TotalCredit", namespaces=N) == "28.00"
    assert sales.findtext("s:TotalDebit", namespaces=N) == "10.00"
    line_credits = sum(
        round(float(x.text or 0) * 100)
        for x in sales.iterfind("s:Invoice/s:Line/s:CreditAmount", N)
    )
    assert line_credits == 2800
    two = invoices[1]
    assert two.findtext("s:ATCUD", namespaces=N) == "AAJFJ2K6-2"
    assert two.findtext("s:CustomerID", namespaces=N) == "C123456789"
    assert two.findtext("s:DocumentTotals/s:GrossTotal", namespaces=N) == "15.48"
    assert two.findtext("s:DocumentTotals/s:TaxPayable", namespaces=N) == "2.48"
    payments = two.iterfind("s:DocumentTotals/s:Payment", N)
    assert [p.findtext("s:PaymentMechanism", namespaces=N) for p in payments] == ["CC", "NU"]
    nc = invoices[3]
    assert nc.findtext("s:Line/s:References/s:Reference", namespaces=N) == "FS FSSF/1"
    assert len(nc.findtext("s:Hash", namespaces=N) or "") == 172
    assert nc.findtext("s:HashControl", namespaces=N) == "1"
    codes = {
        e.findtext("s:TaxCode", namespaces=N)
        for e in root.iterfind("s:MasterFiles/s:TaxTable/s:TaxTableEntry", N)
    }
    assert codes == {"RED", "NOR"}
    masters = root.iterfind("s:MasterFiles/s:Customer", N)
    customers = {c.findtext("s:CustomerTaxID", namespaces=N) for c in masters}
    assert customers == {"999999990", "123456789"}

    # the validator really runs: the same file without the first invoice's ATCUD fails
    inv = root.find("s:SourceDocuments/s:SalesInvoices/s:Invoice", N)
    assert inv is not None
    atcud = inv.find("s:ATCUD", N)
    assert atcud is not None
    inv.remove(atcud)
    ET.register_namespace("", NS)
    broken = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    errors = validation_errors(broken)
    assert errors and any("ATCUD" in e for e in errors)
    # and a total below zero breaks a type of the XSD too
    bad = export.content.replace(
        b"<GrossTotal>15.48</GrossTotal>", b"<GrossTotal>-15.48</GrossTotal>"
    )
    assert bad != export.content and validation_errors(bad)


async def test_an_export_spanning_two_years_is_refused(
    pt_signer: PortugalSigner, pt_store: str
) -> None:
    unit = pt_unit(pt_store, "YR")
    request = FiscalExportRequest(
        location_code=pt_store, date_from=date(2026, 12, 1), date_to=date(2027, 1, 31)
    )
    try:
        await pt_signer.export(unit, request)
    except InvalidRequest as err:
        assert err.code == "fiscal_export_dates"
    else:
        raise AssertionError("a two-year export was accepted")
    empty = await pt_signer.export(unit, replace(request, date_to=date(2026, 12, 31)))
    assert validation_errors(empty.content) == []
