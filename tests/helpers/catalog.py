"""Catalogue tests' helpers: unique codes, product bodies, back-office users made in the DB."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from api.auth import hash_secret
from db.models import Location, User, UserLocation
from db.session import Database
from domain.barcodes import make_ean13


def make_user(
    db: Database, role: str, permissions: list[str], locations: tuple[str, ...] = ("BER",)
) -> tuple[str, str]:
    """A back-office user with a password, made directly in the database: (username, password)."""
    username = f"cat-{role}-{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    with db.unit_of_work() as s:
        user = User(
            username=username,
            display_name=username,
            role=role,
            password_hash=hash_secret(password),
            permissions=permissions,
        )
        s.add(user)
        s.flush()
        for code in locations:
            loc = s.scalar(select(Location.id).where(Location.code == code))
            s.add(UserLocation(user_id=user.id, location_id=loc))
    return username, password


class Codes:
    """Unique product codes, SKUs and barcodes for one test."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:8].upper()
        self._n = 0

    def code(self, name: str = "P") -> str:
        return f"T{self.tag}-{name}"

    def barcode(self) -> str:
        self._n += 1
        # 2xx prefixes are for a retailer's own numbering: never clash with a real product
        base = f"2{int(self.tag, 16) % 10**7:07d}{self._n:04d}"
        return make_ean13(base)


def product_body(codes: Codes, name: str = "P", **over: Any) -> dict[str, Any]:
    code = codes.code(name)
    body: dict[str, Any] = {
        "code": code,
        "name": f"Test product {code}",
        "category": "home",
        "tax_category": "standard",
        "cost_price": 400,
        "cost_currency": "EUR",
        "variants": [
            {
                "sku": f"{code}-S",
                "name": "Small",
                "attributes": {"size": "S"},
                "barcodes": [codes.barcode()],
            },
            {
                "sku": f"{code}-L",
                "name": "Large",
                "attributes": {"size": "L"},
                "barcodes": [codes.barcode()],
            },
        ],
        "prices": [
            {"sku": f"{code}-S", "amount": 990, "currency": "EUR"},
            {"sku": f"{code}-L", "amount": 1290, "currency": "EUR"},
        ],
    }
    body.update(over)
    return body
