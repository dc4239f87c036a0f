"""SQLAlchemy 2 models: the whole schema. Alembic migrations must match these (a test checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("cashier", "manager", "fulfilment", "finance", "admin")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# ---- places and people -------------------------------------------------------------------


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # store | warehouse
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=True)
    ship_from_store: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where it is, for routing online orders to the nearest location (web-store migration 0003).
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    country: Mapped[str | None] = mapped_column(String(2))
    # How receipts and reports write money here (migration 0045, issue 19): a CLDR locale such
    # as de_DE; empty: tillflow's plain "EUR 1234.50".
    locale: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # Back office (migration 0014): pickup in store on/off, the safety stock a new SKU starts
    # with here, and whether the location still trades (a closed one keeps its history).
    pickup: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    safety_stock_default: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Shifts (migration 0022): selling at a till here needs an open shift.
    shift_required: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("kind IN ('store', 'warehouse')", name="kind"),
        CheckConstraint("safety_stock_default >= 0", name="safety_stock_default_positive"),
    )


class TaxCategory(Base):
    __tablename__ = "tax_categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))


TAX_RATES_SINCE = datetime(1970, 1, 1, tzinfo=UTC)  # rates seeded without a history


class LocationTaxRate(Base):
    """A tax category's rate at a location over [valid_from, valid_to): a change closes the row
    and opens a new one, so every sale can be taxed as of its time (offline replays are)."""

    __tablename__ = "location_tax_rates"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    tax_category_id: Mapped[int] = mapped_column(ForeignKey("tax_categories.id"), primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        primary_key=True,
        default=TAX_RATES_SINCE,
        server_default=text("'1970-01-01 00:00:00+00'"),
    )
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # NULL: still open
    rate_bp: Mapped[int] = mapped_column(Integer)  # basis points: 2000 = 20 %
    __table_args__ = (
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_range"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        Index(
            "uq_location_tax_rates_open",
            "location_id",
            "tax_category_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
    )


class Till(Base):
    __tablename__ = "tills"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    printer_url: Mapped[str] = mapped_column(String(500), default="")
    # "simulated" (local default) or a Stripe Terminal reader id (tmr_…)
    card_reader: Mapped[str] = mapped_column(
        String(100), default="simulated", server_default="simulated"
    )
    # The till's barcode scanner as the till agent opens it ("" = keyboard wedge / none).
    scanner: Mapped[str] = mapped_column(String(500), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the central side knows of the till's offline window (migration 0009): its last
    # authenticated call, its last call before the latest silence (an offline sale may be no
    # earlier), and when it last downloaded its offline catalogue snapshot.
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    offline_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    snapshot_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    staff_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Extra rights beyond the role (migration 0014), e.g. "catalog" for a manager who edits the
    # catalogue; admins have every right.
    permissions: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint(
            "role IN ('cashier', 'manager', 'fulfilment', 'finance', 'admin')", name="role"
        ),
    )


class UserLocation(Base):
    __tablename__ = "user_locations"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex; never the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"))
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInGuard(Base):
    """Consecutive failed sign-ins of one staff code or username, and its lockout.

    Kept for names that match no one too, so a lockout says nothing about who exists; never holds
    the PIN or password that was tried. A successful sign-in or a manager's unlock deletes it."""

    __tablename__ = "sign_in_guards"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # staff | user
    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # staff code or username
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("kind IN ('staff', 'user')", name="kind"),)


# ---- catalogue ---------------------------------------------------------------------------


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="general")
    tax_category_id: Mapped[int] = mapped_column(ForeignKey("tax_categories.id"))
    store_only: Mapped[bool] = mapped_column(Boolean, default=False)
    online_only: Mapped[bool] = mapped_column(Boolean, default=False)
    tracks_stock: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    serialized: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: archived
    # Back office (migration 0014).
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    lot_tracked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # What one unit costs us, in minor units of cost_currency (margin reports); NULL: unknown.
    cost_price: Mapped[int | None] = mapped_column(BigInteger)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    # Bumped by every change of the product, its variants, barcodes or prices: the ETag.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Variant(Base):
    __tablename__ = "variants"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(
        String(200)
    )  # e.g. "Blue / M"; "" for a single-variant product
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Barcode(Base):
    __tablename__ = "barcodes"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="EAN13")


