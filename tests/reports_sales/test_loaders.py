"""The sales and KPI loaders on real rows of a store of this test's own (PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Location, Product, TaxCategory, Till, User, Variant
from db.models_returns import Return, ReturnLine
from db.repositories import orders, stock
from db.session import Database
from domain.pricing import PricedLine
from reports import registry
from reports.base import ReportParams
from reports.registry import ReportContext

DAY = date(2024, 6, 12)  # a Wednesday; Europe/Berlin is UTC+2 then
AT = datetime(2024, 6, 12, 8, 30, tzinfo=UTC)  # 10:30 in the store


def _store(db: Database) -> tuple[str, str, int, int]:
    """A store with a till, a cashier and a costed product with 10 units: (code, sku, ...)."""
    tag = uuid.uuid4().hex[:8]
    with db.unit_of_work() as s:
        loc = Location(
            code=f"RS{tag}", name="Report store", kind="store", timezone="Europe/Berlin",
            currency="EUR", shift_required=False,
        )  # fmt: skip
        tax = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
        assert tax is not None
        product = Product(
            code=f"RP{tag}", name="Report shoe", category=f"cat{tag}",
            tax_category_id=tax.id, cost_price=400, cost_currency="EUR",
        )  # fmt: skip
        user = User(username=f"rc{tag}", display_name=f"Cashier {tag}", role="cashier")
        s.add_all([loc, product, user])
        s.flush()
        till = Till(code=f"RT{tag}", location_id=loc.id, name="Till")
        variant = Variant(product_id=product.id, sku=f"RSKU{tag}", name="Report shoe")
        s.add_all([till, variant])
        s.flush()
        stock.apply_movements(
            s,
            loc.id,
            [stock.Movement(variant.sku, 10, "receipt", "test", f"rs:{tag}:in")],
            workflow_id=None,
            occurred_at=AT - timedelta(days=2),
        )
        return loc.code, variant.sku, till.id, user.id


def _sell(
    db: Database, code: str, sku: str, till_id: int, cashier_id: int, qty: int, tender: str
) -> str:
    """A till sale of `qty` at 10.00 each (20 % tax included, 1.00 off), paid by `tender`."""
    wf = f"sale:report:{uuid.uuid4().hex}"
    gross = qty * 1000 - 100
    tax = round(gross * 2000 / 12000)
    line = PricedLine(1, sku, "Report shoe", qty, 1000, gross - tax, tax, gross, "standard",
                      2000, 100)  # fmt: skip
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location.id).where(Location.code == code))
        stock.apply_movements(
            s, loc, [stock.Movement(sku, -qty, "sale", wf, f"{wf}:stock:1")],  # type: ignore[arg-type]  # the store exists
            workflow_id=wf, occurred_at=AT,
        )  # fmt: skip
        added = orders.add_order(
            s,
            orders.NewOrder(
                workflow_id=wf, number_prefix="RS", channel="store", fulfilment_type="in_store",
                status="completed", location_id=loc, till_id=till_id, cashier_id=cashier_id,
                currency="EUR", subtotal=gross - tax, tax_total=tax, total=gross, change_due=0,
                warnings=[], placed_at=AT, lines=[line],
                basket_started_at=AT - timedelta(seconds=90),
            ),
            [
                orders.NewPayment(
                    workflow_id=wf, tender=tender, amount=gross, tendered=gross, currency="EUR",
                    status="completed" if tender == "cash" else "uncollected",
                    idempotency_key=f"{wf}:pay", location_id=loc, till_id=till_id,
                )
            ],
        )  # fmt: skip
        assert added is not None
        return added.number


def _return_one(db: Database, number: str, sku: str, till_id: int, refund: int) -> None:
    with db.unit_of_work() as s:
        o = orders.order_by_number(s, number)
        assert o is not None and o.location_id is not None
        rid = uuid.uuid4().hex
        r = Return(
            return_id=rid, workflow_id=f"return:{rid}", order_id=o.id,
            location_id=o.location_id, till_id=till_id, status="completed",
            refund_method="original", refund_total=refund, currency="EUR",
            created_at=AT + timedelta(hours=1),
        )  # fmt: skip
        s.add(r)
        s.flush()
        s.add(ReturnLine(return_pk=r.id, line_no=1, order_line_no=1, sku=sku, quantity=1,
                         refund_amount=refund, disposition="damaged"))  # fmt: skip


@pytest.fixture(scope="module")
def store(db: Database) -> tuple[str, str, str]:
    code, sku, till_id, cashier_id = _store(db)
    first = _sell(db, code, sku, till_id, cashier_id, 2, "cash")  # 19.00
    _sell(db, code, sku, till_id, cashier_id, 1, "card")  # 9.00, card never captured
    _return_one(db, first, sku, till_id, 900)
    return code, sku, first


def _run(db: Database, name: str, code: str) -> registry.ReportResult:
    ctx = ReportContext(ui_base="http://ui", now=AT + timedelta(days=1))
    with db.unit_of_work() as s:
        return registry.run(s, name, ReportParams(DAY, DAY, stores=(code,)), ctx)


def test_sales_loader_breaks_down_real_sales(db: Database, store: tuple[str, str, str]) -> None:
    code, _, _ = store
    r = _run(db, "sales", code)
    row = r.section("summary").frame.set_index("store").loc[code]
    assert (row["orders"], row["units"]) == (2, 3)
    assert (row["gross"], row["discounts"], row["returns"]) == (3000, 200, 900)
    assert row["net"] == 3000 - 200 - 900
    hours = r.section("by_hour").frame
    assert list(hours["hour"]) == [10, 11]  # the sale at 10:30 local, the return at 11:30
    tax = r.section("tax").frame.iloc[0]
    assert (tax["rate_bp"], tax["returned_tax"]) == (2000, 150)  # 9.00 refund at 20 % incl.
    mix = r.section("tenders").frame.set_index("tender")
    assert (mix.loc["cash", "amount"], mix.loc["card", "amount"]) == (1900, 900)
    cashiers = r.section("by_cashier").frame
    assert cashiers.iloc[0]["cashier"].startswith("Cashier ")


def test_kpi_loader_traces_real_rows(db: Database, store: tuple[str, str, str]) -> None:
    code, _, _ = store
    r = _run(db, "kpis", code)
    t = r.section("kpis").frame
    mine = t[t["store"] == code].set_index(["kpi", "dimension"])
    assert mine.loc[("average_order_value", ""), "value"] == 1400  # 28.00 / 2
    assert mine.loc[("units_per_transaction", ""), "value"] == 1.5
    assert mine.loc[("sell_through", ""), "value"] == 30.0  # 3 sold of 10 opening
    assert mine.loc[("return_rate", "channel=store"), "value"] == round(900 / 2800 * 100, 4)
    checkout = [d for d in mine.index.get_level_values(1) if d.startswith("cashier=")]
    assert mine.loc[("average_checkout_time", checkout[0]), "value"] == 90.0
    # on hand stays 7 > 0 on the one day
    assert mine.loc[("stock_out_rate", ""), "value"] == 0.0
    # the uncaptured card tender is listed with its ids and link
    d = r.section("discrepancies").frame
    assert list(d["kind"]) == ["card_not_settled"]
    assert d.iloc[0]["workflow_link"].startswith("http://ui/namespaces/default/workflows/")
    assert mine.loc[("reconciliation_discrepancies_per_day", ""), "value"] == 1.0
