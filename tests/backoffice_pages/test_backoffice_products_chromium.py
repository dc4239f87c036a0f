"""The product screens in a real headless Chromium: sign in, find a product by its barcode, change
its title through the catalogue API, see a bad barcode refused next to the form."""

from __future__ import annotations

from helpers.webstore import barcode_of, new_product

from db.repositories import catalog_admin


def _product(db, code: str) -> catalog_admin.ProductView:  # type: ignore[no-untyped-def]  # takes an untyped fixture value
    with db.unit_of_work() as s:
        found = catalog_admin.product(s, code)
    assert found is not None
    return found


async def test_find_by_barcode_edit_title_and_bad_barcode_inline(served, page, sign_in, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 3})
    barcode = barcode_of(db, sku)
    before = _product(db, sku)
    await sign_in(page, served.url + "/backoffice/products", "admin", "admin-demo")
    key = page.keyboard

    # "/" jumps to the search box from anywhere on the screen; Enter searches.
    await page.focus("#home-link")  # out of the search box
    await key.press("/")
    await page.wait_for_function("document.activeElement.id === 'q'")
    await key.type(barcode)
    await key.press("Enter")
    await page.wait_for_selector(f"tr[data-code='{sku}']")
    assert await page.locator("#view tbody tr").count() == 1
    assert "?q=" in page.url, "the search is in the address: reload or share it"

    # Open it with the keyboard: the row's link, Enter.
    await page.focus(f"tr[data-code='{sku}'] a")
    await key.press("Enter")
    await page.wait_for_selector("#product-form")
    await page.wait_for_function("document.activeElement.id === 'name'")
    assert page.url.endswith(f"/backoffice/products/{sku}")

    # A new title: select it, type, Enter saves (PATCH with If-Match and an Idempotency-Key).
    title = f"Renamed {sku}"
    await key.press("Control+A")
    await key.type(title)
    await key.press("Enter")
    await page.wait_for_function("document.getElementById('message').textContent === 'Saved.'")
    after = _product(db, sku)
    assert after.name == title and after.version == before.version + 1
    assert await page.input_value("#name") == title
    assert await page.get_attribute("#product-form", "data-etag") == f'"v{after.version}"'
    assert title in (await page.text_content("#view h1") or "")

    # A barcode with a wrong check digit: refused, said next to the form, the field marked.
    good = barcode
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    await page.fill("[data-variant] textarea", bad)
    await page.click("#product-form button[type=submit]")
    error = page.locator("#product-form .form-error")
    await page.wait_for_function(
        "document.querySelector('#product-form .form-error').textContent.length > 0"
    )
    assert "check digit" in (await error.text_content() or "").lower()
    assert await page.get_attribute("[data-variant] textarea", "aria-invalid") == "true"
    assert _product(db, sku).version == after.version, "nothing was saved"
    assert [b.code for v in _product(db, sku).variants for b in v.barcodes] == [good]

    # A price change scheduled for later: a period that ends before it starts is refused inline,
    # then 12.50 from 2030 on is scheduled (sent as 1250 minor units); today's price stays.
    await page.select_option("#price-form [name=price_list]", "default")
    await page.fill("#price-form [name=amount]", "12.50")
    await page.fill("#price-form [name=valid_from]", "2030-01-01T09:00")
    await page.fill("#price-form [name=valid_to]", "2029-06-01T09:00")
    await page.click("#price-form button[type=submit]")
    await page.wait_for_function(
        "document.querySelector('#price-form .form-error').textContent.includes('valid_to')"
    )
    assert await page.get_attribute("#price-form [name=valid_to]", "aria-invalid") == "true"
    await page.fill("#price-form [name=valid_to]", "")
    await page.click("#price-form button[type=submit]")
    await page.wait_for_selector("tr[data-list=default][data-state=scheduled]")
    assert "12.50 EUR" in (
        await page.text_content("tr[data-list=default][data-state=scheduled]") or ""
    )
    assert "10.00 EUR" in (await page.text_content("tr[data-list=default][data-state=now]") or "")
    scheduled = [p for p in _product(db, sku).prices if p.amount == 1250]
    assert len(scheduled) == 1 and scheduled[0].valid_from.year == 2030

    # Back to the list (the breadcrumb), and the new title is what the search finds.
    await page.click("nav.crumbs a[href='/backoffice/products']")
    await page.wait_for_selector("#q")
    await page.fill("#q", title)
    await key.press("Enter")
    await page.wait_for_selector(f"tr[data-code='{sku}']")
    assert title in (await page.text_content(f"tr[data-code='{sku}']") or "")


async def test_signing_in_under_the_pages_own_security_policy(served, browser) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """No test probes here: the page runs under its Content-Security-Policy as in production, and
    nothing on it is blocked (no inline script or style)."""
    context = await browser.new_context()
    page = await context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    page.on("pageerror", lambda err: blocked.append(str(err)))
    try:
        await page.goto(served.url + "/backoffice")
        await page.wait_for_selector("#signin:not([hidden])")
        await page.fill("#username", "admin")
        await page.fill("#password", "admin-demo")
        await page.press("#password", "Enter")
        await page.wait_for_selector("#view .tiles a[href='/backoffice/stock']")
        await page.keyboard.press("?")
        await page.wait_for_selector("#help:not([hidden])")
        await page.keyboard.press("Escape")
        await page.wait_for_selector("#help", state="hidden")
        await page.click("#signout")
        await page.wait_for_selector("#signin:not([hidden])")
        assert await page.locator("#view *").count() == 0
    finally:
        await context.close()
    assert blocked == []
