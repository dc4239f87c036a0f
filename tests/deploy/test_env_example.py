""".env.example lists every TILLFLOW_* setting of tillflow/settings.py, each with a comment; the
list is taken from the Settings class itself, so a new setting without a line fails here."""

from __future__ import annotations

import re
import subprocess
import sys

from compose_render import ENV_EXAMPLE, ROOT, load

from tillflow.settings import Settings

LINE = re.compile(r"^#?(TILLFLOW_[A-Z0-9_]+)=(.*)$")
REGENERATE = ".venv/bin/python deploy/env_example.py > .env.example"


def _entries() -> dict[str, tuple[str, str, bool]]:
    """TILLFLOW_* name -> (the comment line above it, its value, whether it is commented out)."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    out: dict[str, tuple[str, str, bool]] = {}
    for n, line in enumerate(lines):
        m = LINE.match(line)
        if m:
            out[m.group(1)] = (lines[n - 1] if n else "", m.group(2), line.startswith("#"))
    return out


def test_every_setting_has_a_commented_line() -> None:
    entries = _entries()
    expected = {"TILLFLOW_" + name.upper() for name in Settings.model_fields}
    missing = sorted(expected - set(entries))
    assert not missing, f".env.example lacks {missing}: run `{REGENERATE}`"
    unknown = sorted(set(entries) - expected)
    assert not unknown, f".env.example names settings that do not exist: {unknown}"
    for name, (comment, _, _) in entries.items():
        assert comment.startswith("# ") and len(comment) > 4, f"{name} has no comment above it"


def test_the_required_secrets_are_there_and_empty() -> None:
    entries = _entries()
    for name in (
        "TILLFLOW_PAYLOAD_KEY",
        "TILLFLOW_STRIPE_API_KEY",
        "TILLFLOW_STRIPE_WEBHOOK_SECRET",
    ):
        comment, value, commented = entries[name]
        assert not commented and value == "" and "REQUIRED" in comment, name
    # No public default secret is ever printed into the example.
    text = ENV_EXAMPLE.read_text()
    assert "whsec_tillflow_local" not in text
    assert Settings().payload_key.get_secret_value() not in text


def test_every_compose_variable_is_in_the_example() -> None:
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    listed = {
        m.group(1) for m in re.finditer(r"^#?([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M)
    }
    assert used <= listed, (
        f"docker-compose.yml uses {sorted(used - listed)} that .env.example lacks"
    )
    assert load() is not None


def test_the_generator_writes_what_is_committed() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "deploy/env_example.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert out == ENV_EXAMPLE.read_text(), f".env.example is out of date: run `{REGENERATE}`"
