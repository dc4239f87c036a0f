"""The journal entries as files an accounting package imports, and parsers that read them back.

- QuickBooks Desktop IIF (tab-separated): the !TRNS / !SPL / !ENDTRNS header rows, then per entry
  one TRNS row (its first line), one SPL row per further line and ENDTRNS; TRNSTYPE
  GENERAL JOURNAL, DATE MM/DD/YYYY, ACCNT the account's name (QuickBooks matches accounts by
  name), CLASS the store, AMOUNT positive for a debit and negative for a credit (each
  transaction sums to zero), DOCNUM the entry's reference.
- Xero manual journal CSV (its import template's columns): *Narration, *Date (dd/mm/yyyy),
  Description, *AccountCode, *TaxRate, *Amount (positive debit, negative credit),
  TrackingName1 / TrackingOption1 (Store / the store's code), TrackingName2 / TrackingOption2.
  Xero groups the rows of one journal by narration and date.
- A plain CSV: one row per line with debit and credit columns.

Amounts are written in major units with the currency's decimals; parsers return minor units.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.accounts import JournalEntry
from domain.errors import InvalidRequest
from domain.money import exponent, format_minor

IIF_FIELDS = ("TRNSID", "TRNSTYPE", "DATE", "ACCNT", "CLASS", "AMOUNT", "DOCNUM", "MEMO")
XERO_COLUMNS = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)
PLAIN_COLUMNS = (
    "reference",
    "store",
    "date",
    "covers",
    "kind",
    "currency",
    "line",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "memo",
)
FORMATS = ("iif", "xero", "csv")


@dataclass
class ParsedEntry:
    """An entry as read back from a file: its reference (or narration), date and lines of
    (account, signed minor units: + debit, − credit, memo)."""

    reference: str
    date: str  # YYYY-MM-DD
    store: str = ""
    lines: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(a for _, a, _ in self.lines)


def _clean(text: str) -> str:
    """No tab, newline or quote inside an IIF field (they would end it)."""
    return " ".join(text.replace('"', "'").split())


def _major(amount: int, currency: str) -> str:
    return format_minor(amount, currency)


def _minor(text: str, currency: str) -> int:
    value = Decimal(text.strip() or "0") * (10 ** exponent(currency))
    if value != value.to_integral_value():
        raise InvalidRequest(f"Amount {text} has more decimals than {currency}.", code="bad_file")
    return int(value)


def _signed_lines(e: JournalEntry) -> list[tuple[str, str, int, str]]:
    return [(ln.account_code, ln.account_name, ln.net, ln.memo) for ln in e.lines]


# ---- QuickBooks IIF ----------------------------------------------------------------------


def to_iif(entries: Iterable[JournalEntry]) -> str:
    """QuickBooks Desktop IIF general journal transactions (one per entry with lines)."""
    out = [
        "\t".join(("!TRNS", *IIF_FIELDS)),
        "\t".join(("!SPL", *IIF_FIELDS)),
        "!ENDTRNS",
    ]
    n = 0
    for e in entries:
        if not e.lines:
            continue
        when = date.fromisoformat(e.date).strftime("%m/%d/%Y")
        for i, (_, name, amount, memo) in enumerate(_signed_lines(e)):
            n += 1
            out.append(
                "\t".join(
                    (
                        "TRNS" if i == 0 else "SPL",
                        str(n),
                        "GENERAL JOURNAL",
                        when,
                        _clean(name),
                        _clean(e.store),
                        _major(amount, e.currency),
                        e.ref,
                        _clean(f"{e.narration}: {memo}"),
                    )
                )
            )
        out.append("ENDTRNS")
    return "\r\n".join(out) + "\r\n"


def parse_iif(text: str, currency: str = "EUR") -> list[ParsedEntry]:
    """The transactions of an IIF file; each must end with ENDTRNS and sum to zero."""
    headers: dict[str, list[str]] = {}
    entries: list[ParsedEntry] = []
    current: ParsedEntry | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        cells = raw.split("\t")
        kind = cells[0]
        if kind.startswith("!"):
            headers[kind[1:]] = cells[1:]
            continue
        if kind == "ENDTRNS":
            if current is None:
                raise InvalidRequest("ENDTRNS without a TRNS.", code="bad_file")
            if current.total != 0:
                raise InvalidRequest(
                    f"Transaction {current.reference} sums to {current.total}.", code="bad_file"
                )
            entries.append(current)
            current = None
            continue
        if kind not in ("TRNS", "SPL") or kind not in headers:
            raise InvalidRequest(f"Unexpected IIF row {kind}.", code="bad_file")
        row = dict(zip(headers[kind], cells[1:], strict=False))
        if kind == "TRNS":
            if current is not None:
                raise InvalidRequest("TRNS before the last one ended.", code="bad_file")
            m, d, y = row["DATE"].split("/")
            current = ParsedEntry(
                reference=row.get("DOCNUM", ""),
                date=f"{y}-{m}-{d}",
                store=row.get("CLASS", ""),
            )
        elif current is None:
            raise InvalidRequest("SPL outside a transaction.", code="bad_file")
        current.lines.append((row["ACCNT"], _minor(row["AMOUNT"], currency), row.get("MEMO", "")))
    if current is not None:
        raise InvalidRequest("The last transaction has no ENDTRNS.", code="bad_file")
    return entries


# ---- Xero manual journal CSV -------------------------------------------------------------


def to_xero_csv(entries: Iterable[JournalEntry], tax_rate: str = "No VAT") -> str:
    """Xero's manual journal import template, one row per line (at most 300 a file in Xero:
    split a long range by day)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(XERO_COLUMNS)
    for e in entries:
        when = date.fromisoformat(e.date).strftime("%d/%m/%Y")
        for code, _, amount, memo in _signed_lines(e):
            w.writerow(
                (
                    f"{e.ref} {e.narration}",
                    when,
                    memo,
                    code,
                    tax_rate,
                    _major(amount, e.currency),
                    "Store",
                    e.store,
                    "",
                    "",
                )
            )
    return buf.getvalue()


