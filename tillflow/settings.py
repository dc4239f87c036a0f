"""All configuration, from TILLFLOW_* environment variables (and an optional .env file)."""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A rate limit in `limits` notation: "30/minute", "5/15 minutes", several as "10/minute;60/hour".
_ONE_LIMIT = r"\s*\d+\s*(/|per)\s*\d*\s*[A-Za-z]+\s*"
RATE_LIMIT = rf"^{_ONE_LIMIT}([,;|]{_ONE_LIMIT})*$"

# The payload key of `tillflow up` and the tests: public, so production refuses it.
LOCAL_PAYLOAD_KEY = "dGlsbGZsb3ctbG9jYWwtcGF5bG9hZC1rZXktdjEhISE="


def payload_key_bytes(key: str) -> bytes:
    """The 32 bytes of a base64 (standard or URL-safe) payload key; ValueError otherwise."""
    try:
        raw = base64.b64decode(key.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a payload key is base64 of 32 random bytes") from None
    if len(raw) != 32:
        raise ValueError(f"a payload key is 32 bytes (AES-256), this one is {len(raw)}")
    return raw


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
    # A slow or hung central system never holds a caller for long (issue 13).
    api_deadline_s: float = Field(
        default=10.0,
        gt=0,
        description="every API request answers within this long; later it is a 503 "
        "temporarily_unavailable with Retry-After (route groups below have their own)",
    )
    api_payment_deadline_s: float = Field(
        default=170.0,
        gt=0,
        description="deadline of the routes that wait on a payment provider or a card at the "
        "reader (a till sale and its tenders, returns, the storefront checkout); covers the "
        "card's 150 s at the reader. The journal upload gets the default plus its ?wait=",
    )
    till_cash_timeout_s: float = Field(
        default=2.5,
        gt=0,
        description="a till agent sells a cash-only sale offline when the central API has not "
        "answered it within this long (look-ups and quotes fall back to the snapshot as fast)",
    )
    till_card_timeout_s: float = Field(
        default=180.0,
        gt=0,
        description="how long a till agent waits for the central answer of a sale with a card; "
        "keep it above TILLFLOW_API_PAYMENT_DEADLINE_S. Without an answer the sale stays open "
        "at the till and is never taken again offline",
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
    # Sign-in (issue 13): failures lock a staff code or username; every limit below is counted per
    # API process (in memory), so N replicas allow up to N times each one.
    signin_max_failures: int = Field(
        default=5,
        ge=1,
        description="consecutive failed sign-ins (PIN or password) that lock a staff code or "
        "username until a manager unlocks it or the lockout passes",
    )
    signin_lockout_minutes: float = Field(
        default=15,
        gt=0,
        description="a locked staff code or username opens again this long after it locked; "
        "failures older than this no longer count",
    )
    rate_limit_signin_address: str = Field(
        default="120/minute",
        pattern=RATE_LIMIT,
        description="sign-in attempts (till PIN and password, right or wrong) per source address; "
        "a store's tills may share one address",
    )
    rate_limit_signin_failures_account: str = Field(
        default="3/minute",
        pattern=RATE_LIMIT,
        description="failed sign-ins per till + staff code, or per username, before a 429",
    )
    rate_limit_signin_failures_address: str = Field(
        default="10/minute;60/hour",
        pattern=RATE_LIMIT,
        description="failed sign-ins per source address before a 429 (for every account)",
    )
    rate_limit_giftcard_token: str = Field(
        default="30/minute", pattern=RATE_LIMIT, description="gift card balance look-ups per token"
    )
    rate_limit_giftcard_address: str = Field(
        default="60/minute",
        pattern=RATE_LIMIT,
        description="gift card balance look-ups per source address",
    )
    rate_limit_returns_token: str = Field(
        default="30/minute", pattern=RATE_LIMIT, description="sale look-ups for returns per token"
    )
    rate_limit_returns_address: str = Field(
        default="60/minute",
        pattern=RATE_LIMIT,
        description="sale look-ups for returns per source address",
    )
    rate_limit_storefront_key: str = Field(
        default="1200/minute",
        pattern=RATE_LIMIT,
        description="storefront API requests per storefront key (all of a web store's shoppers)",
    )
    rate_limit_storefront_address: str = Field(
        default="300/minute",
        pattern=RATE_LIMIT,
        description="storefront API requests per source address",
    )
    rate_limit_curbside_order: str = Field(
        default="5/15 minutes",
        pattern=RATE_LIMIT,
        description="wrong pickup codes at curbside (I'm here) per order before a 429 (they "
        "never lock the staff hand-over)",
    )
    rate_limit_curbside_address: str = Field(
        default="10/hour",
        pattern=RATE_LIMIT,
        description="wrong pickup codes at curbside per source address before a 429",
    )
    # Offline journals are checked on the server, never taken on the till's word (issue 13).
    till_clock_skew_seconds: int = Field(
        default=120,
        ge=0,
        le=3600,
        description="how far a till's clock may be off: an offline sale may be dated this much "
        "before the till's last contact with the central system (before it went quiet) or this "
        "much in the future; beyond that the sale is flagged for a manager",
    )
    offline_max_age_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 7,
        description="an offline sale older than this when it is uploaded (and a cashier sign-in "
        "at the till older than this before the sale) is flagged for a manager, never applied",
    )
    demo_seed: bool = Field(default=True, description="`tillflow up` seeds the demo retailer once")
    cart_ttl_minutes: int = Field(
        default=15, description="a storefront cart holds its stock this long after its last change"
    )
    cart_max_lifetime_minutes: int = Field(
        default=120,
        ge=1,
        description="a storefront cart expires this long after it was opened however often it is "
        "changed (each change extends the hold by TILLFLOW_CART_TTL_MINUTES, never past this)",
    )
    cart_max_lines: int = Field(
        default=50, ge=1, description="different products (lines) one storefront cart may hold"
    )
    cart_max_line_units: int = Field(
        default=50,
        ge=1,
        le=9999,
        description="units of one product one storefront cart may hold (at most 9999, the "
        "largest line quantity anywhere)",
    )
    cart_max_open_per_store: int = Field(
        default=5000,
        ge=1,
        description="open carts one web store (one storefront key) may have at once; more: 429",
    )
    cart_max_open_per_shopper: int = Field(
        default=20,
        ge=1,
        description="open carts one shopper session may have at once; more: 429. The session is "
        "the storefront's X-Shopper-Session header (send it from a server-side storefront), else "
        "the caller's address",
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
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="addresses of the reverse proxies whose X-Forwarded-For the API trusts "
        "(comma-separated; per-address rate limits and sign-in throttles use the client "
        "address it names)",
    )
    secret_rotation_hours: int = Field(
        default=24,
        ge=0,
        le=24 * 14,
        description="how long a web store's previous storefront key and webhook secret stay "
        "valid after a rotation (POST /webstores/{code}/rotate)",
    )
    stripe_webhook_secret_previous: str | None = Field(
        default=None,
        description="the Stripe webhook signing secret before a rotation, accepted too while set",
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
    # Issue 13: every Temporal payload is encrypted (tillflow/payloads.py), so workflow histories
    # carry no gift card code, pickup code, client secret or PIN in the clear.
    env: Literal["local", "production"] = Field(
        default="local",
        description="local (`tillflow up`, tests, benchmarks) or production; production refuses "
        "the public default secrets",
    )
    payload_key: SecretStr = Field(
        default=SecretStr(LOCAL_PAYLOAD_KEY),
        description="AES-256-GCM key (base64 of 32 random bytes) that encrypts every Temporal "
        "payload; new payloads are written with it",
    )
    payload_previous_key: SecretStr | None = Field(
        default=None,
        description="the key before TILLFLOW_PAYLOAD_KEY (rotation): still decrypts the payloads "
        "written with it, never encrypts",
    )
    codec_cors_origins: list[str] = Field(
        default=["http://localhost:8233", "http://127.0.0.1:8233"],
        description="browser origins (the Temporal UI) allowed to call the codec server, "
        "POST /codec/decode and /codec/encode (JSON list)",
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
    # Request bodies over these sizes are a 413, refused before they are read (Content-Length) or
    # as soon as a streamed (chunked) body passes the limit: no more than this is ever buffered.
    body_limit_webhooks_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="largest request body of /webhooks/* (Stripe, Shopify, WooCommerce deliveries)",
    )
    body_limit_storefront_bytes: int = Field(
        default=64 * 1024, ge=1024, description="largest request body of /storefront/*"
    )
    body_limit_journal_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="largest request body of POST /tills/{till}/journal (an offline batch)",
    )
    body_limit_default_bytes: int = Field(
        default=256 * 1024, ge=1024, description="largest request body of every other route"
    )

    # ---- catalogue (issue 14) ----

    # ---- catalogue sync (issue 14) ----
    catalog_sync_debounce_ms: int = Field(
        default=1000,
        ge=0,
        description="a web store hears of catalogue changes once the outbox has been quiet "
        "this long…",
    )
    catalog_sync_max_delay_ms: int = Field(
        default=10_000, ge=0, description="…but never later than this after the first change"
    )
    catalog_sync_poll_ms: int = Field(
        default=500, ge=50, description="how often CatalogSync looks at the catalogue outbox"
    )
    catalog_titles_owner: Literal["tillflow", "webstore"] = Field(
        default="tillflow",
        description="who owns product titles: `webstore` applies a title edited in a web "
        "store's admin to tillflow; `tillflow` reports it as a conflict and pushes tillflow's back",
    )
    catalog_descriptions_owner: Literal["tillflow", "webstore"] = Field(
        default="tillflow",
        description="who owns product descriptions (as for titles); price, barcode and stock "
        "are always tillflow's",
    )

    # ---- stores, tills and staff (issue 14) ----
    password_min_length: int = Field(
        default=10, ge=8, le=128, description="shortest password a user may be given"
    )
    password_min_score: int = Field(
        default=3,
        ge=0,
        le=4,
        description="lowest zxcvbn strength score (0-4) a new password must reach",
    )
    devices_printer_refresh_s: float = Field(
        default=60.0,
        ge=0,
        description="the device worker asks for its till's printer again after this many seconds "
        "(0: before every job; a failed print asks at once)",
    )

    # ---- stock operations (issue 14) ----
    backoffice_task_queue: str = Field(
        default="tillflow-central",
        description="task queue of the stock workflows of the back office: GoodsReceipt, "
        "StockAdjustment, ResolveVariance, ReorderDraft, Transfer and Count (the central worker)",
    )
    adjustment_approval_units: int = Field(
        default=20,
        ge=0,
        description="a stock adjustment, release or write-off of more units than this waits for "
        "a manager's approval",
    )
    adjustment_approval_value: int = Field(
        default=20000,
        ge=0,
        description="an adjustment or write-off worth more than this at cost (minor units) waits "
        "for a manager's approval",
    )
    adjustment_approval_timeout_minutes: int = Field(
        default=24 * 60,
        ge=1,
        description="an adjustment nobody approved within this long is rejected (nothing moves)",
    )
    receipt_cost_method: Literal["weighted_average", "last"] = Field(
        default="weighted_average",
        description="how a goods receipt updates the product's cost price: moving weighted "
        "average over the units held, or the last cost paid",
    )
    reorder_window_days: int = Field(
        default=28, ge=1, description="days of sales (in store and online) behind the velocity"
    )
    reorder_cover_days: int = Field(
        default=14,
        ge=0,
        description="days of sales a computed suggestion orders beyond the reorder point",
    )
    reorder_default_lead_time_days: int = Field(
        default=7, ge=0, description="lead time of a SKU that has no supplier"
    )
    reorder_schedule_cron: str = Field(
        default="0 5 * * *",
        description="when the reorder run drafts purchase orders (cron, UTC); drafts are never "
        "sent",
    )

    # ---- transfers and counts (issue 14) ----
    count_variance_max_units: int = Field(
        default=5,
        ge=0,
        description="a count line whose variance is more units than this needs a recount or a "
        "manager (0: every variance does)",
    )
    count_variance_max_value: int = Field(
        default=10000,
        ge=0,
        description="a count line whose variance is worth more than this at cost (minor units) "
        "needs a recount or a manager (0: the value is not checked)",
    )

    routing_ship_to_store: bool = Field(
        default=True,
        description="a pickup order its store cannot fill is sent there by a Transfer from one "
        "other location that has all of the rest (ship-to-store); off: it waits in the exception "
        "queue",
    )

    # ---- back-office pages (issue 14) ----
    backoffice_page_size: int = Field(
        default=25,
        ge=5,
        le=200,
        description="rows per page of the back-office product list (GET /backoffice/products)",
    )

    # ---- shifts (issue 15) ----
    shift_task_queue: str = Field(
        default="tillflow-sales",
        description="task queue of the Shift workflow (shift:{till}:{n}) and its activities "
        "(the sales worker in the API process)",
    )
    shift_paid_out_approval_above: int = Field(
        default=5000,
        ge=0,
        description="a paid-out above this many minor units (e.g. cents) needs a manager's "
        "staff code and PIN at the till; 0: every paid-out needs one",
    )
    shift_variance_threshold: int = Field(
        default=500,
        ge=0,
        description="a shift whose counted cash differs from the expected by more than this many "
        "minor units waits for a manager's approval (with a note) before its Z report",
    )
    shift_overdue_grace_minutes: int = Field(
        default=30,
        ge=0,
        description="minutes after the store's closing time before a still-open shift is flagged "
        "for the manager",
    )

    # ---- reports (issue 16) ----
    api_report_deadline_s: float = Field(
        default=120.0,
        gt=0,
        description="deadline of GET /reports/{name} (a month of every store takes a while; the "
        "CLI has none)",
    )
    temporal_ui_url: str = Field(
        default="",
        max_length=300,
        description="the Temporal UI's base URL, for the workflow links in reports (empty: the "
        "local dev server's UI at http://127.0.0.1:<temporal_ui_port>)",
    )
    report_pack_grace_minutes: int = Field(
        default=60,
        ge=0,
        le=720,
        description="the daily report pack runs this long after the last store's closing time",
    )

    # ---- reconciliation (issue 16) ----
    reconciliation_stripe_sync: bool = Field(
        default=True,
        description="copy Stripe's balance transactions and payouts into tillflow before the "
        "day-close pack (needs TILLFLOW_STRIPE_API_KEY: the localstripe emulator has no balance, "
        "so without a key the sync reads nothing)",
    )
    reconciliation_sync_margin_hours: int = Field(
        default=1,
        ge=0,
        le=48,
        description="hours either side of the business days' UTC window that the Stripe sync "
        "also copies (a charge captured just before midnight reaches the balance just after)",
    )

    # ---- accounting (issue 16) ----
    account_map: dict[str, dict[str, str] | str] = Field(
        default_factory=dict,
        description="the chart of accounts of the journal export, as JSON: {role or role:rate_bp: "
        '{"code": "...", "name": "..."}} (or role: "code"), overlaid on the defaults of '
        "domain/accounts.py DEFAULT_ACCOUNT_MAP (cash 1000, card_clearing 1010, bank 1020, "
        "tender_suspense 1090, inventory 1200, gift_card_liability 2100, store_credit_liability "
        "2110, vat 2200, sales 4000, discounts 4900, returns 4910, paid_in 4990, cogs 5000, "
        "over_short 6900, paid_out 6910, merchant_fees 6920); e.g. "
        '{"sales:2000": {"code": "4020", "name": "Sales 20%"}}',
    )
    journal_lookback_days: int = Field(
        default=35,
        ge=1,
        le=400,
        description="how many exported business days before the one being exported are compared "
        "with today's figures for late arrivals (posted as adjusting entries)",
    )
    xero_tax_rate: str = Field(
        default="No VAT",
        max_length=100,
        description="the Xero tax rate name written in the *TaxRate column of the Xero manual "
        "journal CSV (VAT is posted on its own lines, so a no-tax rate of the organisation)",
    )

    # ---- customers (issue 17) ----
    customer_default_region: str = Field(
        default="DE",
        min_length=2,
        max_length=2,
        description="the country (ISO 3166 alpha-2) a customer's phone number without a +country "
        "prefix is read in when the store has no country of its own",
    )

    # ---- loyalty (issue 17) ----
    loyalty_points_per_unit: int = Field(
        default=1,
        ge=0,
        le=1000,
        description="loyalty points earned per whole currency unit (100 minor units) spent, "
        "before the tier's multiplier",
    )
    loyalty_product_bonus: dict[str, int] = Field(
        default_factory=dict,
        description='extra points per unit sold of a SKU, as JSON: {"SKU-1": 50}',
    )
    loyalty_order_bonus: int = Field(
        default=0, ge=0, le=100_000, description="extra points for every order with a customer"
    )
    loyalty_expiry_months: int = Field(
        default=12, ge=1, le=120, description="months after which an earned lot of points expires"
    )
    loyalty_point_value_minor: int = Field(
        default=1,
        ge=1,
        le=10_000,
        description="what one point is worth when redeemed, in minor units (1: 100 points = 1.00)",
    )
    loyalty_tiers: str = Field(
        default="base:0:100,silver:50000:125,gold:150000:150",
        max_length=500,
        description="tiers as name:12-month spend in minor units:earn multiplier in percent, "
        "comma-separated, the first starting at 0",
    )
    loyalty_task_queue: str = Field(
        default="tillflow-central",
        description="task queue of the LoyaltyAdjust and LoyaltyExpiry workflows and the loyalty "
        "activities (the central worker)",
    )
    loyalty_expiry_cron: str = Field(
        default="30 3 * * *",
        max_length=100,
        description="when the daily loyalty expiry runs (cron, in loyalty_expiry_timezone)",
    )
    loyalty_expiry_timezone: str = Field(
        default="UTC", max_length=64, description="time zone of loyalty_expiry_cron"
    )

    # ---- metrics (issue 18) ----
    metrics_token: SecretStr | None = Field(
        default=None,
        description="bearer token a scraper sends to /metrics of the API and the workers "
        "(`Authorization: Bearer …`); unset: /metrics is open, so bind the workers' metrics "
        "ports to a private address and keep /metrics off the public proxy",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        max_length=100,
        description="address the workers' /metrics ports bind to (0.0.0.0 for a scraper on "
        "another machine: then set TILLFLOW_METRICS_TOKEN)",
    )
    worker_metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="port of the central worker's /metrics (`tillflow worker`); 0: none",
    )
    devices_metrics_port: int = Field(
        default=9465,
        ge=0,
        le=65535,
        description="port of a device worker's /metrics (`tillflow devices`, one per till "
        "machine); 0: none. `tillflow up` gives each of its device workers a free port",
    )
    metrics_reconciliation_days: int = Field(
        default=7,
        ge=1,
        le=93,
        description="tillflow_reconciliation_discrepancies counts the discrepancies of this many "
        "last days",
    )
    up_restart_limit: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="`tillflow up` restarts a child (API, worker, device worker, till agent) "
        "that exits at most this many times per TILLFLOW_UP_RESTART_WINDOW_S; past that it "
        "waits until the window allows the next restart",
    )
    up_restart_window_s: float = Field(
        default=300.0, gt=0, description="the window of TILLFLOW_UP_RESTART_LIMIT, in seconds"
    )
    up_restart_backoff_max_s: float = Field(
        default=30.0,
        gt=0,
        description="longest wait before restarting a child that keeps exiting (the wait doubles "
        "from 0.5 s per quick exit; a child that ran a minute starts again at 0.5 s)",
    )
    up_service_retries: int = Field(
        default=3,
        ge=0,
        le=100,
        description="times `tillflow up` tries to bring back its embedded PostgreSQL or Temporal "
        "before stopping the stack (they failing for good is the one thing that stops it)",
    )

    # ---- production (issue 18) ----
    files_s3_bucket: str = Field(
        default="",
        max_length=63,
        description="generated files (carrier labels) go to this bucket of an S3-compatible "
        "store; empty: into PostgreSQL (the stored_files table), never a container's disk",
    )
    files_s3_prefix: str = Field(
        default="tillflow/", max_length=200, description="key prefix of those files in the bucket"
    )
    files_s3_endpoint_url: str = Field(
        default="",
        max_length=300,
        description="URL of the S3-compatible store (MinIO, Ceph, R2, …); empty: AWS S3",
    )
    files_s3_region: str = Field(
        default="", max_length=64, description="region of the bucket (empty: boto3's default)"
    )
    files_s3_access_key_id: str = Field(
        default="",
        max_length=200,
        description="access key id for the bucket (empty: boto3's own chain, e.g. an instance "
        "role)",
    )
    files_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="secret access key for the bucket (with the key id above)"
    )
    temporal_tls_cert: Path | None = Field(
        default=None,
        description="a till machine's client certificate (PEM) for the Temporal frontend behind "
        "the TLS proxy (mTLS); with TILLFLOW_TEMPORAL_TLS_KEY. Unset: plain gRPC (inside the "
        "compose network)",
    )
    temporal_tls_key: Path | None = Field(
        default=None, description="the private key (PEM) of TILLFLOW_TEMPORAL_TLS_CERT"
    )
    temporal_tls_ca: Path | None = Field(
        default=None,
        description="CA certificate (PEM) the Temporal frontend's server certificate is checked "
        "against; unset: the system's roots (a public certificate, e.g. Let's Encrypt via Caddy)",
    )
    temporal_tls_server_name: str = Field(
        default="",
        max_length=253,
        description="server name (SNI) for the Temporal frontend's certificate; empty: the host "
        "of TILLFLOW_TEMPORAL_ADDRESS",
    )

    # ---- customer messages (issue 18) ----
    messages_task_queue: str = Field(
        default="tillflow-central",
        description="task queue of the MessageDrain, MessageRetry and EmailReceipt workflows and "
        "the message activities (the central worker)",
    )
    smtp_host: str = Field(
        default="",
        max_length=253,
        description="SMTP server that sends customer e-mail (pickup codes, notices, receipts); "
        "empty: no e-mail is sent and the outbox drain is not scheduled (messages wait, pending)",
    )
    smtp_port: int = Field(
        default=587, ge=1, le=65535, description="SMTP port: 587 STARTTLS, 465 SSL, 25 plain"
    )
    smtp_tls: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls (upgrade after connecting), ssl (implicit TLS) or none (a relay on "
        "a trusted network)",
    )
    smtp_username: str = Field(
        default="", max_length=320, description="SMTP AUTH user; empty: no AUTH"
    )
    smtp_password: SecretStr | None = Field(
        default=None,
        description="SMTP AUTH password (a secret: required in production with a user)",
    )
    smtp_from: str = Field(
        default="shop@localhost",
        max_length=320,
        description="the From address of customer e-mail (its domain also names the Message-IDs)",
    )
    smtp_from_name: str = Field(
        default="", max_length=200, description="display name beside the From address"
    )
    smtp_validate_certs: bool = Field(
        default=True, description="check the SMTP server's TLS certificate (off only for tests)"
    )
    smtp_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="seconds one SMTP session may take"
    )
    sms_provider: Literal["none", "twilio"] = Field(
        default="none",
        description="who sends text messages (outbox rows with channel sms); none: they fail "
        "with 'no SMS provider is configured'",
    )
    sms_twilio_account_sid: str = Field(
        default="", max_length=64, description="Twilio Account SID (AC…)"
    )
    sms_twilio_api_key_sid: str = Field(
        default="",
        max_length=64,
        description="Twilio API key SID (SK…) to authenticate as instead of the account; empty: "
        "the account SID",
    )
    sms_twilio_auth_token: SecretStr | None = Field(
        default=None, description="Twilio auth token (or the API key's secret); a secret"
    )
    sms_twilio_from: str = Field(
        default="", max_length=32, description="sender number in E.164 (+4930…)"
    )
    sms_twilio_messaging_service_sid: str = Field(
        default="",
        max_length=64,
        description="Twilio Messaging Service SID (MG…), used instead of the sender number",
    )
    sms_twilio_base_url: str = Field(
        default="https://api.twilio.com", max_length=300, description="Twilio REST API base URL"
    )
    messages_drain_interval_s: int = Field(
        default=15, ge=1, le=3600, description="seconds between runs of the outbox drain"
    )
    messages_max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="attempts of one message (refused for now, timed out) before it is failed",
    )
    messages_backoff_base_s: float = Field(
        default=30.0,
        gt=0,
        le=86400,
        description="wait after a message's first failed attempt; doubled after each next one",
    )
    messages_backoff_cap_s: float = Field(
        default=3600.0, gt=0, le=86400, description="longest wait between two attempts"
    )
    messages_batch_size: int = Field(
        default=50, ge=1, le=1000, description="messages one drain run sends at most"
    )
    messages_claim_lease_s: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        description="a message 'sending' for longer was interrupted (worker died mid-send): it "
        "is marked failed, never sent again on its own (staff may retry)",
    )
    messages_max_age_hours: int = Field(
        default=72,
        ge=1,
        le=8760,
        description="a pending message older than this is failed instead of sent (stale news)",
    )

    # ---- magento (issue 19) ----
    magento_pull_every_s: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="how often the MagentoPull schedule asks each Magento store for updated orders",
    )
    magento_first_pull_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 90,
        description="a Magento store's first pull takes the orders updated this many hours back",
    )

    # ---- outbound events (issue 19) ----
    events_allow_private_urls: bool = Field(
        default=False,
        description="let event subscriptions point at loopback / private / link-local hosts "
        "(local tests and an ERP on the same network); off: only public hosts",
    )
    events_require_https: bool = Field(
        default=False,
        description="refuse http:// subscription URLs outside production too (production always "
        "requires https)",
    )
    events_batch_size: int = Field(
        default=100, ge=1, le=1000, description="outbox events one delivery round takes at most"
    )
    events_poll_ms: int = Field(
        default=1000,
        ge=10,
        le=60_000,
        description="how often a waiting delivery looks at the outbox",
    )
    events_wait_s: float = Field(
        default=20.0, gt=0, le=600, description="longest a delivery waits for new events per round"
    )
    events_initial_backoff_s: float = Field(
        default=30.0,
        gt=0,
        le=86400,
        description="wait after an event's first failed delivery; doubled after each next one",
    )
    events_max_backoff_s: float = Field(
        default=3600.0, gt=0, le=86400, description="longest wait between two delivery attempts"
    )
    events_retry_window_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 7,
        description="how long a failing event is retried before it goes on the dead-letter list",
    )
    events_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="how long a receiver has to answer one delivery"
    )
    events_rotation_overlap_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 14,
        description="how long a subscription's previous secret still signs (a second v1) after "
        "a rotation",
    )

    # ---- carriers (issue 19) ----
    shippo_api_token: SecretStr | None = Field(
        default=None,
        description="Shippo API token (shippo_test_… or shippo_live_…); set: ship-from-store "
        "labels are bought through Shippo instead of the local carrier",
    )
    shippo_base_url: str = Field(
        default="https://api.goshippo.com", description="Shippo's REST API (a fake in tests)"
    )
    shippo_webhook_secret: SecretStr | None = Field(
        default=None,
        description="secret of Shippo's tracking webhooks: the HMAC key of the "
        "Shippo-Auth-Signature header, or the ?token= of the webhook URL; empty: every "
        "delivery is refused (401)",
    )
    shippo_webhook_tolerance_s: int = Field(
        default=300, ge=1, le=3600, description="a signed webhook older than this is refused"
    )
    shippo_carrier_account: str = Field(
        default="",
        max_length=64,
        description="only rates of this Shippo carrier account object_id; empty: any account",
    )
    shippo_service_level: str = Field(
        default="",
        max_length=100,
        description="only rates of this service level token (e.g. dhl_express_worldwide); "
        "empty: the cheapest rate",
    )
    shippo_timeout_s: float = Field(
        default=20.0, gt=0, le=120, description="how long one Shippo API call may take"
    )

    # ---- fiscal signing step (issue 20) ----
    fiscal_till_wait_s: float = Field(
        default=3.0,
        ge=0.1,
        le=30,
        description="how long a till's receipt waits for the fiscal signer (a TSE) before it "
        "prints 'signature pending' where the law allows it (Germany); the sale is signed later",
    )
    fiscal_catch_up_minutes: int = Field(
        default=10,
        ge=1,
        le=24 * 60,
        description="how often the fiscal catch-up signs documents left pending (a signer that "
        "refused until its unit was put right, a replay cut off before it signed)",
    )
    fiscal_catch_up_stale_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="the catch-up signs only documents pending at least this long (younger ones "
        "are still being signed by their own sale or replay)",
    )

    # ---- fiscal: Germany (issue 20) ----
    fiskaly_base_url: str = Field(
        default="https://kassensichv-middleware.fiskaly.com",
        description="fiskaly SIGN DE's API (the cloud TSE of German stores; a fake in tests)",
    )
    fiskaly_api_key: SecretStr | None = Field(
        default=None,
        description="fiskaly API key (the SIGN DE organisation's key); unset: German stores "
        "cannot sign, their sales print 'signature pending' until it is set",
    )
    fiskaly_api_secret: SecretStr | None = Field(
        default=None, description="fiskaly API secret belonging to fiskaly_api_key"
    )
    fiskaly_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="how long one fiskaly API call may take"
    )

    # ---- fiscal: Portugal (issue 20) ----
    pt_signing_key: SecretStr | None = Field(
        default=None,
        description="the certified software's 1024-bit RSA private key (PEM) that signs "
        "Portuguese documents; unset (and no pt_signing_key_file): a demo key generated once "
        "under var_dir/fiscal-pt, NOT certified",
    )
    pt_signing_key_file: Path | None = Field(
        default=None,
        description="file holding pt_signing_key's PEM instead (e.g. a mounted secret)",
    )
    pt_key_version: int = Field(
        default=1,
        ge=1,
        le=999,
        description="version of the signing key (SAF-T HashControl); raise it when the key changes",
    )
    pt_certificate_number: str = Field(
        default="0",
        pattern=r"^[0-9]{1,4}$",
        description="the AT's software certificate number printed on every document "
        "('Processado por programa certificado n.º <n>/AT') and in the QR code (field R); "
        "0: not certified",
    )
    pt_producer_nif: str = Field(
        default="999999990",
        pattern=r"^[0-9]{9}$",
        description="NIF of the software's producer (SAF-T ProductCompanyTaxID)",
    )
    pt_software_name: str = Field(
        default="tillflow", max_length=100, description="SAF-T ProductID: the software's name"
    )
    pt_producer_name: str = Field(
        default="tillflow", max_length=100, description="SAF-T ProductID: the producer's name"
    )
    pt_software_version: str = Field(
        default="0.1", max_length=30, description="SAF-T ProductVersion"
    )

    # ---- offline replay (issue 21) ----
    offline_replay_task_queue: str = Field(
        default="",
        max_length=200,
        description="Task queue of the OfflineReplay workflows and the Sales they replay; "
        "'' = the sales queue. Set it (e.g. tillflow-offline-replay) to replay journals on the "
        "central worker's own replay worker, at TILLFLOW_WORKER_NICE, never in front of live sales",
    )
    offline_replay_window: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Entries of one uploaded batch replayed at once (in sold-at order)",
    )
    offline_replay_max_tasks: int = Field(
        default=2,
        ge=2,  # with one slot the replay and its Sale children wait on each other's timeouts
        le=64,
        description="Workflow tasks the replay worker runs at once (at least 2): a replay's share "
        "of a busy machine",
    )

    @field_validator("payload_key", "payload_previous_key")
    @classmethod
    def _aes_256_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            payload_key_bytes(value.get_secret_value())  # refuses a malformed key at startup
        return value

    @model_validator(mode="after")
    def _no_public_secrets_in_production(self) -> Settings:
        # Issue 18: production refuses every secret with a public default, set but empty, or
        # missing where there is no safe local stand-in, and names each such setting.
        if self.env == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError(
                    "TILLFLOW_ENV=production refuses to start: "
                    + "; ".join(problems)
                    + " (see docs/operations.md, Production with docker-compose)"
                )
        return self

    @property
    def receipts_dir(self) -> Path:
        return self.var_dir / "receipts"

    @property
    def labels_dir(self) -> Path:
        return self.var_dir / "labels"


