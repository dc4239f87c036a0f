"""The till agent's day routes over real HTTP against the real central API: a shift opened with a
float, cash sales, a declined card then cash, an abandoned sale, cash movements with a manager's
PIN, a return, the blind close and its Z report on the till's printer."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.tills import AgentUnderTest
from helpers.webstore import eventually

FLOAT = [{"denomination": 2000, "quantity": 5}, {"denomination": 100, "quantity": 50}]  # 150.00
MANAGER = {"staff_code": "9001", "pin": "9001"}


def _cid() -> str:
    return f"day-{uuid.uuid4().hex[:12]}"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _count(amount: int) -> list[dict[str, int]]:
    """`amount` as euros and cents in the drawer."""
    return [
        {"denomination": 100, "quantity": amount // 100},
        {"denomination": 1, "quantity": amount % 100},
    ]


async def _post(agent: AgentUnderTest, path: str, body: Any = None, **kw: Any) -> Any:
    return await agent.http.post(path, json=body, headers={**agent.session, **_key()}, **kw)


async def test_a_day_at_the_till_through_the_agent(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    h = agent.session
    first = (await agent.http.get("/api/shift", headers=h)).json()
    assert first["shift"] is None and first["currency"] == "EUR" and 2000 in first["denominations"]

    bad = await _post(agent, "/api/shift/open", {"float": [{"denomination": 3, "quantity": 1}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_denomination"
    opened = await _post(agent, "/api/shift/open", {"float": FLOAT})
    assert opened.status_code == 201, opened.text
    n = opened.json()["n"]
    assert opened.json()["float_amount"] == 15000
    assert (await agent.http.get("/api/shift", headers=h)).json()["shift"]["n"] == n

    line = [{"sku": "NOTEBOOK-A5", "quantity": 2}]
    total = (await agent.post("/api/quote", {"lines": line})).json()["total"]
    cash_sale = await agent.post(
        "/api/sales",
        {"client_sale_id": _cid(), "lines": line, "tenders": [{"kind": "cash", "amount": 5000}]},
    )
    assert cash_sale.status_code == 200 and cash_sale.json()["status"] == "completed"
    assert cash_sale.json()["change_due"] == 5000 - total

    # A declined card leaves the sale open with what is due; cash then completes it.
    declined_id = _cid()
    declined = await agent.post(
        "/api/sales",
        {
            "client_sale_id": declined_id,
            "lines": line,
            "tenders": [
                {"kind": "card", "amount": total, "simulate": "pm_card_chargeCustomerFail"}
            ],
        },
    )
    assert declined.status_code == 200 and declined.json()["status"] == "open", declined.text
    assert declined.json()["due"] == total and declined.json()["declines"]
    paid = await _post(
        agent,
        f"/api/sales/{declined_id}/tenders",
        {"tenders": [{"kind": "cash", "amount": total}]},
    )
    assert paid.status_code == 200 and paid.json()["status"] == "completed", paid.text
    # Another declined card, and the customer walks away.
    gone_id = _cid()
    await agent.post(
        "/api/sales",
        {
            "client_sale_id": gone_id,
            "lines": line,
            "tenders": [
                {"kind": "card", "amount": total, "simulate": "pm_card_chargeCustomerFail"}
            ],
        },
    )
    gone = await _post(agent, f"/api/sales/{gone_id}/abandon")
    assert gone.status_code == 200 and gone.json()["status"] == "abandoned", gone.text

    # Cash movements: a paid-out with its reason; a no-sale needs the manager's PIN.
    out = await _post(
        agent, f"/api/shift/{n}/cash", {"kind": "paid_out", "amount": 1500, "reason": "milk"}
    )
    assert out.status_code == 200, out.text
    no_sale = await _post(agent, f"/api/shift/{n}/cash", {"kind": "no_sale"})
    assert no_sale.status_code == 403 and no_sale.json()["error"]["code"] == "approval_required"
    wrong = await _post(
        agent,
        f"/api/shift/{n}/cash",
        {"kind": "no_sale", "manager": {"staff_code": "9001", "pin": "0000"}},
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "approval_refused"
    ok = await _post(agent, f"/api/shift/{n}/cash", {"kind": "no_sale", "manager": MANAGER})
    assert ok.status_code == 200, ok.text

    # A return of one notebook of the first sale, cash back from this drawer.
    number = cash_sale.json()["sale_id"]
    found = await agent.http.get("/api/returns/lookup", params={"receipt": number}, headers=h)
    assert found.status_code == 200 and found.json()[0]["lines"][0]["returnable"] == 2
    returned = await _post(
        agent,
        "/api/returns",
        {
            "return_id": f"R{uuid.uuid4().hex[:10]}",
            "sale_id": number,
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert returned.status_code == 200 and returned.json()["status"] == "completed", returned.text
    cash_back = returned.json()["cash_out"]
    assert cash_back == total // 2

    x = await agent.http.get(f"/api/shift/{n}/x", headers=h)
    assert x.status_code == 200 and x.json()["expected"] is None  # blind for the cashier
    assert x.json()["by_tender"]["cash"] == 2 * total

    wrong_close = await _post(agent, f"/api/shift/{n}/close", {"cash": [], "tenders": "x"})
    assert wrong_close.status_code == 422
    expected = 15000 + 2 * total - 1500 - cash_back
    closed = await _post(agent, f"/api/shift/{n}/close", {"cash": _count(expected)})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["variance"] == 0, closed.text
    z_number = closed.json()["z_number"]

    async def printed() -> Any:
        z = await agent.http.get(f"/api/shift/{n}/z", headers=h)
        return z.json() if z.status_code == 200 and z.json()["printed"] else None

    z = await eventually(printed)
    assert z["z_number"] == z_number == 1
    assert day_till.printer.read_bytes().count(f"Z REPORT {z_number}".encode()) == 1
    assert (await agent.http.get("/api/shift", headers=h)).json()["shift"] is None


async def test_a_short_drawer_is_approved_at_the_till(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    n = (await _post(agent, "/api/shift/open", {"float": FLOAT})).json()["n"]
    short = await _post(agent, f"/api/shift/{n}/close", {"cash": _count(14000)})
    assert short.status_code == 200 and short.json()["status"] == "review", short.text
    assert "variance" not in short.json() or short.json()["variance"] is not None
    refused = await _post(
        agent, f"/api/shift/{n}/approve", {"staff_code": "1001", "pin": "1234", "note": "me"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "approval_refused"
    assert (await agent.http.get("/api/shift", headers=agent.session)).status_code == 200
    ok = await _post(
        agent, f"/api/shift/{n}/approve", {**MANAGER, "note": "counted twice, 10 short"}
    )
    assert ok.status_code == 200 and ok.json()["status"] == "closed", ok.text


async def test_bad_input_is_a_clear_4xx(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    assert (await agent.http.get("/api/shift")).status_code == 401
    await agent.login("1001", "1234")
    h = agent.session
    for path, body in (
        ("/api/shift/1/cash", {"kind": "bribe"}),
        ("/api/shift/1/cash", {"kind": "paid_in", "amount": -1}),
        ("/api/shift/0/close", {"cash": []}),
        ("/api/returns", {"return_id": "x y", "lines": []}),
        ("/api/pickups/ORD-1/handover", {}),
        ("/api/sales/abc/tenders", {"tenders": [{"kind": "cheque", "amount": 1}]}),
    ):
        r = await _post(agent, path, body)
        assert r.status_code == 422 and r.json()["error"]["message"], (path, r.text)
    missing = await agent.http.get("/api/shift/99/x", headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_shift"
    none = await agent.http.get("/api/returns/lookup", params={"receipt": "NO-SUCH-1"}, headers=h)
    assert none.status_code == 404
    assert (await agent.http.get("/api/returns/lookup", headers=h)).status_code == 422
    # The central system's refusal reaches the page with its own code: the store's cashiers may
    # look up and hand over pickups at the till, so an unknown order is a 404 (a whole hand-over
    # at the till: tests/fulfilment/test_pickup_at_the_till.py).
    pickup = await agent.http.get("/api/pickups/NOPE-1", headers=h)
    assert pickup.status_code == 404 and pickup.json()["error"]["code"], pickup.text


async def test_discounts_with_the_manager_pin_search_and_void(day_till, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    h = agent.session
    assert (await _post(agent, "/api/shift/open", {"float": FLOAT})).status_code == 201
    found = await agent.http.get("/api/products", params={"q": "NOTEBOOK"}, headers=h)
    assert found.status_code == 200 and "NOTEBOOK-A5" in {p["sku"] for p in found.json()}
    people = await agent.http.get("/api/customers", params={"q": "no-such-person"}, headers=h)
    assert people.status_code == 200 and people.json() == []

    line = [{"sku": "NOTEBOOK-A5", "quantity": 2}]
    small = {"scope": "line", "line": 1, "kind": "percent", "value": 500, "reason": "damaged"}
    big = {**small, "value": 2500}
    quoted = await agent.post("/api/quote", {"lines": line, "adjustments": [small]})
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["lines"][0]["discount"] > 0 and not quoted.json()["approval_needed"]
    bad = await agent.post("/api/quote", {"lines": line, "adjustments": [{**small, "kind": "x"}]})
    assert bad.status_code == 422

    sale_id = _cid()
    body = {
        "client_sale_id": sale_id,
        "lines": line,
        "adjustments": [big],
        "tenders": [{"kind": "cash", "amount": 5000}],
    }
    waiting = await agent.post("/api/sales", body)
    assert waiting.status_code == 200 and waiting.json()["status"] == "open", waiting.text
    assert waiting.json()["approval_needed"]
    wrong = await _post(
        agent, f"/api/sales/{sale_id}/approve", {"staff_code": "9001", "pin": "0000", "note": ""}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "approval_refused"
    assert (await agent.http.get("/api/shift", headers=h)).status_code == 200  # still signed in
    ok = await _post(agent, f"/api/sales/{sale_id}/approve", {**MANAGER, "note": "scratched"})
    assert ok.status_code == 200 and ok.json()["status"] == "completed", ok.text
    number = ok.json()["sale_id"]

    void = await _post(
        agent, f"/api/sales/{number}/void", {"reason": "rung up twice", "manager": MANAGER}
    )
    assert void.status_code == 200 and void.json()["status"] == "completed", void.text
    assert void.json()["refund_total"] == ok.json()["total"]


async def test_a_return_without_receipt_approved_at_the_till(day_till, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from db.repositories import customers

    with db.unit_of_work() as s:
        customer = customers.create(s, name="Nora", email=f"{uuid.uuid4().hex}@example.com").id
    agent = await start_agent(day_till.code, day_till.central.url)
    await agent.login("1001", "1234")
    assert (await _post(agent, "/api/shift/open", {"float": FLOAT})).status_code == 201
    body = {
        "return_id": f"R{uuid.uuid4().hex[:10]}",
        # Over the store's cap for returns without a receipt: a manager approves.
        "lines": [{"sku": "BLANKET-WOOL", "quantity": 2, "disposition": "quarantine"}],
        "refund_to": "store_credit",
        "customer_id": customer,
    }
    waiting = await _post(agent, "/api/returns", body)
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["status"] == "awaiting_approval" and waiting.json()["approval_reasons"]
    rid = body["return_id"]
    wrong = await _post(
        agent, f"/api/returns/{rid}/approve", {"staff_code": "9001", "pin": "0000", "note": ""}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "approval_refused"
    ok = await _post(agent, f"/api/returns/{rid}/approve", {**MANAGER, "note": "checked"})
    assert ok.status_code == 200 and ok.json()["status"] != "awaiting_approval", ok.text
    seen = await agent.http.get(f"/api/returns/{rid}", headers=agent.session)
    assert seen.status_code == 200 and seen.json()["status"] == ok.json()["status"]
