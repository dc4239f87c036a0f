"""/docs renders in a real browser with every host but 127.0.0.1 blocked: Swagger UI's assets come
from the swagger-ui-bundle package, not a CDN."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from helpers.chromium import launch, needs_chromium
from helpers.tills import Served


@needs_chromium
async def test_docs_render_with_no_internet(db, temporal_client, test_settings, gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from playwright.async_api import async_playwright

    from api.app import create_app

    server = Served(
        lambda: create_app(
            test_settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
        )
    )
    await server.start()
    blocked: list[str] = []
    served: list[str] = []

    async def firewall(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname != "127.0.0.1":
            blocked.append(url)
            await route.abort()
        else:
            served.append(url)
            await route.continue_()

    try:
        async with async_playwright() as pw:
            browser = await launch(pw)
            try:
                page = await browser.new_page()
                page.set_default_timeout(20_000)
                await page.route("**/*", firewall)
                answer = await page.goto(f"{server.url}/docs")
                assert answer is not None and answer.status == 200
                await page.wait_for_selector(".opblock-summary-path", state="attached")
                paths = await page.locator(".opblock-summary-path").all_inner_texts()
                title = await page.locator(".title").first.inner_text()
            finally:
                await browser.close()
    finally:
        await server.stop()
    assert "tillflow" in title
    assert any(p.startswith("/tills/{till}/sales") for p in paths), paths[:10]
    assert len(paths) > 50
    assert blocked == []  # nothing was even asked of another host
    assert any("/docs/assets/swagger-ui-bundle.js" in u for u in served)
    assert (await _redoc_off(db, temporal_client, test_settings, gateway)) == 404


async def _redoc_off(db: Any, temporal_client: Any, test_settings: Any, gateway: Any) -> int:
    import httpx

    from api.app import create_app

    app = create_app(
        test_settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        return (await http.get("/redoc")).status_code
