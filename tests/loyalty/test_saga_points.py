"""Points follow the sagas: a till sale with a customer earns when it completes, a return of it
takes the share back, a void takes it all back (the real Sale and Return workflows)."""

from __future__ import annotations

import uuid

from helpers.api import till_login
from helpers.webstore import eventually
from loyalty_kit import new_customer

from db.repositories import loyalty


def points(db, customer_id: int) -> int:  # type: ignore[no-untyped-def]  # takes an untyped fixture value
    with db.unit_of_work() as s:
        return loyalty.balance(s, customer_id).balance


async def test_a_sale_earns_a_return_and_a_void_take_back(api, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    customer = new_customer(db)
    carl = await till_login(api)
    sale = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 2}],  # 29.00
            "tenders": [{"kind": "cash", "amount": 3000}],
            "customer_id": customer,
        },
        headers=carl,
    )
    assert sale.status_code == 200, sale.text
    earned = await eventually(lambda: points(db, customer))
    assert earned == 29  # 1 point per 1.00 paid (the default rules)
    back = await api.post(
        "/tills/BER1/returns",
        json={
            "return_id": f"L{uuid.uuid4().hex[:10]}",
            "sale_id": sale.json()["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
        headers=carl,
    )
    assert back.status_code == 200, back.text
    assert await eventually(lambda: points(db, customer) == 15 or None)  # 14.50 of 29.00 back

    second = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 1450}],
            "customer_id": customer,
        },
        headers=carl,
    )
    assert await eventually(lambda: points(db, customer) == 29 or None)
    void = await api.post(
        f"/tills/BER1/sales/{second.json()['sale_id']}/void",
        json={"reason": "wrong customer", "manager": {"staff_code": "9001", "pin": "9001"}},
        headers=carl,
    )
    assert void.status_code == 200, void.text
    assert await eventually(lambda: points(db, customer) == 15 or None)
