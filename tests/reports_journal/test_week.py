"""Every store-day of a generated week balances, and the liabilities add up across days."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.accounts import AccountMap, day_entry
from reports.base import ReportParams
from reports.journal import build
from reports.registry import ReportContext
from reports_journal.generated import store_day, week


def test_every_store_day_of_a_generated_week_balances() -> None:
    frames = week(seed=16)
    params = ReportParams(date(2026, 11, 2), date(2026, 11, 8))
    result = build(frames, params, ReportContext())
    summary = result.section("summary").frame
    assert len(summary) == 3 * 7
    assert set(summary["status"]) == {"preview"}
    assert (summary["debits"] == summary["credits"]).all()
    assert (summary["debits"] > 0).all()
    lines = result.section("entries").frame
    per_entry = lines.groupby("reference")[["debit", "credit"]].sum()
    assert (per_entry["debit"] == per_entry["credit"]).all() and len(per_entry) == 21
    # The gift card liability moves by what was sold less what was redeemed (and refunded to
    # gift cards), over the week.
    figs = frames["figures"]
    sold = figs.loc[figs["item"] == "gift_cards_sold", "amount"].sum()
    redeemed = figs.loc[figs["item"] == "tender:gift_card", "amount"].sum()
    refunded = figs.loc[figs["item"] == "refund:gift_card", "amount"].sum()
    gift = lines[lines["account_code"] == "2100"]
    assert int(gift["credit"].sum() - gift["debit"].sum()) == sold - redeemed + refunded


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_any_generated_store_day_balances(seed: int) -> None:
    entry = day_entry("S", "2026-11-02", "EUR", store_day(random.Random(seed)), AccountMap.parse())
    assert entry.total == sum(ln.credit for ln in entry.lines)
