"""Request and response bodies of the web-store link: storefront API, connections, exception
queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas import CouponCode
from domain.pricing import MAX_LINE_QUANTITY

StoreCode = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LocationCode = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


# ---- storefront ----------------------------------------------------------------------------------


class LocationAvailability(BaseModel):
    code: str
    name: str
    kind: str
    available: int = Field(description="available to promise: on hand - reserved - safety stock")
    ships: bool = Field(description="online orders may ship from here")
    pickup: bool = Field(description="customers may pick up here (stores)")


class AvailabilityOut(BaseModel):
    sku: str
    total: int = Field(description="what this web store can sell now, over the locations listed")
    locations: list[LocationAvailability]


class CartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pickup_location: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="a store code for pickup in store; omit to ship",
    )


class CartLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class CartQuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=0, le=MAX_LINE_QUANTITY, description="0 removes the line")


class CartLineOut(BaseModel):
    sku: str
    quantity: int
    location: str = Field(description="where the units are held")


class CartOut(BaseModel):
    cart_id: str
    status: str
    expires_at: datetime
    pickup_location: str | None
    lines: list[CartLineOut]


class PointsIn(BaseModel):
    """Loyalty points paying part or all of the order: the shopper is the customer of the
    checkout's email and proves it with the code on their loyalty card."""

    model_config = ConfigDict(extra="forbid")
    amount: int = Field(
        gt=0, le=10**9, description="minor units the points pay for (the card pays the rest)"
    )
    card_code: str = Field(
        min_length=4,
        max_length=40,
        pattern=r"^[A-Za-z0-9 -]+$",
        description="the code on the customer's loyalty card (checked, never stored)",
    )


