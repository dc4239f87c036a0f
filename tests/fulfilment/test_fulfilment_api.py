"""The fulfilment API's edges: who may act where, unknown things, bad input, claims, replays, ended
tasks."""

from __future__ import annotations

from datetime import datetime

from helpers.webstore import barcode_of, eventually, new_product


async def test_only_fulfilment_staff_and_managers_of_the_location(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fapi, finn, mia, carl, lisbon_picker
) -> None:
    assert (await fapi.get("/fulfilment/BER/tasks")).status_code == 401
    cashier = await fapi.get("/fulfilment/BER/tasks", headers=carl)
    assert cashier.status_code == 403 and "cashier" in cashier.json()["error"]["message"]
    elsewhere = await fapi.get("/fulfilment/BER/board", headers=lisbon_picker)
    assert elsewhere.status_code == 403 and "BER" in elsewhere.json()["error"]["message"]
    assert (await fapi.get("/fulfilment/LIS/tasks", headers=lisbon_picker)).status_code == 200
    assert (await fapi.get("/fulfilment/WH1/board", headers=finn)).status_code == 200
    assert (await fapi.get("/fulfilment/BER/tasks", headers=mia)).status_code == 200
    assert (await fapi.get("/fulfilment/NOPE/tasks", headers=finn)).status_code == 404
    assert (
        await fapi.get("/fulfilment/BER/tasks", params={"kind": "dance"}, headers=finn)
    ).status_code == 422
    assert (
        await fapi.post("/fulfilment/BER/tasks/999999999/claim", headers=finn)
    ).status_code == 404
    assert (await fapi.post("/fulfilment/BER/tasks/0/claim", headers=finn)).status_code == 422
    assert (
        await fapi.post(
            "/fulfilment/BER/pickups/SHOP-000000/handover", headers=finn, json={"code": "123456"}
        )
    ).status_code == 404
    # A cashier of the store hands pickups over at the till: an unknown order is a 404 for them.
    assert (
        await fapi.post(
            "/fulfilment/BER/pickups/SHOP-000000/handover", headers=carl, json={"code": "123456"}
        )
    ).status_code == 404
    assert (
        await fapi.post("/fulfilment/NOPE/pickups/SHOP-1/arrived", json={"code": "1", "bay": "1"})
    ).status_code == 404
    assert (
        await fapi.get("/fulfilment/BER/labels/TF000000000000DE", headers=finn)
    ).status_code == 404
    assert (await fapi.get("/fulfilment/NOPE")).status_code == 404


