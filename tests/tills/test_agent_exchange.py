"""Exchanges through the till agent against the real central API: the returned goods pay for the
new ones; when the new goods cost more the exchange sale stays open for the difference and takes
its tender like any open sale; when they cost less the difference is refunded from the drawer."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.tills import AgentUnderTest

FLOAT = [{"denomination": 2000, "quantity": 5}]  # 100.00


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _post(agent: AgentUnderTest, path: str, body: Any = None) -> Any:
    return await agent.http.post(path, json=body, headers={**agent.session, **_key()})


async def _cash_sale(agent: AgentUnderTest, sku: str, quantity: int) -> dict[str, Any]:
    line = [{"sku": sku, "quantity": quantity}]
    total = (await agent.post("/api/quote", {"lines": line})).json()["total"]
    sale = await agent.post(
        "/api/sales",
        {
            "client_sale_id": f"xs-{uuid.uuid4().hex[:12]}",
            "lines": line,
            "tenders": [{"kind": "cash", "amount": total}],
        },
    )
    assert sale.status_code == 200 and sale.json()["status"] == "completed", sale.text
    answer: dict[str, Any] = sale.json()
    return answer


async def test_dearer_goods_take_the_difference_in_cash(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    assert (await _post(agent, "/api/shift/open", {"float": FLOAT})).status_code == 201
    sold = await _cash_sale(agent, "NOTEBOOK-A5", 1)
    new = [{"sku": "MUG-STONE", "quantity": 1}]
    new_total = (await agent.post("/api/quote", {"lines": new})).json()["total"]
    rid = f"R{uuid.uuid4().hex[:10]}"
    body = {
        "return_id": rid,
        "sale_id": sold["sale_id"],
        "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        "exchange": {"lines": new},
    }
    answer = await agent.post("/api/returns", body)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["status"] == "completed" and got["exchange_credit"] == sold["total"]
    assert got["cash_out"] == 0 and got["refunds"] == []
    exchange = got["exchange_sale"]
    assert exchange["status"] == "open" and exchange["due"] == new_total - sold["total"]
    # The difference: a tender for the open exchange sale, by its client sale id.
    paid = await _post(
        agent, f"/api/sales/x-{rid}/tenders", {"tenders": [{"kind": "cash", "amount": 500}]}
    )
    assert paid.status_code == 200 and paid.json()["status"] == "completed", paid.text
    assert paid.json()["change_due"] == 500 - exchange["due"]


async def test_an_exchange_for_cheaper_goods_refunds_the_difference(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    assert (await _post(agent, "/api/shift/open", {"float": FLOAT})).status_code == 201
    sold = await _cash_sale(agent, "MUG-STONE", 1)
    new = [{"sku": "MUG-ENAMEL", "quantity": 1}]
    new_total = (await agent.post("/api/quote", {"lines": new})).json()["total"]
    answer = await agent.post(
        "/api/returns",
        {
            "return_id": f"R{uuid.uuid4().hex[:10]}",
            "sale_id": sold["sale_id"],
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
            "exchange": {"lines": new, "tenders": []},
        },
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["exchange_credit"] == new_total
    assert got["cash_out"] == sold["total"] - new_total
    assert got["exchange_sale"]["status"] == "completed"
    assert got["exchange_sale"]["change_due"] == 0


async def test_a_bad_exchange_is_a_clear_4xx(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    exchange: dict[str, Any]
    for exchange in (
        {"lines": []},
        {"lines": [{"sku": "MUG-STONE", "quantity": 0}]},
        {"lines": [{"sku": "MUG-STONE", "quantity": 1}], "tenders": [{"kind": "iou", "amount": 1}]},
    ):
        r = await agent.post(
            "/api/returns",
            {
                "return_id": f"R{uuid.uuid4().hex[:10]}",
                "sale_id": "NO-SUCH-1",
                "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
                "exchange": exchange,
            },
        )
        assert r.status_code == 422 and r.json()["error"]["message"], r.text
