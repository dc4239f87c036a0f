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
    var_dir: Path = Field(
        default=Path("var"), description="local data: pg, temporal.db, receipts, logs"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_format: str = Field(default="json", description="json (one event per line) or text")
    api_workers_in_process: bool = Field(
        default=True, description="run a sale worker inside the API process (saves a hop per sale)"
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description=(
            "CPU priority (nice) the central worker lowers itself to: on a busy machine the API "
            "answers first (web-store acknowledgements stay fast while online orders queue); "
            "0 = equal"
        ),
    )
    stripe_api_key: str | None = Field(
        default=None, description="Stripe secret key (test or live); unset = localstripe emulator"
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="Stripe API base URL; `up` points it at localstripe when no key is set",
    )
    stripe_webhook_secret: str = Field(
        default="whsec_tillflow_local", description="signing secret of the Stripe webhook endpoint"
    )
    localstripe_port: int = Field(default=8420, description="port of the local Stripe emulator")
    return_window_days: int = Field(
        default=30, description="days a receipt return is within policy"
    )
    return_category_windows: str = Field(
        default="food=14", description="per-category return windows, e.g. `food=14,electronics=14`"
    )
    return_late_needs_approval: bool = Field(
        default=True,
        description="a return past its window waits for a manager (false: refused outright)",
    )
    return_final_sale_categories: str = Field(
        default="gift_card", description="categories never returnable"
    )
    receiptless_cap: int = Field(
        default=5000,
        description="store credit (minor units) per customer per period "
        "for returns without a receipt before a manager must approve",
    )
    receiptless_period_days: int = Field(default=90, description="the period of that cap")
    return_approval_timeout_minutes: int = Field(
        default=30, description="a return waiting for a manager is rejected after this long"
    )
    token_ttl_hours: int = Field(default=12, description="lifetime of a sign-in token")
    demo_seed: bool = Field(default=True, description="`tillflow up` seeds the demo retailer once")
    cart_ttl_minutes: int = Field(
        default=15, description="a storefront cart holds its stock this long after its last change"
    )
    checkout_payment_minutes: int = Field(
        default=30,
        description="a storefront order not paid within this long "
        "is cancelled and its stock released",
    )
    routing_allow_split: bool = Field(
        default=True,
        description="split an online order over locations when no single one can ship it whole",
    )
    routing_stores_first: bool = Field(
        default=True,
        description="ship from the nearest store (ship-from-store) "
        "before the warehouse; false: warehouse first",
    )
    stock_sync_debounce_ms: int = Field(
        default=500,
        description="a SKU's stock is pushed to the web stores once it has been quiet this long",
    )
    stock_sync_max_delay_ms: int = Field(
        default=5000, description="…but never later than this after its first change"
    )
    stock_resync_minutes: int = Field(
        default=360, description="full stock resync to every web store this often"
    )
    webstore_secrets: dict[str, str] = Field(
        default_factory=dict,
        description="JSON object of named web-store secrets, used by connections as "
        '`secret:NAME`, e.g. `{"shop-hmac": "…"}`',
    )
    shopify_api_version: str = Field(
        default="2025-01", description="Shopify Admin REST API version"
    )
    webstore_timeout_s: float = Field(
        default=10.0, description="timeout of one call to a web store's API"
    )
    web_task_queue: str = Field(
        default="tillflow-web",
        description="Temporal task queue of online orders, carts and stock sync",
    )

    pickup_hold_days: float = Field(
        default=3.0,
        description="a pickup waits this many opening days of its store "
        "(each worth the store's mean opening hours per open day), then expires",
    )
    pickup_reminder_hours: int = Field(
        default=24, description="the customer is reminded this long before the pickup deadline"
    )
    pickup_code_attempts: int = Field(
        default=5,
        description="wrong pickup codes before the code is locked (a "
        "manager then hands over after an ID check)",
    )
    pick_sla_minutes: int = Field(
        default=120,
        description="a pick not done within this long escalates (flag on "
        "the board, message to the store)",
    )
    label_format: str = Field(
        default="pdf",
        description="labels of the local carrier: pdf or zpl, written under var/labels",
    )
    board_refresh_seconds: int = Field(
        default=10, description="the fulfilment board reloads its tasks this often"
    )

    @property
    def receipts_dir(self) -> Path:
        return self.var_dir / "receipts"

    @property
    def labels_dir(self) -> Path:
        return self.var_dir / "labels"


@lru_cache
def get_settings() -> Settings:
    return Settings()
