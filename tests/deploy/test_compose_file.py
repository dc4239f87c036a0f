"""docker-compose.yml, checked as `docker compose config` would read it (no container engine here):
what every service gets, what is published, what waits for what."""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

import pytest
from compose_render import ROOT, MissingVariable, load, service_environment
from filled_env import REQUIRED_FILLS, filled_env

from tillflow.settings import PRODUCTION_REQUIRED, Settings

TILLFLOW_SERVICES = ("migrate", "api", "worker")
ONE_SHOT = ("temporal-schema", "temporal-namespace", "migrate")


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
    return filled_env()


@pytest.fixture(scope="module")
def compose(dotenv: dict[str, str]) -> dict[str, Any]:
    return load(dotenv)


def _env(compose: dict[str, Any], service: str, dotenv: dict[str, str]) -> dict[str, str]:
    return service_environment(compose, service, {".env": dotenv})


def test_every_tillflow_service_starts_in_production_with_what_compose_passes(
    compose: dict[str, Any], dotenv: dict[str, str]
) -> None:
    for service in TILLFLOW_SERVICES:
        env = _env(compose, service, dotenv)
        assert env["TILLFLOW_ENV"] == "production"
        for name in PRODUCTION_REQUIRED:
            assert env.get("TILLFLOW_" + name.upper()), f"{service} gets no TILLFLOW_{name.upper()}"
        # Exactly the settings the container would build from its environment: production
        # accepts them.
        with mock.patch.dict(os.environ, env, clear=True):
            settings = Settings(_env_file=None)  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
        assert settings.env == "production"
        assert settings.database_url and "@postgres:5432/tillflow" in settings.database_url
        assert settings.temporal_address == "temporal:7233"
        assert settings.stripe_api_base is None  # Stripe itself, never the emulator
        assert settings.payload_key.get_secret_value() == dotenv["TILLFLOW_PAYLOAD_KEY"]
        assert settings.stripe_webhook_secret == dotenv["TILLFLOW_STRIPE_WEBHOOK_SECRET"]


def test_compose_refuses_to_start_without_each_required_value(dotenv: dict[str, str]) -> None:
    for name in REQUIRED_FILLS:
        for missing in ({k: v for k, v in dotenv.items() if k != name}, {**dotenv, name: ""}):
            with pytest.raises(MissingVariable, match=name):
                load(missing)


def test_nothing_but_the_proxy_publishes_a_port(compose: dict[str, Any]) -> None:
    published = {n: s.get("ports") for n, s in compose["services"].items() if s.get("ports")}
    assert set(published) == {"proxy"}, published
    # The UI, the databases and the API are reached only on the compose network.
    for name in ("temporal-ui", "postgres", "temporal", "api", "worker"):
        assert "ports" not in compose["services"][name]
    ports = {str(p).split(":")[0] for p in published["proxy"]}
    assert ports == {"80", "443", "7233"}


def test_the_api_scales_behind_the_proxy(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert "container_name" not in api and "ports" not in api
    assert int(api["deploy"]["replicas"]) >= 2
    caddyfile = (ROOT / "deploy/caddy/Caddyfile").read_text()
    assert "dynamic a" in caddyfile and "name api" in caddyfile and "port 8000" in caddyfile
    assert _proxy_ip(compose) in api["environment"]["TILLFLOW_FORWARDED_ALLOW_IPS"]
    worker = compose["services"]["worker"]
    assert "deploy" in worker and "ports" not in worker  # scaled on its own


def _proxy_ip(compose: dict[str, Any]) -> str:
    return str(compose["services"]["proxy"]["networks"]["backend"]["ipv4_address"])


def test_healthchecks_on_every_long_running_service(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        if name in ONE_SHOT:
            # A one-shot job has no "healthy": the others wait for it to complete successfully.
            assert spec.get("restart") in ("no", "on-failure:5", "on-failure:6"), name
            continue
        check = spec.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert "tctl" not in str(check["test"]), f"{name}: tctl is deprecated"


def test_one_shot_jobs_are_waited_for(compose: dict[str, Any]) -> None:
    services = compose["services"]

    def waits(service: str, on: str, condition: str) -> bool:
        deps = services[service].get("depends_on", {})
        return isinstance(deps, dict) and deps.get(on, {}).get("condition") == condition

    assert services["migrate"]["command"] == ["tillflow", "migrate"]
    for service in ("api", "worker"):
        assert waits(service, "migrate", "service_completed_successfully")
        assert waits(service, "temporal-namespace", "service_completed_successfully")
    assert waits("temporal", "temporal-schema", "service_completed_successfully")
    assert waits("temporal-schema", "postgres", "service_healthy")
    assert waits("temporal-namespace", "temporal", "service_healthy")
    assert waits("migrate", "postgres", "service_healthy")


def test_temporal_is_the_server_image_set_up_by_the_admin_tools(compose: dict[str, Any]) -> None:
    services = compose["services"]
    images = {n: s.get("image", "") for n, s in services.items()}
    assert not any("auto-setup" in i for i in images.values())
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    script = (ROOT / "deploy/temporal/setup-postgres.sh").read_text()
    assert "temporal-sql-tool" in script and "update-schema" in script
    # Temporal has its own PostgreSQL role, not tillflow's.
    assert services["temporal"]["environment"]["POSTGRES_USER"] == "temporal"


def test_the_namespace_job_registers_every_search_attribute() -> None:
    from contracts.common import SEARCH_ATTRIBUTES

    script = (ROOT / "deploy/temporal/create-namespace.sh").read_text()
    assert "operator namespace create" in script and "tctl" not in script
    for name in SEARCH_ATTRIBUTES:
        assert f"--name {name}" in script, f"create-namespace.sh does not register {name}"


def test_the_temporal_ui_needs_a_password_at_the_proxy(compose: dict[str, Any]) -> None:
    caddyfile = (ROOT / "deploy/caddy/Caddyfile").read_text()
    ui_block = caddyfile.split("{$TEMPORAL_UI_DOMAIN} {", 1)[1].split("\n}", 1)[0]
    assert "basic_auth" in ui_block and "reverse_proxy temporal-ui:8080" in ui_block
    grpc_block = caddyfile.split("{$TEMPORAL_GRPC_DOMAIN}:7233 {", 1)[1]
    assert "require_and_verify" in grpc_block and "h2c://temporal:7233" in grpc_block
    proxy = compose["services"]["proxy"]
    assert proxy["environment"]["TEMPORAL_UI_PASSWORD_HASH"]


def test_the_tillflow_image_writes_nothing_that_matters_to_its_disk(
    compose: dict[str, Any],
) -> None:
    for service in TILLFLOW_SERVICES:
        spec = compose["services"][service]
        assert not spec.get("volumes"), f"{service} has a volume: generated files go to PostgreSQL"
        assert spec["environment"].get("TILLFLOW_FILES_S3_BUCKET", "") == ""  # PostgreSQL default
