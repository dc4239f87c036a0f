"""The back-office pages over plain HTTP: shells carry nothing secret, fragments need a token and
the right store, and everything shown is escaped."""

from __future__ import annotations

import re

from helpers.webstore import barcode_of, new_product
from sqlalchemy import update

from db.models import Product

SHELLS = [
    "/backoffice",
    "/backoffice/products",
    "/backoffice/products/ANY-CODE",
    "/backoffice/stock",
    "/backoffice/stores/BER/receive",
    "/backoffice/stores/BER/count",
    "/backoffice/stores/BER/transfers",
]
STORE_FRAGMENTS = ["receive.html", "count.html", "transfers.html", "lookup.json?code=X"]


async def test_shells_carry_no_secrets_and_load_only_this_origin(bo, admin, test_settings) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    token = admin["Authorization"].split()[1]
    for url in SHELLS:
        r = await bo.get(url, headers=admin)  # even with a token, the shell is the same
        assert r.status_code == 200, (url, r.text)
        assert r.headers["content-type"].startswith("text/html")
        html = r.text
        assert token not in html
        for secret in ("admin-demo", "manager-demo", test_settings.stripe_api_key, "whsec_"):
            assert secret not in html
        assert "value=" not in html, "no field comes filled in"
        assert not re.search(r"<script>(?!\s*</script>)", html), "no inline script"
        assert "http://" not in html and "https://" not in html, "no CDN, no other origin"
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["cache-control"] == "no-store"
    js = await bo.get("/backoffice/static/backoffice.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "sessionStorage" in js.text and "Idempotency-Key" in js.text
    css = await bo.get("/backoffice/static/backoffice.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_fragments_refuse_without_a_token(bo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for url in [
        "/backoffice/fragments/home.html",
        "/backoffice/fragments/products.html",
        "/backoffice/fragments/products/X.html",
        "/backoffice/fragments/stock.html?sku=X",
        *(f"/backoffice/fragments/stores/BER/{f}" for f in STORE_FRAGMENTS),
    ]:
        r = await bo.get(url)
        assert r.status_code == 401, (url, r.text)
        assert r.json()["error"]["code"]
        r = await bo.get(url, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401, (url, r.text)


async def test_home_offers_each_role_its_screens(bo, admin, mia, leonor) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    home = (await bo.get("/backoffice/fragments/home.html", headers=admin)).text
    assert 'href="/backoffice/products"' in home and 'href="/backoffice/stock"' in home
    mine = (await bo.get("/backoffice/fragments/home.html", headers=mia)).text
    assert 'href="/backoffice/products"' not in mine, "no catalogue permission, no product screen"
    assert 'href="/backoffice/stock"' in mine
    lisbon = (await bo.get("/backoffice/fragments/home.html", headers=leonor)).text
    assert "(LIS)" in lisbon and "(BER)" not in lisbon


async def test_store_fragments_refuse_another_store(bo, db, leonor) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    for f in STORE_FRAGMENTS:
        r = await bo.get(f"/backoffice/fragments/stores/BER/{f}", headers=leonor)
        assert r.status_code == 403, (f, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    for f in STORE_FRAGMENTS[:3]:
        r = await bo.get(f"/backoffice/fragments/stores/LIS/{f}", headers=leonor)
        assert r.status_code == 200, (f, r.text)
    sku = new_product(db, {"BER": 1, "LIS": 1})
    code = barcode_of(db, sku)
    r = await bo.get(f"/backoffice/fragments/stores/BER/lookup.json?code={code}", headers=leonor)
    assert r.status_code == 403, r.text
    r = await bo.get(f"/backoffice/fragments/stores/LIS/lookup.json?code={code}", headers=leonor)
    assert r.status_code == 200, r.text
    assert r.json()["sku"] == sku
    r = await bo.get(f"/backoffice/fragments/stores/LIS/lookup.json?code={sku}", headers=leonor)
    assert r.json()["sku"] == sku
    r = await bo.get("/backoffice/fragments/stores/LIS/lookup.json?code=NOPE-1", headers=leonor)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_item"
    r = await bo.get("/backoffice/fragments/stores/XXX/lookup.json?code=1", headers=leonor)
    assert r.status_code == 404


async def test_product_fragments_need_the_catalogue_permission(bo, db, mia) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {})
    for url in [
        "/backoffice/fragments/products.html",
        f"/backoffice/fragments/products/{sku}.html",
    ]:
        r = await bo.get(url, headers=mia)
        assert r.status_code == 403, r.text


async def test_fragments_escape_what_they_show(bo, db, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 2})
    evil = '<script>alert("x")</script> & <b onmouseover=1>'
    with db.unit_of_work() as s:
        s.execute(update(Product).where(Product.code == sku).values(name=evil, category="<i>"))
    pages = [
        f"/backoffice/fragments/products.html?q={sku}",
        f"/backoffice/fragments/products/{sku}.html",
        f"/backoffice/fragments/stock.html?sku={sku}",
        "/backoffice/fragments/stores/BER/transfers.html",
    ]
    for url in pages[:3]:
        r = await bo.get(url, headers=admin)
        assert r.status_code == 200, (url, r.text)
        assert r.headers["cache-control"] == "no-store"
        assert "<script" not in r.text and "<b " not in r.text and "<i>" not in r.text, url
        assert "&lt;script&gt;" in r.text, url
    # What people type comes back escaped too.
    r = await bo.get('/backoffice/fragments/products.html?q="><script>1</script>', headers=admin)
    assert r.status_code == 200 and "<script" not in r.text
    assert 'value="&quot;&gt;&lt;script&gt;1&lt;/script&gt;"' in r.text
    r = await bo.get("/backoffice/fragments/stock.html?sku=<img src=x>", headers=admin)
    assert r.status_code in (200, 422) and "<img" not in r.text
    r = await bo.get(pages[3], headers=admin)
    assert r.status_code == 200, r.text
