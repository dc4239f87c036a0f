"""Sign-in cannot be guessed: failures lock a staff code or username (until a manager unlocks it or
the lockout passes), are throttled per account and per address, are audited, and an unknown name
gets the same answer after the same work."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from helpers.api import Clients, own_api
from sqlalchemy import select, text

from api.auth import hash_secret
from db.models import AuditEntry, Location, User, UserLocation
from db.session import Database


def serve(  # type: ignore[no-untyped-def]  # takes untyped fixture values
    db: Database, temporal_client, test_settings, gateway, **settings: Any
) -> AbstractAsyncContextManager[Clients]:
    """An API of its own (so its counters start at zero) with these settings."""
    return own_api(test_settings, db=db, client=temporal_client, gateway=gateway, **settings)


# Failures are not throttled in these tests unless they say so: the lockout is what they test.
LOOSE = {
    "rate_limit_signin_failures_account": "1000/minute",
    "rate_limit_signin_failures_address": "1000/minute",
}


@pytest.fixture
async def clients(db, temporal_client, test_settings, gateway) -> AsyncIterator[Clients]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with serve(db, temporal_client, test_settings, gateway, **LOOSE) as at:
        yield at


def new_person(
    db: Database,
    role: str = "cashier",
    stores: tuple[str, ...] = ("BER",),
    *,
    pin: str | None = "4321",
    password: str | None = None,
) -> tuple[str, str]:
    """A new user of these stores: (staff code, username)."""
    staff_code = str(uuid.uuid4().int % 10**8).zfill(8) if pin else None
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    with db.unit_of_work() as s:
        user = User(
            username=username,
            display_name=username.title(),
            role=role,
            staff_code=staff_code,
            pin_hash=hash_secret(pin) if pin else None,
            password_hash=hash_secret(password) if password else None,
        )
        s.add(user)
        s.flush()
        for code in stores:
            location = s.scalar(select(Location.id).where(Location.code == code))
            s.add(UserLocation(user_id=user.id, location_id=location))
    return staff_code or "", username


def audit(db: Database, subject: str) -> list[tuple[str, dict[str, Any]]]:
    with db.unit_of_work() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.subject == subject))
        return [(r.action, r.detail) for r in sorted(rows, key=lambda r: r.id)]


async def pin_login(api: httpx.AsyncClient, staff_code: str, pin: str, till: str = "BER1") -> Any:
    return await api.post(f"/tills/{till}/login", json={"staff_code": staff_code, "pin": pin})


async def pw_login(api: httpx.AsyncClient, username: str, secret: str) -> Any:
    return await api.post("/auth/login", json={"username": username, "password": secret})


async def bearer(api: httpx.AsyncClient, username: str, secret: str) -> dict[str, str]:
    r = await pw_login(api, username, secret)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_staff_code_locks_after_five_failures_and_a_manager_unlocks_it(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    clients, db
) -> None:
    api = clients("10.1.0.1")
    code, username = new_person(db)
    for n in range(4):
        r = await pin_login(api, code, "0000")
        assert r.status_code == 401, (n, r.text)
    fifth = await pin_login(api, code, "0000")
    assert fifth.status_code == 423, fifth.text
    assert fifth.json()["error"]["code"] == "signin_locked"
    assert "locked" in fifth.json()["error"]["message"]
    assert 14 * 60 < int(fifth.headers["Retry-After"]) <= 15 * 60  # the default lockout
    # Locked means locked: the right PIN is refused too, and at every till.
    for till in ("BER1", "BER2"):
        right = await pin_login(api, code, "4321", till)
        assert right.status_code == 423 and int(right.headers["Retry-After"]) > 0, right.text

    trail = audit(db, f"staff:{code}")
    actions = [a for a, _ in trail]
    assert actions.count("signin.failed") == 7 and actions.count("signin.locked") == 1
    assert actions.index("signin.locked") == 5  # right after the fifth failure
    assert [d["failures"] for a, d in trail[:5]] == [1, 2, 3, 4, 5]
    assert {d["reason"] for _, d in trail[:5]} == {"wrong_secret"}
    assert {d["reason"] for _, d in trail[6:]} == {"locked"}
    assert trail[0][1]["address"] == "10.1.0.1" and trail[0][1]["till"] == "BER1"
    assert all("0000" not in str(d) and "4321" not in str(d) for _, d in trail)

    # Who may unlock: not a cashier, not a manager of another store; a manager of the store may.
    carl = await pin_login(api, "1001", "1234")
    cashier = {"Authorization": f"Bearer {carl.json()['token']}"}
    url = f"/stores/BER/staff/{code}/unlock"
    assert (await api.post(url, headers=cashier)).status_code == 403
    _, lisbon = new_person(db, "manager", ("LIS",), pin=None, password="lisbon-pw")
    lisbon_manager = await bearer(api, lisbon, "lisbon-pw")
    assert (await api.post(url, headers=lisbon_manager)).status_code == 403
    assert (
        await api.post(f"/stores/LIS/staff/{code}/unlock", headers=lisbon_manager)
    ).status_code == 404  # not a person of that store
    mia = await bearer(api, "mia", "manager-demo")
    unlocked = await api.post(url, headers=mia)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {
        "user": username,
        "staff_code": code,
        "was_locked": True,
        "failures_cleared": 5,
    }
    (unlock,) = [d for a, d in audit(db, f"staff:{code}") if a == "signin.unlocked"]
    assert unlock["by"] == "mia" and unlock["was_locked"] is True
    assert (await pin_login(api, code, "4321")).status_code == 200


async def test_only_consecutive_failures_count(clients, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api = clients("10.1.0.2")
    code, _ = new_person(db)
    for _ in range(4):
        assert (await pin_login(api, code, "0000")).status_code == 401
    assert (await pin_login(api, code, "4321")).status_code == 200  # a success starts again at zero
    for _ in range(4):
        assert (await pin_login(api, code, "0000")).status_code == 401
    assert (await pin_login(api, code, "0000")).status_code == 423  # the fifth in a row
    failures = [d["failures"] for a, d in audit(db, f"staff:{code}") if a == "signin.failed"]
    assert failures == [1, 2, 3, 4, 1, 2, 3, 4, 5]


async def test_lockout_passes_after_the_cool_down(clients, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api = clients("10.1.0.3")
    code, _ = new_person(db)
    for _ in range(5):
        await pin_login(api, code, "0000")
    assert (await pin_login(api, code, "4321")).status_code == 423
    with db.unit_of_work() as s:  # 16 minutes pass (the lockout is 15)
        s.execute(
            text(
                "UPDATE sign_in_guards SET locked_at = locked_at - interval '16 minutes', "
                "last_failure_at = last_failure_at - interval '16 minutes' "
                "WHERE kind = 'staff' AND name = :code"
            ),
            {"code": code},
        )
    assert (await pin_login(api, code, "4321")).status_code == 200
    assert "signin.lock_expired" in [a for a, _ in audit(db, f"staff:{code}")]


async def test_lockout_length_and_failure_count_come_from_the_settings(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, test_settings, gateway
) -> None:
    async with serve(
        db,
        temporal_client,
        test_settings,
        gateway,
        **LOOSE,
        signin_max_failures=2,
        signin_lockout_minutes=0.05,  # 3 seconds
    ) as at:
        api = at("10.1.0.4")
        _, username = new_person(db, "manager", pin=None, password="right-pw")
        assert (await pw_login(api, username, "wrong")).status_code == 401
        locked = await pw_login(api, username, "wrong")
        assert locked.status_code == 423 and int(locked.headers["Retry-After"]) <= 3
        assert (await pw_login(api, username, "right-pw")).status_code == 423
        await asyncio.sleep(3.1)
        assert (await pw_login(api, username, "right-pw")).status_code == 200
        actions = [a for a, _ in audit(db, f"user:{username}")]
        assert actions == [
            "signin.failed",
            "signin.failed",
            "signin.locked",
            "signin.failed",
            "signin.lock_expired",
            "auth.login",
        ]


async def test_a_manager_unlocks_a_username(clients, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api = clients("10.1.0.5")
    _, username = new_person(db, "fulfilment", pin=None, password="pick-pw")
    for _ in range(5):
        await pw_login(api, username, "nope")
    assert (await pw_login(api, username, "pick-pw")).status_code == 423
    finance = await bearer(api, "fiona", "finance-demo")
    assert (await api.post(f"/users/{username}/unlock", headers=finance)).status_code == 403
    admin = await bearer(api, "admin", "admin-demo")
    r = await api.post(f"/users/{username}/unlock", headers=admin)
    assert r.status_code == 200 and r.json()["was_locked"] is True, r.text
    assert (await pw_login(api, username, "pick-pw")).status_code == 200
    (unlock,) = [d for a, d in audit(db, f"user:{username}") if a == "signin.unlocked"]
    assert unlock["by"] == "admin"


def _scrypt_seconds() -> float:
    started = time.perf_counter()
    hash_secret("1234")
    return time.perf_counter() - started


async def _timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    r = await call
    return time.perf_counter() - started, r


async def test_an_unknown_staff_code_gets_the_same_answer_after_the_same_work(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    clients, db
) -> None:
    api = clients("10.1.0.6")
    code, _ = new_person(db)
    unknown = str(uuid.uuid4().int % 10**8).zfill(8)
    scrypt = min(_scrypt_seconds() for _ in range(3))
    known_times, unknown_times = [], []
    for _ in range(3):
        t_known, known = await _timed(pin_login(api, code, "0000"))
        t_unknown, nobody = await _timed(pin_login(api, unknown, "0000"))
        known_times.append(t_known)
        unknown_times.append(t_unknown)
        assert known.status_code == nobody.status_code == 401
        assert known.json() == nobody.json()
        assert known.headers.get("www-authenticate") == nobody.headers.get("www-authenticate")
    # Both run one scrypt (the unknown one against a dummy hash): both take at least most of it.
    # Loose on purpose: it checks the work is done, not a timing to the millisecond.
    assert statistics.median(unknown_times) > 0.7 * scrypt, (unknown_times, scrypt)
    assert statistics.median(known_times) > 0.7 * scrypt, (known_times, scrypt)
    # ... and an unknown code locks like a known one, so a lockout tells nothing either.
    for _ in range(2):
        known, nobody = await pin_login(api, code, "0000"), await pin_login(api, unknown, "0000")
    assert known.status_code == nobody.status_code == 423
    assert known.json() == nobody.json()
    assert [d["reason"] for a, d in audit(db, f"staff:{unknown}") if a == "signin.failed"][
        0
    ] == "unknown"


async def test_an_unknown_username_and_a_user_without_a_password_answer_as_a_wrong_one(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    clients, db
) -> None:
    api = clients("10.1.0.7")
    _, with_password = new_person(db, "manager", pin=None, password="right-pw")
    _, without = new_person(db)  # a cashier: PIN only
    scrypt = min(_scrypt_seconds() for _ in range(3))
    answers = []
    for name in (with_password, f"nobody-{uuid.uuid4().hex[:6]}", without):
        took, r = await _timed(pw_login(api, name, "guess"))
        assert r.status_code == 401 and took > 0.7 * scrypt, (name, took, scrypt)
        answers.append(r.json())
    assert answers[0] == answers[1] == answers[2]


async def test_failures_are_throttled_per_till_and_staff_code_and_per_address(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, test_settings, gateway
) -> None:
    async with serve(
        db,
        temporal_client,
        test_settings,
        gateway,
        rate_limit_signin_failures_account="2/minute",
        rate_limit_signin_failures_address="4/minute",
    ) as at:
        here, there = at("10.1.0.8"), at("10.1.0.9")
        code, _ = new_person(db)
        other, _ = new_person(db)
        assert (await pin_login(here, code, "0000", "BER1")).status_code == 401
        assert (await pin_login(here, code, "0000", "BER1")).status_code == 401
        # Two failures at BER1 for this staff code: the next try there waits, even the right PIN.
        throttled = await pin_login(there, code, "4321", "BER1")
        assert throttled.status_code == 429, throttled.text
        assert throttled.json()["error"]["code"] == "rate_limited"
        assert 0 < int(throttled.headers["Retry-After"]) <= 60
        # Another till is another key: not throttled (and not locked: 2 of 5 failures).
        assert (await pin_login(there, code, "4321", "BER2")).status_code == 200
        # The address: four failures from here (any accounts), then everything from here waits.
        assert (await pin_login(here, other, "0000", "BER2")).status_code == 401
        assert (await pin_login(here, other, "0000", "BER2")).status_code == 401
        blocked = await pin_login(here, other, "4321", "BER1")
        assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
        assert (await pw_login(here, "mia", "manager-demo")).status_code == 429
        assert (await pin_login(there, other, "4321", "BER1")).status_code == 200
        # A throttled attempt was never tried, so it is no failure of the account's.
        failed = [a for a, _ in audit(db, f"staff:{other}") if a == "signin.failed"]
        assert len(failed) == 2
