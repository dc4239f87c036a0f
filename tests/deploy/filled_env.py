""".env.example with every REQUIRED value filled in, as a retailer would: the .env of the tests."""

from __future__ import annotations

import base64
import os
import secrets

from compose_render import ENV_EXAMPLE, parse_env_file

REQUIRED_FILLS = {
    "POSTGRES_PASSWORD": lambda: secrets.token_hex(12),
    "TEMPORAL_DB_PASSWORD": lambda: secrets.token_hex(12),
    # What `caddy hash-password` prints (bcrypt); never checked here.
    "TEMPORAL_UI_PASSWORD_HASH": lambda: "$2a$14$" + secrets.token_urlsafe(40)[:53],
    "TILLFLOW_PAYLOAD_KEY": lambda: base64.b64encode(os.urandom(32)).decode(),
    "TILLFLOW_STRIPE_API_KEY": lambda: "sk_test_" + secrets.token_hex(12),
    "TILLFLOW_STRIPE_WEBHOOK_SECRET": lambda: "whsec_" + secrets.token_hex(16),
}


def filled_env() -> dict[str, str]:
    env = parse_env_file(ENV_EXAMPLE.read_text())
    for name, make in REQUIRED_FILLS.items():
        assert name in env, f".env.example has no {name}= line"
        env[name] = make()
    return env
