"""TILLFLOW_ENV=production refuses every secret with a public default, set but empty, or missing
where there is no safe stand-in, and names each one; `tillflow` says so and exits."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from tillflow.settings import LOCAL_PAYLOAD_KEY, Settings, is_secret_field, production_problems

ROOT = Path(__file__).resolve().parents[2]


def _good() -> dict[str, Any]:
    return {
        "env": "production",
        "database_url": "postgresql://tillflow:pw@postgres:5432/tillflow",
        "temporal_address": "temporal:7233",
        "stripe_api_key": "sk_live_" + "x" * 24,
        "stripe_webhook_secret": "whsec_" + "y" * 32,
        "payload_key": base64.b64encode(os.urandom(32)).decode(),
    }


def _refused(**changes: Any) -> str:
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, **{**_good(), **changes})  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
    return str(err.value)


def test_a_complete_production_configuration_starts() -> None:
    s = Settings(_env_file=None, **_good())  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
    assert production_problems(s) == []


def test_the_local_defaults_are_fine_locally() -> None:
    assert Settings(_env_file=None).env == "local"  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument


def test_production_with_nothing_set_names_every_missing_setting() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, env="production")  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
    text = str(err.value)
    for name in (
        "TILLFLOW_DATABASE_URL",
        "TILLFLOW_TEMPORAL_ADDRESS",
        "TILLFLOW_STRIPE_API_KEY",
        "TILLFLOW_STRIPE_WEBHOOK_SECRET",
        "TILLFLOW_PAYLOAD_KEY",
    ):
        assert name in text, name


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"payload_key": LOCAL_PAYLOAD_KEY}, "TILLFLOW_PAYLOAD_KEY is the public local default"),
        ({"payload_previous_key": LOCAL_PAYLOAD_KEY}, "TILLFLOW_PAYLOAD_PREVIOUS_KEY"),
        ({"stripe_webhook_secret": "whsec_tillflow_local"}, "TILLFLOW_STRIPE_WEBHOOK_SECRET"),
        ({"stripe_webhook_secret": ""}, "TILLFLOW_STRIPE_WEBHOOK_SECRET is set but empty"),
        ({"stripe_webhook_secret_previous": ""}, "TILLFLOW_STRIPE_WEBHOOK_SECRET_PREVIOUS"),
        ({"stripe_api_key": None}, "TILLFLOW_STRIPE_API_KEY is not set"),
        ({"stripe_api_key": ""}, "TILLFLOW_STRIPE_API_KEY is not set"),
        ({"stripe_api_base": "http://127.0.0.1:8420"}, "TILLFLOW_STRIPE_API_BASE"),
        ({"database_url": None}, "TILLFLOW_DATABASE_URL is not set"),
        ({"temporal_address": ""}, "TILLFLOW_TEMPORAL_ADDRESS is not set"),
        ({"webstore_secrets": {"shop-hmac": ""}}, "TILLFLOW_WEBSTORE_SECRETS['shop-hmac']"),
        ({"webstore_secrets": {"shop-hmac": "short"}}, "TILLFLOW_WEBSTORE_SECRETS['shop-hmac']"),
        ({"metrics_token": ""}, "TILLFLOW_METRICS_TOKEN is set but empty"),
        ({"files_s3_secret_access_key": ""}, "TILLFLOW_FILES_S3_SECRET_ACCESS_KEY"),
    ],
)
def test_each_public_or_empty_secret_is_refused_by_name(
    changes: dict[str, Any], named: str
) -> None:
    assert named in _refused(**changes)


def test_every_secret_with_a_public_default_is_refused() -> None:
    """Generated from the fields: a new secret with a default is covered without a new test."""
    for name, field in Settings.model_fields.items():
        if not is_secret_field(name):
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if default in (None, "", {}):
            continue
        assert f"TILLFLOW_{name.upper()}" in _refused(**{name: default}), name


def test_tillflow_names_the_setting_and_exits_without_a_traceback(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TILLFLOW_ENV": "production",
        "TILLFLOW_DATABASE_URL": "postgresql://tillflow:pw@127.0.0.1:1/tillflow",
        "TILLFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",
        "TILLFLOW_STRIPE_API_KEY": "sk_live_" + "x" * 24,
        "TILLFLOW_PAYLOAD_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    out = subprocess.run(
        [sys.executable, "-m", "tillflow.cli", "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "TILLFLOW_STRIPE_WEBHOOK_SECRET" in out.stderr
    assert "Traceback" not in out.stderr, out.stderr
