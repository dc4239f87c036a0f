"""SAF-T (PT) 1.04_01 (Portaria 302/2016): the sales file the AT reads, built from the signed
Portuguese documents of a period (issue 20) and checked against the AT's XSD before it is handed
out (integrations/schemas/SAFTPT1.04_01.xsd, XSD 1.1 with assertions: `xmlschema` validates it).

Only the sales part (SourceDocuments/SalesInvoices) with its master files (customers, products,
tax table) is produced: tillflow keeps no general ledger, so TaxAccountingBasis is "F"
(facturação). Every invoice carries InvoiceNo, ATCUD, status, Hash, HashControl, dates, lines,
totals and payments; the control totals are the sums of the lines' CreditAmount (invoices) and
DebitAmount (credit notes).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xmlschema

from contracts.fiscal import FiscalExport, FiscalExportRequest
from db.models_fiscal_pt import FiscalPtDocument
from db.repositories import fiscal_pt as repo
from db.session import Database
from domain.errors import Conflict, InvalidRequest
from domain.fiscal_pt import CONSUMER_NIF, money, parse_options, tax_code
from integrations.fiscal import FiscalUnit

if TYPE_CHECKING:
    from integrations.fiscal_pt import PtSoftware

NS = "urn:OECD:StandardAuditFile-Tax:PT_1.04_01"
XSD = Path(__file__).parent / "schemas" / "SAFTPT1.04_01.xsd"
CONSUMER_ID = "CF"  # the customer "Consumidor final" (NIF 999999990)
GENERIC_PRODUCT = "GEN"  # a document without lines gets one line per VAT rate
# tillflow's tender kinds -> SAF-T PaymentMechanism
MECHANISMS = {
    "cash": "NU",  # numerário
    "card": "CC",  # cartão de crédito (or debit: the card scheme does not say)
    "gift_card": "CO",  # cheque ou cartão oferta
    "store_credit": "OU",
    "points": "OU",
    "exchange": "PR",  # permuta de bens
}
BANDS = {"RED": "Taxa reduzida", "INT": "Taxa intermédia", "NOR": "Taxa normal", "ISE": "Isenta"}
# the exemption of a 0 % line (SAF-T table of exemption codes): M99 "not subject or exempt"
EXEMPTION = ("M99", "Nao sujeito ou nao tributado")


@lru_cache(maxsize=1)
def schema() -> xmlschema.XMLSchema11:
    """The AT's XSD, loaded once per process (about a second)."""
    return xmlschema.XMLSchema11(str(XSD))


def validation_errors(content: bytes) -> list[str]:
    """Every way the file breaks the XSD (empty: valid)."""
    return [f"{e.path}: {e.reason}" for e in schema().iter_errors(content.decode("utf-8"))]


