"""The till agent's page API: clear 4xx answers for bad input, the central API's own refusals passed
on, and offline sign-in only for people who signed in at this till before."""

from __future__ import annotations

from helpers.tills import TcpLink, free_port, wait_until


async def test_bad_input_and_refusals_are_clear_4xx(central, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    agent = await start_agent("BER1", central.url)
    http = agent.http
    r = await http.post("/api/login", json={"staff_code": "1001", "pin": "12ab"})
    assert r.status_code == 422 and "pin" in r.json()["error"]["message"]
    r = await http.post("/api/login", json={"staff_code": "1001", "pin": "9999"})
    assert r.status_code == 401 and "PIN" in r.json()["error"]["message"]  # the central API's words
    assert (await http.get("/api/lookup", params={"barcode": "1"})).status_code == 401
    await agent.login("1001", "1234")
    h = agent.session
    r = await http.get("/api/lookup", params={"barcode": "0000000000000"}, headers=h)
    assert (
        r.status_code == 404
        and r.json()["error"]["message"] == "No product has barcode 0000000000000."
    )
    for body in (
        {},
        {
            "client_sale_id": "x y",
            "lines": [{"sku": "A", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 1}],
        },
        {
            "client_sale_id": "x",
            "lines": [{"sku": "A", "quantity": 0}],
            "tenders": [{"kind": "cash", "amount": 1}],
        },
        {
            "client_sale_id": "x",
            "lines": [{"sku": "A", "quantity": 1}],
            "tenders": [{"kind": "cheque", "amount": 1}],
        },
    ):
        r = await http.post("/api/sales", json=body, headers=h)
        assert r.status_code == 422 and r.json()["error"]["message"], body
    r = await http.post(
        "/api/sales", content=b"{nope", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 422
    unknown = await http.post(
        "/api/sales",
        headers=h,
        json={
            "client_sale_id": "unknown-sku-1",
            "lines": [{"sku": "NO-SUCH", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 100}],
        },
    )
    assert unknown.status_code == 404 and "NO-SUCH" in unknown.json()["error"]["message"]
    assert (await http.post("/api/sales/bad id!/reprint", headers=h)).status_code in (404, 422)
    assert (await http.get("/api/nothing")).status_code == 404


async def test_offline_sign_in_needs_an_earlier_online_sign_in(central, start_agent) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    never = await start_agent("LIS1", f"http://127.0.0.1:{free_port()}")
    r = await never.http.post("/api/login", json={"staff_code": "2001", "pin": "1234"})
    assert r.status_code == 401 and "signed in at this till before" in r.json()["error"]["message"]

    link = TcpLink(central.port)
    await link.up()
    agent = await start_agent("BER1", link.url)
    await agent.login("1001", "1234")
    await wait_until(lambda: agent.agent.snapshot is not None, 10, "snapshot")
    await link.cut()
    wrong = await agent.http.post("/api/login", json={"staff_code": "1001", "pin": "4321"})
    assert wrong.status_code == 401
    offline = await agent.login("1001", "1234")
    assert offline["display_name"] == "Carl Cashier"
    r = await agent.http.get(
        "/api/lookup", params={"barcode": "4006381000017"}, headers=agent.session
    )
    assert r.status_code == 200 and r.json()["sku"] == "MUG-ENAMEL" and r.json()["on_hand"] is None
    q = await agent.post(
        "/api/quote",
        {"lines": [{"sku": "TEA-GREEN", "quantity": 3}, {"sku": "MUG-ENAMEL", "quantity": 1}]},
    )
    # The same figures as the central quote (see tests/integration/test_till_sale.py).
    assert q.status_code == 200 and (
        q.json()["total"],
        q.json()["tax_total"],
        q.json()["subtotal"],
    ) == (3960, 381, 3579)
    await link.up()
    await link.cut()