# ---- production checks (issue 18) ----
# A setting is a secret when its name says so (and it is not a rate limit of one); a secret set to
# its public default, or set but empty, is refused in production.
_SECRET_NAME = re.compile(
    r"(^|_)(secret|secrets|password|passwd|token|api_key|payload_key|private_key|hmac)"
    r"(_previous|_access_key)?$|_secret_access_key$|_previous_key$|_key$"
)
_NOT_SECRETS = re.compile(r"^rate_limit_|_ttl_|^token_ttl_hours$")
# Production needs these (no safe stand-in): the embedded PostgreSQL and Temporal are for one
# laptop, and without a Stripe key the payment gateway points at the localstripe emulator. A
# field can ask for the same with json_schema_extra={"production_required": True}.
PRODUCTION_REQUIRED = {
    "database_url": "the PostgreSQL URL (the embedded one is for a laptop)",
    "temporal_address": "host:port of the Temporal frontend (the embedded one is for a laptop)",
    "stripe_api_key": "the Stripe secret key (without it payments go to the localstripe "
    "emulator on 127.0.0.1)",
}
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")
_MIN_WEBSTORE_SECRET = 16


def _env_name(field: str) -> str:
    return "TILLFLOW_" + field.upper()


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def is_secret_field(name: str) -> bool:
    """Whether a setting is a secret (by its name, or by its type SecretStr)."""
    field = Settings.model_fields[name]
    kind = str(field.annotation)
    if "SecretStr" in kind:
        return True
    textual = field.annotation in (str, str | None) or kind.startswith("dict[str, str]")
    return textual and bool(_SECRET_NAME.search(name)) and not _NOT_SECRETS.search(name)


