"""The fulfilment board page in a real headless Chromium: sign in, sections, curbside on top,
refresh."""

from __future__ import annotations

import pytest
from helpers.chromium import launch, needs_chromium
from helpers.tills import Served
from helpers.webstore import barcode_of, new_product

pytestmark = needs_chromium


@pytest.fixture
async def board_server(db, fulfilment_env, test_settings, gateway):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from api.app import create_app

    settings = test_settings.model_copy(update={"board_refresh_seconds": 2})
    server = Served(
        lambda: create_app(
            settings, db=db, client=fulfilment_env.client, gateway=gateway, run_worker=False
        )
    )
    await server.start()
    yield server
    await server.stop()


async def test_board_page_in_chromium(board_server, orders, fapi, db, finn, tmp_path) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from playwright.async_api import async_playwright

    # A pickup whose customer is outside, a pickup waiting, and a parcel order to pick.
    outside, waiting, parcel = (new_product(db, {"BER": 2}) for _ in range(3))
    wf_out = await orders.place([(outside, 1)], pickup="BER")
    wf_wait = await orders.place([(waiting, 1)], pickup="BER")
    for wf, sku in ((wf_out, outside), (wf_wait, waiting)):
        task = await orders.task("BER", wf, "pick", finn)
        r = await fapi.post(
            f"/fulfilment/BER/tasks/{task['id']}/picked",
            headers=finn,
            json={"scans": [{"barcode": barcode_of(db, sku)}]},
        )
        assert r.status_code == 200, r.text
    (ready,) = orders.notices(f"bopis:{wf_out}:BER", "ready_for_pickup")
    here = await fapi.post(
        f"/fulfilment/BER/pickups/{orders.number(wf_out)}/arrived",
        json={"code": ready.data["code"], "bay": "7"},
    )
    assert here.status_code == 200, here.text
    wf_ship = await orders.place([(parcel, 1)])
    await orders.task("BER", wf_ship, "pick", finn)

    async with async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        try:
            await page.goto(board_server.url + "/fulfilment/BER")
            assert "Fulfilment board" in (await page.text_content("h1") or "")
            await page.wait_for_selector("#signin:not([hidden])")
            await page.fill("#username", "finn")
            await page.fill("#password", "wrong")
            await page.click("#signin button")
            await page.wait_for_function(
                "document.getElementById('message').textContent.includes('wrong')"
            )
            await page.fill("#password", "fulfil-demo")
            await page.click("#signin button")
            await page.wait_for_selector("#board section#curbside")

            # Curbside arrivals come first on the page, then pickups, picks and parcels.
            order = await page.eval_on_selector_all("#board section", "els => els.map(e => e.id)")
            assert order == ["curbside", "pickups", "picks", "parcels"]
            first = page.locator("#curbside tbody tr").first
            assert await first.get_attribute("data-order") == orders.number(wf_out)
            assert "Bay 7" in await first.inner_text()
            assert (
                await page.locator(f"#pickups tr[data-order='{orders.number(wf_wait)}']").count()
                == 1
            )
            assert (
                await page.locator(f"#picks tr[data-order='{orders.number(wf_ship)}']").count() == 1
            )
            assert "Signed in as Finn Fulfilment" in (await page.text_content("#board") or "")

            # The page refreshes itself: a new order shows up without a reload.
            late = new_product(db, {"BER": 1})
            wf_late = await orders.place([(late, 1)])
            await orders.task("BER", wf_late, "pick", finn)
            await page.wait_for_selector(
                f"#picks tr[data-order='{orders.number(wf_late)}']", timeout=15_000
            )
            # The token stays for the tab's session: a reload needs no new sign-in.
            await page.reload()
            await page.wait_for_selector("#board section#picks")
            assert await page.is_hidden("#signin")
            await page.screenshot(path=str(tmp_path / "fulfilment-board.png"), full_page=True)
            await page.click("#signout")
            await page.wait_for_selector("#signin:not([hidden])")
            assert await page.locator("#board section").count() == 0
        finally:
            await browser.close()
