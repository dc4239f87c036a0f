"""docker-compose.yml read the way `docker compose config` reads it, for the tests (there is no
container engine here): YAML with merge keys, `${VAR}` / `${VAR:-default}` / `${VAR:?error}`
interpolation from a .env, `$$` escapes, and each service's environment as the container gets it
(its env_file first, then `environment:` over it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

_VAR = re.compile(
    r"\$(\$"  # $$: a literal $
    r"|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}"  # ${NAME[op arg]}
    r"|([A-Za-z_][A-Za-z0-9_]*))"  # $NAME
)


class MissingVariable(ValueError):
    """A `${VAR:?message}` whose variable is unset or empty: compose refuses to start."""


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines of a .env (comments, blank lines, single or double quotes)."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def interpolate(text: str, variables: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1) == "$":
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4) or ""
        value = variables.get(name)
        unset_or_empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return interpolate(arg, variables) if unset_or_empty else str(value)
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return "" if unset_or_empty else interpolate(arg, variables)
        return "" if value is None else value

    return _VAR.sub(sub, text)


def _walk(node: Any, variables: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_walk(n, variables) for n in node]
    if isinstance(node, dict):
        return {k: _walk(v, variables) for k, v in node.items()}
    return node


def load(variables: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file with merge keys resolved, interpolated with `variables` when given."""
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    # x-* extension fields are templates only.
    data = {k: v for k, v in data.items() if not k.startswith("x-")}
    return data if variables is None else _walk(data, variables)


def service_environment(
    compose: dict[str, Any], service: str, env_files: dict[str, dict[str, str]]
) -> dict[str, str]:
    """The environment a service's container starts with: env_file(s), then `environment:`."""
    spec = compose["services"][service]
    env: dict[str, str] = {}
    for entry in spec.get("env_file", []) or []:
        path = entry["path"] if isinstance(entry, dict) else entry
        env.update(env_files[path])
    raw = spec.get("environment", {}) or {}
    if isinstance(raw, list):
        raw = dict(item.partition("=")[::2] for item in raw)
    env.update({k: "" if v is None else str(v) for k, v in raw.items()})
    return env
