"""More of the cashier's day on the till page in a real headless Chromium, keyboard only: a cash
sale voided with the manager's PIN (Alt+V), an exchange for dearer goods with the difference paid
in cash (Alt+R), a paid-in, a paid-out and a drop (Alt+M) seen on the X report (Alt+X), and a sale
found by name with a basket discount returned to the customer's store credit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.chromium import launch, needs_chromium
from helpers.webstore import eventually
from test_till_page_day import EUR, barcode, count, focused

from db.repositories import orders

pytestmark = needs_chromium


@pytest.fixture
async def page(day_till, start_agent) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The till page of `day_till` in Chromium, the cashier signed in and the shift open with a
    float of 100.00."""
    from playwright.async_api import async_playwright

    agent = await start_agent(day_till.code, day_till.central.url)
    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            page = await browser.new_page()
            await page.goto(agent.url + "/")
            await focused(page, "staff")
            await page.keyboard.type("1001")
            await page.keyboard.press("Enter")
            await page.keyboard.type("1234")
            await page.keyboard.press("Enter")
            await focused(page, f"open-{EUR[0]}")
            await count(page, {1000: 10})
            await page.keyboard.press("F5")
            await focused(page, "scan")
            yield page
        finally:
            await browser.close()


async def _text(page: Any, selector: str) -> str:
    return await page.text_content(selector) or ""


async def cash_sale(page: Any, code: str) -> tuple[str, str]:
    """Scan `code`, pay cash with the total offered: the sale's number and total."""
    before = await _text(page, "#last-sale")
    await page.keyboard.type(code)
    await page.keyboard.press("Enter")
    await page.wait_for_function("document.getElementById('total').textContent !== '0.00'")
    total = await _text(page, "#total")
    await page.keyboard.press("F4")
    await focused(page, "amount")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "text => document.getElementById('last-sale').textContent.startsWith('Sale ')"
        " && document.getElementById('last-sale').textContent !== text",
        arg=before,
    )
    match = re.search(r"Sale (\S+) · total", await _text(page, "#last-sale"))
    assert match, await _text(page, "#last-sale")
    await focused(page, "scan")
    return match.group(1), total


