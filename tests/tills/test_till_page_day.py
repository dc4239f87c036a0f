"""A cashier's day on the till page in a real headless Chromium, keyboard only: sign in, open the
shift with a float count, a cash sale, a return of one of its items, the blind close with the
counted cash equal to the expected, and the Z report printed on the till's printer."""

from __future__ import annotations

import re
import uuid
from typing import Any

from helpers.chromium import launch, needs_chromium
from helpers.webstore import eventually

from db.repositories import catalog
from domain.money import format_minor
from domain.shifts import denominations

EUR = denominations("EUR")

pytestmark = needs_chromium


def barcode(db, till: str, sku: str) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        view = catalog.till_view(s, till)
        assert view is not None
        return catalog.items_by_sku(s, view.location_id, [sku])[sku].barcodes[0]


async def count(page: Any, pieces: dict[int, int]) -> None:
    """Type a count into the screen's note and coin fields, largest first, Enter between."""
    for i, d in enumerate(EUR):
        if pieces.get(d):
            await page.keyboard.type(str(pieces[d]))
        if i < len(EUR) - 1:
            await page.keyboard.press("Enter")


async def focused(page: Any, element_id: str) -> None:
    await page.wait_for_function(
        f"document.activeElement && document.activeElement.id === '{element_id}'"
    )