def parse_xero_csv(text: str, currency: str = "EUR") -> list[ParsedEntry]:
    """The journals of a Xero manual journal CSV, grouped by narration and date."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c
        for c in ("*Narration", "*Date", "*AccountCode", "*Amount")
        if c not in (reader.fieldnames or ())
    ]
    if missing:
        raise InvalidRequest(f"Not a Xero journal file: no {', '.join(missing)}.", code="bad_file")
    by_key: dict[tuple[str, str], ParsedEntry] = {}
    for row in reader:
        d, m, y = row["*Date"].split("/")
        key = (row["*Narration"], f"{y}-{m}-{d}")
        entry = by_key.get(key)
        if entry is None:
            entry = by_key[key] = ParsedEntry(
                reference=row["*Narration"].split(" ", 1)[0],
                date=key[1],
                store=row.get("TrackingOption1", ""),
            )
        entry.lines.append(
            (row["*AccountCode"], _minor(row["*Amount"], currency), row.get("Description", ""))
        )
    return list(by_key.values())


# ---- plain CSV ---------------------------------------------------------------------------


def to_plain_csv(entries: Iterable[JournalEntry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(PLAIN_COLUMNS)
    for e in entries:
        for i, ln in enumerate(e.lines, start=1):
            w.writerow(
                (
                    e.ref,
                    e.store,
                    e.date,
                    e.covers,
                    e.kind,
                    e.currency,
                    i,
                    ln.account_code,
                    ln.account_name,
                    _major(ln.debit, e.currency) if ln.debit else "",
                    _major(ln.credit, e.currency) if ln.credit else "",
                    ln.memo,
                )
            )
    return buf.getvalue()


def parse_plain_csv(text: str) -> list[ParsedEntry]:
    by_ref: dict[str, ParsedEntry] = {}
    for row in csv.DictReader(io.StringIO(text)):
        cur = row["currency"]
        entry = by_ref.setdefault(
            row["reference"],
            ParsedEntry(reference=row["reference"], date=row["date"], store=row["store"]),
        )
        amount = _minor(row["debit"] or "0", cur) - _minor(row["credit"] or "0", cur)
        entry.lines.append((row["account_code"], amount, row["memo"]))
    return list(by_ref.values())


def write(entries: Iterable[JournalEntry], fmt: str, *, xero_tax_rate: str = "No VAT") -> str:
    """The entries in `fmt` (iif | xero | csv)."""
    if fmt == "iif":
        return to_iif(entries)
    if fmt == "xero":
        return to_xero_csv(entries, xero_tax_rate)
    if fmt == "csv":
        return to_plain_csv(entries)
    raise InvalidRequest(
        f"Unknown journal format '{fmt}'; formats: {', '.join(FORMATS)}.", code="bad_format"
    )
