"""The journal upload with the shift closes a till journaled offline: an entry of kind
`shift_close` carries the blind count (as POST /tills/{till}/shifts/{n}/close takes it) beside
the offline sales, which keep their shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from api.schemas_shifts import DenominationCount, TenderTotalIn
from api.schemas_tills import CLIENT_ID, CLOCK_SKEW, JournalEntryIn, JournalUpload
from contracts.replay import SHIFT_CLOSE_ENTRY


class ShiftCloseEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["shift_close"]
    client_sale_id: str = Field(
        min_length=1, max_length=64, pattern=CLIENT_ID, description="the till's id of the entry"
    )
    n: int | None = Field(
        default=None, ge=1, description="the shift the till last knew; null: its open shift"
    )
    closed_at: AwareDatetime = Field(description="when the cashier counted, with its UTC offset")
    cashier: str = Field(min_length=1, max_length=100, description="username of who counted")
    cash: list[DenominationCount] = Field(max_length=40)
    tenders: list[TenderTotalIn] = Field(default_factory=list, max_length=10)
    drop_at_close: int = Field(default=0, ge=0, le=10**9)

    @field_validator("closed_at")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("is in the future; check the till's clock")
        return value


def _entry_kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "shift_close" if kind == SHIFT_CLOSE_ENTRY else "sale"


UploadedEntry = Annotated[
    Annotated[JournalEntryIn, Tag("sale")] | Annotated[ShiftCloseEntryIn, Tag("shift_close")],
    Discriminator(_entry_kind),
]


class JournalWithClosesUpload(JournalUpload):
    """A journal batch: offline sales and, after them, shift closes."""

    # Widened from sales alone to sales or closes.
    entries: list[UploadedEntry] = Field(min_length=1, max_length=100)  # type: ignore[assignment]  # widened on purpose
