"""Write .env.example from tillflow/settings.py, so it lists every TILLFLOW_* setting.

    .venv/bin/python deploy/env_example.py > .env.example

tests/deploy/test_env_example.py fails when a setting is missing from .env.example (run this
again after adding one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tillflow.settings import PRODUCTION_REQUIRED, Settings  # noqa: E402

# Set by docker-compose.yml itself (its `environment:` wins over .env): listed, never needed here.
SET_BY_COMPOSE = {
    "env": "production",
    "database_url": "from POSTGRES_PASSWORD",
    "temporal_address": "temporal:7233",
    "temporal_namespace": "from TEMPORAL_NAMESPACE",
    "var_dir": "/app/var",
    "log_format": "json",
    "temporal_ui_url": "https://TEMPORAL_UI_DOMAIN",
    "api_host": "0.0.0.0 (api)",
    "api_port": "8000 (api)",
    "forwarded_allow_ips": "the proxy's address (api)",
    "metrics_host": "0.0.0.0 (worker)",
    "worker_metrics_port": "9464 (worker)",
}
# Secrets .env must give (compose refuses to start without them, and so does production mode).
REQUIRED_HERE = ("payload_key", "stripe_api_key", "stripe_webhook_secret")

HEADER = """\
# tillflow's production settings, read by docker-compose.yml. Copy to .env and fill in every line
# marked REQUIRED; keep .env readable by root only (chmod 600 .env). Generated from
# tillflow/settings.py by deploy/env_example.py; docs/operations.md explains each step.
# Values with a $ (the bcrypt hash) go in single quotes, so compose leaves them alone.

# ---- the server (docker-compose.yml, not tillflow itself) ----
# REQUIRED. The shop's API (back office, tills, storefront, webhooks): a DNS name of this server.
SHOP_DOMAIN=shop.example.com
# REQUIRED. Temporal's UI (operators only, behind TEMPORAL_UI_USER's password).
TEMPORAL_UI_DOMAIN=temporal.shop.example.com
# REQUIRED. Temporal's frontend for the till machines (port 7233, a client certificate per till).
TEMPORAL_GRPC_DOMAIN=grpc.shop.example.com
# REQUIRED. Let's Encrypt's contact for the certificates of those names.
ACME_EMAIL=ops@example.com
# REQUIRED. Password of tillflow's PostgreSQL role (openssl rand -hex 24).
POSTGRES_PASSWORD=
# REQUIRED. Password of Temporal's PostgreSQL role (openssl rand -hex 24).
TEMPORAL_DB_PASSWORD=
# User name for Temporal's UI.
TEMPORAL_UI_USER=ops
# REQUIRED. Its password as a bcrypt hash, in single quotes:
#   docker run --rm caddy:2.10 caddy hash-password --plaintext 'the password'
TEMPORAL_UI_PASSWORD_HASH=
# Temporal namespace of tillflow, and how long closed workflow histories are kept.
TEMPORAL_NAMESPACE=default
TEMPORAL_RETENTION=720h
# Image versions (upgrades: docs/operations.md).
TEMPORAL_VERSION=1.30.1
TEMPORAL_UI_VERSION=2.34.0
CADDY_VERSION=2.10
IMAGE_TAG=latest
# How many API replicas the proxy balances over, and how many central workers run.
API_REPLICAS=2
WORKER_REPLICAS=1
# The compose network, and the proxy's fixed address on it (the API trusts its X-Forwarded-For).
BACKEND_SUBNET=172.30.0.0/24
PROXY_IP=172.30.0.10
"""


def _render(value: Any) -> str:
    if isinstance(value, SecretStr):
        return ""  # never print a default secret: production refuses it anyway
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def render() -> str:
    lines = [HEADER, "# ---- tillflow (every TILLFLOW_* setting; unset = the default shown) ----"]
    for name, field in Settings.model_fields.items():
        env = "TILLFLOW_" + name.upper()
        description = " ".join((field.description or "").split())
        default = _render(field.get_default(call_default_factory=True))
        if name in SET_BY_COMPOSE:
            lines.append(f"# {description}. Set by docker-compose.yml: {SET_BY_COMPOSE[name]}.")
            lines.append(f"#{env}={default}")
        elif name in REQUIRED_HERE:
            how = {
                "payload_key": " (openssl rand -base64 32)",
                "stripe_api_key": " (sk_live_… from the Stripe dashboard)",
                "stripe_webhook_secret": " (whsec_… of the webhook endpoint "
                "https://SHOP_DOMAIN/webhooks/stripe)",
            }[name]
            lines.append(f"# REQUIRED. {description}{how}.")
            lines.append(f"{env}=")
        else:
            extra = " Production refuses it unset." if name in PRODUCTION_REQUIRED else ""
            lines.append(f"# {description}.{extra}")
            lines.append(f"#{env}={default}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