async def test_tasks_oldest_first_claims_replays_and_ended_tasks(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders,
    fapi,
    db,
    finn,
    mia,
    lisbon_picker,
) -> None:
    first, second = new_product(db, {"LIS": 2}), new_product(db, {"LIS": 2})
    wf1 = await orders.place([(first, 1)])
    t1 = await orders.task("LIS", wf1, "pick", lisbon_picker)
    wf2 = await orders.place([(second, 1)])
    t2 = await orders.task("LIS", wf2, "pick", lisbon_picker)
    listed = (
        await fapi.get("/fulfilment/LIS/tasks", params={"kind": "pick"}, headers=lisbon_picker)
    ).json()
    ids = [t["id"] for t in listed]
    assert ids.index(t1["id"]) < ids.index(t2["id"])
    assert all(datetime.fromisoformat(t["due_at"]) for t in listed)

    # Someone else's claim stands; a manager may take it over; a replay returns the first answer.
    url = f"/fulfilment/LIS/tasks/{t1['id']}/claim"
    mine = await fapi.post(url, headers={**lisbon_picker, "Idempotency-Key": "claim-1"})
    assert mine.status_code == 200, mine.text
    replay = await fapi.post(url, headers={**lisbon_picker, "Idempotency-Key": "claim-1"})
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replay") == "true"
    taken = await fapi.post(url, headers=finn)
    assert taken.status_code == 409 and "Lena Lisboa" in taken.json()["error"]["message"]
    assert (await fapi.post(url, headers=mia)).status_code == 200
    listed = (await fapi.get("/fulfilment/LIS/tasks", params={"kind": "pick"}, headers=finn)).json()
    assert next(t for t in listed if t["id"] == t1["id"])["assignee"] == "Mia Manager"

    # Another location's task is not found through this one; bad bodies are 422, never 500.
    assert (
        await fapi.post(f"/fulfilment/BER/tasks/{t1['id']}/claim", headers=finn)
    ).status_code == 404
    picked = f"/fulfilment/LIS/tasks/{t1['id']}/picked"
    assert (await fapi.post(picked, headers=finn, json={"scans": []})).status_code == 422
    assert (
        await fapi.post(picked, headers=finn, json={"scans": [{"barcode": "no spaces please"}]})
    ).status_code == 422
    assert (
        await fapi.post(
            picked,
            headers=finn,
            content=b"{not json",
        )
    ).status_code == 422
    unknown = await fapi.post(picked, headers=finn, json={"scans": [{"barcode": "0000000000000"}]})
    assert (
        unknown.status_code == 422 and "not in the catalogue" in unknown.json()["error"]["message"]
    )
    pack_too_early = await fapi.post(
        f"/fulfilment/LIS/tasks/{t1['id']}/pack",
        headers=finn,
        json={"weight_g": 100, "length_cm": 1, "width_cm": 1, "height_cm": 1},
    )
    assert pack_too_early.status_code == 409
    ok = await fapi.post(picked, headers=finn, json={"scans": [{"barcode": barcode_of(db, first)}]})
    assert ok.status_code == 200 and ok.json()["phase"] == "packing"
    again = await fapi.post(
        picked, headers=finn, json={"scans": [{"barcode": barcode_of(db, first)}]}
    )
    assert again.status_code == 409
    assert (
        await fapi.post(
            f"/fulfilment/LIS/tasks/{t1['id']}/shortage",
            headers=finn,
            json={"missing": [{"sku": first, "quantity": 1}]},
        )
    ).status_code == 409
    pack = await orders.task("LIS", wf1, "pack", finn)
    assert (
        await fapi.post(
            f"/fulfilment/LIS/tasks/{pack['id']}/pack", headers=finn, json={"weight_g": 100}
        )
    ).status_code == 422
    # Shipping before packing is refused; an order still being picked has no pickup to extend.
    assert (
        await fapi.post(f"/fulfilment/LIS/tasks/{pack['id']}/ship", headers=finn)
    ).status_code == 409
    number = await eventually(lambda: orders.number(wf2))
    assert (
        await fapi.post(f"/fulfilment/LIS/pickups/{number}/extend", headers=mia, json={"days": 100})
    ).status_code == 422


async def test_opening_hours_are_read_by_staff_and_set_by_managers(fapi, finn, mia) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ber = (await fapi.get("/fulfilment/BER/hours", headers=finn)).json()
    assert ber["timezone"] == "Europe/Berlin" and ber["opening_day_hours"] == 11
    assert [d["weekday"] for d in ber["days"]] == [0, 1, 2, 3, 4, 5]  # closed on Sunday
    weekdays = {"days": [{"weekday": d, "opens": "08:00", "closes": "16:30"} for d in range(5)]}
    assert (await fapi.put("/fulfilment/WH1/hours", headers=finn, json=weekdays)).status_code == 403
    backwards = {"days": [{"weekday": 0, "opens": "18:00", "closes": "08:00"}]}
    bad = await fapi.put("/fulfilment/WH1/hours", headers=mia, json=backwards)
    assert bad.status_code == 422 and "before closing" in bad.json()["error"]["message"]
    twice = {"days": [{"weekday": 0, "opens": "08:00", "closes": "09:00"}] * 2}
    assert (await fapi.put("/fulfilment/WH1/hours", headers=mia, json=twice)).status_code == 422
    assert (
        await fapi.put(
            "/fulfilment/WH1/hours",
            headers=mia,
            json={"days": [{"weekday": 0, "opens": "25:00", "closes": "26:00"}]},
        )
    ).status_code == 422
    r = await fapi.put("/fulfilment/WH1/hours", headers=mia, json=weekdays)
    assert r.status_code == 200 and r.json()["opening_day_hours"] == 8.5, r.text
    assert (
        (await fapi.get("/fulfilment/WH1/hours", headers=finn))
        .json()["summary"]
        .startswith("Mon 08:00–16:30")
    )
    always = await fapi.put("/fulfilment/WH1/hours", headers=mia, json={"days": []})
    assert always.json()["summary"] == "always open" and always.json()["opening_day_hours"] == 24
