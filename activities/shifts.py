"""The Shift workflow's database steps: open with the float, cash events, the blind count, the
close with its Z number and report, the overdue flag and the printed bytes. Each runs in one
transaction on the shift's locked row, guarded by its status and keys from the workflow id, so a
retry changes nothing the second time."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.devices import (
    ReceiptTax,
    ZMovement,
    ZReportDoc,
    ZReportJob,
    ZTenderLine,
    z_movement_kind,
)
from contracts.errors import encode_errors
from contracts.shift import (
    CashCmd,
    CountCmd,
    Counted,
    FinishCmd,
    Finished,
    FlagCmd,
    OpenCmd,
    PrintedCmd,
    ShiftView,
)
from db.models import Location, Till
from db.models_shifts import Shift
from db.repositories import (
    bookkeeping,
    fiscal,  # issue 20
    shifts,
    store_hours,
    users,
)
from db.repositories import events as outbound_events  # issue 19
from db.session import Database
from domain import shifts as rules
from domain.errors import Conflict, NotFound


def view_of(shift: Shift, till_code: str, events: int = 0, message: str = "") -> ShiftView:
    return ShiftView(
        workflow_id=shift.workflow_id,
        till_code=till_code,
        n=shift.n,
        state=shift.status,  # type: ignore[arg-type]  # a CHECK constraint keeps it one
        opened_at=shift.opened_at,
        float_amount=shift.float_amount,
        float_difference=shift.float_difference,
        closes_at=shift.closes_at,
        flagged=shift.flagged_at is not None,
        events=events,
        variance=shift.variance,
        z_number=shift.z_number,
        message=message,
    )


def _count_json(count: dict[int, int]) -> dict[str, int]:
    return {str(d): n for d, n in count.items()}


def z_document(s: Session, shift: Shift) -> ZReportDoc:
    """The Z report of a counted shift, from its rows and the till's payments in its window."""
    till = s.get(Till, shift.till_id)
    location = s.get(Location, shift.location_id)
    assert till is not None and location is not None and shift.closed_at is not None
    zone = ZoneInfo(location.timezone)
    counted = {k: int(v) for k, v in (shift.counted or {}).items()}
    fig = shifts.figures(s, shift, counted)
    approver = users.display_name(s, shift.approved_by) if shift.approved_by else ""
    return ZReportDoc(
        z_number=shift.z_number or 0,
        shift_n=shift.n,
        till_code=till.code,
        store_name=location.name,
        store_address=location.address,
        currency=shift.currency,
        business_date=shift.closed_at.astimezone(zone).date().isoformat(),
        opened_at=shift.opened_at.astimezone(zone),
        closed_at=shift.closed_at.astimezone(zone),
        cashiers=tuple(
            shifts.cashier_names(s, shift.id, [shift.opened_by or 0, shift.counted_by or 0])
        ),
        sales_count=fig.sales_count,
        sales_total=fig.sales_total,
        returns_count=fig.returns_count,
        taxes=tuple(ReceiptTax(code=c, rate_bp=r, net=n, tax=t) for c, r, n, t in fig.by_tax),
        tenders=tuple(
            ZTenderLine(
                tender=t.tender,
                sales=fig.by_tender.get(t.tender, 0),
                refunds=fig.refunds_by_tender.get(t.tender, 0),
                expected=t.expected,
                counted=t.counted,
                variance=t.variance,
            )
            for t in fig.tenders
        ),
        movements=tuple(
            ZMovement(kind=z_movement_kind(k), amount=v) for k, v in fig.movements.items()
        ),
        no_sales=fig.no_sales,
        discounts=tuple(
            ZMovement(kind=z_movement_kind(k), amount=v) for k, v in fig.discounts.items()
        ),
        discounted_sales=fig.discounted_sales,
        approved_overrides=fig.approved_overrides,
        voids_count=fig.voids_count,
        voids_total=fig.voids_total,
        locale=location.locale,
        float_amount=shift.float_amount,
        left_in_drawer=shift.left_in_drawer or 0,
        variance=fig.variance,
        approved_by=approver,
        approval_note=shift.approval_note,
    )


def as_json(doc: ZReportDoc) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(doc), default=str))
    return out


