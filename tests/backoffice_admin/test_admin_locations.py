"""Locations through /admin/locations: CRUD, validation, who may change what, tax rate history,
opening hours, and deactivation instead of deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backoffice_admin_helpers import Store, location_body, unique

from db.repositories import catalog, places_admin


async def test_create_read_and_list(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = unique("L")
    r = await api.post(
        "/admin/locations",
        headers={**admin, "Idempotency-Key": f"create-{code}"},
        json=location_body(code, kind="warehouse", ship_from_store=True, safety_stock_default=2),
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["kind"] == "warehouse" and made["ship_from_store"] and made["active"]
    assert made["tax_rates"] == {"standard": 2300}
    assert made["hours"] == [
        {"day": "Mon", "opens": "09:00", "closes": "18:00"},
        {"day": "Sat", "opens": "10:00", "closes": "14:00"},
    ]
    again = await api.post(
        "/admin/locations",
        headers={**admin, "Idempotency-Key": f"create-{code}"},
        json=location_body(code, kind="warehouse", ship_from_store=True, safety_stock_default=2),
    )
    assert again.status_code == 201 and again.headers.get("Idempotent-Replay") == "true"
    dup = await api.post("/admin/locations", headers=admin, json=location_body(code))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_code"
    got = await api.get(f"/admin/locations/{code}", headers=admin)
    assert got.status_code == 200 and got.json()["safety_stock_default"] == 2
    listed = await api.get("/admin/locations", headers=admin)
    assert code in {loc["code"] for loc in listed.json()["items"]}


async def test_validation_errors_are_clear_4xx(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    cases: list[tuple[dict[str, Any], str]] = [
        ({"timezone": "Europe/Atlantis"}, "bad_timezone"),
        ({"timezone": "posixrules"}, "bad_timezone"),
        ({"currency": "eur"}, "bad_currency"),
        ({"country": "de"}, "bad_country"),
        ({"latitude": 95.0, "longitude": 10.0}, "bad_coordinates"),
        ({"latitude": 50.0, "longitude": None}, "bad_coordinates"),
        ({"hours": [{"day": "Mon", "opens": "18:00", "closes": "09:00"}]}, "bad_hours"),
        ({"tax_rates": {"luxury": 2500}}, "unknown_tax_category"),
        ({"code": "bad code"}, "bad_code"),
    ]
    for change, expected in cases:
        code = change.pop("code", unique("V"))
        r = await api.post("/admin/locations", headers=admin, json=location_body(code, **change))
        assert r.status_code == 422, (change, r.text)
        assert r.json()["error"]["code"] == expected, (change, r.text)
        nothing = await api.get(f"/admin/locations/{code}", headers=admin)
        assert nothing.status_code in (404, 422)  # nothing half-written


async def test_manager_changes_own_flags_and_hours_only(api, admin, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    mgr = store.manager_headers
    ok = await api.patch(
        f"/admin/locations/{store.code}",
        headers=mgr,
        json={"ship_from_store": True, "pickup": False},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["ship_from_store"] is True and ok.json()["pickup"] is False
    name = await api.patch(f"/admin/locations/{store.code}", headers=mgr, json={"name": "Mine"})
    assert name.status_code == 403 and "admin" in name.json()["error"]["message"]
    hours = await api.put(
        f"/admin/locations/{store.code}/hours",
        headers=mgr,
        json={"days": [{"day": d, "opens": "08:30", "closes": "19:00"} for d in ("Mon", "Tue")]},
    )
    assert hours.status_code == 200, hours.text
    assert hours.json()["summary"] == "Mon 08:30–19:00, Tue 08:30–19:00"
    other = await api.patch("/admin/locations/BER", headers=mgr, json={"pickup": False})
    assert other.status_code == 403
    other_hours = await api.put("/admin/locations/BER/hours", headers=mgr, json={"days": []})
    assert other_hours.status_code == 403
    rates = await api.post(
        f"/admin/locations/{store.code}/tax-rates",
        headers=mgr,
        json={"tax_category": "standard", "rate_bp": 2000},
    )
    assert rates.status_code == 403


async def test_tax_rate_change_keeps_history_and_can_be_scheduled(api, admin, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    now = await api.post(
        f"/admin/locations/{store.code}/tax-rates",
        headers=admin,
        json={"tax_category": "reduced", "rate_bp": 500},
    )
    assert now.status_code == 200, now.text
    assert now.json()["current"]["reduced"] == 500
    later = datetime.now(UTC) + timedelta(days=30)
    scheduled = await api.post(
        f"/admin/locations/{store.code}/tax-rates",
        headers=admin,
        json={"tax_category": "standard", "rate_bp": 2100, "valid_from": later.isoformat()},
    )
    assert scheduled.status_code == 200, scheduled.text
    body = scheduled.json()
    assert body["current"]["standard"] == 1900  # not yet
    standard = [h for h in body["history"] if h["tax_category"] == "standard"]
    assert [h["rate_bp"] for h in standard] == [1900, 2100]
    assert standard[0]["valid_to"] is not None and standard[1]["valid_to"] is None
    reduced = [h["rate_bp"] for h in body["history"] if h["tax_category"] == "reduced"]
    assert reduced == [700, 500]
    past = await api.post(
        f"/admin/locations/{store.code}/tax-rates",
        headers=admin,
        json={"tax_category": "zero", "rate_bp": 100, "valid_from": "2001-01-01T00:00:00+00:00"},
    )
    assert past.status_code == 422
    unknown = await api.post(
        f"/admin/locations/{store.code}/tax-rates",
        headers=admin,
        json={"tax_category": "luxury", "rate_bp": 100},
    )
    assert unknown.status_code == 404


async def test_empty_location_is_deleted_one_with_history_deactivated(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, admin, store: Store
) -> None:
    empty = unique("E")
    r = await api.post("/admin/locations", headers=admin, json=location_body(empty))
    assert r.status_code == 201
    gone = await api.delete(f"/admin/locations/{empty}", headers=admin)
    assert gone.status_code == 200 and gone.json()["outcome"] == "deleted"
    assert (await api.get(f"/admin/locations/{empty}", headers=admin)).status_code == 404

    kept = await api.delete(f"/admin/locations/{store.code}", headers=store.manager_headers)
    assert kept.status_code == 403  # only an admin closes a location
    kept = await api.delete(f"/admin/locations/{store.code}", headers=admin)
    assert kept.status_code == 200, kept.text
    assert kept.json()["outcome"] == "deactivated"
    assert kept.json()["tills_closed"] == [store.till]
    loc = await api.get(f"/admin/locations/{store.code}", headers=admin)
    assert loc.json()["active"] is False
    till = await api.get(f"/admin/tills/{store.till}", headers=admin)
    assert till.json()["active"] is False

    # BER holds stock and sales: deactivation is what DELETE would do; the demo store stays
    # open because this test only asks what is in use.
    ber = await api.get("/admin/locations/BER", headers=admin)
    assert ber.json()["active"] is True


async def test_currency_stays_once_location_has_prices(api, admin, db, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    fresh = await api.patch(
        f"/admin/locations/{store.code}", headers=admin, json={"currency": "CHF"}
    )
    assert fresh.status_code == 200 and fresh.json()["currency"] == "CHF"
    with db.unit_of_work() as s:
        loc = places_admin.location_by_code(s, store.code)
        assert loc is not None
        catalog.change_price(s, "MUG-ENAMEL", 1290, "CHF", location_id=loc.id)
    r = await api.patch(f"/admin/locations/{store.code}", headers=admin, json={"currency": "EUR"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "currency_in_use"


async def test_cashier_and_strangers_are_refused(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    assert (await api.get("/admin/locations", headers=cashier)).status_code == 403
    assert (await api.get("/admin/locations")).status_code == 401
    r = await api.post("/admin/locations", headers=cashier, json=location_body(unique("C")))
    assert r.status_code == 403


async def test_a_locations_locale_is_checked_and_kept_canonical(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = unique("L")
    r = await api.post("/admin/locations", headers=admin, json=location_body(code, locale="pt-PT"))
    assert r.status_code == 201 and r.json()["locale"] == "pt_PT", r.text
    bad = await api.patch(f"/admin/locations/{code}", headers=admin, json={"locale": "xx_QQ"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_locale", bad.text
    assert "de_DE" in bad.json()["error"]["message"]
    r = await api.patch(f"/admin/locations/{code}", headers=admin, json={"locale": "de_ch"})
    assert r.status_code == 200 and r.json()["locale"] == "de_CH", r.text
    r = await api.patch(f"/admin/locations/{code}", headers=admin, json={"locale": ""})
    assert r.status_code == 200 and r.json()["locale"] == ""  # back to EUR 1234.50
