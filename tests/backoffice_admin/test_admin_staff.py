"""Tills and users through /admin/tills and /admin/users: validation, who manages whom, PINs and
passwords never shown, and a deactivated person's tokens refused at once."""

from __future__ import annotations

from backoffice_admin_helpers import STRONG, Store, make_store, unique
from helpers.api import password_login, till_login

from db.repositories import bookkeeping


async def test_till_crud_and_device_validation(api, admin, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    code = unique("T")
    bad = [
        ({"printer_url": "lpt1"}, "bad_printer_url"),
        ({"printer_url": "tcp://"}, "bad_printer_url"),
        ({"printer_url": "file:/tmp/x.bin?speed=9"}, "bad_printer_url"),
        ({"scanner": "/dev/ttyACM0?baudrate=fast"}, "bad_scanner"),
        ({"card_reader": "reader-7"}, "bad_card_reader"),
        ({"location": "WH1"}, "not_a_store"),
    ]
    for change, expected in bad:
        r = await api.post(
            "/admin/tills", headers=admin, json={"code": code, "location": store.code, **change}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == expected, (change, r.text)
    r = await api.post(
        "/admin/tills",
        headers=admin,
        json={
            "code": code,
            "location": store.code,
            "printer_url": "tcp://10.0.0.5:9100?timeout=5",
            "card_reader": "tmr_FakeReader1",
            "scanner": "/dev/ttyACM0?baudrate=9600&terminator=CR",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == f"Till {code}" and r.json()["card_reader"] == "tmr_FakeReader1"
    mine = await api.patch(
        f"/admin/tills/{code}",
        headers=store.manager_headers,
        json={"printer_url": "serial:/dev/ttyUSB0?baudrate=19200"},
    )
    assert mine.status_code == 200 and mine.json()["printer_url"].startswith("serial:")
    move = await api.patch(
        f"/admin/tills/{code}", headers=store.manager_headers, json={"location": "BER"}
    )
    assert move.status_code == 403
    other = await api.patch(
        "/admin/tills/BER1", headers=store.manager_headers, json={"name": "Mine now"}
    )
    assert other.status_code == 403
    listed = await api.get("/admin/tills", headers=store.manager_headers)
    assert {t["code"] for t in listed.json()["items"]} == {store.till, code}
    deleted = await api.delete(f"/admin/tills/{code}", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["outcome"] == "deleted"


async def test_manager_manages_cashiers_of_own_store_only(api, admin, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    mgr = store.manager_headers
    name = unique("c").lower()
    staff_code = str(70000 + int(name[1:], 16) % 29999)
    r = await api.post(
        "/admin/users",
        headers=mgr,
        json={
            "username": name,
            "display_name": "New Cashier",
            "role": "cashier",
            "locations": [store.code],
            "staff_code": staff_code,
            "pin": "4827",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["has_pin"] is True and "pin" not in body and "pin_hash" not in body
    assert (await till_login(api, store.till, staff_code, "4827"))["Authorization"]

    refusals = [
        ({"role": "admin", "locations": [store.code]}, "an admin"),
        ({"role": "manager", "locations": [store.code]}, "an admin"),
        ({"role": "cashier", "locations": ["BER"]}, "stores you manage"),
        ({"role": "cashier", "locations": [store.code], "permissions": ["catalog"]}, "admin"),
    ]
    for change, words in refusals:
        r = await api.post(
            "/admin/users",
            headers=mgr,
            json={"username": unique("x").lower(), "display_name": "X", **change},
        )
        assert r.status_code == 403 and words in r.json()["error"]["message"], (change, r.text)
    # Carl works at BER, which this manager does not manage.
    for call in (
        api.patch("/admin/users/carl", headers=mgr, json={"display_name": "Carl"}),
        api.post("/admin/users/carl/pin", headers=mgr, json={"pin": "4827"}),
        api.post("/admin/users/carl/deactivate", headers=mgr),
        api.get("/admin/users/carl", headers=mgr),
    ):
        assert (await call).status_code == 403
    listed = await api.get("/admin/users", headers=mgr)
    assert {u["username"] for u in listed.json()["items"]} == {store.manager, name}


async def test_pin_and_password_rules(api, admin, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    name = unique("p").lower()
    r = await api.post(
        "/admin/users",
        headers=admin,
        json={
            "username": name,
            "display_name": "Pat Person",
            "role": "cashier",
            "locations": [store.code],
            "staff_code": str(40000 + int(name[1:], 16) % 29999),
        },
    )
    assert r.status_code == 201, r.text
    for pin in ("0000", "1234", "9876", "1212", "123", "123456789", "12a4"):
        bad = await api.post(
            f"/admin/users/{name}/pin", headers=store.manager_headers, json={"pin": pin}
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "weak_pin", pin
    good = await api.post(
        f"/admin/users/{name}/pin", headers=store.manager_headers, json={"pin": "58203"}
    )
    assert good.status_code == 200 and good.json() == {
        "username": name,
        "changed": "pin",
        "tokens_revoked": 0,
    }
    for password in ("short", "password123", "patperson2024", name + "12345"):
        weak = await api.post(
            f"/admin/users/{name}/password", headers=admin, json={"password": password}
        )
        assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    strong = await api.post(
        f"/admin/users/{name}/password", headers=admin, json={"password": STRONG}
    )
    assert strong.status_code == 200
    weak_new = await api.post(
        "/admin/users",
        headers=admin,
        json={
            "username": unique("w").lower(),
            "display_name": "W",
            "role": "finance",
            "password": "qwerty12345",
        },
    )
    assert weak_new.status_code == 422 and weak_new.json()["error"]["code"] == "weak_password"


async def test_deactivated_user_tokens_are_refused_at_once(api, admin, db, store: Store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    name = unique("d").lower()
    staff_code = str(10000 + int(name[1:], 16) % 29999)
    r = await api.post(
        "/admin/users",
        headers=admin,
        json={
            "username": name,
            "display_name": "Dana Leaving",
            "role": "cashier",
            "locations": [store.code],
            "staff_code": staff_code,
            "pin": "39571",
            "password": STRONG,
        },
    )
    assert r.status_code == 201, r.text
    till_token = await till_login(api, store.till, staff_code, "39571")
    office_token = await password_login(api, name, STRONG)
    assert (
        await api.get(f"/tills/{store.till}/catalog/version", headers=till_token)
    ).status_code == 200
    assert (await api.get(f"/admin/users/{name}", headers=office_token)).status_code == 200

    off = await api.post(f"/admin/users/{name}/deactivate", headers=store.manager_headers)
    assert off.status_code == 200, off.text
    assert off.json()["tokens_revoked"] == 2 and off.json()["user"]["active"] is False

    refused_till = await api.get(f"/tills/{store.till}/catalog/version", headers=till_token)
    refused_office = await api.get(f"/admin/users/{name}", headers=office_token)
    assert refused_till.status_code == 401 and refused_office.status_code == 401
    again = await api.post(
        f"/tills/{store.till}/login", json={"staff_code": staff_code, "pin": "39571"}
    )
    assert again.status_code == 401
    with db.unit_of_work() as s:
        entries = [
            e for e in bookkeeping.audit_entries(s, f"user:{name}") if e.action.startswith("user.")
        ]
    assert [e.action for e in entries] == ["user.created", "user.deactivated"]
    assert entries[1].detail["by"] == store.manager and entries[1].detail["tokens_revoked"] == 2
    assert "39571" not in str(entries[0].detail) and STRONG not in str(entries[0].detail)


async def test_last_admin_and_admin_only_grants(api, admin) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    other = await make_store(api, admin)
    grant = await api.patch(
        f"/admin/users/{other.manager}", headers=admin, json={"permissions": ["catalog"]}
    )
    assert grant.status_code == 200 and grant.json()["permissions"] == ["catalog"]
    unknown = await api.patch(
        f"/admin/users/{other.manager}", headers=admin, json={"permissions": ["root"]}
    )
    assert unknown.status_code == 422
    self_grant = await api.patch(
        f"/admin/users/{other.manager}", headers=other.manager_headers, json={"permissions": []}
    )
    assert self_grant.status_code == 403
    demote = await api.patch("/admin/users/admin", headers=admin, json={"role": "manager"})
    # Other tests may have made admins; the demo admin is the last one only if none did.
    assert demote.status_code in (409, 200)
    if demote.status_code == 200:
        await api.patch("/admin/users/admin", headers=admin, json={"role": "admin"})