def _sub(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def _quantity(value: int) -> str:
    return str(abs(value))


def _unit_price(net: int, quantity: int) -> str:
    if quantity == 0:
        return money(abs(net))
    price = (Decimal(abs(net)) / Decimal(100) / Decimal(abs(quantity))).quantize(
        Decimal("0.000001"), rounding=ROUND_HALF_UP
    )
    text = format(price.normalize(), "f")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"  # at least 2 decimals, at most 6


def _allocate(total_net: int, weights: list[int]) -> list[int]:
    """Split a rate's net amount over its lines in proportion to their gross totals, to the cent
    (largest remainder), so the lines add up to the document's net exactly."""
    base = sum(weights)
    if base == 0:
        shares = [total_net // len(weights)] * len(weights)
        shares[0] += total_net - sum(shares)
        return shares
    raw = [total_net * w for w in weights]
    shares = [r // base for r in raw]
    rest = total_net - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: raw[i] % base, reverse=True)
    for i in order[:rest]:
        shares[i] += 1
    return shares


def _lines(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's lines with their net amount (positive cents), grouped per VAT rate."""
    vat = {int(v["rate_bp"]): v for v in document["vat"]}
    by_rate: dict[int, list[dict[str, Any]]] = {}
    for line in document["lines"]:
        by_rate.setdefault(int(line["rate_bp"]), []).append(line)
    out: list[dict[str, Any]] = []
    if set(by_rate) != set(vat):  # lines and VAT do not agree: one line per rate says it all
        by_rate = {}
    for rate, v in sorted(vat.items()):
        lines = by_rate.get(rate) or [
            {
                "line_no": 0,
                "sku": GENERIC_PRODUCT,
                "name": "Venda",
                "quantity": 1,
                "total": abs(int(v["gross"])),
                "rate_bp": rate,
            }
        ]
        nets = _allocate(abs(int(v["net"])), [abs(int(ln["total"])) for ln in lines])
        out += [{**ln, "net": net} for ln, net in zip(lines, nets, strict=True)]
    if not out:  # nothing at any rate (a free sale): one line of nothing, at the line's rate
        rate = int(document["lines"][0]["rate_bp"]) if document["lines"] else 2300
        out = [{"line_no": 0, "sku": GENERIC_PRODUCT, "name": "Venda", "quantity": 1,
                "total": 0, "rate_bp": rate, "net": 0}]  # fmt: skip
    out.sort(key=lambda ln: int(ln["line_no"]))
    return out


def _address(
    parent: ET.Element, tag: str, detail: str, city: str, postal: str, country: str
) -> None:
    addr = _sub(parent, tag)
    _sub(addr, "AddressDetail", detail)
    _sub(addr, "City", city)
    _sub(addr, "PostalCode", postal)
    _sub(addr, "Country", country)


def _customer_id(nif: str) -> str:
    return CONSUMER_ID if nif in ("", CONSUMER_NIF) else f"C{nif}"


def build_xml(
    *,
    software: PtSoftware,
    options: dict[str, str],
    location_code: str,
    date_from: date,
    date_to: date,
    documents: Iterable[FiscalPtDocument],
    created: date,
) -> bytes:
    """The SAF-T (PT) XML of these documents (pure: no database)."""
    opts = parse_options(options)
    docs = list(documents)
    root = ET.Element(f"{{{NS}}}AuditFile")
    header = _sub(root, "Header")
    _sub(header, "AuditFileVersion", "1.04_01")
    _sub(header, "CompanyID", opts.nif)
    _sub(header, "TaxRegistrationNumber", opts.nif)
    _sub(header, "TaxAccountingBasis", "F")
    _sub(header, "CompanyName", opts.company_name)
    _address(header, "CompanyAddress", opts.address, opts.city, opts.postal_code, "PT")
    _sub(header, "FiscalYear", date_from.year)
    _sub(header, "StartDate", date_from.isoformat())
    _sub(header, "EndDate", date_to.isoformat())
    _sub(header, "CurrencyCode", "EUR")
    _sub(header, "DateCreated", created.isoformat())
    _sub(header, "TaxEntity", location_code[:20])
    _sub(header, "ProductCompanyTaxID", software.producer_nif)
    _sub(header, "SoftwareCertificateNumber", int(software.certificate))
    _sub(header, "ProductID", software.product_id)
    _sub(header, "ProductVersion", software.product_version)
    if not software.certified:
        _sub(
            header,
            "HeaderComment",
            "NOT CERTIFIED: signed with a demo key or without an AT certificate number; "
            "not valid for the Autoridade Tributaria",
        )

    lines_of = {doc.id: _lines(doc.document) for doc in docs}
    masters = _sub(root, "MasterFiles")
    customers = sorted({doc.buyer_nif for doc in docs} | {CONSUMER_NIF})
    for nif in customers:
        c = _sub(masters, "Customer")
        _sub(c, "CustomerID", _customer_id(nif))
        _sub(c, "AccountID", "Desconhecido")
        _sub(c, "CustomerTaxID", nif)
        _sub(c, "CompanyName", "Consumidor final" if nif == CONSUMER_NIF else "Desconhecido")
        _address(
            c, "BillingAddress", "Desconhecido", "Desconhecido", "Desconhecido", "Desconhecido"
        )
        _sub(c, "SelfBillingIndicator", 0)
    products: dict[str, str] = {}
    for lines in lines_of.values():
        for ln in lines:
            products.setdefault(str(ln["sku"]), str(ln["name"]))
    for sku, name in sorted(products.items()):
        p = _sub(masters, "Product")
        _sub(p, "ProductType", "P")
        _sub(p, "ProductCode", sku[:60])
        _sub(p, "ProductDescription", (name or sku).ljust(2)[:200])
        _sub(p, "ProductNumberCode", sku[:60])
    rates = sorted({int(ln["rate_bp"]) for lines in lines_of.values() for ln in lines})
    if rates:
        table = _sub(masters, "TaxTable")
        for rate in rates:
            band = tax_code(opts.tax_region, rate)
            e = _sub(table, "TaxTableEntry")
            _sub(e, "TaxType", "IVA")
            _sub(e, "TaxCountryRegion", opts.tax_region)
            _sub(e, "TaxCode", band)
            _sub(e, "Description", BANDS[band])
            _sub(e, "TaxPercentage", money(rate))

    sources = _sub(root, "SourceDocuments")
    sales = _sub(sources, "SalesInvoices")
    counted = [d for d in docs if d.status != "A"]
    total_debit = sum(ln["net"] for d in counted if d.doc_type == "NC" for ln in lines_of[d.id])
    total_credit = sum(ln["net"] for d in counted if d.doc_type != "NC" for ln in lines_of[d.id])
    _sub(sales, "NumberOfEntries", len(docs))
    _sub(sales, "TotalDebit", money(total_debit))
    _sub(sales, "TotalCredit", money(total_credit))
    for doc in docs:
        source_id = (str(doc.document.get("cashier") or "") or "tillflow")[:30]
        entry = doc.system_entry.isoformat(timespec="seconds")
        inv = _sub(sales, "Invoice")
        _sub(inv, "InvoiceNo", doc.invoice_no)
        _sub(inv, "ATCUD", doc.atcud)
        status = _sub(inv, "DocumentStatus")
        _sub(status, "InvoiceStatus", doc.status)
        _sub(status, "InvoiceStatusDate", entry)
        _sub(status, "SourceID", source_id)
        _sub(status, "SourceBilling", "P")
        _sub(inv, "Hash", doc.hash)
        _sub(inv, "HashControl", doc.hash_control)
        _sub(inv, "Period", doc.invoice_date.month)
        _sub(inv, "InvoiceDate", doc.invoice_date.isoformat())
        _sub(inv, "InvoiceType", doc.doc_type)
        regimes = _sub(inv, "SpecialRegimes")
        _sub(regimes, "SelfBillingIndicator", 0)
        _sub(regimes, "CashVATSchemeIndicator", 0)
        _sub(regimes, "ThirdPartiesBillingIndicator", 0)
        _sub(inv, "SourceID", source_id)
        _sub(inv, "SystemEntryDate", entry)
        _sub(inv, "CustomerID", _customer_id(doc.buyer_nif))
        for i, ln in enumerate(lines_of[doc.id], start=1):
            rate = int(ln["rate_bp"])
            line = _sub(inv, "Line")
            _sub(line, "LineNumber", i)
            _sub(line, "ProductCode", str(ln["sku"])[:60])
            _sub(line, "ProductDescription", (str(ln["name"]) or str(ln["sku"])).ljust(2)[:200])
            _sub(line, "Quantity", _quantity(int(ln["quantity"])))
            _sub(line, "UnitOfMeasure", "UN")
            _sub(line, "UnitPrice", _unit_price(int(ln["net"]), int(ln["quantity"])))
            _sub(line, "TaxPointDate", doc.invoice_date.isoformat())
            if doc.doc_type == "NC":
                refs = _sub(line, "References")
                if doc.refers_to:
                    _sub(refs, "Reference", doc.refers_to)
                _sub(refs, "Reason", "Devolucao" if doc.kind == "return" else "Anulacao")
            _sub(line, "Description", (str(ln["name"]) or str(ln["sku"]))[:200])
            _sub(line, "DebitAmount" if doc.doc_type == "NC" else "CreditAmount", money(ln["net"]))
            tax = _sub(line, "Tax")
            _sub(tax, "TaxType", "IVA")
            _sub(tax, "TaxCountryRegion", opts.tax_region)
            _sub(tax, "TaxCode", tax_code(opts.tax_region, rate))
            _sub(tax, "TaxPercentage", money(rate))
            if rate == 0:
                _sub(line, "TaxExemptionReason", EXEMPTION[1])
                _sub(line, "TaxExemptionCode", EXEMPTION[0])
        totals = _sub(inv, "DocumentTotals")
        _sub(totals, "TaxPayable", money(doc.tax_payable))
        _sub(totals, "NetTotal", money(doc.net_total))
        _sub(totals, "GrossTotal", money(doc.gross_total))
        for tender in doc.document.get("tenders", []):
            amount = abs(int(tender["amount"]))
            if amount == 0:
                continue
            pay = _sub(totals, "Payment")
            _sub(pay, "PaymentMechanism", MECHANISMS.get(str(tender["kind"]), "OU"))
            _sub(pay, "PaymentAmount", money(amount))
            _sub(pay, "PaymentDate", doc.invoice_date.isoformat())
    ET.register_namespace("", NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def build_saft(
    db: Database, software: PtSoftware, unit: FiscalUnit, request: FiscalExportRequest
) -> FiscalExport:
    """The location's SAF-T (PT) file for the request's dates, checked against the XSD."""
    if request.date_to < request.date_from:
        raise InvalidRequest("date_to is before date_from.", code="fiscal_export_dates")
    if request.date_from.year != request.date_to.year:
        raise InvalidRequest(
            "A SAF-T (PT) file covers one fiscal year: ask for each year's months apart.",
            code="fiscal_export_dates",
        )
    with db.unit_of_work() as session:
        loc = repo.location(session, request.location_code)
        docs = repo.in_period(
            session, loc.id, request.date_from, request.date_to, request.till_code
        )
        content = build_xml(
            software=software,
            options=dict(unit.options),
            location_code=loc.code,
            date_from=request.date_from,
            date_to=request.date_to,
            documents=docs,
            created=datetime.now(UTC).date(),
        )
    errors = validation_errors(content)
    if errors:
        raise Conflict(
            "The SAF-T (PT) file does not pass the AT's XSD: " + "; ".join(errors[:5]),
            code="saft_invalid",
        )
    nif = parse_options(dict(unit.options)).nif
    return FiscalExport(
        filename=f"SAFT-PT_{nif}_{loc.code}_{request.date_from:%Y%m%d}_{request.date_to:%Y%m%d}.xml",
        media_type="application/xml",
        content=content,
    )
