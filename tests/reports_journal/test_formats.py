"""The IIF, Xero and plain CSV files of a generated week parse back to the same entries."""

from __future__ import annotations

from datetime import date

import pytest

from domain.accounts import JournalEntry
from domain.errors import InvalidRequest
from reports.base import ReportParams
from reports.journal import balanced_entries, build
from reports.journal_formats import (
    XERO_COLUMNS,
    parse_iif,
    parse_plain_csv,
    parse_xero_csv,
    to_iif,
    to_plain_csv,
    to_xero_csv,
    write,
)
from reports.registry import ReportContext
from reports_journal.generated import week


def _entries() -> list[JournalEntry]:
    params = ReportParams(date(2026, 11, 2), date(2026, 11, 8))
    found = balanced_entries(build(week(seed=7, stores=2), params, ReportContext()))
    assert len(found) == 14
    return found


def _by_code(e: JournalEntry) -> list[tuple[str, int]]:
    return [(ln.account_code, ln.net) for ln in e.lines]


def _by_name(e: JournalEntry) -> list[tuple[str, int]]:
    return [(ln.account_name, ln.net) for ln in e.lines]


def test_iif_parses_back_to_the_same_balanced_transactions() -> None:
    entries = _entries()
    text = to_iif(entries)
    head = text.splitlines()[:3]
    assert (
        head[0].split("\t")[0] == "!TRNS" and head[1].startswith("!SPL") and head[2] == "!ENDTRNS"
    )
    assert (
        text.count("\r\nTRNS\t") == len(entries) and text.count("ENDTRNS\r\n") == len(entries) + 1
    )
    parsed = parse_iif(text)
    assert [(p.reference, p.date, p.store) for p in parsed] == [
        (e.ref, e.date, e.store) for e in entries
    ]
    assert [[(a, n) for a, n, _ in p.lines] for p in parsed] == [_by_name(e) for e in entries]
    assert all(p.total == 0 for p in parsed)


def test_xero_csv_parses_back_to_the_same_journals() -> None:
    entries = _entries()
    text = to_xero_csv(entries, tax_rate="No VAT")
    assert text.splitlines()[0] == ",".join(XERO_COLUMNS)
    assert text.splitlines()[1].split(",")[1] == "02/11/2026"  # dd/mm/yyyy
    parsed = parse_xero_csv(text)
    assert [(p.reference, p.date, p.store) for p in parsed] == [
        (e.ref, e.date, e.store) for e in entries
    ]
    assert [[(a, n) for a, n, _ in p.lines] for p in parsed] == [_by_code(e) for e in entries]
    assert all(p.total == 0 for p in parsed)


def test_plain_csv_parses_back_and_write_names_its_formats() -> None:
    entries = _entries()
    parsed = parse_plain_csv(to_plain_csv(entries))
    assert [[(a, n) for a, n, _ in p.lines] for p in parsed] == [_by_code(e) for e in entries]
    assert write(entries, "iif") == to_iif(entries)
    with pytest.raises(InvalidRequest):
        write(entries, "qif")


def test_an_iif_transaction_that_does_not_sum_to_zero_is_refused() -> None:
    text = to_iif(_entries()[:1])
    lines = text.splitlines()
    cells = lines[3].split("\t")
    cells[6] = str(float(cells[6]) + 1)
    lines[3] = "\t".join(cells)
    with pytest.raises(InvalidRequest):
        parse_iif("\r\n".join(lines))
