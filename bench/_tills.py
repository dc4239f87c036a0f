"""The benchmark's tills: extra tills and cashiers, sign-in, baskets, sales over HTTP."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from api.auth import hash_secret
from db.models import Location, Till, User, UserLocation
from db.repositories import catalog
from db.seed import demo_skus
from db.session import Database

# Eight distinct tills, each with its own cashier: the four demo tills and four the benchmark adds.
# (till, store, staff code, PIN, username or None for a demo cashier)
TILL_STAFF: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("BER1", "BER", "1001", "1234", None),
    ("LIS1", "LIS", "2001", "1234", None),
    ("BER2", "BER", "1002", "2345", None),
    ("LIS2", "LIS", "2002", "2345", None),
    ("BER3", "BER", "1103", "3456", "bench-ber3"),
    ("LIS3", "LIS", "2103", "3456", "bench-lis3"),
    ("BER4", "BER", "1104", "4567", "bench-ber4"),
    ("LIS4", "LIS", "2104", "4567", "bench-lis4"),
)
CASH_NOTE = 500  # customers pay with whole 5-euro notes, so most sales give change


@dataclass(frozen=True)
class TillSession:
    """A cashier signed in at one till: the bearer token is bound to that till."""

    till: str
    headers: dict[str, str]


@dataclass(frozen=True)
class SaleTiming:
    """One sale as the till saw it: wall-clock send/receive and the measured latency."""

    workflow_id: str
    sent_at: float  # time.time() just before the request
    received_at: float  # time.time() just after the answer
    seconds: float  # perf_counter() difference
    warned: bool = False  # the till was warned, e.g. sold below zero on hand


class SaleFailed(RuntimeError):
    """A benchmark sale did not complete with 200."""


def tills_for(count: int) -> list[str]:
    """The first `count` benchmark tills (BER1 first, so the 1-till scenario uses a demo till)."""
    if not 1 <= count <= len(TILL_STAFF):
        raise ValueError(f"between 1 and {len(TILL_STAFF)} tills, not {count}")
    return [t[0] for t in TILL_STAFF[:count]]


def add_bench_tills(db: Database, receipts_dir: str) -> None:
    """Add the extra tills and one cashier each, the way the demo seed makes its own."""
    with db.unit_of_work() as s:
        locations = {loc.code: loc.id for loc in s.scalars(select(Location))}
        for till, store, staff, pin, username in TILL_STAFF:
            if username is None:
                continue
            s.add(
                Till(
                    code=till,
                    location_id=locations[store],
                    name=f"Till {till}",
                    printer_url=f"file:{receipts_dir}/{till}.bin",
                )
            )
            user = User(
                username=username,
                display_name=f"Bench cashier {till}",
                role="cashier",
                staff_code=staff,
                pin_hash=hash_secret(pin),
            )
            s.add(user)
            s.flush()
            s.add(UserLocation(user_id=user.id, location_id=locations[store]))


def shelf_prices(db: Database, store: str = "BER") -> dict[str, int]:
    """The demo catalogue's SKUs with their tax-inclusive shelf prices (the same in every store)."""
    demo = set(demo_skus())
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location.id).where(Location.code == store))
        assert loc is not None
        items = catalog.all_items(s, loc)
    return {i.sku: i.unit_price for i in items if i.sku in demo and i.unit_price is not None}


async def sign_in(api_url: str, tills: Sequence[str]) -> list[TillSession]:
    """Sign each till's own cashier in at that till."""
    staff = {t[0]: t for t in TILL_STAFF}
    sessions = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        for till in tills:
            _, _, code, pin, _ = staff[till]
            r = await http.post(f"/tills/{till}/login", json={"staff_code": code, "pin": pin})
            if r.status_code != 200:
                raise SaleFailed(f"sign-in at {till} failed: {r.status_code} {r.text}")
            sessions.append(TillSession(till, {"Authorization": f"Bearer {r.json()['token']}"}))
    return sessions


@dataclass(frozen=True)
class Basket:
    """What the customer brings to the till and the cash they hand over."""

    lines: tuple[tuple[str, int], ...]  # (sku, quantity)
    cash: int

    def body(self, client_sale_id: str) -> dict[str, Any]:
        """The JSON body of POST /tills/{till}/sales."""
        return {
            "client_sale_id": client_sale_id,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in self.lines],
            "tenders": [{"kind": "cash", "amount": self.cash}],
        }


def basket(rng: random.Random, prices: dict[str, int], skus: Sequence[str]) -> Basket:
    """1-3 distinct demo SKUs of 1-2 units, paid in cash with whole notes."""
    lines = tuple((sku, rng.randint(1, 2)) for sku in rng.sample(list(skus), rng.randint(1, 3)))
    total = sum(prices[sku] * qty for sku, qty in lines)
    return Basket(lines, (total // CASH_NOTE + 1) * CASH_NOTE)


async def ring_up(
    http: httpx.AsyncClient, session: TillSession, items: Basket, tag: str
) -> SaleTiming:
    """One checkout over HTTP, timed from request to response; anything but 200 is a failure."""
    payload = items.body(f"{tag}-{uuid.uuid4().hex[:12]}")
    sent = time.time()
    t0 = time.perf_counter()
    r = await http.post(f"/tills/{session.till}/sales", json=payload, headers=session.headers)
    seconds = time.perf_counter() - t0
    received = time.time()
    answer = r.json() if r.status_code == 200 else {}
    if answer.get("status") != "completed":
        raise SaleFailed(f"sale at {session.till} answered {r.status_code}: {r.text[:500]}")
    return SaleTiming(answer["workflow_id"], sent, received, seconds, bool(answer.get("warnings")))


async def run_till(
    api_url: str,
    session: TillSession,
    count: int,
    prices: dict[str, int],
    seed: int,
    tag: str,
    pause: float = 0.0,
) -> list[SaleTiming]:
    """A till ringing up `count` sales on its own keep-alive connection, `pause` seconds before
    each (the next customer stepping up; 0: back to back)."""
    rng = random.Random(seed)
    skus = sorted(prices)
    out = []
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        for _ in range(count):
            if pause:
                await asyncio.sleep(pause)
            items = basket(rng, prices, skus)
            out.append(await ring_up(http, session, items, f"{tag}-{session.till}"))
    return out


FLOAT = [{"denomination": 2000, "quantity": 5}, {"denomination": 100, "quantity": 50}]


async def open_shifts(api_url: str, sessions: Sequence[TillSession]) -> None:
    """Open a shift at each till: the demo's stores sell only in an open shift (issue 18)."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        for s in sessions:
            r = await http.post(
                f"/tills/{s.till}/shifts",
                json={"float": FLOAT},
                headers={**s.headers, "Idempotency-Key": f"bench-shift-{s.till}-{time.time_ns()}"},
            )
            if r.status_code not in (201, 409):
                raise SaleFailed(f"opening a shift at {s.till}: {r.status_code} {r.text[:300]}")
