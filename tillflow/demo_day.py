"""The demo retailer's first trading day: `tillflow up` opens shift 1 of each demo till that has
never had a shift, with a counted float, so the tour can sell at once. It goes through the API as
a manager at the till would (sign in with staff code + PIN, count the float); later days are the
cashiers' to open and close (the till page, or POST /tills/{till}/shifts)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from db.models import Location, Till
from db.models_shifts import Shift
from db.session import Database

MANAGER_CODE, MANAGER_PIN = "9001", "9001"  # the seeded demo manager (db/seed.py)
# 150.00 in the euro's notes and coins: 50 + 3×20 + 2×10 + 2×5 + 3×2 + 3×1 + 2×0.50
DEMO_FLOAT = {5000: 1, 2000: 3, 1000: 2, 500: 2, 200: 3, 100: 3, 50: 2}


def tills_to_open(url: str) -> list[str]:
    """Active tills of stores that sell in shifts and that never had one."""
    db = Database(url, pool_size=1)
    try:
        with db.unit_of_work() as s:
            had = select(func.count(Shift.id)).where(Shift.till_id == Till.id).scalar_subquery()
            rows = s.scalars(
                select(Till.code)
                .join(Location, Location.id == Till.location_id)
                .where(Till.active, Location.shift_required, Location.currency == "EUR", had == 0)
                .order_by(Till.code)
            )
            return list(rows)
    finally:
        db.dispose()


def open_first_shifts(api: str, tills: list[str]) -> list[str]:
    """Open shift 1 at each till; returns the tills opened (a till that refuses is skipped and
    said so: the demo still starts)."""
    opened = []
    with httpx.Client(base_url=api, timeout=30) as http:
        for till in tills:
            login = http.post(
                f"/tills/{till}/login", json={"staff_code": MANAGER_CODE, "pin": MANAGER_PIN}
            )
            if login.status_code != 200:
                print(f"  demo day: could not sign in at {till} ({login.status_code})", flush=True)
                continue
            token = login.json()["token"]
            r = http.post(
                f"/tills/{till}/shifts",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"demo-{till}-1"},
                json={"float": [{"denomination": d, "quantity": q} for d, q in DEMO_FLOAT.items()]},
            )
            http.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 201:
                opened.append(till)
            else:
                print(f"  demo day: {till} did not open ({r.status_code}: {r.text[:200]})")
    return opened