async def test_keyboard_only_shift_sale_return_close_and_z(day_till, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from playwright.async_api import async_playwright

    agent = await start_agent(day_till.code, day_till.central.url)
    code = barcode(db, day_till.code, "NOTEBOOK-A5")
    async with async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        key = page.keyboard
        try:
            await page.goto(agent.url + "/")
            await focused(page, "staff")
            await key.type("1001")
            await key.press("Enter")
            await key.type("1234")
            await key.press("Enter")

            # No open shift: the float count comes first, one field per note and coin.
            await page.wait_for_selector("#shift-open:not([hidden])")
            await focused(page, f"open-{EUR[0]}")
            await count(page, {2000: 5, 100: 50})
            await page.wait_for_function(
                "document.getElementById('open-total').textContent === '150.00'"
            )
            await key.press("F5")
            await page.wait_for_selector("#sale:not([hidden])")
            await focused(page, "scan")
            assert "Shift 1 open" in (await page.text_content("#message") or "")

            # A cash sale of two notebooks.
            await key.type(f"2*{code}")
            await key.press("Enter")
            await page.wait_for_selector("#basket tbody tr[data-sku='NOTEBOOK-A5']")
            await page.wait_for_function("document.getElementById('total').textContent !== '0.00'")
            await key.press("F4")
            await focused(page, "amount")
            await key.type("50")
            await key.press("Enter")
            await page.wait_for_selector("#change")
            summary = await page.text_content("#last-sale") or ""
            match = re.search(r"Sale (\S+) · total (\d+)\.(\d\d)", summary)
            assert match, summary
            number, total = match.group(1), int(match.group(2)) * 100 + int(match.group(3))

            # Alt+R: the return screen; the receipt's number, one notebook back, F5 refunds.
            await key.press("Alt+r")
            await focused(page, "return-receipt")
            await key.type(number)
            await key.press("Enter")
            await focused(page, "return-qty-1")
            await key.type("1")
            await key.press("F5")
            await page.wait_for_function(
                "document.getElementById('return-result').textContent.startsWith('Refunded')"
            )
            result = await page.text_content("#return-result") or ""
            back = re.search(r"Give back (\d+)\.(\d\d) cash", result)
            assert back, result
            cash_back = int(back.group(1)) * 100 + int(back.group(2))
            assert cash_back == total // 2
            await key.press("Escape")
            await focused(page, "scan")

            # Alt+C: the blind close; the count is what the drawer holds (float + sale - refund).
            expected = 15000 + total - cash_back
            await key.press("Alt+c")
            await focused(page, f"close-{EUR[0]}")
            await count(page, {100: expected // 100, 1: expected % 100})
            await key.press("F5")
            await page.wait_for_function(
                "document.querySelector('#shift-open .message').textContent.includes('Z report')",
                timeout=30_000,
            )
            message = await page.text_content("#shift-open .message") or ""
            assert "Shift 1 closed · Z report 1 printed" in message, message
            await focused(page, f"open-{EUR[0]}")  # ready for the next shift's float
        finally:
            await browser.close()

    async def z_printed() -> bytes | None:
        data = day_till.printer.read_bytes() if day_till.printer.exists() else b""
        return data if b"Z REPORT 1" in data else None

    printed = await eventually(z_printed)
    z = printed[printed.index(b"Z REPORT 1") :]
    assert b"Till " + day_till.code.encode() in z and b"Shift 1" in z
    counted = format_minor(expected, "EUR").encode()
    cash_row = next(ln for ln in z.split(b"\n") if ln.startswith(b"cash"))
    assert cash_row.count(counted) == 2, cash_row  # expected and counted, no variance
    assert format_minor(0, "EUR").encode() in z.split(b"VARIANCE")[1].split(b"\n")[0]


async def test_declined_card_then_cash_and_an_abandoned_sale(day_till, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from playwright.async_api import async_playwright

    agent = await start_agent(day_till.code, day_till.central.url)
    code = barcode(db, day_till.code, "NOTEBOOK-A5")
    async with async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        key = page.keyboard
        try:
            # The simulated reader declines every card tap on this page.
            await page.goto(agent.url + "/?testcard=pm_card_chargeCustomerFail")
            await focused(page, "staff")
            await key.type("1001")
            await key.press("Enter")
            await key.type("1234")
            await key.press("Enter")
            await focused(page, f"open-{EUR[0]}")
            await count(page, {1000: 10})
            await key.press("F5")
            await focused(page, "scan")

            await key.type(code)
            await key.press("Enter")
            await page.wait_for_function("document.getElementById('total').textContent !== '0.00'")
            total = await page.text_content("#total")
            await key.press("F6")
            await focused(page, "amount")
            await key.press("Enter")
            await page.wait_for_function(
                "document.getElementById('message').textContent.includes('still due')"
            )
            message = await page.text_content("#message") or ""
            assert f"{total} still due" in message and "Alt+A" in message, message
            # Another tender for the same open sale: cash, the amount due offered.
            await focused(page, "scan")
            await key.press("F4")
            await focused(page, "amount")
            assert await page.input_value("#amount") == total
            await key.press("Enter")
            await page.wait_for_selector("#change")
            assert await page.text_content("#change") == "Change due 0.00"

            # A second declined card, and the customer walks away: Alt+A abandons the sale.
            await focused(page, "scan")
            await key.type(code)
            await key.press("Enter")
            await page.wait_for_function("document.getElementById('total').textContent !== '0.00'")
            await key.press("F6")
            await focused(page, "amount")
            await key.press("Enter")
            await page.wait_for_function(
                "document.getElementById('message').textContent.includes('still due')"
            )
            await key.press("Alt+a")
            await page.wait_for_function(
                "document.getElementById('message').textContent.startsWith('Sale abandoned')"
            )
            assert await page.locator("#basket tbody tr").count() == 0
        finally:
            await browser.close()


async def test_discount_over_the_limit_approved_by_manager_pin(day_till, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Also: the product found by its SKU (Alt+S) and a customer attached (Alt+U)."""
    from playwright.async_api import async_playwright

    from db.repositories import customers, orders

    name = f"Zed {uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        customer = customers.create(s, name=name, email=f"{uuid.uuid4().hex}@example.com").id
    agent = await start_agent(day_till.code, day_till.central.url)
    async with async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        key = page.keyboard
        try:
            await page.goto(agent.url + "/")
            await focused(page, "staff")
            await key.type("1001")
            await key.press("Enter")
            await key.type("1234")
            await key.press("Enter")
            await focused(page, f"open-{EUR[0]}")
            await count(page, {1000: 10})
            await key.press("F5")
            await focused(page, "scan")
            await key.press("Alt+s")  # the barcode will not scan: find it by SKU
            await focused(page, "search-q")
            await key.type("NOTEBOOK-A5")
            await key.press("Enter")
            await page.wait_for_selector("#search-results li.selected")
            await key.press("Enter")
            await page.wait_for_selector("#basket tbody tr[data-sku='NOTEBOOK-A5']")
            await page.wait_for_function("document.getElementById('total').textContent !== '0.00'")
            full = await page.text_content("#total")
            await key.press("Alt+u")
            await focused(page, "customer-q")
            await key.type(name)
            await key.press("Enter")
            await page.wait_for_selector("#customer-results li.selected")
            await key.press("Enter")
            await page.wait_for_selector("#customer-pill:not([hidden])")
            await focused(page, "scan")

            # Alt+D: 25 % off the line, reason "damaged": over a cashier's 10 %.
            await key.press("Alt+d")
            await focused(page, "discount-scope")
            await key.press("Enter")
            await focused(page, "discount-kind")
            await key.press("Enter")
            await focused(page, "discount-value")
            await key.type("25")
            await key.press("Enter")
            await focused(page, "discount-reason")
            await key.press("Enter")
            await page.wait_for_function(
                f"document.getElementById('total').textContent !== '{full}'"
            )
            assert "needs a manager" in (await page.text_content("#message") or "")

            # Paying asks for the manager at this till: staff code, PIN, a note, F5.
            await key.press("F4")
            await focused(page, "amount")
            await key.type("50")
            await key.press("Enter")
            await focused(page, "manager-staff")
            await key.type("9001")
            await key.press("Enter")
            await key.type("0000")  # a wrong PIN first: refused, the sale keeps waiting
            await key.press("F5")
            await page.wait_for_function(
                "document.querySelector('#manager .message').textContent.includes('wrong')"
            )
            await focused(page, "manager-staff")
            await key.type("9001")
            await key.press("Enter")
            await key.type("9001")
            await key.press("Enter")
            await key.type("scratched cover")
            await key.press("F5")
            await page.wait_for_selector("#change")
            summary = await page.text_content("#last-sale") or ""
            assert "Sale " in summary and f"total {full}" not in summary, summary
        finally:
            await browser.close()
    number = re.search(r"Sale (\S+)", summary)
    assert number, summary
    with db.unit_of_work() as s:
        order = orders.order_by_number(s, number.group(1))
        assert order is not None and order.customer_id == customer
