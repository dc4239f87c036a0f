"""docker-compose.yml stays in step with the CLI and the settings it configures."""

from __future__ import annotations

from pathlib import Path

import yaml

from tillflow.cli import COMMANDS
from tillflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_services_use_real_commands_and_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "temporal", "temporal-ui", "api", "worker", "migrate"} <= set(services)
    fields = {f"TILLFLOW_{name.upper()}" for name in Settings.model_fields}
    for name in ("api", "worker", "migrate"):
        svc = services[name]
        assert svc["command"][0] == "tillflow" and svc["command"][1] in COMMANDS
        env = svc["environment"]
        assert {k for k in env if k.startswith("TILLFLOW_")} <= fields, name
        assert env["TILLFLOW_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for copied in ("domain", "db", "workflows", "activities", "api", "tillflow", "devices"):
        assert f"COPY {copied} {copied}" in (ROOT / "Dockerfile").read_text()
