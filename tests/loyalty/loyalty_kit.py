"""Makers of the loyalty tests' rows: customers, SKUs, recorded orders and returns (unique ids)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from db.models import Customer, Location, Order, OrderLine, Product, TaxCategory, Variant
from db.models_returns import Return, ReturnLine
from db.session import Database
from domain.loyalty import LoyaltyRules, Tier

# The rules of these tests: 1 point per 1.00, 20 bonus points per unit of a "bonus" SKU, 5 per
# order, silver (x1.5) from 100.00 of 12-month spend, 1 point = 0.01.
TIERS = (Tier("base", 0, 100), Tier("silver", 10_000, 150))


def rules_with(bonus_sku: str = "") -> LoyaltyRules:
    return LoyaltyRules(
        points_per_unit=1,
        product_bonus={bonus_sku: 20} if bonus_sku else {},
        order_bonus=5,
        expiry_months=12,
        point_value_minor=1,
        tiers=TIERS,
    )


def new_customer(db: Database) -> int:
    with db.unit_of_work() as s:
        c = Customer(name=f"Loyal {uuid.uuid4().hex[:6]}", email=None)
        s.add(c)
        s.flush()
        return c.id


def new_sku(db: Database) -> str:
    sku = f"LOY-{uuid.uuid4().hex[:10].upper()}"
    with db.unit_of_work() as s:
        tax = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
        assert tax is not None
        product = Product(code=sku, name="Loyalty test item", tax_category_id=tax.id)
        s.add(product)
        s.flush()
        s.add(Variant(product_id=product.id, sku=sku, name="", attributes={}))
    return sku


@dataclass(frozen=True)
class Recorded:
    workflow_id: str
    order_id: int


def record_order(
    db: Database, customer_id: int | None, lines: list[tuple[str, int, int]]
) -> Recorded:
    """A completed till sale at BER as the Sale workflow records it: lines of (sku, qty, gross)."""
    tag = uuid.uuid4().hex[:12]
    total = sum(g for _, _, g in lines)
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        order = Order(
            number=f"LOY-{tag}",
            workflow_id=f"sale:LOYTEST:{tag}",
            channel="store",
            fulfilment_type="in_store",
            status="completed",
            location_id=ber,
            customer_id=customer_id,
            currency="EUR",
            subtotal=total,
            tax_total=0,
            total=total,
            placed_at=datetime.now(UTC),
        )
        s.add(order)
        s.flush()
        for n, (sku, qty, gross) in enumerate(lines, start=1):
            s.add(
                OrderLine(
                    order_id=order.id,
                    line_no=n,
                    sku=sku,
                    name=sku,
                    quantity=qty,
                    unit_price=gross // max(qty, 1),
                    net=gross,
                    tax=0,
                    gross=gross,
                    tax_code="standard",
                    tax_rate_bp=0,
                )
            )
        return Recorded(order.workflow_id, order.id)


def record_return(db: Database, order: Recorded, lines: list[tuple[int, str, int, int]]) -> str:
    """A completed return of the order: lines of (order line no, sku, qty, refund amount)."""
    tag = uuid.uuid4().hex[:12]
    with db.unit_of_work() as s:
        o = s.get_one(Order, order.order_id)
        ret = Return(
            return_id=f"LOYR-{tag}",
            workflow_id=f"return:LOYR-{tag}",
            order_id=o.id,
            location_id=o.location_id,
            customer_id=o.customer_id,
            status="completed",
            refund_method="original",
            refund_total=sum(a for *_, a in lines),
            currency="EUR",
        )
        s.add(ret)
        s.flush()
        for n, (line_no, sku, qty, amount) in enumerate(lines, start=1):
            s.add(
                ReturnLine(
                    return_pk=ret.id,
                    line_no=n,
                    order_line_no=line_no,
                    sku=sku,
                    quantity=qty,
                    refund_amount=amount,
                    disposition="restock",
                )
            )
        return ret.workflow_id


class Kit:
    """The makers above, bound to the suite's database (test modules cannot import a conftest)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rules_with = rules_with

    def customer(self) -> int:
        return new_customer(self.db)

    def sku(self) -> str:
        return new_sku(self.db)

    def order(self, customer_id: int | None, lines: list[tuple[str, int, int]]) -> Recorded:
        return record_order(self.db, customer_id, lines)

    def returned(self, order: Recorded, lines: list[tuple[int, str, int, int]]) -> str:
        return record_return(self.db, order, lines)


@dataclass
class LoyaltyApi:
    """The package's API client and the signed-in staff (of LIS: customers are retailer-wide)."""

    http: httpx.AsyncClient
    manager: dict[str, str]
    cashier: dict[str, str]
    fulfilment: dict[str, str]
