"""The layers of DESIGN.md, checked on every import statement (type-checking imports included).

domain <- db <- integrations <- activities; contracts imports only domain (and any layer may
import contracts); workflows import only contracts, domain and (to name their methods)
activities; api/ and tills/ never import activities/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "domain",
    "db",
    "integrations",
    "contracts",
    "activities",
    "workflows",
    "devices",
    "tills",
    "api",
    "reports",
    "tillflow",
)
# What each layer may import of the project's own packages (third-party imports are free, except
# the ones the pure layers must not touch, below).
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "db": {"domain", "db", "contracts"},  # contracts may be imported by any layer
    "integrations": {"domain", "db", "integrations", "contracts"},
    "contracts": {"domain", "contracts"},
    # The daily report pack runs the reports (reports/registry.py) from an activity.
    "activities": {"domain", "db", "integrations", "contracts", "activities", "reports"},
    "workflows": {"domain", "contracts", "activities", "workflows"},
    # A report is a pure function of frames; only the registry and its registrations meet db/.
    "reports": {"domain", "contracts", "reports"},
}
REPORT_BINDINGS = ("reports/registry.py", "reports/registrations/")
# pandas frames in, frames out: no database, framework or provider library in a report module.
REPORTS_FORBIDDEN = {"sqlalchemy", "fastapi", "temporalio", "stripe", "httpx", "psycopg"}
NEVER: dict[str, set[str]] = {"api": {"activities"}, "tills": {"activities"}}
# domain/ is pure business rules: no framework, database, provider or device library.
DOMAIN_FORBIDDEN = {"temporalio", "sqlalchemy", "fastapi", "stripe", "escpos", "serial", "httpx"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _violations(package: str) -> list[str]:
    bad = []
    for path in _files(package):
        for line, module in _imports(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            rel = str(path.relative_to(ROOT))
            binding = package == "reports" and rel.startswith(REPORT_BINDINGS)
            inward = package not in ALLOWED or top not in PACKAGES or top in ALLOWED[package]
            if not inward and not (binding and top == "db"):
                bad.append(where)
            if package == "reports" and not binding and top in REPORTS_FORBIDDEN:
                bad.append(where)
            if top in NEVER.get(package, set()):
                bad.append(where)
            if package == "domain" and top in DOMAIN_FORBIDDEN:
                bad.append(where)
    return bad


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_inward(package: str) -> None:
    assert _violations(package) == []


def test_workflows_use_activities_only_to_name_their_methods() -> None:
    """A workflow imports an activity *class* (to name its methods), never a payload or helper."""
    bad = []
    for path in _files("workflows"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("activities"):
                bad += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {a.name}"
                    for a in node.names
                    if not a.name.endswith("Activities")
                ]
    assert bad == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rule itself works: a contracts module importing db/ is reported."""
    (tmp_path / "contracts").mkdir()
    bad = tmp_path / "contracts" / "bad.py"
    bad.write_text("from db.session import Database\nimport temporalio\n")
    found = [m for _, m in _imports(bad) if m.split(".")[0] in PACKAGES]
    assert found == ["db.session"] and "db" not in ALLOWED["contracts"]


def test_one_cause_unwrapper_and_one_error_mapping() -> None:
    """The Temporal boundary is decoded in one place: no private `_cause` helpers anywhere, and
    api/ turns a DomainError into a response in exactly one function."""
    sources = {p: p.read_text() for pkg in PACKAGES for p in _files(pkg)}
    assert [str(p) for p, s in sources.items() if "def _cause" in s] == []
    handlers = [
        str(p.relative_to(ROOT))
        for p, s in sources.items()
        if p.is_relative_to(ROOT / "api") and "status_code=exc.http_status" in s
    ]
    assert handlers == ["api/errors.py"]
