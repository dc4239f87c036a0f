"""Closing the till's shift while the central system cannot be reached: the blind count is
journaled after the shift's offline sales and uploaded with them; the central system closes the
shift from it (the Z report prints on this till's printer once the till is back online)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain import shifts as rules
from domain.errors import InvalidRequest
from domain.money import format_minor
from tills.cashiers import Session
from tills.journal import SHIFT_CLOSE_KIND, SHIFT_CLOSE_PREFIX, StoredEntry
from tills.till import AgentError, TillAgent

CLOSING_OFFLINE = "closing_offline"


class _Denomination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    denomination: int = Field(gt=0, le=10_000_000)
    quantity: int = Field(ge=0, le=100_000)


class _TenderTotal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tender: Literal["card", "gift_card", "store_credit"]
    amount: int = Field(ge=0, le=1_000_000_000)


class OfflineCloseIn(BaseModel):
    """The blind close as the central close takes it; `n` the shift, when the caller knows it."""

    model_config = ConfigDict(extra="forbid")
    cash: list[_Denomination] = Field(max_length=40)
    tenders: list[_TenderTotal] = Field(default_factory=list, max_length=10)
    drop_at_close: int = Field(default=0, ge=0, le=10**9)
    n: int | None = Field(default=None, ge=1)


def _parse(body: dict[str, Any]) -> OfflineCloseIn:
    try:
        return OfflineCloseIn.model_validate(body)
    except ValidationError as err:
        problems = "; ".join(
            ".".join(str(p) for p in e.get("loc", ())) + f": {e.get('msg')}" for e in err.errors()
        )
        raise AgentError(422, "invalid", problems or "Invalid close.") from None


def _answer(n: int, cash: int, currency: str) -> dict[str, Any]:
    shift = f"Shift {n}" if n else "The shift"
    counted = format_minor(cash, currency, symbol=True)
    return {
        "status": CLOSING_OFFLINE,
        "n": n or None,
        "counted_cash": cash,
        "currency": currency,
        "message": (
            f"{shift} is counted ({counted} in cash). It closes once the till is back online, "
            "after its offline sales are uploaded: the Z report prints when the till is back "
            "online."
        ),
    }


async def close_offline(agent: TillAgent, session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """Journal a blind close taken while the central system is unreachable; answer
    `closing_offline`. A second close of the same shift while one is journaled answers the same
    and journals nothing new."""
    close = _parse(body)
    if agent.snapshot is None:
        raise AgentError(
            503,
            "no_snapshot",
            "The till has no offline catalogue, so it does not know the store's currency; close "
            "the shift when the till is back online.",
        )
    currency = str(agent.snapshot.body.get("currency", ""))
    merged: dict[int, int] = {}
    for d in close.cash:
        merged[d.denomination] = merged.get(d.denomination, 0) + d.quantity
    count = rules.validate_count(currency, merged)  # a coin the currency has not: refused here
    cash = rules.count_total(count)
    if close.drop_at_close > cash:
        raise InvalidRequest(
            "The closing drop cannot be more than the counted cash.", code="bad_drop"
        )
    known = await asyncio.to_thread(agent.journal.last_shift)
    n = close.n or (known[0] if known and known[1] != "closed" else 0)
    closed_at = agent.clock()
    client_id = f"{SHIFT_CLOSE_PREFIX}{n or 'open'}:{uuid.uuid4().hex[:12]}"
    upload = {
        "kind": SHIFT_CLOSE_KIND,
        "client_sale_id": client_id,
        "n": n or None,
        "closed_at": closed_at.isoformat(),
        "cashier": session.username,
        "cash": [{"denomination": d, "quantity": q} for d, q in count.items()],
        "tenders": [t.model_dump() for t in close.tenders],
        "drop_at_close": close.drop_at_close,
    }
    entry: StoredEntry = await asyncio.to_thread(
        agent.journal.add_shift_close, client_id, n, closed_at, upload, _answer(n, cash, currency)
    )
    agent.publish_status()
    return entry.sale


async def waiting_close(agent: TillAgent) -> dict[str, Any] | None:
    """The answer of a close journaled offline and not yet uploaded (the till's close route
    answers it again, online or not, rather than count twice)."""
    entry = await asyncio.to_thread(agent.journal.waiting_shift_close)
    return entry.sale if entry is not None else None
