"""The journal against the real database: a store-day's figures with known answers, its export
(once: a re-run writes nothing and gives the same file), and a late offline sale after the export
posted as an adjusting entry on the day it was learned, the exported day left as it was."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from temporalio.testing import ActivityEnvironment

from activities.accounting import AccountingActivities
from contracts.accounting import JournalExportCmd, JournalExportResult
from contracts.errors import from_failure
from db.models_accounting import JournalExport
from db.session import Database
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.pricing import GIFT_CARD_SKU
from reports import registry
from reports.base import ReportParams, ReportResult
from reports.journal import balanced_entries
from reports.journal_formats import parse_iif, to_iif
from reports.registry import ReportContext
from reports_journal.conftest import (
    Store,
    add_closed_shift,
    add_return,
    add_sale,
    add_stripe_charge,
    line,
)

D = date(2026, 10, 5)
CTX = ReportContext(ui_base="http://ui.test", namespace="default")


def _run(db: Database, st: Store, start: date, end: date) -> ReportResult:
    with db.unit_of_work() as s:
        return registry.run(s, "journal", ReportParams(start, end, stores=(st.code,)), CTX)


def _export(db: Database, st: Store, day: date) -> JournalExportResult:
    acts = AccountingActivities(db)
    cmd = JournalExportCmd(store=st.code, day=day.isoformat(), workflow_id="reportpack:test")
    result: JournalExportResult = ActivityEnvironment().run(acts.export, cmd)
    return result


def _nets(result: ReportResult, section: str, status: str) -> dict[str, int]:
    frame = result.section(section).frame
    frame = frame[frame["status"] == status]
    out: dict[str, int] = {}
    for r in frame.to_dict("records"):
        out[r["account_code"]] = out.get(r["account_code"], 0) + r["debit"] - r["credit"]
    return out


def _stored(db: Database, st: Store) -> int:
    with db.unit_of_work() as s:
        return int(
            s.scalar(select(func.count()).where(JournalExport.location_id == st.location_id)) or 0
        )


def test_a_day_exported_once_and_a_late_sale_adjusted_the_next_day(
    db: Database, store: Store
) -> None:
    st = store
    cash_sale = add_sale(
        db,
        st,
        st.at(D, 10),
        [line(1, st.sku, 2, 1_200, 2000, discount=200), line(2, st.sku_free, 1, 550, 1000)],
        [("cash", 2_750, "completed")],
    )
    intent = f"pi_{st.code}_1"
    add_sale(
        db,
        st,
        st.at(D, 11),
        [line(1, GIFT_CARD_SKU, 1, 5_000, 0)],
        [("card", 5_000, "captured", intent)],
    )
    # Stripe took 175 of it in fees, and paid the rest out the next morning.
    add_stripe_charge(db, st, intent, st.at(D, 11, 1), 5_000, 175, st.at(D + timedelta(days=1), 9))
    add_sale(
        db, st, st.at(D, 15), [line(1, st.sku, 1, 1_200, 2000)], [("card", 1_200, "authorized")]
    )
    add_return(db, st, st.at(D, 16), cash_sale, 1, 1, 1_100)
    add_closed_shift(db, st, st.at(D, 19), variance=-300)
    # Another day's sale (just after midnight in Berlin) stays out of D.
    add_sale(
        db,
        st,
        st.at(D + timedelta(days=1), 0, 30),
        [line(1, st.sku, 1, 1_000, 0)],
        [("cash", 1_000, "completed")],
    )

    preview = _run(db, st, D, D)
    assert list(preview.section("summary").frame["status"]) == ["preview"]
    nets = _nets(preview, "entries", "preview")
    assert nets == {
        "1000": 2_750 - 1_100 - 300,  # cash: the sale less the cash refund and the shortage
        "1010": 5_000 - 175,  # the captured card, less Stripe's fee
        "1090": 1_200,  # the authorized (uncaptured) card in suspense
        "1200": -(3 * 400) + 400,  # inventory: 3 costed units sold, 1 restocked
        "2100": -5_000,  # the gift card sold: a liability
        "2200": -(367 + 50 + 200) + 183,  # VAT at 20 % and 10 %, less the return's
        "4000": -(1_833 + 167 + 500 + 1_000),  # revenue before the discount
        "4900": 167,  # the discount's net
        "4910": 1_100 - 183,  # the return's net
        "5000": 3 * 400 - 400,
        "6900": 300,  # short
        "6920": 175,  # Stripe's fee
    }
    summary = preview.section("summary").frame.iloc[0]
    assert summary["debits"] == summary["credits"] and summary["missing_cost_units"] == 1

    first = _export(db, st, D)
    assert not first.already_exported and first.reference == f"J-{st.code}-20261005"
    again = _export(db, st, D)
    assert again.already_exported and again.content_hash == first.content_hash
    assert _stored(db, st) == 1
    exported = _run(db, st, D, D)
    assert list(exported.section("summary").frame["content_hash"]) == [first.content_hash]
    assert _nets(exported, "entries", "exported") == nets
    file_before = to_iif(balanced_entries(exported))

    # An offline till uploads a sale of D after D was exported.
    late = add_sale(
        db,
        st,
        st.at(D, 13),
        [line(1, st.sku, 1, 2_400, 2000)],
        [("cash", 2_400, "completed")],
        name="late-offline",
    )
    now = _run(db, st, D, D + timedelta(days=1))
    assert (
        to_iif([e for e in balanced_entries(now) if e.date == D.isoformat() and e.kind == "day"])
        == file_before
    )
    pending = _nets(now, "adjustments", "pending")
    assert pending == {"1000": 2_400, "1200": -400, "2200": -400, "4000": -2_000, "5000": 400}
    late_rows = now.section("late").frame
    assert list(late_rows["workflow_id"]) == [late]
    assert list(late_rows["posted_by"]) == ["pending"]
    assert late_rows.iloc[0]["workflow_link"].startswith("http://ui.test/namespaces/default/")

    # The next day: its early sale, and Stripe's payout reaching the bank.
    assert _nets(now, "entries", "preview") == {
        "1000": 1_000,
        "1010": -4_825,
        "1020": 4_825,
        "1200": -400,
        "4000": -1_000,
        "5000": 400,
    }
    next_day = _export(db, st, D + timedelta(days=1))
    adj_ref = f"J-{st.code}-20261006-ADJ-20261005"
    assert next_day.adjustments == (adj_ref,)
    assert _export(db, st, D + timedelta(days=1)).already_exported
    assert _stored(db, st) == 3  # D, D+1 and the adjustment: D untouched
    after = _run(db, st, D, D + timedelta(days=1))
    assert _nets(after, "adjustments", "posted") == pending
    assert _nets(after, "adjustments", "pending") == {}
    assert list(after.section("late").frame["posted_by"]) == [adj_ref]
    assert list(after.section("summary").frame["content_hash"])[0] == first.content_hash
    # The files of the two days parse back balanced, the adjustment dated the day it was learned.
    parsed = parse_iif(to_iif(balanced_entries(after)))
    assert [(p.reference, p.date) for p in parsed] == [
        (f"J-{st.code}-20261005", "2026-10-05"),
        (f"J-{st.code}-20261006", "2026-10-06"),
        (adj_ref, "2026-10-06"),
    ]
    assert all(p.total == 0 for p in parsed)


def test_an_unbalanced_day_is_shown_and_refused_and_nothing_is_written(
    db: Database, store: Store
) -> None:
    st = store
    wf = add_sale(
        db, st, st.at(D, 10), [line(1, st.sku, 1, 1_200, 2000)], [("cash", 1_200, "completed")]
    )
    with db.unit_of_work() as s:  # an order whose total disagrees with its lines
        s.execute(text("UPDATE orders SET total = total + 1 WHERE workflow_id = :wf"), {"wf": wf})
    result = _run(db, st, D, D)
    assert list(result.section("summary").frame["status"]) == ["unbalanced"]
    assert any("Not balanced" in n and st.code in n for n in result.notes)
    assert balanced_entries(result) == []
    with pytest.raises(Exception) as err:
        _export(db, st, D)
    refused = from_failure(err.value)
    assert isinstance(refused, Conflict) and refused.code == "unbalanced_entry"
    assert _stored(db, st) == 0


def test_an_unknown_store_or_a_bad_day_is_refused(db: Database, store: Store) -> None:
    acts = AccountingActivities(db)
    env = ActivityEnvironment()
    with pytest.raises(Exception) as err:
        env.run(acts.export, JournalExportCmd(store=f"{store.code}X", day="2026-10-05"))
    assert isinstance(from_failure(err.value), NotFound)
    with pytest.raises(Exception) as err:
        env.run(acts.export, JournalExportCmd(store=store.code, day="5/10/2026"))
    bad = from_failure(err.value)
    assert isinstance(bad, InvalidRequest) and bad.code == "bad_date"
