"""All configuration, from TILLFLOW_* environment variables (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The one settings object; nothing else reads os.environ."""

    model_config = SettingsConfigDict(env_prefix="TILLFLOW_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset = embedded PostgreSQL under var/pg"
    )
    temporal_address: str | None = Field(
        default=None, description="host:port of Temporal; unset = embedded dev server"
    )
    temporal_namespace: str = Field(default="default", description="Temporal namespace")
    temporal_port: int = Field(default=7233, description="port of the embedded Temporal dev server")
    temporal_ui_port: int = Field(default=8233, description="port of the embedded Temporal UI")
    api_host: str = Field(default="127.0.0.1", description="address the API binds to")
    api_port: int = Field(default=8000, description="port of the API")
    var_dir: Path = Field(default=Path("var"), description="local data: pg, temporal.db, receipts, logs")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_format: str = Field(default="json", description="json (one event per line) or text")
    api_workers_in_process: bool = Field(
        default=True, description="run a sale worker inside the API process (saves a hop per sale)"
    )
    stripe_api_key: str | None = Field(
        default=None, description="Stripe secret key (test or live); unset = localstripe emulator"
    )
    stripe_api_base: str | None = Field(
        default=None, description="Stripe API base URL; `up` points it at localstripe when no key is set"
    )
    stripe_webhook_secret: str = Field(
        default="whsec_tillflow_local", description="signing secret of the Stripe webhook endpoint"
    )
    localstripe_port: int = Field(default=8420, description="port of the local Stripe emulator")
    token_ttl_hours: int = Field(default=12, description="lifetime of a sign-in token")
    demo_seed: bool = Field(default=True, description="`tillflow up` seeds the demo retailer once")

    @property
    def receipts_dir(self) -> Path:
        return self.var_dir / "receipts"


@lru_cache
def get_settings() -> Settings:
    return Settings()