async def test_a_cash_sale_voided_with_the_managers_pin(page, day_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from sqlalchemy import select

    from db.models_returns import Return

    key = page.keyboard
    number, total = await cash_sale(page, barcode(db, day_till.code, "NOTEBOOK-A5"))

    # Alt+V: the sale number, the reason, F5; a void needs a manager, so the prompt comes up.
    await key.press("Alt+v")
    await focused(page, "void-sale")
    await key.type(number)
    await key.press("Enter")
    await focused(page, "void-reason")
    await key.type("rung up twice")
    await key.press("F5")
    await focused(page, "manager-staff")
    assert "needs a manager" in await _text(page, "#manager-why")
    await key.type("9001")
    await key.press("Enter")
    await key.type("9001")
    await key.press("F5")
    await page.wait_for_function(
        "document.getElementById('void-result').textContent.includes('voided')"
    )
    result = await _text(page, "#void-result")
    assert f"Sale {number} voided" in result and f"Give back {total} cash" in result, result
    await focused(page, "void-sale")

    with db.unit_of_work() as s:
        order = orders.order_by_number(s, number)
        assert order is not None
        voids = s.scalars(select(Return).where(Return.order_id == order.id)).all()
        assert [(r.void, r.status, r.refund_total) for r in voids] == [
            (True, "completed", order.total)
        ]


async def test_an_exchange_for_dearer_goods_paid_in_cash(page, day_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = page.keyboard
    number, _ = await cash_sale(page, barcode(db, day_till.code, "NOTEBOOK-A5"))  # 14.50

    await key.press("Alt+r")
    await focused(page, "return-receipt")
    await key.type(number)
    await key.press("Enter")
    await focused(page, "return-qty-1")
    await key.type("1")
    for field in ("return-disposition", "return-refund", "return-reason", "return-new"):
        await key.press("Enter")
        await focused(page, field)
    # The new goods, scanned like on the sale screen: the page shows what the customer pays.
    await key.type(barcode(db, day_till.code, "MUG-STONE"))  # 14.90
    await key.press("Enter")
    await page.wait_for_selector("#exchange-lines tbody tr[data-sku='MUG-STONE']")
    await page.wait_for_function(
        "document.getElementById('exchange-diff').dataset.difference === '40'"
    )
    assert "the customer pays 0.40" in await _text(page, "#exchange-diff")
    await key.press("F5")

    # The exchange sale is open for the difference: the sale screen takes the cash.
    await page.wait_for_selector("#sale:not([hidden])")
    await page.wait_for_function(
        "document.getElementById('message').textContent.includes('still due')"
    )
    assert await page.locator("#change").count() == 0  # the sale before's change is gone
    message = await _text(page, "#message")
    assert "pay 14.50 of 14.90" in message and "0.40 still due" in message, message
    assert await page.locator("#basket tbody tr[data-sku='MUG-STONE']").count() == 1
    await key.press("F4")
    await focused(page, "amount")
    assert await page.input_value("#amount") == "0.40"
    await key.type("1")
    assert await page.input_value("#amount") == "1"
    await key.press("Enter")
    await page.wait_for_selector("#change")
    assert await _text(page, "#change") == "Change due 0.60", await _text(page, "#last-sale")
    assert await page.locator("#basket tbody tr").count() == 0


async def cash_move(page: Any, choice: str, amount: str, reason: str, said: str) -> None:
    """Alt+M: the kind by its digit, the amount, the reason, F5; back on the sale screen."""
    key = page.keyboard
    await key.press("Alt+m")
    await focused(page, "cash-kind")
    await key.press(choice)
    await key.press("Enter")
    await focused(page, "cash-amount")
    await key.type(amount)
    await key.press("Enter")
    await focused(page, "cash-reason")
    await key.type(reason)
    await key.press("F5")
    await page.wait_for_function(
        "said => document.getElementById('message').textContent === said", arg=said
    )
    await focused(page, "scan")


async def attach_customer(page: Any, name: str) -> None:
    """Alt+U: the customer found by name and attached to the sale."""
    await page.keyboard.press("Alt+u")
    await focused(page, "customer-q")
    await page.keyboard.type(name)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#customer-results li.selected")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#customer-pill:not([hidden])")
    await focused(page, "scan")


async def test_cash_in_and_out_the_x_report_and_a_store_credit_return(page, day_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A paid-in, a paid-out and a drop (Alt+M) seen on the X report (Alt+X); then, on the same
    page, a product found by name (Alt+S), a basket discount (Alt+D), a customer (Alt+U), and the
    sale returned to the customer's store credit (Alt+R) with its return receipt printed."""
    import uuid

    from sqlalchemy import select

    from db.models_returns import Return
    from db.repositories import balances, customers

    key = page.keyboard
    _, total = await cash_sale(page, barcode(db, day_till.code, "NOTEBOOK-A5"))

    await cash_move(page, "1", "5", "change from the bank", "Paid in 5.00.")
    await cash_move(page, "2", "3", "stamps", "Paid out 3.00.")
    await cash_move(page, "3", "20", "", "Dropped to the safe 20.00.")

    # Alt+X: the running totals; nothing changes; Esc goes back.
    await key.press("Alt+x")
    await page.wait_for_selector("#x-report:not([hidden]) #x-table tbody tr")
    rows = await page.eval_on_selector_all(
        "#x-table tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    figures = {label: value for label, value in rows}
    assert figures["Sales"] == "1" and figures["Taken by cash"] == total, figures
    assert figures["paid in"] == "5.00" and figures["paid out"] == "3.00", figures
    assert figures["drop"] == "20.00", figures
    assert "shift" in await _text(page, "#x-title")
    await key.press("Escape")
    await focused(page, "scan")

    # Alt+S: the notebook found by its name, not its barcode.
    await key.press("Alt+s")
    await focused(page, "search-q")
    await key.type("dotted notebook")
    await key.press("Enter")
    await page.wait_for_selector("#search-results li.selected")
    assert "NOTEBOOK-A5" in await _text(page, "#search-results li.selected")
    await key.press("Enter")
    await page.wait_for_selector("#basket tbody tr[data-sku='NOTEBOOK-A5']")
    await page.wait_for_function("document.getElementById('total').textContent === '14.50'")

    # Alt+D: 10 % off the whole basket (b), within a cashier's limit: no manager.
    await key.press("Alt+d")
    await focused(page, "discount-scope")
    await key.press("b")
    await key.press("Enter")
    await focused(page, "discount-kind")
    await key.press("p")
    await key.press("Enter")
    await focused(page, "discount-value")
    await key.type("10")
    await key.press("Enter")
    await focused(page, "discount-reason")
    await key.press("Enter")
    await page.wait_for_function("document.getElementById('total').textContent === '13.05'")
    assert await _text(page, "#message") == "Discount applied."

    name = f"Rosa {uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        customer = customers.create(s, name=name, email=f"{uuid.uuid4().hex}@example.com").id
    await attach_customer(page, name)
    before = await _text(page, "#last-sale")
    await key.press("F4")
    await focused(page, "amount")
    await key.press("Enter")
    await page.wait_for_function(
        "text => document.getElementById('last-sale').textContent.startsWith('Sale ')"
        " && document.getElementById('last-sale').textContent !== text",
        arg=before,
    )
    match = re.search(r"Sale (\S+) · total 13\.05", await _text(page, "#last-sale"))
    assert match, await _text(page, "#last-sale")
    number = match.group(1)
    await focused(page, "scan")

    # Alt+R with the customer attached: the notebook back onto their store credit (s).
    await attach_customer(page, name)
    await key.press("Alt+r")
    await focused(page, "return-receipt")
    await key.type(number)
    await key.press("Enter")
    await focused(page, "return-qty-1")
    await key.type("1")
    await key.press("Enter")
    await focused(page, "return-disposition")
    await key.press("Enter")
    await focused(page, "return-refund")
    await key.press("s")
    await key.press("F5")
    await page.wait_for_function(
        "document.getElementById('return-result').textContent.startsWith('Refunded')"
    )
    result = await _text(page, "#return-result")
    assert "13.05 on store credit" in result and "Give back" not in result, result

    with db.unit_of_work() as s:
        order = orders.order_by_number(s, number)
        assert order is not None and order.customer_id == customer
        ret = s.scalar(select(Return).where(Return.order_id == order.id))
        assert ret is not None and ret.customer_id == customer
        assert (ret.refund_method, ret.refund_total, ret.status) == (
            "store_credit",
            1305,
            "completed",
        )
        assert balances.store_credit_account(s, customer).balance == 1305
    receipt_id = f"R-{ret.return_id}"[:20].encode()

    async def return_receipt() -> bytes | None:
        data = day_till.printer.read_bytes() if day_till.printer.exists() else b""
        at = data.find(b"Sale " + receipt_id)
        return data[at:] if at >= 0 and b"RETURN" in data[at:] else None

    printed = await eventually(return_receipt)
    assert b"Refund 13.05 to store_credit" in printed and b"-13.05" in printed, printed


async def test_an_exchange_for_cheaper_goods_refunds_the_difference(page, day_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = page.keyboard
    number, _ = await cash_sale(page, barcode(db, day_till.code, "MUG-STONE"))  # 14.90
    await key.press("Alt+r")
    await focused(page, "return-receipt")
    await key.type(number)
    await key.press("Enter")
    await focused(page, "return-qty-1")
    await key.type("1")
    for _ in range(4):
        await key.press("Enter")
    await focused(page, "return-new")
    await key.type(barcode(db, day_till.code, "MUG-ENAMEL"))  # 12.90
    await key.press("Enter")
    await page.wait_for_function(
        "document.getElementById('exchange-diff').dataset.difference === '-200'"
    )
    assert "the shop refunds 2.00" in await _text(page, "#exchange-diff")
    await key.press("F5")
    await page.wait_for_function(
        "document.getElementById('return-result').textContent.startsWith('Exchanged')"
    )
    result = await _text(page, "#return-result")
    assert "pay 12.90 for the new goods" in result and "Give back 2.00 cash" in result, result
    await focused(page, "return-receipt")  # ready for the next receipt


async def test_a_coupon_at_the_till_page(page, day_till, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Alt+K: a coupon the customer hands over is priced at once, a refused one is said and left
    off, and the sale is paid and recorded with it."""
    import uuid

    from db.repositories import promotions

    tag = uuid.uuid4().hex[:6].upper()
    code = f"PAGE{tag}"
    with db.unit_of_work() as s:
        promotions.create(
            s,
            promotions.PromotionDraft(
                code=f"PG{tag}",
                name="Page coupon 1.00 off",
                kind="amount_off",
                rule={"target": {"skus": ["NOTEBOOK-A5"]}, "amount": 100},
                requires_coupon=True,
                currency="EUR",
                channels=("store",),
            ),
        )
        promotions.add_coupon(s, f"PG{tag}", code, multi_use=True, per_customer_limit=None)
    try:
        key = page.keyboard
        await key.type(barcode(db, day_till.code, "NOTEBOOK-A5"))
        await key.press("Enter")
        await page.wait_for_function("document.getElementById('total').textContent !== '0.00'")
        full = await _text(page, "#total")

        await key.press("Alt+k")
        await focused(page, "coupon-code")
        await key.type("NOSUCH" + tag)
        await key.press("F5")
        await page.wait_for_function(
            "[...document.querySelectorAll('.message')].some(m => m.textContent.includes("
            "'Coupon refused'))"
        )
        assert await _text(page, "#total") == full

        await key.press("Alt+k")
        await focused(page, "coupon-code")
        await key.type(code.lower())
        await key.press("F5")
        await page.wait_for_function(
            "text => document.getElementById('total').textContent !== text", arg=full
        )
        assert code in await _text(page, "#coupon-pill")
        discounted = await _text(page, "#total")
        assert float(full) - float(discounted) == pytest.approx(1.00)

        await key.press("F4")
        await focused(page, "amount")
        await key.press("Enter")
        await page.wait_for_function(
            "document.getElementById('last-sale').textContent.startsWith('Sale ')"
        )
        match = re.search(r"Sale (\S+) · total", await _text(page, "#last-sale"))
        assert match, await _text(page, "#last-sale")
        with db.unit_of_work() as s:
            order = orders.order_by_number(s, match.group(1))
            assert order is not None
            lines = orders.order_lines(s, order.id)
            assert lines[0].promotions[0]["coupon"] == code and lines[0].discount == 100
    finally:
        with db.unit_of_work() as s:
            promotions.deactivate(s, f"PG{tag}")
