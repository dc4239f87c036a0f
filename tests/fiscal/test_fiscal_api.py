"""The fiscal API (issue 20) through the real ASGI app: an admin sets, reads and removes a
location's fiscal unit (validated, audited, idempotent); the store's managers, finance and admins
read its records; a location without a unit has nothing to export. Locations of the test's own."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from helpers.api import password_login, till_login
from sqlalchemy import select

from contracts.fiscal import FiscalSignature
from db.models import AuditEntry
from db.repositories import fiscal
from db.session import Database

TSS, CLIENT = str(uuid.uuid4()), str(uuid.uuid4())


async def new_location(api: Any, admin: dict[str, str], country: str = "DE") -> str:
    code = f"F{uuid.uuid4().hex[:6].upper()}"
    r = await api.post(
        "/admin/locations",
        headers=admin,
        json={
            "code": code, "name": f"Fiscal {code}", "kind": "store", "address": "Weg 1",
            "currency": "EUR", "timezone": "Europe/Berlin", "country": country,
            "latitude": 52.5, "longitude": 13.4, "hours": [], "tax_rates": {"standard": 1900},
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return code


def add_record(db: Database, code: str, document_id: str, at: datetime, status: str) -> None:
    with db.unit_of_work() as s:
        loc, _ = fiscal.unit_row(s, code)
        fiscal.store_record(
            s, kind="sale", location_id=loc.id, till_code=f"{code}1", number=document_id,
            occurred_at=at, document={"total": 1190, "currency": "EUR"},
            signature=FiscalSignature(
                document_id=document_id, scheme="de-fiskaly", status=status,  # type: ignore[arg-type]  # a str holding one of the Literal statuses
                receipt_lines=("TSE-Transaktion: 1",), qr="V0;x", fields=(("signature", "c2ln"),),
            ),
        )  # fmt: skip


async def test_an_admin_sets_a_validated_audited_fiscal_unit(api, db: Database) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    admin = await password_login(api, "admin", "admin-demo")
    code = await new_location(api, admin)
    url = f"/admin/locations/{code}/fiscal"
    r = await api.get(url, headers=admin)
    assert r.status_code == 200 and r.json()["scheme"] == "none" and r.json()["pending"] == 0
    bad = await api.put(
        url, headers=admin, json={"scheme": "de-fiskaly", "options": {"tss_id": "x"}}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "fiscal_options_invalid", (
        bad.text
    )
    wrong = await api.put(url, headers=admin, json={"scheme": "pt-at", "options": {}})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "fiscal_scheme_country"
    unknown = await api.put(url, headers=admin, json={"scheme": "fr-nf525"})
    assert unknown.status_code == 422
    body = {"scheme": "de-fiskaly", "options": {"tss_id": TSS, "client_id": CLIENT}}
    cashier = await till_login(api)
    assert (await api.put(url, headers=cashier, json=body)).status_code == 403
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = await api.put(url, headers={**admin, **key}, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["scheme"] == "de-fiskaly" and r.json()["options"]["tss_id"] == TSS
    again = await api.put(url, headers={**admin, **key}, json=body)
    assert again.json() == r.json() and again.headers.get("Idempotent-Replay") == "true"
    with db.unit_of_work() as s:
        audited = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "location.fiscal", AuditEntry.subject == f"location:{code}"
            )
        ).all()
    assert len(audited) == 1 and audited[0].detail["after"]["scheme"] == "de-fiskaly"
    # A manager of other stores may not read it; finance may.
    mia = await password_login(api, "mia", "manager-demo")
    assert (await api.get(url, headers=mia)).status_code == 403
    fiona = await password_login(api, "fiona", "finance-demo")
    assert (await api.get(url, headers=fiona)).json()["scheme"] == "de-fiskaly"
    # Removing it: refused while a document waits for its signature, then done, then a no-op.
    add_record(db, code, f"sale:{code}1:p", datetime.now(UTC), "pending")
    held = await api.delete(url, headers=admin)
    assert held.status_code == 409 and held.json()["error"]["code"] == "fiscal_pending"
    add_record(db, code, f"sale:{code}1:p", datetime.now(UTC), "signed")
    gone = await api.delete(url, headers=admin)
    assert gone.status_code == 200 and gone.json()["removed"] is True
    assert (await api.delete(url, headers=admin)).json()["removed"] is False
    assert (await api.get(url, headers=admin)).json()["scheme"] == "none"


async def test_records_are_read_by_range_and_store_and_a_store_without_a_unit_exports_nothing(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db: Database
) -> None:
    admin = await password_login(api, "admin", "admin-demo")
    code = await new_location(api, admin)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    add_record(db, code, f"sale:{code}1:b", today, "signed")
    add_record(db, code, f"sale:{code}1:a", today - timedelta(hours=1), "pending")
    add_record(db, code, f"sale:{code}1:old", today - timedelta(days=3), "signed")
    day = today.date().isoformat()
    fiona = await password_login(api, "fiona", "finance-demo")
    r = await api.get(f"/fiscal/{code}/records", params={"from": day, "to": day}, headers=fiona)
    assert r.status_code == 200, r.text
    got = r.json()["records"]
    assert [x["document_id"] for x in got] == [f"sale:{code}1:a", f"sale:{code}1:b"]
    assert [x["status"] for x in got] == ["pending", "signed"]
    assert got[1]["fields"] == {"signature": "c2ln"} and got[1]["total"] == 1190
    mia = await password_login(api, "mia", "manager-demo")  # not a manager of this store
    assert (
        await api.get(f"/fiscal/{code}/records", params={"from": day, "to": day}, headers=mia)
    ).status_code == 403
    backwards = await api.get(
        f"/fiscal/{code}/records",
        params={"from": day, "to": (date.fromisoformat(day) - timedelta(days=1)).isoformat()},
        headers=fiona,
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "bad_range"
    # No unit at this location (records alone do not make one): nothing to export.
    none = await api.get(f"/fiscal/{code}/export", params={"from": day, "to": day}, headers=fiona)
    assert none.status_code == 422 and none.json()["error"]["code"] == "no_fiscal_unit", none.text
    cashier = await till_login(api)
    refused = await api.get(
        f"/fiscal/{code}/export", params={"from": day, "to": day}, headers=cashier
    )
    assert refused.status_code == 403
    assert (
        await api.get("/fiscal/NOPE/records", params={"from": day, "to": day}, headers=fiona)
    ).status_code == 404
