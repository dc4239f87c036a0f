"""The Count workflow's database steps: snapshot, entries, evaluation against the threshold, and
the one set of corrections. Each runs in one transaction guarded by the count's status (locked)
and by keys derived from the workflow id, so a retry changes nothing the second time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.count import (
    REASON,
    ApplyCmd,
    CloseCountCmd,
    CountLineView,
    CountView,
    EnterCmd,
    EvaluateCmd,
    Evaluation,
    SnapshotCmd,
)
from contracts.errors import encode_errors
from db.models_counts import StockCount, StockCountLine
from db.repositories import counts, stock, transfers
from db.session import Database
from domain import counts as rules
from domain.errors import Conflict, InvalidRequest, NotFound

MAX_SKUS = 1000  # one count; a bigger range is several counts


def _line(ln: StockCountLine, review: tuple[str, ...]) -> CountLineView:
    variance = None
    if ln.counted is not None and ln.expected is not None:
        variance = ln.counted - ln.expected
    return CountLineView(
        sku=ln.sku,
        snapshot_on_hand=ln.snapshot_on_hand,
        counted=ln.counted,
        expected=ln.expected,
        variance=variance,
        round=ln.round,
        needs_review=ln.sku in review,
        applied_delta=ln.applied_delta,
    )


def view(
    s: Session, workflow_id: str, review: tuple[str, ...] = (), message: str = ""
) -> CountView:
    row = counts.by_workflow(s, workflow_id)
    if row is None:
        raise NotFound(f"There is no count {workflow_id}.")
    return CountView(
        count_id=row.count_id,
        workflow_id=row.workflow_id,
        location_code=row.location_code,
        state=row.status,  # type: ignore[arg-type]  # the table's check constraint keeps it one
        lines=tuple(_line(ln, review) for ln in row.lines),
        review_skus=review,
        message=message,
    )


@encode_errors
class CountActivities:
    """Cycle counts' snapshot, entries, evaluation and corrections."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="count.snapshot")
    def snapshot(self, cmd: SnapshotCmd) -> CountView:
        """Record the count with on_hand per SKU now and the ledger's last movement id."""
        r = cmd.request
        skus = sorted(set(r.skus))
        if not skus:
            raise InvalidRequest("A count needs at least one SKU.", code="no_skus")
        if len(skus) > MAX_SKUS:
            raise InvalidRequest(f"At most {MAX_SKUS} SKUs per count.", code="too_many_skus")
        with self.db.unit_of_work() as s:
            known = transfers.stocked_skus(s, skus)
            unknown = sorted(set(skus) - set(known))
            if unknown:
                raise NotFound(f"Unknown SKU(s): {', '.join(unknown)}.", code="unknown_sku")
            untracked = sorted(sku for sku, tracks in known.items() if not tracks)
            if untracked:
                raise InvalidRequest(
                    f"{', '.join(untracked)} carry no stock and cannot be counted.",
                    code="not_stocked",
                )
            counts.create(
                s,
                code=r.count_id,
                workflow_id=cmd.workflow_id,
                location_id=r.location_id,
                skus=skus,
                created_by=r.created_by,
                note=r.note,
                at=datetime.now(UTC),
            )
            return view(s, cmd.workflow_id)

    @activity.defn(name="count.enter")
    def enter(self, cmd: EnterCmd) -> CountView:
        """Record entries; each SKU entered is compared with what the ledger holds right now."""
        wf = cmd.workflow_id
        with self.db.unit_of_work() as s:
            c = self._locked(s, wf)
            if c.status not in ("counting", "review"):
                raise Conflict(f"Count {c.code} is {c.status}; no more entries.")
            lines = {ln.sku: ln for ln in counts.lines(s, c.id)}
            bad = sorted({e.sku for e in cmd.entries.entries} - set(lines))
            if bad:
                raise InvalidRequest(
                    f"Not in count {c.code}: {', '.join(bad)}.", code="not_in_count"
                )
            if any(e.quantity < 0 for e in cmd.entries.entries):
                raise InvalidRequest("A counted quantity cannot be negative.", code="bad_quantity")
            now = datetime.now(UTC)
            new = counts.add_entries(
                s,
                count_id=c.id,
                rows=[
                    (f"{wf}:entry:{cmd.batch_no}:{i}", e.sku, e.bin.strip(), e.quantity)
                    for i, e in enumerate(cmd.entries.entries)
                ],
                round_no=cmd.round,
                entered_by=cmd.entries.entered_by,
                at=now,
            )
            if new:  # else a retry: done in the first run's transaction
                skus = sorted({e.sku for e in cmd.entries.entries})
                expected = counts.expected_now(s, c.location_id, skus)
                for sku in skus:
                    ln = lines[sku]
                    if cmd.round > ln.round:
                        ln.first_counted, ln.round = ln.counted, cmd.round
                    ln.counted = rules.counted_per_sku(counts.entries(s, c.id, sku, ln.round)).get(
                        sku, 0
                    )
                    ln.expected = expected.get(sku, 0)
                    ln.counted_movement_id = counts.last_movement_id(s, c.location_id, sku)
                    ln.counted_at = now
                s.flush()
            return view(s, wf, cmd.review_skus)

    @activity.defn(name="count.evaluate")
    def evaluate(self, cmd: EvaluateCmd) -> Evaluation:
        """Which variances need a recount or a manager (a recount that found the first count's
        number again confirms it); a count with SKUs not counted yet is refused."""
        with self.db.unit_of_work() as s:
            c = self._locked(s, cmd.workflow_id)
            if c.status not in ("counting", "review"):
                raise Conflict(f"Count {c.code} is {c.status}.")
            lines = counts.lines(s, c.id)
            uncounted = tuple(ln.sku for ln in lines if ln.counted is None)
            if uncounted:
                raise InvalidRequest(
                    f"Not counted yet: {', '.join(uncounted)}. Enter 0 for a SKU that is not "
                    "there.",
                    code="uncounted",
                )
            costs = counts.unit_costs(s, [ln.sku for ln in lines])
            policy = rules.CountPolicy(cmd.max_units, cmd.max_value)
            flagged = rules.to_review(
                [
                    rules.Line(ln.sku, ln.counted or 0, ln.expected or 0, costs.get(ln.sku))
                    for ln in lines
                ],
                policy,
            )
            by_sku = {ln.sku: ln for ln in lines}
            confirmed = {
                sku
                for sku in flagged
                if sku in cmd.review_skus
                and by_sku[sku].round > 1
                and by_sku[sku].counted == by_sku[sku].first_counted
            }
            review = tuple(sku for sku in flagged if sku not in confirmed)
            c.submitted_at = datetime.now(UTC)
            if review:
                c.status = "review"
            s.flush()
            message = ""
            if review:
                message = (
                    f"Over the threshold: {', '.join(review)}. Count them again, or a manager "
                    "approves."
                )
            return Evaluation(
                view=view(s, cmd.workflow_id, review, message),
                review_skus=review,
                uncounted=(),
            )

    @activity.defn(name="count.apply")
    def apply(self, cmd: ApplyCmd) -> CountView:
        """The count's corrections as one set of ledger movements (reason "count"); once."""
        wf = cmd.workflow_id
        with self.db.unit_of_work() as s:
            c = self._locked(s, wf)
            if c.status == "applied":
                return view(s, wf)
            if c.status not in ("counting", "review"):
                raise Conflict(f"Count {c.code} is {c.status}; it cannot be applied.")
            lines = counts.lines(s, c.id)
            moves = []
            for ln in lines:
                delta = (ln.counted or 0) - (ln.expected or 0)
                ln.applied_delta = delta
                if delta:
                    moves.append(
                        stock.Movement(ln.sku, delta, REASON, c.code, f"{wf}:apply:{ln.sku}")
                    )
            stock.apply_movements(
                s, c.location_id, moves, workflow_id=wf, occurred_at=cmd.occurred_at
            )
            c.status, c.approved_by, c.closed_at = "applied", cmd.approved_by, datetime.now(UTC)
            s.flush()
            return view(s, wf)

    @activity.defn(name="count.close")
    def close(self, cmd: CloseCountCmd) -> CountView:
        """Cancel the count (nothing applied); once."""
        with self.db.unit_of_work() as s:
            c = self._locked(s, cmd.workflow_id)
            if c.status == "applied":
                raise Conflict(f"Count {c.code} has been applied.")
            if c.status != "cancelled":
                c.status, c.closed_at = "cancelled", datetime.now(UTC)
                c.note = (c.note + "\n" + cmd.reason).strip() if cmd.reason else c.note
            s.flush()
            return view(s, cmd.workflow_id, message=cmd.reason)

    @staticmethod
    def _locked(s: Session, workflow_id: str) -> StockCount:
        c = counts.lock(s, workflow_id)
        if c is None:
            raise NotFound(f"There is no count {workflow_id}.")
        return c
