"""Request and response bodies of the outbound-event routes (subscriptions, dead letters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

EventTypeName = Annotated[str, Field(min_length=1, max_length=32)]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="your name for the subscription, e.g. zapier-orders",
    )
    url: str = Field(min_length=1, max_length=2000, description="where events are POSTed")
    event_types: list[EventTypeName] = Field(
        min_length=1, max_length=20, description='event types wanted; ["*"] for all'
    )
    description: str = Field(default="", max_length=500)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[EventTypeName] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = Field(default=None, description="false pauses delivery")


class RotateSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_hours: float | None = Field(
        default=None,
        ge=0,
        le=24 * 14,
        description="how long the current secret still signs too; default "
        "TILLFLOW_EVENTS_ROTATION_OVERLAP_HOURS",
    )


class SubscriptionOut(BaseModel):
    code: str
    url: str
    event_types: list[str]
    description: str
    active: bool
    workflow_id: str
    delivered: int
    last_delivered_at: datetime | None
    last_error: str
    dead_letters: int = Field(description="events on the dead-letter list, not yet replayed")
    secret: str = Field(description="the signing secret: in full only in the answer that made it")
    previous_secret_valid_until: datetime | None = Field(
        description="while set, the previous secret signs too (a second v1)"
    )
    created_at: datetime


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeadLetterOut(BaseModel):
    id: int
    event_id: str
    type: str
    entity: str
    attempts: int
    last_status: int = Field(description="the receiver's last HTTP status; 0: no answer")
    last_error: str
    status: str = Field(description="dead, or replayed (delivered on a replay)")
    dead_at: datetime
    replayed_at: datetime | None


class DeadLetterList(BaseModel):
    items: list[DeadLetterOut]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=1000, description="dead-letter ids; empty: every dead one"
    )


class ReplayOut(BaseModel):
    subscription: str
    workflow_id: str
    replaying: list[int] = Field(description="the dead-letter ids sent again, oldest event first")
