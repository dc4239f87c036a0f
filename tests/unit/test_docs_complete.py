"""docs/ stays complete: every setting, every CLI command and every docs page is reachable."""

from __future__ import annotations

import re
from pathlib import Path

from tillflow.cli import COMMANDS
from tillflow.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text() for p in sorted(DOCS.glob("*.md")))


def test_every_setting_is_documented() -> None:
    text = _all_docs()
    missing = [
        f"TILLFLOW_{name.upper()}"
        for name in Settings.model_fields
        if f"TILLFLOW_{name.upper()}" not in text
    ]
    assert missing == [], f"settings missing from docs/: {missing}"


def test_every_cli_command_is_documented() -> None:
    text = _all_docs()
    missing = [name for name in COMMANDS if not re.search(rf"tillflow {re.escape(name)}\b", text)]
    assert missing == [], f"commands missing from docs/: {missing}"


def test_every_page_is_linked_from_the_index() -> None:
    index = (DOCS / "README.md").read_text()
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert {p for p in pages if f"({p})" not in index} == set()


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_endpoint_is_documented() -> None:
    """Every route of the central API is named somewhere in docs/ (parameter names may differ)."""
    from api.app import create_app

    paths = create_app(Settings(), run_worker=False).openapi()["paths"]
    assert len(paths) > 100
    text = _shape(_all_docs())
    missing = sorted(p for p in paths if _shape(p) not in text)
    assert missing == [], f"endpoints missing from docs/: {missing}"