class Price(Base):
    """A variant's shelf price over [valid_from, valid_to); a location-specific row wins over the
    default (location NULL). Rows are never overwritten: a change closes the open row and opens a
    new one (db/repositories/catalog.py `change_price`), so any past sale can be priced again."""

    __tablename__ = "prices"
    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    # A web store's own price list (migration 0014); at most one of location / web store is set.
    web_store_id: Mapped[int | None] = mapped_column(ForeignKey("web_stores.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # NULL: still open
    __table_args__ = (
        # One open row per variant and price list (default: both NULL, counted as one).
        Index(
            "uq_prices_variant_id_location_id_open",
            "variant_id",
            "location_id",
            "web_store_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
            postgresql_nulls_not_distinct=True,
        ),
        Index(
            "ix_prices_variant_id_location_id_valid_from", "variant_id", "location_id", "valid_from"
        ),
        CheckConstraint("amount >= 0", name="amount_positive"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        CheckConstraint("location_id IS NULL OR web_store_id IS NULL", name="one_list"),
    )


# ---- stock -------------------------------------------------------------------------------


class StockLevel(Base):
    __tablename__ = "stock_levels"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    # Returned goods waiting for inspection: counted, never sellable, outside on_hand.
    quarantined: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # On its way here from another location (a Transfer): counted, not sellable, outside on_hand;
    # the sum of this location's "in_transit" movements.
    in_transit: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Reorder points (migration 0014): below min, order up to max; NULL: computed from velocity.
    reorder_min: Mapped[int | None] = mapped_column(Integer)
    reorder_max: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    __table_args__ = (CheckConstraint("reserved >= 0", name="reserved_positive"),)


class StockMovement(Base):
    """Append-only ledger: on_hand is always the sum of a location's movements for a SKU."""

    __tablename__ = "stock_movements"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    delta: Mapped[int] = mapped_column(Integer)
    # sellable (sums to on_hand) | quarantine (sums to quarantined) | in_transit (to in_transit)
    bucket: Mapped[str] = mapped_column(String(16), default="sellable", server_default="sellable")
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(200), default="")
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = _now()
    __table_args__ = (Index("ix_stock_movements_location_sku", "location_id", "sku"),)


class Reservation(Base):
    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # cart | order | pickup
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|released|consumed
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("kind", "reference", "location_id", "sku"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_location_sku_status", "location_id", "sku", "status"),
    )


# ---- customers, orders, money ------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = _now()
    # SHA-256 of the customer's card code (shown once, when issued): proof the customer is there
    # when their store credit pays at a till. NULL: no code issued, a manager must approve.
    code_hash: Mapped[str | None] = mapped_column(String(64))


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # store | web | shopify | woocommerce
    fulfilment_type: Mapped[str] = mapped_column(String(16))  # in_store | bopis | ship
    status: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"))
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    external_source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    change_due: Mapped[int] = mapped_column(BigInteger, default=0)
    warnings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Shifts (migration 0022): the till's shift the sale belongs to (None: sold without one),
    # and the discounts / price overrides given, with who approved them.
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"), index=True)
    adjustments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # Reports (migration 0023): when the till started the basket (first scan), for checkout time.
    basket_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (UniqueConstraint("external_source", "external_id"),)


class OrderLine(Base):
    __tablename__ = "order_lines"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    tax_code: Mapped[str] = mapped_column(String(32))
    tax_rate_bp: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Off the line's gross by discounts and price overrides (migration 0022); gross is after it.
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What each promotion took off the line: [{"code", "name", "amount", "coupon"}] (mig. 0034).
    promotions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    tender: Mapped[str] = mapped_column(String(16))  # cash | card | gift_card | store_credit
    amount: Mapped[int] = mapped_column(BigInteger)  # applied to the order
    tendered: Mapped[int] = mapped_column(BigInteger)  # handed over (cash)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # authorized|captured|completed|voided|refunded
    provider: Mapped[str] = mapped_column(String(32), default="")
    provider_ref: Mapped[str] = mapped_column(String(200), default="")
    # Only what a receipt may show: never a card number.
    card_brand: Mapped[str] = mapped_column(String(32), default="", server_default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="", server_default="")
    card_wallet: Mapped[str] = mapped_column(String(32), default="", server_default="")  # mig 0036
    failure_message: Mapped[str] = mapped_column(String(300), default="", server_default="")
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Refund(Base):
    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    provider_ref: Mapped[str] = mapped_column(String(200), default="")
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = _now()


class AuditEntry(Base):
    """Append-only: who did what, when, through which workflow."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # ---- audit chain (issue 15, migration 0020): written only by bookkeeping.audit ----
    # No foreign key on location_id: the record outlives a deleted location.
    location_id: Mapped[int | None] = mapped_column(Integer)
    chain: Mapped[str] = mapped_column(String(40))  # see db/models_audit.py AuditChain
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        # One successor per row: a chain can never fork, whatever a writer does.
        UniqueConstraint("chain", "prev_hash"),
        Index("ix_audit_log_chain_id", "chain", "id"),
    )


# ---- API bookkeeping ---------------------------------------------------------------------


class IdempotencyRecord(Base):
    """The first answer to a write with an Idempotency-Key; replays get it back."""

    __tablename__ = "idempotency_records"
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()
