"""The DSFinV-K export of a German store (issue 20): the ZIP a tax office reads (Digitale
Schnittstelle der Finanzverwaltung für Kassensysteme, BMF, taxonomy 2.x).

Built from what tillflow signed, `fiscal_records` (each document's lines, VAT, tenders and TSE
data exactly as its receipt printed them: Bonkopf values must equal the printed receipt), and the
tills' day closings (closed shifts with their Z number), read through db/repositories/fiscal_de.py.
The tables are the `dsfinvk` package's (pretix): Bonpos, Bonpos_USt, Bonkopf, Bonkopf_USt,
Bonkopf_Zahlarten, Bon_Referenzen, TSE_Transaktionen, Stamm_Abschluss, Stamm_Orte, Stamm_Kassen,
Stamm_USt, Stamm_TSE, Z_GV_Typ, Z_Zahlart, Z_Waehrungen; each is one CSV (";" separated, CRLF,
"," decimal point, UTF-8, header row) described by the generated `index.xml` (GDPdU 01-08-2002).

Every document belongs to a Kassenabschluss (Z_KASSE_ID = the till's code, Z_NR = the shift's Z
number, Z_ERSTELLUNG = when it closed): the first closing of its till at or after the document.
Documents after a till's last closing (a day not closed yet) go into a provisional closing with
the next Z number, created at the end of the exported range; export again after the day closing
for the final file.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from dsfinvk import fields as dfields
from dsfinvk import models as m
from dsfinvk.table import Model

from contracts.fiscal import FiscalExport, FiscalExportRequest
from db.repositories import fiscal_de
from db.session import Database
from domain.errors import InvalidRequest, NotFound
from domain.money import exponent
from integrations.fiscal import FiscalUnit

SOFTWARE = "tillflow"
SOFTWARE_VERSION = "0.1.0"
# DSFinV-K UST_SCHLUESSEL of each German rate (basis points): 1 Regelsteuersatz, 2 ermäßigt,
# 3 / 4 Durchschnittsätze §24 UStG, 5 nicht steuerbar (0 %).
UST_KEYS: dict[int, tuple[int, str]] = {
    1900: (1, "Regelsteuersatz"),
    700: (2, "Ermäßigter Steuersatz"),
    1070: (3, "Durchschnittsatz (§ 24 Abs. 1 Nr. 3 UStG)"),
    550: (4, "Durchschnittsatz (§ 24 Abs. 1 Nr. 1 UStG)"),
    0: (5, "Nicht Steuerbar"),
}
ZAHLART = {  # tillflow tender kind -> DSFinV-K ZAHLART_TYP
    "cash": "Bar",
    "card": "Unbar",
    "gift_card": "GuthabenKarte",
    "store_credit": "GuthabenKarte",
    "points": "Keine",
    "exchange": "Keine",
}
TABLES: tuple[type[Model], ...] = (
    m.Bonpos,
    m.Bonpos_USt,
    m.Bonkopf,
    m.Bonkopf_USt,
    m.Bonkopf_Zahlarten,
    m.Bon_Referenzen,
    m.TSE_Transaktionen,
    m.Stamm_Abschluss,
    m.Stamm_Orte,
    m.Stamm_Kassen,
    m.Stamm_USt,
    m.Stamm_TSE,
    m.Z_GV_Typ,
    m.Z_Zahlart,
    m.Z_Waehrungen,
)
PENDING_NOTE = "TSE nicht erreichbar: Signatur ausstehend"


@dataclass
class _Closing:
    till: str
    z_number: int
    closed_at: datetime
    provisional: bool = False
    records: list[fiscal_de.RecordRow] = field(default_factory=list)


def _money(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ust(rate_bp: int) -> int:
    try:
        return UST_KEYS[int(rate_bp)][0]
    except KeyError:
        raise InvalidRequest(
            f"VAT rate {int(rate_bp) / 100:g} % has no DSFinV-K key.", code="dsfinvk_vat_rate"
        ) from None


def _net(gross: int, rate_bp: int) -> int:
    return round(gross * 10000 / (10000 + rate_bp))


def _bounds(req: FiscalExportRequest, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if req.date_to < req.date_from:
        raise InvalidRequest("date_to is before date_from.", code="invalid_range")
    if (req.date_to - req.date_from).days > 366:
        raise InvalidRequest("Export at most one year at a time.", code="range_too_long")
    start = datetime.combine(req.date_from, time(0), tz)
    end = datetime.combine(req.date_to + timedelta(days=1), time(0), tz)
    return start, end


def _group(
    records: Iterable[fiscal_de.RecordRow],
    closings: Iterable[fiscal_de.ClosingRow],
    till_codes: Iterable[str],
    end: datetime,
) -> list[_Closing]:
    by_till: dict[str, list[_Closing]] = defaultdict(list)
    for c in closings:
        by_till[c.till_code].append(_Closing(c.till_code, c.z_number, c.closed_at))
    for till in till_codes:
        by_till.setdefault(till, [])
    for r in records:
        groups = by_till[r.till_code]
        target = next(
            (g for g in groups if not g.provisional and g.closed_at >= r.occurred_at), None
        )
        if target is None:
            if not groups or not groups[-1].provisional:
                last = max((g.z_number for g in groups), default=0)
                groups.append(_Closing(r.till_code, last + 1, end, provisional=True))
            target = groups[-1]
        target.records.append(r)
    return [g for till in sorted(by_till) for g in by_till[till] if g.records or not g.provisional]


def _address(text: str) -> tuple[str, str, str]:
    """(street, postcode, city) from a free-text address "Street 1, 10115 Berlin"."""
    parts = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    street = parts[0] if parts else ""
    rest = parts[1] if len(parts) > 1 else ""
    postcode, _, city = rest.partition(" ")
    if not postcode.isdigit():
        postcode, city = "", rest
    return street[:60], postcode[:10], city[:62]


def build_tables(
    unit: FiscalUnit,
    shop: fiscal_de.StoreRow,
    tills: list[fiscal_de.TillRow],
    groups: list[_Closing],
    referenced: dict[str, fiscal_de.RecordRow],
) -> dict[str, list[Model]]:
    """Every DSFinV-K row, per CSV file name."""
    out: dict[str, list[Model]] = defaultdict(list)
    tz = ZoneInfo(shop.timezone)
    opts = unit.options
    street, postcode, city = _address(shop.address)
    company = opts.get("company_name") or shop.name
    till_names = {t.code: t.name for t in tills}
    for g in groups:
        z = {"Z_KASSE_ID": g.till, "Z_ERSTELLUNG": g.closed_at.astimezone(tz), "Z_NR": g.z_number}
        tse_ids: dict[str, int] = {}
        tse_rows: dict[str, dict[str, str]] = {}
        gv: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        zahlart: dict[tuple[str, str], int] = defaultdict(int)
        currencies: dict[str, int] = defaultdict(int)
        paid = cash = 0
        client_serial = ""
        rates_used: set[int] = set()
        for r in g.records:
            doc = r.document
            currency = str(doc.get("currency", shop.currency))
            bon = str(r.id)
            start = _dt(doc.get("occurred_at", r.occurred_at)).astimezone(tz)
            f = r.fields
            end_ = _dt(r.signed_at or r.occurred_at).astimezone(tz)
            if f.get("time_end"):
                end_ = _dt(f["time_end"]).astimezone(tz)
            if f.get("time_start"):
                start = min(start, _dt(f["time_start"]).astimezone(tz))
            bon_typ = "AVBelegstorno" if r.kind == "void" else "Beleg"
            out[m.Bonkopf._filename].append(
                m.Bonkopf(
                    **z,
                    BON_ID=bon,
                    BON_NR=r.id,
                    BON_TYP=bon_typ,
                    BON_NAME={"sale": "Verkauf", "return": "Rücknahme", "void": "Storno"}.get(
                        r.kind, r.kind
                    ),
                    TERMINAL_ID=r.till_code,
                    BON_STORNO=r.kind == "void",
                    BON_START=start,
                    BON_ENDE=max(end_, start),
                    BEDIENER_ID=str(doc.get("cashier", ""))[:50],
                    BEDIENER_NAME=str(doc.get("cashier", ""))[:50],
                    UMS_BRUTTO=_money(int(doc.get("total", 0)), currency),
                    KUNDE_USTID=str(doc.get("buyer_tax_id", ""))[:15],
                    BON_NOTIZ=f"tillflow {r.number or r.document_id}"[:255],
                )
            )
            for v in doc.get("vat", []):
                rate = int(v["rate_bp"])
                rates_used.add(rate)
                key = _ust(rate)
                out[m.Bonkopf_USt._filename].append(
                    m.Bonkopf_USt(
                        **z,
                        BON_ID=bon,
                        UST_SCHLUESSEL=key,
                        BON_BRUTTO=_money(int(v["gross"]), currency),
                        BON_NETTO=_money(int(v["net"]), currency),
                        BON_UST=_money(int(v["vat"]), currency),
                    )
                )
                sums = gv[key]
                sums[0] += int(v["gross"])
                sums[1] += int(v["net"])
                sums[2] += int(v["vat"])
            for line in doc.get("lines", []):
                rate = int(line["rate_bp"])
                rates_used.add(rate)
                qty = int(line["quantity"])
                total = int(line["total"])
                pos = str(line["line_no"])
                out[m.Bonpos._filename].append(
                    m.Bonpos(
                        **z,
                        BON_ID=bon,
                        POS_ZEILE=pos,
                        ARTIKELTEXT=str(line.get("name", ""))[:255],
                        GV_TYP="Umsatz",
                        INHAUS=False,
                        P_STORNO=False,
                        ART_NR=str(line.get("sku", ""))[:50],
                        MENGE=Decimal(qty),
                        FAKTOR=Decimal(1),
                        EINHEIT="Stück",
                        STK_BR=_money(int(line["unit_price"]), currency),
                    )
                )
                out[m.Bonpos_USt._filename].append(
                    m.Bonpos_USt(
                        **z,
                        BON_ID=bon,
                        POS_ZEILE=pos,
                        UST_SCHLUESSEL=_ust(rate),
                        POS_BRUTTO=_money(total, currency),
                        POS_NETTO=_money(_net(total, rate), currency),
                        POS_UST=_money(total - _net(total, rate), currency),
                    )
                )
            for t in doc.get("tenders", []):
                amount = int(t["amount"])
                if not amount:
                    continue
                typ = ZAHLART.get(str(t["kind"]), "Unbar")
                out[m.Bonkopf_Zahlarten._filename].append(
                    m.Bonkopf_Zahlarten(
                        **z,
                        BON_ID=bon,
                        ZAHLART_TYP=typ,
                        ZAHLART_NAME=str(t["kind"]),
                        BASISWAEH_BETRAG=_money(amount, currency),
                    )
                )
                zahlart[(typ, str(t["kind"]))] += amount
                currencies[currency] += amount
                paid += amount
                cash += amount if typ == "Bar" else 0
            refers = referenced.get(str(doc.get("refers_to", "")))
            if refers is not None:
                out[m.Bon_Referenzen._filename].append(
                    m.Bon_Referenzen(
                        **z,
                        BON_ID=bon,
                        REF_TYP="Transaktion",
                        REF_BON_ID=str(refers.id),
                    )
                )
            serial = f.get("tse_serial", "")
            client_serial = client_serial or f.get("client_serial", "")
            if serial and serial not in tse_ids:
                tse_ids[serial] = len(tse_ids) + 1
                tse_rows[serial] = f
            out[m.TSE_Transaktionen._filename].append(
                m.TSE_Transaktionen(
                    **z,
                    BON_ID=bon,
                    TSE_ID=tse_ids.get(serial, 0),
                    TSE_TANR=int(f.get("transaction_number") or 0),
                    TSE_TA_START=f.get("time_start", ""),
                    TSE_TA_ENDE=f.get("time_end", ""),
                    TSE_TA_VORGANGSART=f.get("process_type", ""),
                    TSE_TA_SIGZ=int(f.get("signature_counter") or 0),
                    TSE_TA_SIG=f.get("signature", ""),
                    TSE_TA_FEHLER="" if r.status == "signed" else PENDING_NOTE,
                    TSE_VORGANGSDATEN=f.get("process_data", ""),
                )
            )
        for serial, f in tse_rows.items():
            out[m.Stamm_TSE._filename].append(
                m.Stamm_TSE(
                    **z,
                    TSE_ID=tse_ids[serial],
                    TSE_SERIAL=serial,
                    TSE_SIG_ALGO=f.get("algorithm", ""),
                    TSE_ZEITFORMAT=f.get("log_time_format", "unixTime"),
                    TSE_PD_ENCODING="UTF-8",
                    TSE_PUBLIC_KEY=f.get("public_key", ""),
                )
            )
        for key, (gross, net, vat) in sorted(gv.items()):
            out[m.Z_GV_Typ._filename].append(
                m.Z_GV_Typ(
                    **z,
                    GV_TYP="Umsatz",
                    UST_SCHLUESSEL=key,
                    Z_UMS_BRUTTO=_money(gross, shop.currency),
                    Z_UMS_NETTO=_money(net, shop.currency),
                    Z_UST=_money(vat, shop.currency),
                )
            )
        for (typ, name), amount in sorted(zahlart.items()):
            out[m.Z_Zahlart._filename].append(
                m.Z_Zahlart(
                    **z,
                    ZAHLART_TYP=typ,
                    ZAHLART_NAME=name,
                    Z_ZAHLART_BETRAG=_money(amount, shop.currency),
                )
            )
        for cur, amount in sorted(currencies.items()):
            out[m.Z_Waehrungen._filename].append(
                m.Z_Waehrungen(**z, ZAHLART_WAEH=cur, ZAHLART_BETRAG_WAEH=_money(amount, cur))
            )
        for rate in sorted(rates_used | {1900, 700}):
            key, text = UST_KEYS[rate]
            out[m.Stamm_USt._filename].append(
                m.Stamm_USt(
                    **z, UST_SCHLUESSEL=key, UST_SATZ=Decimal(rate).scaleb(-2), UST_BESCHR=text
                )
            )
        ids = [str(r.id) for r in g.records]
        out[m.Stamm_Abschluss._filename].append(
            m.Stamm_Abschluss(
                **z,
                Z_BUCHUNGSTAG=g.closed_at.astimezone(tz).date().isoformat(),
                TAXONOMIE_VERSION=m.TAXONOMY_VERSION,
                Z_START_ID=ids[0] if ids else "",
                Z_ENDE_ID=ids[-1] if ids else "",
                NAME=company[:60],
                STRASSE=street,
                PLZ=postcode,
                ORT=city,
                LAND="DEU",
                STNR=opts.get("tax_number", "")[:20],
                USTID=opts.get("vat_id", "")[:15],
                Z_SE_ZAHLUNGEN=_money(paid, shop.currency),
                Z_SE_BARZAHLUNGEN=_money(cash, shop.currency),
            )
        )
        out[m.Stamm_Orte._filename].append(
            m.Stamm_Orte(
                **z,
                LOC_NAME=shop.name[:60],
                LOC_STRASSE=street,
                LOC_PLZ=postcode,
                LOC_ORT=city,
                LOC_LAND="DEU",
                LOC_USTID=opts.get("vat_id", "")[:15],
            )
        )
        out[m.Stamm_Kassen._filename].append(
            m.Stamm_Kassen(
                **z,
                KASSE_BRAND=SOFTWARE,
                KASSE_MODELL=f"{SOFTWARE} {till_names.get(g.till, g.till)}"[:50],
                KASSE_SERIENNR=(client_serial or g.till)[:70],
                KASSE_SW_BRAND=SOFTWARE,
                KASSE_SW_VERSION=SOFTWARE_VERSION,
                KASSE_BASISWAEH_CODE=shop.currency,
                KEINE_UST_ZUORDNUNG=False,
            )
        )
    return out


def _column(f: dfields.Field) -> str:
    name = f"<Name>{f.name}</Name>"
    if isinstance(f, dfields.NumericField):
        places = f.places
        kind = f"<Numeric><Accuracy>{places}</Accuracy></Numeric>" if places else "<Numeric/>"
    elif isinstance(f, dfields.BooleanField):
        kind = "<Numeric/>"
    else:
        # dates are written as text (YYYY-MM-DDThh:mm:ss): the validator of the dsfinvk package
        # reads AlphaNumeric and Numeric columns only
        max_length = getattr(f, "max_length", None)
        kind = "<AlphaNumeric/>" + (f"<MaxLength>{max_length}</MaxLength>" if max_length else "")
    return f"<VariableColumn>{name}{kind}</VariableColumn>"


def index_xml(company: str, location: str) -> str:
    """The GDPdU index.xml describing every table of the export."""
    tables = []
    for model in TABLES:
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else model.__name__
        columns = "".join(_column(f) for f in model._fields)
        tables.append(
            "<Table>"
            f"<URL>{model._filename}</URL><Name>{model.__name__}</Name>"
            f"<Description>{escape(doc.strip())}</Description>"
            "<Range><From>2</From></Range><UTF8/>"
            "<DecimalSymbol>,</DecimalSymbol><DigitGroupingSymbol>.</DigitGroupingSymbol>"
            "<VariableLength><ColumnDelimiter>;</ColumnDelimiter>"
            "<RecordDelimiter>&#13;&#10;</RecordDelimiter>"
            '<TextEncapsulator>"</TextEncapsulator>'
            f"{columns}</VariableLength></Table>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE DataSet SYSTEM "gdpdu-01-08-2002.dtd">\n'
        "<DataSet><Version>1.0</Version>"
        f"<DataSupplier><Name>{escape(company)}</Name><Location>{escape(location)}</Location>"
        f"<Comment>DSFinV-K {m.TAXONOMY_VERSION}, {SOFTWARE} {SOFTWARE_VERSION}</Comment>"
        "</DataSupplier>"
        f"<Media><Name>DSFinV-K</Name>{''.join(tables)}</Media></DataSet>\n"
    )


def write_zip(tables: dict[str, list[Model]], company: str, location: str) -> bytes:
    """The ZIP: one CSV per table (a header row even when empty) and index.xml."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for model in TABLES:
            text = io.StringIO()
            writer = csv.DictWriter(
                text,
                fieldnames=[f.name for f in model._fields],
                delimiter=";",
                lineterminator="\r\n",
            )
            writer.writeheader()
            for row in tables.get(model._filename, []):
                writer.writerow(row._data)
            zf.writestr(model._filename, text.getvalue())
        zf.writestr("index.xml", index_xml(company, location))
    return buf.getvalue()


