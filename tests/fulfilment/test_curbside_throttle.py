"""Curbside "I'm here" needs no sign-in, so it must not be a way to lock someone's pickup: its wrong
codes are throttled in the API (per order and per address, 429) and never count towards the
staff hand-over's lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from helpers.api import Clients, own_api
from helpers.fulfilment import trail
from helpers.webstore import barcode_of, eventually, new_product

from db.session import Database


@pytest.fixture
async def curbside(db: Database, fulfilment_env, test_settings, gateway) -> AsyncIterator[Clients]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """An API of its own on the time-skipping Temporal (its counters start at zero), with 4 wrong
    curbside codes per order and 6 per address; yields a maker of clients from an address."""
    async with own_api(
        test_settings,
        db=db,
        client=fulfilment_env.client,
        gateway=gateway,
        rate_limit_curbside_order="4/15 minutes",
        rate_limit_curbside_address="6/hour",
    ) as at:
        yield at


async def ready_pickup(orders, fapi, db, finn) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """An order picked and waiting at BER: (workflow id, order number, pickup code)."""
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 1)], pickup="BER")
    task = await orders.task("BER", wf, "pick", finn)
    r = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/picked",
        headers=finn,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": 1}]},
    )
    assert r.status_code == 200 and r.json()["phase"] == "ready", r.text
    number = await eventually(lambda: orders.number(wf))
    (ready,) = orders.notices(f"bopis:{wf}:BER", "ready_for_pickup")
    return wf, number, ready.data["code"]


def wrong(code: str, n: int = 1) -> str:
    return str((int(code) + n) % 10**6).zfill(6)


async def arrive(api: httpx.AsyncClient, number: str, code: str) -> Any:
    return await api.post(
        f"/fulfilment/BER/pickups/{number}/arrived", json={"code": code, "bay": "7"}
    )


def assert_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= 3600


async def test_wrong_curbside_codes_are_throttled_and_never_lock_the_pickup(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    curbside, orders, fapi, db, finn, fulfilment_env
) -> None:
    wf, number, code = await ready_pickup(orders, fapi, db, finn)
    outside = curbside("10.3.0.1")
    # More wrong codes than the hand-over allows (3 in these tests) before it locks.
    for n in range(1, 5):
        r = await arrive(outside, number, wrong(code, n))
        assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_code", (n, r.text)
    assert_limited(await arrive(outside, number, wrong(code, 5)))
    assert_limited(await arrive(curbside("10.3.0.2"), number, code))  # the order's limit is spent

    state = (await fapi.get(f"/fulfilment/BER/pickups/{number}", headers=finn)).json()
    assert state["wrong_codes"] == 0 and state["locked"] is False and state["phase"] == "ready"
    handle = fulfilment_env.client.get_workflow_handle(f"bopis:{wf}:BER")
    assert "update:arrived" not in await trail(handle)  # refused before the history

    handed = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": code}
    )
    assert handed.status_code == 200 and handed.json()["phase"] == "collected", handed.text


async def test_wrong_curbside_codes_are_throttled_per_address(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    curbside, orders, fapi, db, finn
) -> None:
    first, second = (
        await ready_pickup(orders, fapi, db, finn),
        await ready_pickup(orders, fapi, db, finn),
    )
    guesser = curbside("10.3.1.1")
    for n in range(1, 4):  # 3 + 3: the address's 6, while each order stays under its 4
        for _, number, code in (first, second):
            assert (await arrive(guesser, number, wrong(code, n))).status_code == 403
    _, number, code = first
    assert_limited(await arrive(guesser, number, code))
    # The customer, from their own phone, is not held up by the guesser.
    _, number, code = second
    here = await arrive(curbside("10.3.1.2"), number, code)
    assert here.status_code == 200 and here.json()["bay"] == "7", here.text
    for _, number, code in (first, second):
        handed = await fapi.post(
            f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": code}
        )
        assert handed.status_code == 200, handed.text
