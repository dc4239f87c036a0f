"""A whole cash sale on the till page in a real headless Chromium, with the keyboard only."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.chromium import launch, needs_chromium
from helpers.tills import wait_until

from db.repositories import catalog, orders

pytestmark = needs_chromium


def barcodes(db, skus: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        till = catalog.till_view(s, "BER1")
        assert till is not None
        items = catalog.items_by_sku(s, till.location_id, skus)
    return {sku: items[sku].barcodes[0] for sku in skus}


async def test_keyboard_only_cash_sale(central, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from playwright.async_api import async_playwright

    agent = await start_agent("BER1", central.url)
    await wait_until(lambda: agent.agent.online, 10, "the agent to see the central API")
    codes = barcodes(db, ["MUG-ENAMEL", "TEA-GREEN", "POSTCARD"])
    async with async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        try:
            await page.goto(agent.url + "/")
            key = page.keyboard
            # Sign in: staff code, Enter, PIN, Enter. The cursor starts in the staff code field.
            await page.wait_for_function(
                "document.activeElement && document.activeElement.id === 'staff'"
            )
            await key.type("1001")
            await key.press("Enter")
            await key.type("1234")
            await key.press("Enter")
            await page.wait_for_selector("#sale:not([hidden])")
            await page.wait_for_function("document.activeElement.id === 'scan'")
            await page.wait_for_selector("#status-online.online")

            # Two mugs with the quantity prefix, one tea, a postcard removed again.
            await key.type(f"2*{codes['MUG-ENAMEL']}")
            await key.press("Enter")
            await page.wait_for_selector("#basket tbody tr[data-sku='MUG-ENAMEL']")
            await key.type(codes["TEA-GREEN"])
            await key.press("Enter")
            await key.type(codes["POSTCARD"])
            await key.press("Enter")
            await page.wait_for_function(
                "document.querySelectorAll('#basket tbody tr').length === 3"
            )
            await key.press("Delete")  # the postcard: the newest line is selected
            await page.wait_for_function(
                "document.querySelectorAll('#basket tbody tr').length === 2"
            )
            await key.press("ArrowUp")  # the mugs
            await key.press("ArrowDown")  # the tea again
            await key.type("+")  # one more tea: 2 in all
            # Totals come from /quote: 2 x 12.90 mugs + 2 x 8.90 tea.
            await page.wait_for_function("document.getElementById('total').textContent === '43.60'")
            assert await page.text_content("#tax-label") == "Tax included"

            # Cash: F4 offers the total; type what the customer hands over and press Enter.
            await key.press("F4")
            await page.wait_for_function("document.activeElement.id === 'amount'")
            assert await page.input_value("#amount") == "43.60"
            await key.type("50")
            await key.press("Enter")
            await page.wait_for_selector("#change")
            assert await page.text_content("#change") == "Change due 6.40"
            summary = await page.text_content("#last-sale")
            await page.wait_for_function(
                "document.activeElement.id === 'scan'"
            )  # ready for the next customer
            assert await page.locator("#basket tbody tr").count() == 0
            await page.screenshot(path=str(Path(agent.agent.config.data_dir) / "till-page.png"))
        finally:
            await browser.close()

    match = re.search(r"Sale (BER1-\d+)", summary or "")
    assert match, summary
    with db.unit_of_work() as s:
        order = orders.order_by_number(s, match.group(1))
        assert order is not None and order.total == 4360 and order.change_due == 640
        lines = [(ln.sku, ln.quantity) for ln in orders.order_lines(s, order.id)]
        pays = [(p.tender, p.amount, p.tendered) for p in orders.payments_for(s, order.workflow_id)]
    assert lines == [("MUG-ENAMEL", 2), ("TEA-GREEN", 2)]
    assert pays == [("cash", 4360, 5000)]
