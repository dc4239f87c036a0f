"""The catalogue API over real HTTP: CRUD, validation errors with their codes, ETag / If-Match,
Idempotency-Key replays, search and paging, permissions, one outbox row per change."""

from __future__ import annotations

import uuid

import httpx
from helpers.catalog import Codes, product_body

from db.repositories import catalog_outbox
from db.session import Database
from domain.barcodes import make_ean13


def _outbox(db: Database, after: int, code: str) -> list[tuple[str, list[str], str]]:
    with db.unit_of_work() as s:
        return [
            (c.action, list(c.fields), c.source)
            for c in catalog_outbox.since(s, after, limit=10_000)
            if c.product_code == code
        ]


def _latest(db: Database) -> int:
    with db.unit_of_work() as s:
        return catalog_outbox.latest_id(s)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_create_read_change_archive(
    capi: httpx.AsyncClient, admin: dict[str, str], db: Database, codes: Codes
) -> None:
    before = _latest(db)
    body = product_body(codes, description="Enamel, dishwasher safe", lot_tracked=True)
    created = await capi.post("/catalog/products", json=body, headers={**admin, **_key()})
    assert created.status_code == 201, created.text
    product = created.json()
    code = body["code"]
    assert created.headers["ETag"] == '"v1"'
    assert product["version"] == 1 and product["lot_tracked"] and product["cost_price"] == 400
    assert [v["sku"] for v in product["variants"]] == [f"{code}-S", f"{code}-L"]
    assert product["variants"][0]["barcodes"][0]["kind"] == "EAN13"
    assert {(p["sku"], p["amount"], p["price_list"]) for p in product["prices"]} == {
        (f"{code}-S", 990, "default"),
        (f"{code}-L", 1290, "default"),
    }

    read = await capi.get(f"/catalog/products/{code}", headers=admin)
    assert read.status_code == 200 and read.headers["ETag"] == '"v1"'
    assert read.json() == product
    not_modified = await capi.get(
        f"/catalog/products/{code}", headers={**admin, "If-None-Match": '"v1"'}
    )
    assert not_modified.status_code == 304

    new_code = codes.barcode()
    patch = {
        "name": "Renamed mug",
        "online_only": True,
        "variants": [
            {"sku": f"{code}-L", "barcodes": [new_code]},
            {"sku": f"{code}-XL", "name": "Extra large", "attributes": {"size": "XL"}},
        ],
    }
    changed = await capi.patch(
        f"/catalog/products/{code}", json=patch, headers={**admin, "If-Match": '"v1"', **_key()}
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert changed.headers["ETag"] == '"v2"' and after["version"] == 2
    assert after["name"] == "Renamed mug" and after["online_only"] is True
    variants = {v["sku"]: v for v in after["variants"]}
    assert [b["code"] for b in variants[f"{code}-L"]["barcodes"]] == [new_code]
    assert variants[f"{code}-XL"]["name"] == "Extra large"
    assert variants[f"{code}-S"]["name"] == "Small"  # not named: untouched

    # The same edit again changes nothing: no new version, no outbox row.
    same = await capi.patch(
        f"/catalog/products/{code}",
        json={"name": "Renamed mug"},
        headers={**admin, "If-Match": '"v2"'},
    )
    assert same.status_code == 200 and same.json()["version"] == 2

    archived = await capi.delete(
        f"/catalog/products/{code}", headers={**admin, "If-Match": '"v2"', **_key()}
    )
    assert archived.status_code == 200 and archived.json()["active"] is False
    assert archived.json()["version"] == 3
    listed = await capi.get(
        "/catalog/products", params={"sku": f"{code}-S", "archived": "true"}, headers=admin
    )
    assert [p["code"] for p in listed.json()["items"]] == [code]
    active = await capi.get("/catalog/products", params={"sku": f"{code}-S"}, headers=admin)
    assert active.json()["total"] == 0

    rows = _outbox(db, before, code)
    assert [r[0] for r in rows] == ["upsert", "upsert", "delete"]  # one row per change
    assert {"title", "sku", "barcode", "price", "tax", "flags", "cost"} <= set(rows[0][1])
    assert set(rows[1][1]) == {"title", "flags", "barcode", "sku"}
    assert rows[2][1] == ["status"]


async def test_validation_errors_are_clear_4xx(
    capi: httpx.AsyncClient, admin: dict[str, str], db: Database, codes: Codes
) -> None:
    before = _latest(db)
    bad_digit = product_body(codes, "BAD")
    bad_digit["variants"][0]["barcodes"] = ["4006381333932"]  # the check digit should be 1
    r = await capi.post("/catalog/products", json=bad_digit, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_barcode", r.text
    assert "check digit 2" in r.json()["error"]["message"]
    assert r.json()["error"]["problems"][0]["field"] == "variants[0].barcodes[0]"

    taken = product_body(codes, "DUP")
    taken["variants"][0]["barcodes"] = ["4006381000017"]  # a demo product's barcode
    r = await capi.post("/catalog/products", json=taken, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_barcode", r.text
    assert "one barcode belongs to one variant" in r.json()["error"]["message"]

    period = product_body(codes, "PER")
    period["prices"] = [
        {
            "sku": period["variants"][0]["sku"],
            "amount": 500,
            "currency": "EUR",
            "valid_from": "2031-05-01T00:00:00+00:00",
            "valid_to": "2031-04-01T00:00:00+00:00",
        }
    ]
    r = await capi.post("/catalog/products", json=period, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_price_period", r.text
    assert "must be after valid_from" in r.json()["error"]["message"]

    tax = product_body(codes, "TAX", tax_category="luxury")
    r = await capi.post("/catalog/products", json=tax, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_tax_category", r.text
    assert "luxury" in r.json()["error"]["message"]

    many = product_body(codes, "MANY", store_only=True, online_only=True)
    many["variants"][1]["sku"] = "has space"
    r = await capi.post("/catalog/products", json=many, headers=admin)
    assert r.status_code == 422
    found = {p["code"] for p in r.json()["error"]["problems"]}
    assert {"channel_conflict", "bad_sku"} <= found  # every problem at once

    extra = product_body(codes, "EXTRA", colour="red")
    r = await capi.post("/catalog/products", json=extra, headers=admin)
    assert r.status_code == 422 and "colour" in r.json()["error"]["message"]

    good = product_body(codes, "OK")
    assert (await capi.post("/catalog/products", json=good, headers=admin)).status_code == 201
    again = await capi.post("/catalog/products", json=good, headers=admin)
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_product"
    sku_taken = product_body(codes, "SKU")
    sku_taken["variants"][0]["sku"] = good["variants"][0]["sku"]
    sku_taken["prices"] = []
    r = await capi.post("/catalog/products", json=sku_taken, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_sku"
    r = await capi.post(
        f"/catalog/products/{good['code']}/prices",
        json={
            "sku": good["variants"][0]["sku"],
            "amount": 100,
            "currency": "EUR",
            "valid_from": "2020-01-01T00:00:00+00:00",
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_price_period"
    r = await capi.post(
        f"/catalog/products/{good['code']}/prices",
        json={
            "price_list": "location:NOPE",
            "sku": good["variants"][0]["sku"],
            "amount": 1,
            "currency": "EUR",
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_price_list"

    # Nothing of the refused requests was written: only the good product's one row.
    with db.unit_of_work() as s:
        written = {c.product_code for c in catalog_outbox.since(s, before, limit=10_000)}
    assert {p["code"] for p in (bad_digit, taken, period, tax, many)}.isdisjoint(written)
    assert good["code"] in written


async def test_a_upc_a_and_its_ean_13_spelling_are_one_barcode(
    capi: httpx.AsyncClient, admin: dict[str, str], codes: Codes
) -> None:
    ean13 = make_ean13(f"02{uuid.uuid4().int % 10**10:010d}")  # leading 0: a UPC-A's EAN-13 form
    upc = ean13[1:]
    first = product_body(codes, "UPC")
    first["variants"][0]["barcodes"] = [upc]
    r = await capi.post("/catalog/products", json=first, headers={**admin, **_key()})
    assert r.status_code == 201, r.text
    stored = r.json()["variants"][0]["barcodes"][0]
    assert (stored["code"], stored["kind"]) == (upc, "UPCA")

    # Another product's variant with the EAN-13 spelling of that UPC-A: the same barcode.
    second = product_body(codes, "EAN")
    second["variants"][1]["barcodes"] = [ean13]
    r = await capi.post("/catalog/products", json=second, headers={**admin, **_key()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_barcode", r.text
    assert f"belongs to {first['code']}-S" in r.json()["error"]["message"]
    gone = await capi.get(f"/catalog/products/{second['code']}", headers=admin)
    assert gone.status_code == 404  # nothing of it was written

    # A second variant of the same product with the other spelling: refused too.
    r = await capi.patch(
        f"/catalog/products/{first['code']}",
        json={"variants": [{"sku": f"{first['code']}-XL", "name": "XL", "barcodes": [ean13]}]},
        headers={**admin, "If-Match": '"v1"', **_key()},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "duplicate_barcode", r.text
    assert "given twice in this product" in r.json()["error"]["message"]
    unchanged = await capi.get(f"/catalog/products/{first['code']}", headers=admin)
    assert unchanged.headers["ETag"] == '"v1"' and len(unchanged.json()["variants"]) == 2
    # Searching by either spelling finds the one product.
    for spelling in (upc, ean13):
        found = await capi.get("/catalog/products", params={"barcode": spelling}, headers=admin)
        assert [p["code"] for p in found.json()["items"]] == [first["code"]]


async def test_etag_if_match(capi: httpx.AsyncClient, admin: dict[str, str], codes: Codes) -> None:
    body = product_body(codes)
    code = body["code"]
    assert (await capi.post("/catalog/products", json=body, headers=admin)).status_code == 201
    r = await capi.patch(f"/catalog/products/{code}", json={"name": "X"}, headers=admin)
    assert r.status_code == 428 and r.json()["error"]["code"] == "precondition_required"
    r = await capi.delete(f"/catalog/products/{code}", headers=admin)
    assert r.status_code == 428
    ok = await capi.patch(
        f"/catalog/products/{code}", json={"name": "First"}, headers={**admin, "If-Match": '"v1"'}
    )
    assert ok.status_code == 200 and ok.headers["ETag"] == '"v2"'
    stale = await capi.patch(
        f"/catalog/products/{code}", json={"name": "Late"}, headers={**admin, "If-Match": '"v1"'}
    )
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert "version 2" in stale.json()["error"]["message"]
    stale_delete = await capi.delete(
        f"/catalog/products/{code}", headers={**admin, "If-Match": '"v1"'}
    )
    assert stale_delete.status_code == 412
    # A price change is a change too: the ETag moves on.
    priced = await capi.post(
        f"/catalog/products/{code}/prices",
        json={"sku": f"{code}-S", "amount": 1099, "currency": "EUR"},
        headers=admin,
    )
    assert priced.status_code == 200 and priced.headers["ETag"] == '"v3"'
    read = await capi.get(f"/catalog/products/{code}", headers=admin)
    assert read.json()["name"] == "First" and read.headers["ETag"] == '"v3"'


async def test_idempotency_key_replay(
    capi: httpx.AsyncClient, admin: dict[str, str], db: Database, codes: Codes
) -> None:
    before = _latest(db)
    body = product_body(codes)
    key = _key()
    first = await capi.post("/catalog/products", json=body, headers={**admin, **key})
    replay = await capi.post("/catalog/products", json=body, headers={**admin, **key})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replay") == "true" and replay.headers["ETag"] == '"v1"'
    assert len(_outbox(db, before, body["code"])) == 1  # made once
    other = await capi.post(
        "/catalog/products", json=product_body(codes, "OTHER"), headers={**admin, **key}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"

    pkey = _key()
    price = {"sku": f"{body['code']}-S", "amount": 777, "currency": "EUR"}
    p1 = await capi.post(
        f"/catalog/products/{body['code']}/prices", json=price, headers={**admin, **pkey}
    )
    p2 = await capi.post(
        f"/catalog/products/{body['code']}/prices", json=price, headers={**admin, **pkey}
    )
    assert p1.status_code == p2.status_code == 200 and p2.json() == p1.json()
    assert len(_outbox(db, before, body["code"])) == 2


async def test_search_and_paging(
    capi: httpx.AsyncClient, catalog_manager: dict[str, str], codes: Codes
) -> None:
    bodies = [product_body(codes, n) for n in ("A", "B", "C")]
    bodies[1]["name"] = f"Linen apron {codes.tag}"
    for b in bodies:
        r = await capi.post("/catalog/products", json=b, headers=catalog_manager)
        assert r.status_code == 201, r.text
    q = {"q": codes.tag.lower(), "per_page": 2}
    page1 = (await capi.get("/catalog/products", params=q, headers=catalog_manager)).json()
    page2 = (
        await capi.get("/catalog/products", params={**q, "page": 2}, headers=catalog_manager)
    ).json()
    assert page1["total"] == page2["total"] == 3 and page1["per_page"] == 2
    assert [p["code"] for p in page1["items"] + page2["items"]] == [b["code"] for b in bodies]
    by_name = await capi.get(
        "/catalog/products", params={"q": f"linen apron {codes.tag}"}, headers=catalog_manager
    )
    assert [p["code"] for p in by_name.json()["items"]] == [bodies[1]["code"]]
    by_sku = await capi.get(
        "/catalog/products", params={"sku": f"{bodies[2]['code']}-L"}, headers=catalog_manager
    )
    assert [p["code"] for p in by_sku.json()["items"]] == [bodies[2]["code"]]
    prefix = await capi.get(
        "/catalog/products", params={"sku": f"T{codes.tag}-*"}, headers=catalog_manager
    )
    assert prefix.json()["total"] == 3
    barcode = bodies[0]["variants"][1]["barcodes"][0]
    by_code = await capi.get(
        "/catalog/products", params={"barcode": barcode}, headers=catalog_manager
    )
    assert [p["code"] for p in by_code.json()["items"]] == [bodies[0]["code"]]
    r = await capi.get("/catalog/products", params={"per_page": 500}, headers=catalog_manager)
    assert r.status_code == 422
    lists = await capi.get("/catalog/price-lists", headers=catalog_manager)
    assert {"default", "location:BER", "location:LIS"} <= {pl["id"] for pl in lists.json()}
    taxes = await capi.get("/catalog/tax-categories", headers=catalog_manager)
    assert {"standard", "reduced", "zero"} <= {t["code"] for t in taxes.json()}


async def test_permissions(
    capi: httpx.AsyncClient,
    till_cashier: dict[str, str],
    plain_manager: dict[str, str],
    catalog_manager: dict[str, str],
    codes: Codes,
) -> None:
    body = product_body(codes)
    r = await capi.post("/catalog/products", json=body, headers=till_cashier)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await capi.get("/catalog/products", headers=till_cashier)).status_code == 403
    r = await capi.post("/catalog/products", json=body, headers=plain_manager)
    assert r.status_code == 403 and "'catalog' permission" in r.json()["error"]["message"]
    assert (await capi.get("/catalog/products", headers=plain_manager)).status_code == 200
    assert (await capi.get("/catalog/products")).status_code == 401
    r = await capi.post("/catalog/products", json=body, headers=catalog_manager)
    assert r.status_code == 201, r.text
    r = await capi.patch(
        f"/catalog/products/{body['code']}",
        json={"name": "No"},
        headers={**plain_manager, "If-Match": '"v1"'},
    )
    assert r.status_code == 403
    # A location's price list only at the manager's own locations (this one is of BER only).
    sku = body["variants"][0]["sku"]
    own = await capi.post(
        f"/catalog/products/{body['code']}/prices",
        json={"price_list": "location:BER", "sku": sku, "amount": 950, "currency": "EUR"},
        headers=catalog_manager,
    )
    assert own.status_code == 200, own.text
    other = await capi.post(
        f"/catalog/products/{body['code']}/prices",
        json={"price_list": "location:LIS", "sku": sku, "amount": 950, "currency": "EUR"},
        headers=catalog_manager,
    )
    assert other.status_code == 403
