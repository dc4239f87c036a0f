"""A deactivated cashier, or one whose PIN a manager changed, no longer signs in at a till that goes
offline: the snapshot lists who may sign in at the store, and the agent forgets the rest."""

from __future__ import annotations

import uuid

from helpers.tills import TcpLink, wait_until
from sqlalchemy import select

from api.auth import hash_secret
from db.models import Location, User, UserLocation
from db.session import Database


def _new_cashier(db: Database, pin: str) -> tuple[str, int]:
    with db.unit_of_work() as s:
        taken = set(s.scalars(select(User.staff_code).where(User.staff_code.is_not(None))))
        # A free code: the suite's other tests make staff of their own with random codes too.
        code = next(
            c for c in (str(7000 + uuid.uuid4().int % 2000) for _ in range(100)) if c not in taken
        )
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        user = User(
            username=f"temp-{uuid.uuid4().hex[:8]}",
            display_name="Temp Cashier",
            role="cashier",
            staff_code=code,
            pin_hash=hash_secret(pin),
        )
        s.add(user)
        s.flush()
        s.add(UserLocation(user_id=user.id, location_id=ber))
        return code, user.id


def _update(db: Database, user_id: int, **values: object) -> None:
    with db.unit_of_work() as s:
        user = s.get(User, user_id)
        assert user is not None
        for name, value in values.items():
            setattr(user, name, value)


async def test_a_deactivated_cashier_and_a_changed_pin_stop_working_offline(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, central, start_agent
) -> None:
    leaving, leaving_id = _new_cashier(db, "2468")
    staying, staying_id = _new_cashier(db, "1357")
    link = TcpLink(central.port)
    await link.up()
    agent = await start_agent("BER1", link.url)
    for code, pin in ((leaving, "2468"), (staying, "1357")):
        await agent.login(code, pin)
    await wait_until(lambda: agent.agent.snapshot is not None, 10, "snapshot")
    before = agent.agent.snapshot.version
    # Head office deactivates one; a manager resets the other's PIN. The till is still online:
    # its next snapshot says so (the version moved), and it forgets both offline sign-ins.
    _update(db, leaving_id, active=False)
    _update(db, staying_id, pin_hash=hash_secret("8642"))
    await agent.agent.refresh_snapshot(force=True)
    assert agent.agent.snapshot.version != before  # GET /tills/{till}/catalog/version moved too
    assert set(agent.agent.snapshot.body["staff"]) >= {staying}
    assert leaving not in agent.agent.snapshot.body["staff"]
    await link.cut()
    for code, pin in ((leaving, "2468"), (staying, "1357")):
        r = await agent.http.post("/api/login", json={"staff_code": code, "pin": pin})
        assert r.status_code == 401, (code, r.text)
    # Back online, the one still employed signs in with the new PIN and works offline again.
    await link.up()
    await agent.login(staying, "8642")
    await link.cut()
    assert (await agent.login(staying, "8642"))["display_name"] == "Temp Cashier"
    _update(db, leaving_id, active=True, staff_code=None)  # out of the shared demo data's way
    _update(db, staying_id, active=False, staff_code=None)
