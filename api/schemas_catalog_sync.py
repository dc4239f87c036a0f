"""Request and response bodies of the catalogue sync routes (resync, conflicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ResyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    products: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=500,
        description="only these product codes; empty or no body: every product sold online",
    )


class ResyncOut(BaseModel):
    store: str
    workflow_id: str
    products: list[str] = Field(default_factory=list, description="empty: every product")
    status: Literal["requested"] = "requested"


class ConflictOut(BaseModel):
    id: int
    store: str
    platform: str
    product_code: str = Field(description='"" for a product made in the store that tillflow lacks')
    sku: str
    field: Literal["title", "description", "price", "barcode", "deleted", "product"]
    tillflow_value: str = Field(description="prices in minor units of `currency`")
    webstore_value: str
    currency: str
    status: Literal["open", "resolved"]
    resolution: str
    detected_at: datetime
    resolved_at: datetime | None


class ConflictPage(BaseModel):
    items: list[ConflictOut]
    page: int
    per_page: int
    total: int


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep: Literal["tillflow", "webstore"] = Field(
        description="tillflow: its value stays (and is pushed again); webstore: the store's value "
        "is written to tillflow (a price to the store's own price list)"
    )
