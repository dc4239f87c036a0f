"""The reconciliation's builder on hand-built frames with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from reports.base import ReportParams
from reports.reconciliation import build
from reports.registry import ReportContext

DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)
NOW = datetime(2026, 11, 4, 6, 0, tzinfo=UTC)
CTX = ReportContext(ui_base="http://ui:8233", namespace="default", now=NOW)
STORES = pd.DataFrame(
    [{"location_id": 7, "code": "S7", "name": "Seven", "timezone": "UTC", "currency": "EUR"}]
)


def _frames(**kw: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    out = {"stores": STORES}
    for k, v in kw.items():
        out[k] = pd.DataFrame(v)
    return out


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _stripe(**v: Any) -> dict[str, Any]:
    row = {
        "txn_id": "txn_x", "type": "charge", "reporting_category": "charge", "amount": 0,
        "fee": 0, "net": 0, "currency": "EUR", "created_at": _at(DAY1, 12), "source_id": "",
        "payment_intent": "", "charge_id": "", "details": {"metadata": {}}, "payout_id": None,
        "payout_status": None, "payout_arrival": None, "claimed_payment_id": None,
        "claimed_order": None, "claimed_workflow": None, "claimed_refund_id": None,
        "location_id": 7, "store": "S7", "business_day": DAY1,
    }  # fmt: skip
    row.update(v)
    return row


def _tender(pi: str, amount: int, order: str) -> dict[str, Any]:
    return {
        "payment_id": 1, "payment_intent": pi, "amount": amount, "currency": "EUR",
        "status": "captured", "created_at": _at(DAY1, 10), "workflow_id": f"sale:T1:{order}",
        "order_number": order, "channel": "store", "location_id": 7, "store": "S7", "till": "T1",
        "shift_id": 1, "business_day": DAY1,
    }  # fmt: skip


def test_cash_shortage_is_the_z_arithmetic_and_a_discrepancy() -> None:
    # float 100.00, cash sales 50.00 handed over 60.00 (10.00 change), refund 5.00, paid out 3.00,
    # drop 20.00: expected 100 + 60 − 10 − 5 − 3 − 20 = 122.00; counted 120.00: 2.00 short.
    frames = _frames(
        shifts=[
            {
                "shift_id": 1, "workflow_id": "shift:T1:1", "location_id": 7, "store": "S7",
                "till": "T1", "n": 1, "z_number": 1, "status": "closed", "currency": "EUR",
                "opened_at": _at(DAY1, 8), "closed_at": _at(DAY1, 18), "float_amount": 10000,
                "counted": {"cash": 12000, "card": 4000}, "z_variance": -200,
                "approval_note": "coins", "approved_by": "Mia Manager", "opened_by": "Carl",
                "closed_by": "Carl", "business_day": DAY1,
            }
        ],
        shift_events=[
            {"shift_id": 1, "kind": "paid_out", "amount": 300, "events": 1},
            {"shift_id": 1, "kind": "drop", "amount": 2000, "events": 1},
        ],
        shift_payments=[
            {"shift_id": 1, "tender": "cash", "amount": 5000, "tendered": 6000, "change": 1000,
             "sales": 2},
            {"shift_id": 1, "tender": "card", "amount": 4000, "tendered": 4000, "change": 0,
             "sales": 1},
        ],
        shift_refunds=[{"shift_id": 1, "tender": "cash", "amount": 500}],
    )  # fmt: skip
    result = build(frames, ReportParams(DAY1, DAY1), CTX)
    row = result.section("cash_shifts").frame.iloc[0]
    assert (row["float"], row["cash_sales"], row["change"], row["cash_refunds"]) == (
        10000, 6000, 1000, 500,
    )  # fmt: skip
    assert (row["paid_out"], row["drops"], row["expected"]) == (300, 2000, 12200)
    assert (row["counted"], row["over_short"], row["approved_by"]) == (12000, -200, "Mia Manager")
    store = result.section("cash_stores").frame.iloc[0]
    assert (store["shifts"], store["over_short"], store["expected"]) == (1, -200, 12200)
    d = result.section("discrepancies").frame
    short = d[d["kind"] == "cash_short"].iloc[0]
    assert short["difference"] == -200 and short["workflow_id"] == "shift:T1:1"
    assert short["workflow_link"] == "http://ui:8233/namespaces/default/workflows/shift%3AT1%3A1"


def test_cards_matched_unknown_to_stripe_and_a_refund_tillflow_did_not_make() -> None:
    frames = _frames(
        card_tenders=[_tender("pi_ok", 2500, "S7-1"), _tender("pi_ghost", 1800, "S7-2")],
        card_refunds=[],
        stripe=[
            _stripe(txn_id="txn_1", payment_intent="pi_ok", amount=2500, fee=65, net=2435,
                    source_id="ch_1", claimed_payment_id=1, claimed_order="S7-1",
                    claimed_workflow="sale:T1:S7-1", payout_id="po_1", payout_status="paid"),
            _stripe(txn_id="txn_2", type="refund", reporting_category="refund",
                    payment_intent="pi_ok", amount=-700, net=-700, source_id="re_nobody",
                    claimed_payment_id=1, claimed_order="S7-1", claimed_workflow="sale:T1:S7-1",
                    created_at=_at(DAY1, 15)),
            _stripe(txn_id="txn_3", payment_intent="pi_stranger", amount=999, net=970, fee=29,
                    source_id="ch_3", store=None, location_id=None),
        ],
    )  # fmt: skip
    result = build(frames, ReportParams(DAY1, DAY1), CTX)
    cards = result.section("cards").frame.set_index("payment_intent")
    assert cards.loc["pi_ok", "status"] == "matched"
    assert (cards.loc["pi_ok", "fee"], cards.loc["pi_ok", "net"]) == (65, 2435 - 700)
    assert cards.loc["pi_ok", "payout_id"] == "po_1"
    assert cards.loc["pi_ghost", "status"] == "unknown_to_stripe"
    d = result.section("discrepancies").frame.set_index("kind")
    ghost = d.loc["card_unknown_to_stripe"]
    assert (ghost["payment_intent"], ghost["tillflow_amount"], ghost["order_number"]) == (
        "pi_ghost", 1800, "S7-2",
    )  # fmt: skip
    assert ghost["age_days"] == 1.8  # 10:00 on Nov 2 to 06:00 on Nov 4
    assert ghost["workflow_link"].endswith("sale%3AT1%3AS7-2")
    refund = d.loc["refund_stripe_only"]
    assert (refund["stripe_amount"], refund["order_number"]) == (700, "S7-1")
    assert "re_nobody" in refund["stripe_id"]
    stranger = d.loc["stripe_charge_unclaimed"]
    assert (stranger["payment_intent"], stranger["stripe_amount"]) == ("pi_stranger", 999)
    totals = result.section("card_totals").frame.set_index("store")
    assert totals.loc["S7", "tillflow_sales"] == 4300
    assert totals.loc["S7", "stripe_charges"] == 2500
    assert totals.loc["S7", "stripe_refunds"] == 700
    assert totals.loc["S7", "paid_out_net"] == 2435


def test_refund_and_dispute_sides() -> None:
    refund = {
        "refund_id": 41, "stripe_refund": "re_ours", "amount": 500, "currency": "EUR",
        "created_at": _at(DAY1, 16), "idempotency_key": "return:R1:1",
        "workflow_id": "sale:T1:S7-1", "payment_intent": "pi_ok", "payment_id": 1,
        "order_number": "S7-1", "location_id": 7, "store": "S7", "return_id": "R1",
        "business_day": DAY1,
    }  # fmt: skip
    frames = _frames(
        card_tenders=[_tender("pi_ok", 2500, "S7-1")],
        card_refunds=[refund, {**refund, "refund_id": 42, "stripe_refund": "re_lost"}],
        stripe=[
            _stripe(txn_id="txn_1", payment_intent="pi_ok", amount=2500, net=2500,
                    claimed_payment_id=1),
            _stripe(txn_id="txn_r", type="refund", payment_intent="pi_ok", amount=-500,
                    net=-500, source_id="re_ours", claimed_payment_id=1, claimed_refund_id=41),
            _stripe(txn_id="txn_d", type="adjustment", reporting_category="dispute",
                    payment_intent="pi_ok", amount=-2500, fee=1500, net=-4000,
                    source_id="dp_1", claimed_payment_id=1, claimed_order="S7-1",
                    claimed_workflow="sale:T1:S7-1",
                    details={"metadata": {}, "reason": "fraudulent"}),
        ],
    )  # fmt: skip
    d = build(frames, ReportParams(DAY1, DAY1), CTX).section("discrepancies").frame
    assert sorted(d["kind"]) == ["dispute", "refund_tillflow_only"]
    lost = d[d["kind"] == "refund_tillflow_only"].iloc[0]
    assert (lost["refund_id"], lost["return_id"], lost["workflow_id"]) == ("42", "R1", "return:R1")
    dispute = d[d["kind"] == "dispute"].iloc[0]
    assert (dispute["order_number"], dispute["stripe_amount"]) == ("S7-1", -2500)
    assert "fraudulent" in dispute["detail"]


def test_gift_card_sold_one_day_and_redeemed_the_next() -> None:
    frames = _frames(
        liability_opening=[
            {"location_id": 7, "kind": "gift_card", "currency": "EUR", "opening": 1000}
        ],
        liability_moves=[
            {"location_id": 7, "kind": "gift_card", "currency": "EUR", "business_day": DAY1,
             "issued": 5000, "redeemed": 0, "expired": 0, "adjusted": 0},
            {"location_id": 7, "kind": "gift_card", "currency": "EUR", "business_day": DAY2,
             "issued": 0, "redeemed": 3000, "expired": 200, "adjusted": 0},
            {"location_id": 7, "kind": "store_credit", "currency": "EUR", "business_day": DAY2,
             "issued": 800, "redeemed": 0, "expired": 0, "adjusted": 0},
        ],
    )  # fmt: skip
    f = build(frames, ReportParams(DAY1, DAY2), CTX).section("liability").frame
    gift = f[f["kind"] == "gift_card"].set_index("business_day")
    assert list(gift.loc[DAY1, ["opening", "issued", "redeemed", "closing"]]) == [
        1000,
        5000,
        0,
        6000,
    ]
    assert list(gift.loc[DAY2, ["opening", "redeemed", "expired", "closing"]]) == [
        6000, 3000, 200, 2800,
    ]  # fmt: skip
    credit = f[f["kind"] == "store_credit"].set_index("business_day")
    assert (credit.loc[DAY1, "closing"], credit.loc[DAY2, "closing"]) == (0, 800)


def test_open_offline_cards_and_collections_carry_their_age_and_link() -> None:
    frames = _frames(
        offline=[
            {"workflow_id": "sale:T1:off-1", "client_sale_id": "off-1", "batch_id": "b1",
             "status": "flagged", "message": "over cap", "sold_at": _at(DAY1, 6),
             "received_at": _at(DAY1, 9), "till": "T1", "location_id": 7, "store": "S7",
             "currency": "EUR", "card_amount": 4200},
        ],
        collections=[
            {"collection_id": 3, "workflow_id": "replay:T1:b1", "client_sale_id": "off-2",
             "amount": 1200, "currency": "EUR", "card_brand": "visa", "card_last4": "4242",
             "decline_reason": "insufficient_funds", "sold_at": _at(DAY2, 6),
             "created_at": _at(DAY2, 9), "status": "open", "till": "T1", "location_id": 7,
             "store": "S7"},
        ],
    )  # fmt: skip
    result = build(frames, ReportParams(DAY1, DAY2), CTX)
    off = result.section("offline_uncaptured").frame.iloc[0]
    assert (off["card_amount"], off["age_days"]) == (4200, 2.0)
    col = result.section("collections_open").frame.iloc[0]
    assert (col["amount"], col["age_days"], col["card_last4"]) == (1200, 1.0, "4242")
    assert col["workflow_link"].endswith("replay%3AT1%3Ab1")


def test_nothing_in_scope_gives_empty_sections() -> None:
    result = build({"stores": STORES}, ReportParams(DAY1, DAY1), CTX)
    assert all(s.frame.empty for s in result.sections)
    assert [s.name for s in result.sections][0] == "discrepancies"


def test_every_format_renders_the_report() -> None:
    from reports.render import render

    frames = _frames(
        card_tenders=[_tender("pi_ghost", 1800, "S7-2")],
        liability_moves=[
            {"location_id": 7, "kind": "gift_card", "currency": "EUR", "business_day": DAY1,
             "issued": 5000, "redeemed": 0, "expired": 0, "adjusted": 0},
        ],
    )  # fmt: skip
    result = build(frames, ReportParams(DAY1, DAY1), CTX)
    for fmt in ("json", "csv", "xlsx", "html"):
        body, _ = render(result, fmt)
        assert body
    html, _ = render(result, "html")
    assert b"pi_ghost" in html
