"""Which PostgreSQL a command talks to: TILLFLOW_DATABASE_URL, else the local stack's own."""

from __future__ import annotations

from tillflow.settings import Settings


def database_url(settings: Settings) -> str:
    """TILLFLOW_DATABASE_URL when set; else the embedded PostgreSQL of a running `tillflow up`
    (`make run`) in this var dir, so `tillflow catalog import …` in a second terminal just works."""
    if settings.database_url:
        return settings.database_url
    pg = settings.var_dir.resolve() / "pg"
    if (pg / "postmaster.pid").exists():
        return f"postgresql://postgres:@/tillflow?host={pg}"
    raise SystemExit(
        "TILLFLOW_DATABASE_URL is not set and no local stack is running in "
        f"{settings.var_dir.resolve()} (start one with `make run`, or set the URL)."
    )