class AddressIn(BaseModel):
    """Where to ship the order (issue 19)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200, description="the recipient; default: `name`")
    lines: list[str] = Field(
        min_length=1, max_length=3, description="street and number first, then flat / company"
    )
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(default="", max_length=20)
    region: str = Field(default="", max_length=50, description="state / province code")
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2")
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9 +()./-]*$")

    @field_validator("lines")
    @classmethod
    def _lines(cls, value: list[str]) -> list[str]:
        lines = [ln.strip() for ln in value]
        if not lines[0] or any(len(ln) > 200 for ln in lines):
            raise ValueError("the first line is the street; lines are at most 200 characters")
        return [ln for ln in lines if ln]


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(default="", max_length=200)
    country: str = Field(
        default="", max_length=2, pattern=r"^([A-Za-z]{2})?$", description="ISO 3166 alpha-2"
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    payment_method: str = Field(
        default="",
        max_length=60,
        pattern=r"^(pm_[A-Za-z_]+)?$",
        description="Stripe test mode only: confirm at once with this test payment method "
        "(pm_card_visa); "
        "in production the storefront confirms the card with Stripe.js and the client_secret",
    )
    coupon_codes: list[CouponCode] = Field(
        default_factory=list,
        max_length=10,
        description="coupons the shopper entered; one that cannot be honoured refuses the "
        "checkout (409 coupon_refused)",
    )
    points: PointsIn | None = Field(
        default=None, description="pay part or all with the email owner's loyalty points"
    )
    address: AddressIn | None = Field(
        default=None, description="the shipping address (issue 19); its country wins over `country`"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> CheckoutIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class PlacedLineOut(BaseModel):
    sku: str
    quantity: int
    location: str


class CheckoutOut(BaseModel):
    order_id: str = Field(description="the cart id: GET /storefront/orders/{order_id}")
    order_number: str
    workflow_id: str
    status: str
    currency: str
    total: int
    payment_intent: str
    client_secret: str = Field(description="for Stripe.js confirmCardPayment on the storefront")
    payment_status: str
    lines: list[PlacedLineOut]
    message: str = ""
    points_paid: int = Field(
        default=0, description="minor units paid with loyalty points; the PaymentIntent is the rest"
    )


class OrderOut(BaseModel):
    order_id: str
    order_number: str
    status: str
    currency: str
    total: int
    fulfilment: str
    lines: list[PlacedLineOut]
    warnings: list[str]


# ---- connections and exceptions ------------------------------------------------------------------


class StoreLocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    location: str = LocationCode
    external_id: str = Field(
        default="",
        max_length=64,
        pattern=r"^[0-9A-Za-z_-]*$",
        description="the web store's id of this location (Shopify location id)",
    )


class WebStoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = StoreCode
    platform: Literal["shopify", "woocommerce", "web", "magento"]
    name: str = Field(default="", max_length=200)
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    shop_domain: str = Field(
        default="",
        max_length=255,
        pattern=r"^[A-Za-z0-9.-]*$",
        description="acme.myshopify.com / shop.example.com",
    )
    api_base_url: str = Field(
        default="",
        max_length=500,
        pattern=r"^(https?://\S+)?$",
        description="override of https://{shop_domain}",
    )
    webhook_secret: str = Field(default="", max_length=300, description="value or secret:NAME")
    access_token: str = Field(
        default="",
        max_length=300,
        description="Shopify Admin API token / Magento integration access token, or secret:NAME",
    )
    consumer_key: str = Field(
        default="", max_length=300, description="WooCommerce consumer key, or secret:NAME"
    )
    consumer_secret: str = Field(
        default="", max_length=300, description="WooCommerce secret, or secret:NAME"
    )
    pricing_location: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="whose prices and tax our storefront charges",
    )
    locations: list[StoreLocationIn] = Field(default_factory=list, max_length=100)
    storefront_key: bool = Field(
        default=False, description="issue a storefront API key (always for 'web')"
    )

    @model_validator(mode="after")
    def _platform_needs(self) -> WebStoreIn:
        if self.platform == "magento":  # issue 19: pulled; webhooks only where configured
            if not self.access_token:
                raise ValueError("a magento store needs its integration access_token")
            if not (self.shop_domain or self.api_base_url):
                raise ValueError("give shop_domain (or api_base_url)")
            if any(not loc.external_id for loc in self.locations):
                raise ValueError("each Magento location needs its MSI source code as external_id")
        if self.platform in ("shopify", "woocommerce"):
            if not self.webhook_secret:
                raise ValueError(f"a {self.platform} store needs its webhook_secret")
            if not (self.shop_domain or self.api_base_url):
                raise ValueError("give shop_domain (or api_base_url)")
        if self.platform == "shopify" and any(
            not loc.external_id.isdigit() for loc in self.locations
        ):
            raise ValueError(
                "each Shopify location needs its numeric Shopify location id as external_id"
            )
        return self


class WebStoreOut(BaseModel):
    code: str
    platform: str
    name: str
    currency: str
    shop_domain: str
    active: bool
    locations: list[StoreLocationIn]
    webhook_url: str
    storefront_key: str | None = Field(default=None, description="shown once, when issued")


class RotateIn(BaseModel):
    """Which secrets of a connection to replace; the replaced ones stay valid for a while."""

    model_config = ConfigDict(extra="forbid")
    storefront_key: bool = Field(default=False, description="issue a new storefront key")
    webhook_secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=300,
        pattern=r"^[\x21-\x7e]+$",
        description="the web store's new webhook signing secret (value or secret:NAME)",
    )
    overlap_hours: int | None = Field(
        default=None,
        ge=0,
        le=24 * 14,
        description="how long the previous key / secret stays valid; default "
        "TILLFLOW_SECRET_ROTATION_HOURS",
    )


class RotateOut(BaseModel):
    code: str
    storefront_key: str | None = Field(default=None, description="the new key, shown once")
    previous_valid_until: datetime


class ExceptionOut(BaseModel):
    id: int
    workflow_id: str
    source: str
    store: str
    external_id: str
    kind: str
    sku: str
    reason: str
    status: str
    created_at: datetime
    detail: dict[str, Any]
