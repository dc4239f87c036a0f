"""The sales loader counts an order once per breakdown group however many lines it has there
(orders per category and tax rate from the distinct orders, not the lines), and the scope's
window predicate picks the same rows as its per-store bounds (PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, text

from db.models import Location, Product, TaxCategory, Variant
from db.report_loaders import sales
from db.report_loaders import scope as scopes
from db.repositories import orders
from db.session import Database
from domain.pricing import PricedLine
from tests.reports_sales.test_loaders import AT, DAY, _return_one, _store


def _second_sku(db: Database, code: str) -> tuple[str, str]:
    """Another product of the store's, in a category of its own: (sku, category)."""
    tag = uuid.uuid4().hex[:8]
    with db.unit_of_work() as s:
        tax = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
        assert tax is not None
        product = Product(code=f"RQ{tag}", name="Report sock", category=f"socks{tag}",
                          tax_category_id=tax.id, cost_price=100, cost_currency="EUR")  # fmt: skip
        s.add(product)
        s.flush()
        s.add(Variant(product_id=product.id, sku=f"RQSKU{tag}", name="Report sock"))
        return f"RQSKU{tag}", f"socks{tag}"


def _order(
    db: Database, code: str, till_id: int, cashier_id: int, lines: list[tuple[str, int]]
) -> str:
    """A paid till sale of `lines` (sku, tax rate in basis points), 10.00 each."""
    wf = f"sale:report:{uuid.uuid4().hex}"
    priced = [
        PricedLine(
            i,
            sku,
            "Item",
            1,
            1000,
            1000 - round(1000 * bp / (10000 + bp)),
            round(1000 * bp / (10000 + bp)),
            1000,
            "standard",
            bp,
            0,
        )  # fmt: skip
        for i, (sku, bp) in enumerate(lines, start=1)
    ]
    total = 1000 * len(lines)
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location.id).where(Location.code == code))
        assert loc is not None
        added = orders.add_order(
            s,
            orders.NewOrder(
                workflow_id=wf, number_prefix="RQ", channel="store", fulfilment_type="in_store",
                status="completed", location_id=loc, till_id=till_id, cashier_id=cashier_id,
                currency="EUR", subtotal=total, tax_total=0, total=total, change_due=0,
                warnings=[], placed_at=AT, lines=priced,
                basket_started_at=AT - timedelta(seconds=60),
            ),
            [
                orders.NewPayment(
                    workflow_id=wf, tender="cash", amount=total, tendered=total,
                    currency="EUR", status="completed", idempotency_key=f"{wf}:pay",
                    location_id=loc, till_id=till_id,
                )
            ],
        )  # fmt: skip
        assert added is not None
        return added.number


def test_an_order_counts_once_per_category_rate_and_store(db: Database) -> None:
    code, shoe, till_id, cashier_id = _store(db)
    sock, socks = _second_sku(db, code)
    # two shoes and a sock at 20 %, then a sock at 20 % and a sock at 7 %
    first = _order(db, code, till_id, cashier_id, [(shoe, 2000), (shoe, 2000), (sock, 2000)])
    _order(db, code, till_id, cashier_id, [(sock, 2000), (sock, 700)])
    _return_one(db, first, shoe, till_id, 1000)
    with db.unit_of_work() as s:
        scope = scopes.resolve(s, DAY, DAY, stores=(code,))
        facts = sales.load(s, scope, None)["facts"]

    def orders_of(dimension: str, **keys: object) -> tuple[int, int, int]:
        rows = facts[facts["dimension"] == dimension]
        for k, v in keys.items():
            rows = rows[rows[k] == v]
        assert len(rows) == 1, rows
        r = rows.iloc[0]
        return int(r["orders"]), int(r["units"]), int(r["returns_count"])

    assert orders_of("store") == (2, 5, 1)
    assert orders_of("till", till_id=till_id) == (2, 5, 1)
    assert orders_of("all") == (2, 5, 1)
    shoes = facts[(facts["dimension"] == "category") & (facts["category"] != socks)]
    assert len(shoes) == 1 and (int(shoes.iloc[0]["orders"]), int(shoes.iloc[0]["units"])) == (1, 2)
    assert int(shoes.iloc[0]["returns_count"]) == 1
    assert orders_of("category", category=socks) == (2, 3, 0)
    assert orders_of("rate", tax_rate_bp=2000)[:2] == (2, 4)
    assert orders_of("rate", tax_rate_bp=700) == (1, 1, 0)


def test_the_window_predicate_picks_the_rows_of_the_per_store_bounds(db: Database) -> None:
    with db.unit_of_work() as s:
        scope = scopes.resolve(s, DAY, DAY + timedelta(days=1))
        bounds, bparams = scope.bounds()
        window, wparams = scope.window("o.location_id", "o.placed_at")
        # one statement (one snapshot: other tests write orders meanwhile)
        row = s.execute(
            text(
                f"""WITH by_bounds AS (
                    SELECT o.id FROM orders o
                    JOIN ({bounds}) AS b(location_id, utc_from, utc_to)
                      ON b.location_id = o.location_id AND o.placed_at >= b.utc_from
                     AND o.placed_at < b.utc_to),
                by_window AS (SELECT o.id FROM orders o WHERE {window})
                SELECT (SELECT count(*) FROM by_bounds),
                       (SELECT count(*) FROM (SELECT id FROM by_bounds EXCEPT ALL
                                              SELECT id FROM by_window) x),
                       (SELECT count(*) FROM (SELECT id FROM by_window EXCEPT ALL
                                              SELECT id FROM by_bounds) y)"""
            ),
            bparams | wparams,
        ).one()
        assert row[0] > 0 and (row[1], row[2]) == (0, 0)
        empty = scopes.Scope(DAY, DAY, scope.stores.iloc[0:0], (), ())
        assert empty.window("o.location_id", "o.placed_at") == ("FALSE", {})
