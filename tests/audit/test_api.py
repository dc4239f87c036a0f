"""GET /audit/verify (admins) and GET /audit (admins everything, a store manager the chains of
their own stores, nobody else)."""

from __future__ import annotations

from typing import Any

from audit_helpers import append, chain_of, new_location, put_back, row, tamper
from helpers.api import password_login
from helpers.catalog import make_user

from db.session import Database


async def test_admins_verify_every_chain_and_see_a_break(api: Any, db: Database) -> None:
    lid, code = new_location(db)
    ids = append(db, lid, 3)
    chain = chain_of(db, lid)
    admin = await password_login(api, "admin", "admin-demo")
    r = await api.get("/audit/verify", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    mine = {c["chain"]: c for c in body["chains"]}[chain]
    assert mine["ok"] and mine["rows_checked"] == 3 and mine["location"] == code
    assert mine["head_id"] == ids[-1] and mine["first_broken"] is None
    assert "central" in {c["chain"] for c in body["chains"]}

    saved = row(db, ids[1])
    tamper(db, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    try:
        r = await api.get("/audit/verify", params={"chain": code}, headers=admin)
        assert r.status_code == 200, r.text
        [only] = r.json()["chains"]
        assert not r.json()["ok"] and not only["ok"]
        assert only["first_broken"]["id"] == ids[2] and only["first_broken"]["kind"] == "link"
        assert only["first_broken"]["after_id"] == ids[0]
    finally:
        put_back(db, saved)
    r = await api.get("/audit/verify", params={"chain": "NO-SUCH-CHAIN"}, headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_chain"


async def test_who_may_read_the_audit_log(api: Any, db: Database, cashier: dict[str, str]) -> None:
    lid, code = new_location(db)
    append(db, lid, 2, what="mine")
    user, password = make_user(db, "manager", [], locations=(code,))
    manager = await password_login(api, user, password)
    mia = await password_login(api, "mia", "manager-demo")  # manages BER, LIS, WH1: not this one

    for headers in (manager, mia, cashier):
        assert (await api.get("/audit/verify", headers=headers)).status_code == 403
    assert (await api.get("/audit", headers=cashier)).status_code == 403
    assert (await api.get("/audit")).status_code == 401

    r = await api.get("/audit", params={"chain": code, "action": "test."}, headers=manager)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2 and [i["detail"]["n"] for i in page["items"]] == [1, 0]
    assert {i["location"] for i in page["items"]} == {code}
    assert page["items"][1]["row_hash"] == page["items"][0]["prev_hash"]
    # Without a chain a manager sees their stores' chains only, never central or another store.
    r = await api.get("/audit", params={"per_page": 200}, headers=manager)
    assert r.status_code == 200 and {i["chain"] for i in r.json()["items"]} == {chain_of(db, lid)}
    r = await api.get("/audit", params={"chain": code}, headers=mia)
    assert r.status_code == 403
    r = await api.get("/audit", params={"chain": "central"}, headers=manager)
    assert r.status_code == 403

    admin = await password_login(api, "admin", "admin-demo")
    r = await api.get("/audit", params={"chain": "central", "action": "auth.login"}, headers=admin)
    assert r.status_code == 200 and r.json()["total"] >= 1
    assert all(i["action"] == "auth.login" for i in r.json()["items"])
    r = await api.get("/audit", params={"since": "not a time"}, headers=admin)
    assert r.status_code == 422
