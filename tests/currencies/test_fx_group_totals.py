"""A day's exchange rate stored through the API, and the group totals report converting the
Zürich store's CHF sales into EUR with it, labelled as converted."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from helpers.api import password_login

from domain.fx import convert_minor
from domain.report_context import ReportContext
from reports.base import ReportParams
from reports.group_totals import CONVERTED, build


async def test_rate_set_and_the_group_report_converts_with_it(api, zoe) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fiona = await password_login(api, "fiona", "finance-demo")
    day = datetime.now(ZoneInfo("Europe/Zurich")).date().isoformat()
    sale = await api.post(
        "/tills/ZRH1/sales",
        headers=zoe,
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": "PEN-BRASS", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 4500}],
        },
    )
    assert sale.status_code == 200 and sale.json()["status"] == "completed", sale.text

    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await api.put(f"/fx-rates/{day}/chf", headers=fiona | key, json={"rate": "1.0642"})
    assert r.status_code == 200, r.text
    assert r.json() == {"day": day, "currency": "CHF", "base": "EUR", "rate": "1.0642"}
    again = await api.put(f"/fx-rates/{day}/chf", headers=fiona | key, json={"rate": "1.0642"})
    assert again.status_code == 200 and again.json() == r.json()
    listed = await api.get("/fx-rates", params={"day": day}, headers=fiona)
    assert {"day": day, "currency": "CHF", "base": "EUR", "rate": "1.0642"} in listed.json()

    rep = await api.get(
        "/reports/group_totals", params={"from": day, "to": day, "store": "ZRH"}, headers=fiona
    )
    assert rep.status_code == 200, rep.text
    sections = {s["name"]: s for s in rep.json()["sections"]}
    (row,) = [x for x in sections["by_store"]["rows"] if x["store"] == "ZRH"]
    assert row["original"].startswith("CHF ") and row["rate"] == "1.0642"
    assert row["label"] == CONVERTED and row["base"] == "EUR"
    chf = round(float(row["original"].removeprefix("CHF ")) * 100)
    assert row["converted"] == convert_minor(chf, "CHF", "EUR", Decimal("1.0642"))
    (total,) = sections["group"]["rows"]
    assert total["converted"] == row["converted"] and "converted" in total["label"]


async def test_bad_rates_and_roles_are_refused(api, zoe) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fiona = await password_login(api, "fiona", "finance-demo")
    for bad in ("-1", "0", "abc", "1.123456789"):
        r = await api.put("/fx-rates/2026-01-02/CHF", headers=fiona, json={"rate": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_rate", (bad, r.text)
    same = await api.put("/fx-rates/2026-01-02/EUR", headers=fiona, json={"rate": "1"})
    assert same.status_code == 422 and same.json()["error"]["code"] == "same_currency"
    cashier = await api.put("/fx-rates/2026-01-02/CHF", headers=zoe, json={"rate": "1.05"})
    assert cashier.status_code == 403, cashier.text


def test_a_day_without_a_rate_is_left_out_and_named() -> None:
    stores = pd.DataFrame(
        {"location_id": [1, 2, 3], "code": ["BER", "ZRH", "TYO"], "name": ["b", "z", "t"]}
    )
    sales = pd.DataFrame(
        {
            "location_id": [1, 2, 3],
            "day": [date(2026, 12, 1)] * 3,
            "currency": ["EUR", "CHF", "JPY"],
            "sales": [2, 1, 1],
            "total": [1000, 2980, 1500],
        }
    )
    rates = pd.DataFrame(
        {"day": [date(2026, 12, 1)], "currency": ["CHF"], "base": ["EUR"], "rate": ["1.0642"]}
    )
    result = build(
        {"sales": sales, "rates": rates, "stores": stores},
        ReportParams(date_from=date(2026, 12, 1), date_to=date(2026, 12, 1)),
        ReportContext(),
    )
    rows = result.section("by_store").frame.set_index("store")
    assert rows.loc["ZRH", "converted"] == 3171  # 29.80 CHF x 1.0642 = 31.71 EUR
    assert rows.loc["BER", "converted"] == 1000 and rows.loc["BER", "label"] == ""
    assert pd.isna(rows.loc["TYO", "converted"]) and rows.loc["TYO", "label"] == "no rate stored"
    assert rows.loc["TYO", "original"] == "JPY 1500"
    group = result.section("group").frame
    assert group["converted"].tolist() == [4171] and group["stores"].tolist() == [2]
    assert any("JPY on 2026-12-01" in n for n in result.notes)


def test_conversion_respects_each_currency_s_minor_units() -> None:
    assert convert_minor(1000, "JPY", "EUR", Decimal("0.0061")) == 610  # ¥1000 = €6.10
    assert convert_minor(1000, "EUR", "JPY", Decimal("163.9")) == 1639  # €10.00 = ¥1639
    assert convert_minor(1000, "BHD", "EUR", Decimal("2.45")) == 245  # 1.000 BHD = €2.45
    assert convert_minor(5, "EUR", "EUR", Decimal("9")) == 5
