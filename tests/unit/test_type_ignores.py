"""Every `type: ignore` names its error code and says why, in the same line (issue 12).

mypy itself refuses an ignore without a code (`enable_error_code = ["ignore-without-code"]`);
this scan also wants the reason after it, over every tree `make lint` type-checks (the Makefile's
LINTED list, so a new tree is covered the day it is linted)."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def linted_trees() -> list[Path]:
    """The directories named by `LINTED :=` in the Makefile."""
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("LINTED"):
            return [ROOT / name for name in line.split(":=", 1)[1].split()]
    raise AssertionError("The Makefile has no LINTED list.")


def problems(source: str) -> list[tuple[int, str]]:
    """(line, comment) of every `type: ignore` comment without a code or without a reason."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        m = IGNORE.search(tok.string)
        if m is None:
            continue
        codes = (m.group("codes") or "").strip("[]").strip()
        reason = m.group("rest").strip().lstrip("#").strip()
        if not codes or not reason:
            found.append((tok.start[0], tok.string))
    return found


def test_the_scan_tells_a_reasoned_ignore_from_a_bare_one() -> None:
    bad = [
        "x = f()  # type: ignore\n",
        "x = f()  # type: ignore[arg-type]\n",
        "x = f()  # type: ignore[]  # why\n",
        "x = f()  # type: ignore  # a reason but no code\n",
    ]
    for line in bad:
        assert problems(line) == [(1, line.split("  ", 1)[1].rstrip())], line
    good = [
        "x = f()  # type: ignore[arg-type]  # the stubs say str; it is bytes\n",
        "x = f()  # type: ignore[method-assign,assignment] patched in tests\n",
        'x = "# type: ignore"  # a string, not a comment\n',
        "x = f()  # an ordinary comment\n",
    ]
    for line in good:
        assert problems(line) == [], line


def test_every_type_ignore_carries_its_code_and_a_reason() -> None:
    trees = linted_trees()
    assert ROOT / "tests" in trees and ROOT / "domain" in trees
    offenders = []
    scanned = 0
    for tree in trees:
        for path in sorted(tree.rglob("*.py")):
            scanned += 1
            source = path.read_text(encoding="utf-8")
            if "ignore" not in source:  # tokenizing only where it can matter keeps this fast
                continue
            for line, comment in problems(source):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {comment}")
    assert scanned > 100
    assert offenders == [], "a `type: ignore` needs [code] and a reason:\n" + "\n".join(offenders)
