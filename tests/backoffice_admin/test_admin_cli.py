"""`tillflow admin create` bootstraps the first admin of an EMPTY installation (no demo data)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from helpers.api import password_login
from sqlalchemy import func, select

from db import migrate
from db.models import AuditEntry, Location, User
from db.session import Database

PASSWORD = "granite-lantern-orbit-93"


def _create(url: str, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TILLFLOW_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "tillflow.cli", "admin", "create", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_first_admin_on_an_empty_database(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    scratch_database, test_settings, temporal_client, gateway
) -> None:
    url = scratch_database(f"tillflow_admin_{uuid.uuid4().hex[:8]}")
    not_yet = _create(url, PASSWORD + "\n", "--username", "root")
    assert not_yet.returncode != 0 and "tillflow migrate" in not_yet.stderr

    migrate.upgrade(url)
    weak = _create(url, "password123\n", "--username", "root")
    assert weak.returncode != 0 and "too easy to guess" in weak.stderr
    made = _create(url, PASSWORD + "\n", "--username", "root", "--display-name", "Rita Root")
    assert made.returncode == 0, made.stderr
    assert "admin root created" in made.stdout
    twice = _create(url, PASSWORD + "\n", "--username", "root")
    assert twice.returncode != 0 and "already a user root" in twice.stderr

    db = Database(url)
    try:
        with db.unit_of_work() as s:
            user = s.scalar(select(User).where(User.username == "root"))
            assert user is not None and user.role == "admin" and user.active
            assert user.password_hash and PASSWORD not in user.password_hash
            assert s.scalar(select(func.count()).select_from(Location)) == 0  # no demo data
            assert s.scalar(select(AuditEntry.action).where(AuditEntry.subject == "user:root"))
        # The new admin signs in on that installation and can set it up.
        from helpers.api import own_api

        async with own_api(test_settings, db=db, client=temporal_client, gateway=gateway) as at:
            api = at("127.0.0.1")
            headers = await password_login(api, "root", PASSWORD)
            r = await api.get("/admin/locations", headers=headers)
            assert r.status_code == 200 and r.json() == {"items": []}
    finally:
        db.dispose()
