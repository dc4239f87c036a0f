"""A till's shift end to end: open with a float, real sales, cash movements, blind close, Z."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from helpers.api import till_login
from helpers.webstore import eventually


def key(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Idempotency-Key": uuid.uuid4().hex}


FLOAT = [{"denomination": 2000, "quantity": 5}, {"denomination": 100, "quantity": 50}]  # 150.00


async def _sale(
    api: httpx.AsyncClient, till: str, h: dict[str, str], tender: dict[str, Any]
) -> Any:
    r = await api.post(
        f"/tills/{till}/sales",
        json={
            "client_sale_id": uuid.uuid4().hex[:16],
            "lines": [{"sku": "NOTEBOOK-A5", "quantity": 2}],
            "tenders": [tender],
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_open_sell_move_cash_close_and_z(api, shift_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    t, s = shift_till.code, shift_till.api
    carl = await till_login(s, t)
    r = await s.post(f"/tills/{t}/shifts", json={"float": FLOAT}, headers=key(carl))
    assert r.status_code == 201, r.text
    shift = r.json()
    n = shift["n"]
    assert shift["status"] == "open" and shift["float_amount"] == 15000
    again = await s.post(f"/tills/{t}/shifts", json={"float": FLOAT}, headers=key(carl))
    assert again.status_code == 409

    cash = await _sale(api, t, carl, {"kind": "cash", "amount": 5000})  # 29.00, change 21.00
    await _sale(api, t, carl, {"kind": "card", "amount": 2900, "simulate": "pm_card_visa"})
    assert cash["change_due"] == 2100

    paid_out = await s.post(
        f"/tills/{t}/shifts/{n}/cash",
        json={"kind": "paid_out", "amount": 1500, "reason": "window cleaner"},
        headers=key(carl),
    )
    assert paid_out.status_code == 200, paid_out.text
    # Above the store's limit (20.00 here) a paid-out needs the manager's staff code and PIN.
    big = {"kind": "paid_out", "amount": 2500, "reason": "plumber"}
    unapproved = await s.post(f"/tills/{t}/shifts/{n}/cash", json=big, headers=key(carl))
    assert unapproved.status_code == 403, unapproved.text
    assert unapproved.json()["error"]["code"] == "approval_required"
    approved = await s.post(
        f"/tills/{t}/shifts/{n}/cash",
        json={**big, "manager": {"staff_code": "9001", "pin": "9001"}},
        headers=key(carl),
    )
    assert approved.status_code == 200, approved.text
    drop = await s.post(
        f"/tills/{t}/shifts/{n}/cash", json={"kind": "drop", "amount": 2500}, headers=key(carl)
    )
    assert drop.status_code == 200, drop.text
    no_sale = await s.post(
        f"/tills/{t}/shifts/{n}/cash", json={"kind": "no_sale"}, headers=key(carl)
    )
    assert no_sale.status_code == 403 and no_sale.json()["error"]["code"] == "approval_required"
    wrong = await s.post(
        f"/tills/{t}/shifts/{n}/cash",
        json={"kind": "no_sale", "manager": {"staff_code": "9001", "pin": "0000"}},
        headers=key(carl),
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "approval_refused"

    x = await s.get(f"/tills/{t}/shifts/{n}/x", headers=carl)
    assert x.status_code == 200 and x.json()["expected"] is None  # blind for the cashier
    assert x.json()["by_tender"] == {"card": 2900, "cash": 2900}
    # expected cash = 150 + 50 − 21 − 15 − 25 (paid out) − 25 (drop) = 114.00
    close = await s.post(
        f"/tills/{t}/shifts/{n}/close",
        json={
            "cash": [{"denomination": 10000, "quantity": 1}, {"denomination": 200, "quantity": 7}],
            "tenders": [{"tender": "card", "amount": 2900}],
        },
        headers=key(carl),
    )
    assert close.status_code == 200, close.text
    closed = close.json()
    assert closed["status"] == "closed" and closed["variance"] == 0 and closed["z_number"] == 1

    async def printed() -> Any:
        z = await s.get(f"/tills/{t}/shifts/{n}/z", headers=carl)
        return z.json() if z.status_code == 200 and z.json()["printed"] else None

    z = await eventually(printed)
    assert z["z_number"] == 1 and z["report"]["sales_count"] == 2
    assert z["report"]["left_in_drawer"] == 11400
    moved = {m["kind"]: m["amount"] for m in z["report"]["movements"]}
    assert moved["paid_out"] == 1500 + 2500 and moved["drop"] == 2500, moved
    assert shift_till.printer.read_bytes().count(b"Z REPORT 1") == 1
    late = await s.post(
        f"/tills/{t}/shifts/{n}/cash", json={"kind": "drop", "amount": 100}, headers=key(carl)
    )
    assert late.status_code == 409

    # Shift 2: a short drawer waits for the manager; the Z number follows on without a gap.
    r2 = await s.post(f"/tills/{t}/shifts", json={"float": FLOAT}, headers=key(carl))
    assert r2.status_code == 201 and r2.json()["n"] == n + 1
    # The new float against what shift 1 left in the drawer: 150.00 − 114.00.
    assert r2.json()["float_difference"] == 15000 - z["report"]["left_in_drawer"] == 3600
    n2 = r2.json()["n"]
    short = await s.post(
        f"/tills/{t}/shifts/{n2}/close",
        json={"cash": [{"denomination": 10000, "quantity": 1}]},
        headers=key(carl),
    )
    assert short.status_code == 200 and short.json()["status"] == "review", short.text
    assert (
        await s.post(
            f"/tills/{t}/shifts/{n2}/approve",
            json={"decision": "approve", "note": "x"},
            headers=key(carl),
        )
    ).status_code == 403
    mia = (await s.post("/auth/login", json={"username": "mia", "password": "manager-demo"})).json()
    mh = {"Authorization": f"Bearer {mia['token']}"}
    ok = await s.post(
        f"/tills/{t}/shifts/{n2}/approve",
        json={"decision": "approve", "note": "counted twice, 50 short"},
        headers=key(mh),
    )
    assert ok.status_code == 200 and ok.json()["status"] == "closed", ok.text
    cur = await s.get(f"/tills/{t}/shifts/current", headers=carl)
    assert cur.status_code == 404
    z2 = await eventually(lambda: _z(s, t, n2, carl))
    assert z2["z_number"] == 2
    listed = await s.get("/stores/BER/shifts", params={"status": "closed"}, headers=mh)
    assert {(i["till"], i["z_number"]) for i in listed.json() if i["till"] == t} == {(t, 1), (t, 2)}


async def _z(s: httpx.AsyncClient, t: str, n: int, h: dict[str, str]) -> Any:
    z = await s.get(f"/tills/{t}/shifts/{n}/z", headers=h)
    return z.json() if z.status_code == 200 and z.json()["printed"] else None
