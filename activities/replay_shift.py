"""A shift close a till journaled while offline, applied once its offline sales are: the Shift
workflow's close update with the cashier and count from the journal. Kept once per till and entry
(offline_journal_entries), so a repeated upload closes once and gets the same answer."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.errors import encode_errors
from contracts.replay import (
    CLOSE_SHIFT_ACTIVITY,
    SHIFT_CLOSE_ENTRY,
    ReplayEntryResult,
    ShiftCloseCmd,
    offline_close_key,
)
from contracts.shift import CloseIn, ShiftView, close_shift
from db.models_shifts import Shift
from db.repositories import bookkeeping, catalog, shifts, tills, users
from db.repositories.catalog import TillView
from db.session import Database
from domain import shifts as rules
from domain.errors import DomainError, NotFound
from domain.money import format_minor

TILL_ROLES = ("cashier", "manager")  # who may close a till's shift (as who may sell at it)


@dataclass(frozen=True)
class _Plan:
    """What to do with the entry: answer it as it stands, or send the close to its shift."""

    answer: ReplayEntryResult | None
    shift_workflow_id: str = ""
    cashier_id: int = 0


def _payload(cmd: ShiftCloseCmd) -> dict[str, Any]:
    c = cmd.close
    body = {
        "kind": SHIFT_CLOSE_ENTRY,
        "n": c.n,
        "closed_at": c.closed_at.isoformat(),
        "cashier": c.cashier,
        "cash": [list(p) for p in c.cash_count],
        "other": [list(p) for p in c.other],
        "drop_at_close": c.drop_at_close,
    }
    out: dict[str, Any] = json.loads(json.dumps(body))
    return out


def _counted(currency: str, cmd: ShiftCloseCmd) -> dict[str, int]:
    """The count as the Shift records it (cash total, then each other tender)."""
    cash = rules.validate_count(currency, dict(cmd.close.cash_count))
    counted = {"cash": rules.count_total(cash)}
    for tender, amount in cmd.close.other:
        counted[tender] = counted.get(tender, 0) + amount
    return counted


def _result(cmd: ShiftCloseCmd, status: str, message: str, shift_wf: str = "") -> ReplayEntryResult:
    return ReplayEntryResult(
        client_sale_id=cmd.close.client_id,
        status=status,  # type: ignore[arg-type]  # applied | flagged | pending
        sale_id=shift_wf,
        message=message,
    )


@encode_errors
class OfflineShiftActivities:
    """Closes a till's shift from its uploaded journal."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name=CLOSE_SHIFT_ACTIVITY)
    async def close_shift(self, cmd: ShiftCloseCmd) -> ReplayEntryResult:
        """Close the shift with the journaled blind count (once): applied when it closed or waits
        for a manager's approval of its variance, flagged with the reason when it cannot apply."""
        plan = await asyncio.to_thread(self._plan, cmd)
        if plan.answer is not None:
            return plan.answer
        close = CloseIn(
            cash_count=cmd.close.cash_count,
            other=cmd.close.other,
            by=plan.cashier_id,
            drop_at_close=cmd.close.drop_at_close,
            closed_at=cmd.close.closed_at,
        )
        try:
            view = await close_shift(activity.client(), plan.shift_workflow_id, close)
        except DomainError as err:
            # Refused by the shift itself (closed or counted meanwhile): see where it stands now.
            again = await asyncio.to_thread(self._plan, cmd)
            if again.answer is not None:
                return again.answer
            return await asyncio.to_thread(self._flag, cmd, err.message)
        return await asyncio.to_thread(self._settle, cmd, plan, view)

    # ---- database steps --------------------------------------------------------------------

    def _plan(self, cmd: ShiftCloseCmd) -> _Plan:
        c, now = cmd.close, datetime.now(UTC)
        key = offline_close_key(cmd.till_code, c.client_id)
        with self.db.unit_of_work() as s:
            till = catalog.till_view(s, cmd.till_code)
            if till is None:
                raise NotFound(f"There is no till {cmd.till_code}.")
            cashier_id, problem = self._cashier(s, cmd, till, now)
            new = tills.receive_entries(
                s,
                till.till_id,
                cmd.batch_id,
                [
                    tills.NewJournalEntry(
                        client_sale_id=c.client_id,
                        workflow_id=key,
                        cashier_id=cashier_id,
                        sold_at=c.closed_at,
                        payload=_payload(cmd),
                    )
                ],
            )
            (row,) = tills.entries_for(s, till.till_id, [c.client_id])

            def flag(why: str) -> _Plan:
                tills.mark_entry(s, key, status="flagged", order_number=None, message=why)
                return _Plan(answer=_result(cmd, "flagged", why))

            if row.workflow_id != key or row.payload.get("kind") != SHIFT_CLOSE_ENTRY:
                return _Plan(
                    answer=_result(
                        cmd, "flagged", f"The till's id {c.client_id} names a sale, not a close."
                    )
                )
            if row.status == "flagged":
                return _Plan(answer=_result(cmd, "flagged", row.message or "Kept for a manager."))
            if c.client_id not in new and row.payload != _payload(cmd):
                return flag(
                    "Uploaded again with another count or time than the first time; a till never "
                    "changes a close it journaled."
                )
            if problem:
                return flag(problem)
            shift = self._shift(s, till, row.order_number, c.n)
            if shift is None:
                return flag(
                    f"Till {till.till_code} has no shift {c.n} at the central system."
                    if c.n
                    else f"Till {till.till_code} had no open shift to close."
                )
            if row.order_number is None:  # which shift it closes, kept for a repeated upload
                tills.mark_entry(
                    s, key, status="received", order_number=shift.workflow_id, message=""
                )
            skew = timedelta(seconds=cmd.clock_skew_s)
            if c.closed_at < shift.opened_at - skew or c.closed_at > now + skew:
                return flag(
                    f"The offline close at {c.closed_at.isoformat()} does not fall within shift "
                    f"{shift.n} (opened {shift.opened_at.isoformat()}); check the till's clock."
                )
            try:
                counted = _counted(shift.currency, cmd)
                rules.left_in_drawer(counted["cash"], c.drop_at_close)
            except DomainError as err:
                return flag(err.message)
            ours = shift.counted_by == cashier_id and shift.counted == counted
            if ours and shift.status in ("review", "closed"):
                return _Plan(answer=self._applied(s, cmd, till, shift, key, row.status))
            if shift.status == "closed":
                return flag(
                    f"Shift {shift.n} was closed at the central system already (Z "
                    f"{shift.z_number}); this offline count was not applied."
                )
            if shift.status == "review":
                return flag(
                    f"Shift {shift.n} was counted at the central system already and waits for "
                    "a manager; this offline count was not applied."
                )
            if row.status == "applied":
                return flag(
                    f"A manager rejected this offline count of shift {shift.n}: count the drawer "
                    "again at the till."
                )
            return _Plan(
                answer=None, shift_workflow_id=shift.workflow_id, cashier_id=cashier_id or 0
            )

    @staticmethod
    def _cashier(
        s: Session, cmd: ShiftCloseCmd, till: TillView, now: datetime
    ) -> tuple[int | None, str]:
        """Who counted, if the central system can vouch for them: a cashier or manager of the
        store who signed in at this very till within the offline window before the close."""
        c, max_age = cmd.close, timedelta(seconds=cmd.max_age_s)
        user = users.user_by_username(s, c.cashier)
        if (
            user is None
            or user.role not in TILL_ROLES
            or till.location_id not in users.user_location_ids(s, user.id)
        ):
            return None, (
                f"The cashier '{c.cashier}' is no cashier or manager of store {till.location_code}."
            )
        if not tills.signed_in_at_till(s, user.id, till.till_id, c.closed_at - max_age, now):
            return None, (
                f"The cashier '{c.cashier}' did not sign in at till {till.till_code} within "
                f"{int(max_age.total_seconds() // 3600)} h of the close."
            )
        return user.id, ""

    @staticmethod
    def _shift(s: Session, till: TillView, known: str | None, n: int) -> Shift | None:
        if known:
            return shifts.by_workflow(s, known)
        if n:
            return shifts.by_n(s, till.till_id, n)
        return shifts.current(s, till.till_id)

    def _applied(
        self, s: Session, cmd: ShiftCloseCmd, till: TillView, shift: Shift, key: str, was: str
    ) -> ReplayEntryResult:
        variance = format_minor(shift.variance or 0, shift.currency, symbol=True)
        if shift.status == "closed":
            message = (
                f"Shift {shift.n} closed from the till's offline count: Z {shift.z_number}, "
                f"variance {variance}."
            )
        else:
            message = (
                f"Shift {shift.n} counted from the till's offline count; its variance of "
                f"{variance} waits for a manager's approval."
            )
        tills.mark_entry(s, key, status="applied", order_number=shift.workflow_id, message=message)
        if was != "applied":
            bookkeeping.audit(
                s,
                action="shift.close_offline",
                subject=f"till:{till.till_code}",
                actor_user_id=shift.counted_by,
                workflow_id=shift.workflow_id,
                detail={
                    "n": shift.n,
                    "closed_at": cmd.close.closed_at.isoformat(),
                    "entry": cmd.close.client_id,
                    "batch": cmd.batch_id,
                    "state": shift.status,
                },
            )
        return _result(cmd, "applied", message, shift.workflow_id)

    def _settle(self, cmd: ShiftCloseCmd, plan: _Plan, view: ShiftView) -> ReplayEntryResult:
        key = offline_close_key(cmd.till_code, cmd.close.client_id)
        with self.db.unit_of_work() as s:
            till = catalog.till_view(s, cmd.till_code)
            shift = shifts.by_workflow(s, plan.shift_workflow_id)
            assert till is not None and shift is not None
            (row,) = tills.entries_for(s, till.till_id, [cmd.close.client_id])
            if view.state not in ("review", "closed"):  # the Shift kept it open: it said why
                why = view.message or f"Shift {shift.n} did not take the offline count."
                tills.mark_entry(s, key, status="flagged", order_number=None, message=why)
                return _result(cmd, "flagged", why)
            return self._applied(s, cmd, till, shift, key, row.status)

    def _flag(self, cmd: ShiftCloseCmd, why: str) -> ReplayEntryResult:
        key = offline_close_key(cmd.till_code, cmd.close.client_id)
        with self.db.unit_of_work() as s:
            tills.mark_entry(s, key, status="flagged", order_number=None, message=why)
        return _result(cmd, "flagged", why)


def offline_shift_activities(db: Database) -> list[Any]:
    """The offline shift close's activity (register it where the Shift activities run)."""
    return [OfflineShiftActivities(db).close_shift]