def production_problems(settings: Settings) -> list[str]:
    """What production refuses in these settings, each naming its TILLFLOW_* variable."""
    problems: list[str] = []
    for name, field in Settings.model_fields.items():
        value = _plain(getattr(settings, name))
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        required = name in PRODUCTION_REQUIRED or bool(extra.get("production_required"))
        if required and (value is None or value == "" or value == {}):
            why = PRODUCTION_REQUIRED.get(name, field.description or "")
            problems.append(f"{_env_name(name)} is not set: {why}")
            continue
        if not is_secret_field(name):
            continue
        default = _plain(field.get_default(call_default_factory=True))
        if isinstance(value, dict):
            for key, secret in value.items():
                if not isinstance(secret, str) or len(secret) < _MIN_WEBSTORE_SECRET:
                    problems.append(
                        f"{_env_name(name)}[{key!r}] is empty or shorter than "
                        f"{_MIN_WEBSTORE_SECRET} characters"
                    )
        elif value == "":
            problems.append(f"{_env_name(name)} is set but empty")
        elif value is not None and default not in (None, "") and value == default:
            problems.append(
                f"{_env_name(name)} is the public local default; set a secret of its own"
            )
        elif name == "payload_previous_key" and value == LOCAL_PAYLOAD_KEY:
            problems.append(f"{_env_name(name)} is the public local default key")
    base = settings.stripe_api_base or ""
    if base and any(h in base for h in _LOCAL_HOSTS):
        problems.append(
            "TILLFLOW_STRIPE_API_BASE points at this machine (the localstripe emulator); unset it "
            "for Stripe itself"
        )
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