def build_export(db: Database, unit: FiscalUnit, request: FiscalExportRequest) -> FiscalExport:
    """The DSFinV-K ZIP of a German store (and optionally one till) for a date range."""
    with db.unit_of_work() as s:
        shop = fiscal_de.store(s, request.location_code)
        if shop is None:
            raise NotFound(f"No location {request.location_code}.", code="location_not_found")
        if (shop.country or unit.country) != "DE":
            raise InvalidRequest(
                f"{shop.code} is not a German store: DSFinV-K is Germany's export.",
                code="dsfinvk_not_german",
            )
        tills = fiscal_de.tills(s, shop.id, request.till_code)
        if request.till_code and not tills:
            raise NotFound(f"No till {request.till_code} at {shop.code}.", code="till_not_found")
        start, end = _bounds(request, ZoneInfo(shop.timezone))
        records = fiscal_de.records(s, shop.id, start, end, request.till_code)
        closings = fiscal_de.closings(s, shop.id, start, end, request.till_code)
        refers = {str(r.document.get("refers_to", "")) for r in records} - {""}
        referenced = fiscal_de.records_by_document(s, sorted(refers))
    groups = _group(records, closings, [], end)
    tables = build_tables(unit, shop, tills, groups, referenced)
    company = unit.options.get("company_name") or shop.name
    content = write_zip(tables, company, shop.name)
    suffix = f"_{request.till_code}" if request.till_code else ""
    return FiscalExport(
        filename=f"dsfinvk_{shop.code}{suffix}_{_d(request.date_from)}_{_d(request.date_to)}.zip",
        media_type="application/zip",
        content=content,
    )


def _d(value: date) -> str:
    return value.strftime("%Y%m%d")