@encode_errors
class ShiftActivities:
    """Writes a till's shift, its cash rows and its Z report."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _locked(self, s: Session, workflow_id: str) -> tuple[Shift, str]:
        shift = shifts.by_workflow(s, workflow_id, lock=True)
        if shift is None:
            raise NotFound(f"There is no shift {workflow_id}.")
        till = s.get(Till, shift.till_id)
        assert till is not None
        return shift, till.code

    def _view(self, s: Session, shift: Shift, code: str, message: str = "") -> ShiftView:
        return view_of(shift, code, len(shifts.events(s, shift.id)), message)

    @activity.defn(name="shift.open")
    def open(self, cmd: OpenCmd) -> ShiftView:
        """Record the shift with its counted float and its difference from the last close."""
        req = cmd.request
        with self.db.unit_of_work() as s:
            done = shifts.by_workflow(s, cmd.workflow_id)
            if done is not None:
                return self._view(s, done, req.till_code)
            if shifts.current(s, req.till_id) is not None:
                raise Conflict(
                    f"Till {req.till_code} has a shift open already: close it first.",
                    code="shift_open",
                )
            count = rules.validate_count(req.currency, dict(req.float_count))
            amount = rules.count_total(count)
            last = shifts.last_left_in_drawer(s, req.till_id)
            closes = rules.closing_time(store_hours.hours(s, req.location_id), cmd.opened_at)
            shift = shifts.add_shift(
                s,
                workflow_id=cmd.workflow_id,
                till_id=req.till_id,
                n=req.n,
                location_id=req.location_id,
                currency=req.currency,
                status="open",
                opened_at=cmd.opened_at,
                opened_by=req.opened_by,
                float_count=_count_json(count),
                float_amount=amount,
                float_difference=0 if last is None else amount - last,
                closes_at=None
                if closes is None
                else closes + timedelta(minutes=req.overdue_grace_minutes),
            )
            bookkeeping.audit(
                s,
                action="shift.open",
                subject=f"till:{req.till_code}",
                actor_user_id=req.opened_by,
                workflow_id=cmd.workflow_id,
                detail={"n": req.n, "float": amount, "difference": shift.float_difference},
            )
            return self._view(s, shift, req.till_code)

    @activity.defn(name="shift.cash")
    def cash(self, cmd: CashCmd) -> ShiftView:
        """One paid-in, paid-out, drop or no-sale: a row of the till's cash ledger."""
        with self.db.unit_of_work() as s:
            shift, code = self._locked(s, cmd.workflow_id)
            if shift.status != "open":
                raise Conflict(
                    f"Shift {shift.n} of till {code} is {shift.status}.", code="shift_state"
                )
            c = cmd.cash
            added = shifts.add_event(
                s,
                shift.id,
                cmd.seq,
                kind=c.kind,
                amount=c.amount,
                reason=c.reason,
                reference=c.reference,
                created_by=c.by,
                approved_by=c.approved_by,
                created_at=cmd.at,
            )
            if not added:  # a retry of a step whose answer was lost: audited the first time
                return self._view(s, shift, code)
            bookkeeping.audit(
                s,
                action=f"shift.{c.kind}",
                subject=f"till:{code}",
                actor_user_id=c.by,
                workflow_id=cmd.workflow_id,
                detail={"amount": c.amount, "reason": c.reason, "approved_by": c.approved_by},
            )
            return self._view(s, shift, code)

    @activity.defn(name="shift.count")
    def count(self, cmd: CountCmd) -> Counted:
        """The blind count: counted against expected per tender; over the threshold it waits."""
        with self.db.unit_of_work() as s:
            shift, code = self._locked(s, cmd.workflow_id)
            if shift.status == "closed":
                raise Conflict(f"Shift {shift.n} of till {code} is closed.", code="shift_closed")
            cash = rules.validate_count(shift.currency, dict(cmd.close.cash_count))
            counted = {"cash": rules.count_total(cash)}
            for tender, amount in cmd.close.other:
                counted[tender] = counted.get(tender, 0) + amount
            if shift.counted_at == cmd.at and shift.counted == counted:
                # A retry of this very count whose answer was lost: counted (and audited) once.
                view = self._view(s, shift, code)
                return Counted(view=view, needs_approval=shift.status == "review")
            left = rules.left_in_drawer(counted["cash"], cmd.close.drop_at_close)
            fig = shifts.figures(s, shift, counted)
            review = rules.needs_approval(fig.tenders, cmd.variance_threshold)
            shift.close_count = _count_json(cash)
            shift.counted = counted
            shift.counted_at = cmd.at
            shift.counted_by = cmd.close.by
            shift.left_in_drawer = left
            shift.variance = fig.variance
            shift.status = "review" if review else "open"
            bookkeeping.audit(
                s,
                action="shift.count",
                subject=f"till:{code}",
                actor_user_id=cmd.close.by,
                workflow_id=cmd.workflow_id,
                detail={"counted": counted, "variance": fig.variance, "review": review},
            )
            return Counted(view=self._view(s, shift, code), needs_approval=review)

    @activity.defn(name="shift.reopen")
    def reopen(self, cmd: FinishCmd) -> ShiftView:
        """A manager rejected the count: the shift is open again for a recount."""
        with self.db.unit_of_work() as s:
            shift, code = self._locked(s, cmd.workflow_id)
            if shift.status == "review":
                shift.status = "open"
                shift.counted = shift.close_count = shift.variance = shift.counted_at = None
                shift.left_in_drawer = None
                bookkeeping.audit(
                    s,
                    action="shift.recount",
                    subject=f"till:{code}",
                    actor_user_id=cmd.approved_by,
                    workflow_id=cmd.workflow_id,
                    detail={"note": cmd.note},
                )
            return self._view(s, shift, code, message=cmd.note)

    @activity.defn(name="shift.finish")
    def finish(self, cmd: FinishCmd) -> Finished:
        """Close the counted shift: its Z number (taken in this transaction) and stored report."""
        with self.db.unit_of_work() as s:
            shift, code = self._locked(s, cmd.workflow_id)
            if shift.status != "closed":
                if shift.counted is None:
                    raise Conflict("The shift has not been counted.", code="shift_state")
                shift.z_number = shifts.allocate_z(s, shift.till_id)
                shift.status = "closed"
                shift.closed_at = cmd.at
                shift.closed_by = cmd.closed_by
                shift.approved_by = cmd.approved_by
                shift.approval_note = cmd.note
                s.flush()
                doc = z_document(s, shift)
                shifts.add_z_report(s, shift, as_json(doc))
                bookkeeping.audit(
                    s,
                    action="shift.close",
                    subject=f"till:{code}",
                    actor_user_id=cmd.closed_by,
                    workflow_id=cmd.workflow_id,
                    detail={"z": shift.z_number, "variance": shift.variance},
                )
                outbound_events.shift_closed(s, shift, code)  # outbound events (issue 19)
            else:
                doc = z_document(s, shift)
            job = ZReportJob(job_id=cmd.workflow_id, report=doc)
            scheme = fiscal.scheme_of(s, shift.location_id)  # issue 20: sign the closing?
            return Finished(view=self._view(s, shift, code), job=job, fiscal_scheme=scheme)

    @activity.defn(name="shift.flag")
    def flag(self, cmd: FlagCmd) -> ShiftView:
        """The shift is still open past the store's closing time: flag it for the manager."""
        with self.db.unit_of_work() as s:
            shift, code = self._locked(s, cmd.workflow_id)
            if shift.status != "closed" and shift.flagged_at is None:
                shift.flagged_at = cmd.at
                bookkeeping.audit(
                    s,
                    action="shift.overdue",
                    subject=f"till:{code}",
                    workflow_id=cmd.workflow_id,
                    detail={"n": shift.n},
                )
            return self._view(s, shift, code)

    @activity.defn(name="shift.printed")
    def printed(self, cmd: PrintedCmd) -> None:
        """Keep the ESC/POS bytes the till's printer was sent beside the stored Z report."""
        with self.db.unit_of_work() as s:
            shift, _ = self._locked(s, cmd.workflow_id)
            z = shifts.z_report(s, shift.id)
            if z is not None and z.escpos is None:
                z.escpos = base64.b64decode(cmd.escpos_b64)
                z.printed_at = cmd.at


def shift_activities(db: Database) -> list[Any]:
    """The Shift workflow's activity callables (register them on the Shift worker)."""
    a = ShiftActivities(db)
    return [a.open, a.cash, a.count, a.reopen, a.finish, a.flag, a.printed]
