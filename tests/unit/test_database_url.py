"""A command finds its PostgreSQL: the setting, else the running local stack's, else a clear
exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tillflow.databases import database_url
from tillflow.settings import Settings


def test_the_setting_wins(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://db.example/tillflow", var_dir=tmp_path)
    assert database_url(settings) == "postgresql://db.example/tillflow"


def test_a_running_local_stack_is_found_in_the_var_dir(tmp_path: Path) -> None:
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "postmaster.pid").write_text("4242\n")
    settings = Settings(database_url=None, var_dir=tmp_path)
    assert database_url(settings) == f"postgresql://postgres:@/tillflow?host={tmp_path / 'pg'}"


def test_nothing_to_talk_to_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="make run"):
        database_url(Settings(database_url=None, var_dir=tmp_path))
