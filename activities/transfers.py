"""The Transfer workflow's database steps: record and hold, pick, receive, cancel.

Each runs in one transaction, guarded by the transfer's status (locked) and by ledger keys derived
from the workflow id and step, so a retried activity changes nothing the second time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.errors import encode_errors
from contracts.transfer import (
    RESERVATION_KIND,
    CancelCmd,
    PickCmd,
    ReceiveCmd,
    RecordTransfer,
    TransferLineView,
    TransferRef,
    TransferView,
)
from db.models_transfers import Transfer, TransferLine
from db.repositories import reservations, stock, transfers
from db.repositories.reservations import ORDER, Hold
from db.session import Database
from domain.errors import Conflict, InvalidRequest, NotFound

OUT, IN, SHORT, OVER = "transfer_out", "transfer_in", "transfer_short", "transfer_over"


def _view(s: Session, t: Transfer, message: str = "") -> TransferView:
    row = transfers.by_workflow(s, t.workflow_id)
    assert row is not None
    return TransferView(
        transfer_id=row.transfer_id,
        workflow_id=row.workflow_id,
        state=row.status,  # type: ignore[arg-type]  # the table's check constraint keeps it one
        source_code=row.source_code,
        destination_code=row.destination_code,
        lines=tuple(
            TransferLineView(
                sku=ln.sku,
                requested=ln.requested,
                picked=ln.picked,
                received=ln.received,
                short=ln.short,
                over=ln.over,
            )
            for ln in row.lines
        ),
        deliveries=transfers.delivery_count(s, t.id),
        message=message,
    )


def _merge(lines: tuple[tuple[str, int], ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for sku, qty in lines:
        if qty < 0:
            raise InvalidRequest(f"{sku}: a quantity cannot be negative.", code="bad_quantity")
        out[sku] = out.get(sku, 0) + qty
    return out


@encode_errors
class TransferActivities:
    """Transfers' records, holds and ledger movements."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="transfer.record")
    def record(self, cmd: RecordTransfer) -> TransferView:
        """Record the transfer and hold its units at the source; all or nothing (out_of_stock)."""
        r = cmd.request
        wanted = _merge(tuple((ln.sku, ln.quantity) for ln in r.lines))
        if not wanted or any(q <= 0 for q in wanted.values()):
            raise InvalidRequest("A transfer needs at least one line of one unit or more.")
        if r.source_location_id == r.destination_location_id:
            raise InvalidRequest("Source and destination must be different locations.")
        with self.db.unit_of_work() as s:
            known = transfers.stocked_skus(s, wanted)
            unknown = sorted(set(wanted) - set(known))
            if unknown:
                raise NotFound(f"Unknown SKU(s): {', '.join(unknown)}.", code="unknown_sku")
            untracked = sorted(sku for sku, tracks in known.items() if not tracks)
            if untracked:
                raise InvalidRequest(
                    f"{', '.join(untracked)} carry no stock and cannot be transferred.",
                    code="not_stocked",
                )
            t = transfers.create(
                s,
                code=r.transfer_id,
                workflow_id=cmd.workflow_id,
                source_location_id=r.source_location_id,
                destination_location_id=r.destination_location_id,
                lines=sorted(wanted.items()),
                requested_by=r.requested_by,
                note=r.note,
                order_workflow_id=r.order_workflow_id,
                at=datetime.now(UTC),
            )
            if t.status == "requested":
                reservations.reserve(
                    s,
                    kind=RESERVATION_KIND,
                    reference=cmd.workflow_id,
                    holds=[Hold(r.source_location_id, sku, q) for sku, q in wanted.items()],
                    workflow_id=cmd.workflow_id,
                )
            return _view(s, t)

    @activity.defn(name="transfer.release")
    def release(self, ref: TransferRef) -> int:
        """Compensation: give back what a transfer that was never picked holds; once."""
        with self.db.unit_of_work() as s:
            t = transfers.lock(s, ref.workflow_id)
            if t is not None and t.status == "requested":
                t.status, t.closed_at = "cancelled", datetime.now(UTC)
                t.cancel_reason = t.cancel_reason or "The transfer failed before it was picked."
            return sum(
                h.quantity
                for h in reservations.release(s, kind=RESERVATION_KIND, reference=ref.workflow_id)
            )

    @activity.defn(name="transfer.cancel")
    def cancel(self, cmd: CancelCmd) -> TransferView:
        """Cancel before the pick: the held units are given back. After it: refused (409)."""
        with self.db.unit_of_work() as s:
            t = self._locked(s, cmd.workflow_id)
            if t.status == "cancelled":
                return _view(s, t)
            if t.status != "requested":
                raise Conflict(
                    f"Transfer {t.code} is {t.status}: once picked it must be received "
                    "(what never arrives is written off as a shortage when it closes).",
                    code="transfer_picked",
                )
            reservations.release(s, kind=RESERVATION_KIND, reference=cmd.workflow_id)
            t.status, t.closed_at, t.closed_by = (
                "cancelled",
                datetime.now(UTC),
                cmd.cancel.cancelled_by,
            )
            t.cancel_reason = cmd.cancel.reason
            s.flush()
            return _view(s, t)

    @activity.defn(name="transfer.pick")
    def pick(self, cmd: PickCmd) -> TransferView:
        """The goods leave the source: sellable there goes down, in transit at the destination
        goes up, by what was picked; the hold is given back."""
        wf = cmd.workflow_id
        picked = _merge(tuple((ln.sku, ln.quantity) for ln in cmd.pick.lines))
        with self.db.unit_of_work() as s:
            t = self._locked(s, wf)
            if t.status == "picked":
                return _view(s, t)  # a retry
            if t.status != "requested":
                raise Conflict(f"Transfer {t.code} is {t.status}; it cannot be picked.")
            lines = {ln.sku: ln for ln in transfers.lines(s, t.id)}
            extra = sorted(set(picked) - set(lines))
            if extra:
                raise InvalidRequest(
                    f"Not on transfer {t.code}: {', '.join(extra)}.", code="not_on_transfer"
                )
            over = sorted(sku for sku, q in picked.items() if q > lines[sku].requested)
            if over:
                raise InvalidRequest(
                    "Picked more than requested of "
                    + ", ".join(f"{sku} ({picked[sku]} > {lines[sku].requested})" for sku in over)
                    + "; request another transfer for the rest.",
                    code="over_pick",
                )
            if not any(picked.values()):
                raise InvalidRequest(
                    "Nothing was picked: cancel the transfer instead.", code="nothing_picked"
                )
            now = datetime.now(UTC)
            reservations.release(s, kind=RESERVATION_KIND, reference=wf)
            moving = sorted((sku, q) for sku, q in picked.items() if q > 0)
            stock.apply_movements(
                s,
                t.source_location_id,
                [stock.Movement(sku, -q, OUT, t.code, f"{wf}:pick:{sku}") for sku, q in moving],
                workflow_id=wf,
                occurred_at=now,
            )
            stock.apply_movements(
                s,
                t.destination_location_id,
                [
                    stock.Movement(sku, q, OUT, t.code, f"{wf}:pick:transit:{sku}", "in_transit")
                    for sku, q in moving
                ],
                workflow_id=wf,
                occurred_at=now,
            )
            for sku, ln in lines.items():
                ln.picked = picked.get(sku, 0)
            t.status, t.picked_at, t.picked_by = "picked", now, cmd.pick.picked_by
            s.flush()
            return _view(s, t)

    @activity.defn(name="transfer.receive")
    def receive(self, cmd: ReceiveCmd) -> TransferView:
        """One delivery at the destination: out of transit into sellable. When the transfer
        closes, what never arrived leaves transit as a shortage (a variance at the source) and
        what came on top is recorded as over-received."""
        wf, n = cmd.workflow_id, cmd.delivery_no
        got = _merge(tuple((ln.sku, ln.quantity) for ln in cmd.receipt.lines))
        with self.db.unit_of_work() as s:
            t = self._locked(s, wf)
            if t.status == "received":
                return _view(s, t)  # a retry of the closing delivery
            if t.status != "picked":
                raise Conflict(
                    f"Transfer {t.code} is {t.status}; only a picked transfer can be received.",
                    code="not_picked",
                )
            lines = {ln.sku: ln for ln in transfers.lines(s, t.id)}
            extra = sorted(set(got) - set(lines))
            if extra:
                raise InvalidRequest(
                    f"Not on transfer {t.code}: {', '.join(extra)} (receive it as a goods "
                    "receipt or an adjustment instead).",
                    code="not_on_transfer",
                )
            if not any(got.values()) and not cmd.receipt.close:
                raise InvalidRequest("Nothing received in this delivery.", code="nothing_received")
            now = datetime.now(UTC)
            if transfers.add_delivery(
                s,
                transfer_id=t.id,
                delivery_no=n,
                lines={k: v for k, v in sorted(got.items()) if v},
                received_by=cmd.receipt.received_by,
                at=now,
            ):
                self._arrive(s, t, lines, got, wf, n, now)
            done = all(ln.received >= (ln.picked or 0) for ln in lines.values())
            if cmd.receipt.close or done:
                self._close(s, t, lines, wf, now, cmd.receipt.received_by)
            s.flush()
            return _view(s, t)

    def _arrive(
        self,
        s: Session,
        t: Transfer,
        lines: dict[str, TransferLine],
        got: dict[str, int],
        wf: str,
        n: int,
        now: datetime,
    ) -> None:
        moves: list[stock.Movement] = []
        for sku, q in sorted(got.items()):
            if q <= 0:
                continue
            ln = lines[sku]
            from_transit = min(q, max(0, (ln.picked or 0) - ln.received))
            if from_transit:
                moves.append(
                    stock.Movement(
                        sku,
                        -from_transit,
                        IN,
                        t.code,
                        f"{wf}:receive:{n}:transit:{sku}",
                        "in_transit",
                    )
                )
            moves.append(stock.Movement(sku, from_transit, IN, t.code, f"{wf}:receive:{n}:{sku}"))
            if q > from_transit:  # more came than was sent: recorded as such in the ledger
                moves.append(
                    stock.Movement(
                        sku, q - from_transit, OVER, t.code, f"{wf}:receive:{n}:over:{sku}"
                    )
                )
            ln.received += q
        moves = [m for m in moves if m.delta]
        stock.apply_movements(s, t.destination_location_id, moves, workflow_id=wf, occurred_at=now)
        if t.order_workflow_id:
            # Ship-to-store: what arrives is the pickup order's at once (never on the shelf).
            for sku, q in sorted(got.items()):
                if q <= 0:
                    continue
                held = {
                    (h.location_id, h.sku): h.quantity
                    for h in reservations.holds(s, kind=ORDER, reference=t.order_workflow_id)
                }
                want = min(q, lines[sku].requested - (lines[sku].received - q))
                if want <= 0:
                    continue
                reservations.set_quantity(
                    s,
                    kind=ORDER,
                    reference=t.order_workflow_id,
                    location_id=t.destination_location_id,
                    sku=sku,
                    quantity=held.get((t.destination_location_id, sku), 0) + want,
                    expires_at=None,
                    workflow_id=t.order_workflow_id,
                )

    def _close(
        self,
        s: Session,
        t: Transfer,
        lines: dict[str, TransferLine],
        wf: str,
        now: datetime,
        by: int | None,
    ) -> None:
        moves: list[stock.Movement] = []
        for sku, ln in sorted(lines.items()):
            picked = ln.picked or 0
            ln.short = max(0, picked - ln.received)
            ln.over = max(0, ln.received - picked)
            if ln.short:
                moves.append(
                    stock.Movement(sku, -ln.short, SHORT, t.code, f"{wf}:close:{sku}", "in_transit")
                )
                transfers.record_shortage(
                    s,
                    source_location_id=t.source_location_id,
                    workflow_id=wf,
                    transfer_code=t.code,
                    line_no=ln.line_no,
                    sku=sku,
                    picked=picked,
                    received=ln.received,
                    at=now,
                )
        stock.apply_movements(s, t.destination_location_id, moves, workflow_id=wf, occurred_at=now)
        t.status, t.closed_at, t.closed_by = "received", now, by

    @staticmethod
    def _locked(s: Session, workflow_id: str) -> Transfer:
        t = transfers.lock(s, workflow_id)
        if t is None:
            raise NotFound(f"There is no transfer {workflow_id}.")
        return t
