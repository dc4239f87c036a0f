"""The account map and the postings of a store-day, on figures with known answers."""

from __future__ import annotations

import pytest

from domain.accounts import (
    AccountMap,
    JournalEntry,
    JournalLine,
    adjustment,
    check_balanced,
    day_entry,
    postings,
)
from domain.errors import Conflict, InvalidRequest

ACCOUNTS = AccountMap.parse()


def nets(lines: tuple[JournalLine, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in lines:
        key = ln.account_code + (f"@{ln.rate_bp}" if ln.rate_bp >= 0 else "")
        out[key] = out.get(key, 0) + ln.net
    return out


def test_a_day_posts_every_account_with_known_amounts() -> None:
    figures = {
        "sales_net:2000": 10_000,
        "sales_tax:2000": 2_000,
        "sales_discount:2000": 1_200,  # 200 of it is VAT: 1,000 of discount
        "gift_cards_sold": 5_000,
        "order_total": 17_000,
        "tender:cash": 6_000,
        "tender:card": 9_000,
        "tender:gift_card": 1_000,  # 1,000 short of the total: a card not captured yet
        "returns_gross:2000": 1_200,
        "refund:cash": 1_200,
        "cogs": 800,
        "cogs_returned": 400,
        "cash_variance": -300,  # a cash shortage
        "paid_out": 500,
        "missing_cost": 2,  # noted, not posted
    }
    entry = day_entry("S1", "2026-11-02", "EUR", figures, ACCOUNTS)
    assert nets(entry.lines) == {
        "1000": 6_000 - 1_200 - 300 - 500,  # cash
        "1010": 9_000,  # card clearing
        "1090": 1_000,  # tender suspense: the uncaptured card
        "1200": -800 + 400,  # inventory
        "2100": -5_000 + 1_000,  # gift card liability: sold less redeemed
        "2200@2000": -2_000 + 200,  # VAT less the returns' VAT
        "4000@2000": -11_000,  # revenue before the discount
        "4900@2000": 1_000,  # discount, VAT excluded
        "4910@2000": 1_000,  # returns, VAT excluded
        "5000": 800 - 400,  # COGS
        "6900": 300,  # over / short: short is a debit
        "6910": 500,  # paid out
    }
    assert entry.total == sum(ln.credit for ln in entry.lines) == 17_200
    assert entry.ref == "J-S1-20261102"


def test_a_gift_card_sold_one_day_and_redeemed_the_next_is_a_liability_not_revenue() -> None:
    sold = day_entry(
        "S1",
        "2026-11-02",
        "EUR",
        {"gift_cards_sold": 5_000, "order_total": 5_000, "tender:cash": 5_000},
        ACCOUNTS,
    )
    assert nets(sold.lines) == {"1000": 5_000, "2100": -5_000}  # no revenue, no VAT
    redeemed = day_entry(
        "S1",
        "2026-11-03",
        "EUR",
        {
            "sales_net:2000": 5_000,
            "sales_tax:2000": 1_000,
            "order_total": 6_000,
            "tender:gift_card": 5_000,
            "tender:cash": 1_000,
        },
        ACCOUNTS,
    )
    assert nets(redeemed.lines) == {
        "1000": 1_000,
        "2100": 5_000,
        "2200@2000": -1_000,
        "4000@2000": -5_000,
    }
    assert nets(sold.lines)["2100"] + nets(redeemed.lines)["2100"] == 0


def test_an_entry_that_does_not_balance_is_refused() -> None:
    # The orders' totals say 17,001 but their lines 17,000: refused, never exported.
    with pytest.raises(Conflict) as err:
        day_entry(
            "S1",
            "2026-11-02",
            "EUR",
            {"sales_net:0": 17_000, "order_total": 17_001, "tender:cash": 17_001},
            ACCOUNTS,
        )
    assert err.value.code == "unbalanced_entry"
    bad = JournalLine(
        role="cash",
        rate_bp=-1,
        account_code="1000",
        account_name="Cash",
        debit=5,
        credit=0,
        memo="",
    )
    with pytest.raises(Conflict):
        check_balanced([bad])
    with pytest.raises(Conflict):
        JournalEntry(
            store="S1",
            date="2026-11-02",
            covers="2026-11-02",
            kind="day",
            currency="EUR",
            lines=(bad,),
        )


def test_an_adjustment_is_what_changed_since_the_export() -> None:
    exported = postings(
        {
            "sales_net:2000": 1_000,
            "sales_tax:2000": 200,
            "order_total": 1_200,
            "tender:cash": 1_200,
        },
        ACCOUNTS,
    )
    late = {"sales_net:2000": 500, "sales_tax:2000": 100, "order_total": 600, "tender:card": 600}
    now = postings(
        {
            "sales_net:2000": 1_500,
            "sales_tax:2000": 300,
            "order_total": 1_800,
            "tender:cash": 1_200,
            "tender:card": 600,
        },
        ACCOUNTS,
    )
    adj = adjustment("S1", "2026-11-05", "2026-11-02", "EUR", now, exported, ACCOUNTS)
    assert adj is not None and adj.kind == "adjustment"
    assert adj.ref == "J-S1-20261105-ADJ-20261102"
    assert nets(adj.lines) == nets(postings(late, ACCOUNTS))
    assert adjustment("S1", "2026-11-05", "2026-11-02", "EUR", now, now, ACCOUNTS) is None


def test_the_account_map_overrides_per_rate_and_refuses_unknown_roles() -> None:
    accounts = AccountMap.parse({"sales:700": {"code": "4007", "name": "Sales 7%"}, "cash": "1001"})
    lines = postings(
        {"sales_net:700": 100, "sales_net:2000": 100, "order_total": 200, "tender:cash": 200},
        accounts,
    )
    assert nets(lines) == {"1001": 200, "4007@700": -100, "4000@2000": -100}
    with pytest.raises(InvalidRequest) as err:
        AccountMap.parse({"salez": "4000"})
    assert err.value.code == "bad_account_map"
    with pytest.raises(InvalidRequest):
        AccountMap.parse({"cash": {"code": " "}})


def test_the_same_figures_always_give_the_same_entry() -> None:
    figures = {
        "sales_net:2000": 1_000,
        "sales_tax:2000": 200,
        "order_total": 1_200,
        "tender:card": 700,
        "tender:cash": 500,
    }
    a = day_entry("S1", "2026-11-02", "EUR", figures, ACCOUNTS)
    b = day_entry("S1", "2026-11-02", "EUR", dict(reversed(list(figures.items()))), ACCOUNTS)
    assert a == b and a.content_hash() == b.content_hash()
