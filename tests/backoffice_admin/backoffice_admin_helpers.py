"""Request bodies of the places-and-staff tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from helpers.api import password_login


def location_body(code: str, **change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"Location {code}",
        "kind": "store",
        "address": "Hauptstraße 1, 10115 Berlin",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "country": "DE",
        "latitude": 52.52,
        "longitude": 13.40,
        "hours": [
            {"day": "Mon", "opens": "09:00", "closes": "18:00"},
            {"day": "Sat", "opens": "10:00", "closes": "14:00"},
        ],
        "tax_rates": {"standard": 2300},
    }
    body.update(change)
    return body


STRONG = "violet-harbour-kettle-47"  # passes zxcvbn's score 3


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


@dataclass
class Store:
    code: str
    till: str
    manager: str
    manager_headers: dict[str, str]


async def make_store(api: Any, admin: dict[str, str]) -> Store:
    """A new store with one till and a manager of it alone (signed in)."""
    code = unique("S")
    r = await api.post(
        "/admin/locations",
        headers=admin,
        json={
            "code": code,
            "name": f"Store {code}",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "country": "DE",
            "latitude": 52.5,
            "longitude": 13.4,
            "hours": [{"day": "Mon", "opens": "09:00", "closes": "20:00"}],
            "tax_rates": {"standard": 1900, "reduced": 700, "zero": 0},
            "shift_required": False,  # these tests sell without opening a shift
        },
    )
    assert r.status_code == 201, r.text
    till = f"{code}T1"
    r = await api.post("/admin/tills", headers=admin, json={"code": till, "location": code})
    assert r.status_code == 201, r.text
    manager = code.lower() + "-mgr"
    r = await api.post(
        "/admin/users",
        headers=admin,
        json={
            "username": manager,
            "display_name": "Store Manager",
            "role": "manager",
            "locations": [code],
            "password": STRONG,
        },
    )
    assert r.status_code == 201, r.text
    return Store(code, till, manager, await password_login(api, manager, STRONG))
