"""The signing step of the Sale, Return and Shift workflows (issue 20): each document is built from
what tillflow recorded, signed by its location's signer (`integrations/fiscal.py`) and kept in
`fiscal_records`. Idempotent: a signed record is answered as it is, and every signer call is
idempotent per document id, so a retry never opens a second transaction or takes a second number.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity

from contracts.errors import encode_errors
from contracts.fiscal import (
    PENDING_ALLOWED,
    PENDING_LINES,
    CatchUpRequest,
    CompletedPending,
    CompletePending,
    FiscalClosing,
    FiscalDocument,
    FiscalSignature,
    FiscalUnit,
    SignDocument,
)
from db.repositories import fiscal
from db.session import Database
from domain.errors import DomainError
from integrations.fiscal import FiscalSigners


@encode_errors
class FiscalActivities:
    """Sign a document, a closing, or a location's pending records, through its signer."""

    def __init__(self, db: Database, signers: FiscalSigners, till_wait_s: float = 3.0) -> None:
        self.db = db
        self.signers = signers
        self.till_wait_s = till_wait_s

    @activity.defn(name="fiscal.sign_document")
    async def sign_document(self, cmd: SignDocument) -> FiscalSignature:
        """Sign a sale, return or void (or a shift's closing): at the till within a bounded wait,
        else "signature pending" where the law allows it; once signed, always the same answer."""
        found = await asyncio.to_thread(self._prepare, cmd)
        if isinstance(found, FiscalSignature):
            return found
        unit, doc, location_id = found
        if unit is None:
            return FiscalSignature(
                document_id=cmd.document_id, scheme="none", status="not_required"
            )
        if cmd.defer:
            return await asyncio.to_thread(
                self._store, cmd, location_id, doc, self._pending(unit, cmd.document_id)
            )
        wait = cmd.pending_after_s or self.till_wait_s
        try:
            if cmd.at_till and unit.scheme in PENDING_ALLOWED:
                signature = await asyncio.wait_for(self._sign(unit, doc), timeout=wait)
            else:
                signature = await self._sign(unit, doc)
        except DomainError:
            # A refusal that will never succeed (a wrong TSS, a bad series): kept pending, so
            # ops see the document unsigned, and raised (not retried) for the workflow to log.
            await asyncio.to_thread(
                self._store, cmd, location_id, doc, self._pending(unit, cmd.document_id)
            )
            raise
        except Exception as err:
            if not (cmd.at_till and unit.scheme in PENDING_ALLOWED):
                raise  # retried by Temporal until the signer answers
            # An outage or a timeout at the till: the receipt prints "signature pending".
            activity.logger.warning("fiscal signer not reached for %s: %s", cmd.document_id, err)
            signature = self._pending(unit, cmd.document_id)
        return await asyncio.to_thread(self._store, cmd, location_id, doc, signature)

    @activity.defn(name="fiscal.complete_pending")
    async def complete_pending(self, cmd: CompletePending) -> CompletedPending:
        """Sign a location's pending records in occurred_at order (sold-at order for a replayed
        offline journal); a failure stops there and the activity retries from that record. Two
        runs at once sign the same records in the same order (the signer is idempotent per
        document and a record becomes signed once)."""
        location_id, unit, todo = await asyncio.to_thread(self._pending_of, cmd)
        signed: list[str] = []
        if unit is None:
            return CompletedPending(signed=(), still_pending=len(todo))
        for document_id, kind, data in todo:
            activity.heartbeat(document_id)
            doc: FiscalDocument | FiscalClosing = (
                fiscal.closing_from_json(data)
                if kind == "closing"
                else fiscal.document_from_json(data)
            )
            signature = await self._sign(unit, doc)
            await asyncio.to_thread(self._complete, document_id, kind, location_id, doc, signature)
            signed.append(document_id)
        left = await asyncio.to_thread(self._count_pending, location_id)
        return CompletedPending(signed=tuple(signed), still_pending=left)

    @activity.defn(name="fiscal.pending_locations")
    def pending_locations(self, req: CatchUpRequest) -> tuple[str, ...]:
        """The locations (of `req.locations`, or all) with records pending longer than
        `req.stale_after_s`: what the catch-up signs."""
        before = datetime.now(UTC) - timedelta(seconds=req.stale_after_s)
        with self.db.unit_of_work() as s:
            return tuple(fiscal.locations_with_pending(s, before, req.locations))

    # ---- the database side (in a thread: the signer calls are async) ----

    def _prepare(
        self, cmd: SignDocument
    ) -> FiscalSignature | tuple[FiscalUnit | None, FiscalDocument | FiscalClosing, int]:
        with self.db.unit_of_work() as s:
            stored = fiscal.record_of(s, cmd.document_id, cmd.kind)
            if stored is not None and stored.status == "signed":
                return fiscal.signature_of(stored)
            if stored is not None and (cmd.defer or cmd.at_till):
                return fiscal.signature_of(stored)  # pending already: completed after the print
            doc: FiscalDocument | FiscalClosing
            if stored is not None:  # pending: signed as it was recorded
                doc = (
                    fiscal.closing_from_json(stored.document)
                    if cmd.kind == "closing"
                    else fiscal.document_from_json(stored.document)
                )
                return fiscal.unit_of(s, stored.location_id), doc, stored.location_id
            if cmd.kind == "closing":
                doc, location_id = fiscal.closing_document(s, cmd.document_id)
            elif cmd.kind == "sale":
                doc, location_id = fiscal.sale_document(s, cmd.document_id)
            else:
                doc, location_id = fiscal.return_document(s, cmd.document_id)
            if cmd.defer and isinstance(doc, FiscalDocument):
                doc = _offline(doc)
            return fiscal.unit_of(s, location_id), doc, location_id

    def _store(
        self,
        cmd: SignDocument,
        location_id: int,
        doc: FiscalDocument | FiscalClosing,
        signature: FiscalSignature,
    ) -> FiscalSignature:
        with self.db.unit_of_work() as s:
            return fiscal.store_record(
                s,
                kind=cmd.kind,
                location_id=location_id,
                till_code=doc.till_code,
                number=_number(doc),
                occurred_at=_occurred(doc),
                document=fiscal.document_json(doc),
                signature=signature,
            )

    def _pending_of(
        self, cmd: CompletePending
    ) -> tuple[int, FiscalUnit | None, list[tuple[str, str, dict[str, Any]]]]:
        with self.db.unit_of_work() as s:
            loc, _ = fiscal.unit_row(s, cmd.location_code)
            before = (
                datetime.now(UTC) - timedelta(seconds=cmd.stale_after_s)
                if cmd.stale_after_s
                else None
            )
            rows = fiscal.pending(s, loc.id, cmd.limit, created_before=before)
            return (
                loc.id,
                fiscal.unit_of(s, loc.id),
                [(r.document_id, r.kind, dict(r.document)) for r in rows],
            )

    def _complete(
        self,
        document_id: str,
        kind: str,
        location_id: int,
        doc: FiscalDocument | FiscalClosing,
        signature: FiscalSignature,
    ) -> None:
        with self.db.unit_of_work() as s:
            fiscal.store_record(
                s,
                kind=kind,  # type: ignore[arg-type]  # read back from a checked column
                location_id=location_id,
                till_code=doc.till_code,
                number=_number(doc),
                occurred_at=_occurred(doc),
                document=fiscal.document_json(doc),
                signature=signature,
            )

    def _count_pending(self, location_id: int) -> int:
        with self.db.unit_of_work() as s:
            return fiscal.count_pending(s, location_id)

    # ---- the signer side ----

    async def _sign(self, unit: FiscalUnit, doc: FiscalDocument | FiscalClosing) -> FiscalSignature:
        signer = self.signers.for_unit(unit)
        if isinstance(doc, FiscalClosing):
            return await signer.sign_closing(unit, doc)
        return await signer.finish(unit, doc)

    @staticmethod
    def _pending(unit: FiscalUnit, document_id: str) -> FiscalSignature:
        return FiscalSignature(
            document_id=document_id,
            scheme=unit.scheme,
            status="pending",
            receipt_lines=PENDING_LINES.get(unit.scheme, ("Signature pending",)),
        )


def _offline(doc: FiscalDocument) -> FiscalDocument:
    from dataclasses import replace

    return replace(doc, offline=True)


def _number(doc: FiscalDocument | FiscalClosing) -> str:
    return doc.number if isinstance(doc, FiscalDocument) else str(doc.z_number)


def _occurred(doc: FiscalDocument | FiscalClosing) -> datetime:
    return doc.occurred_at if isinstance(doc, FiscalDocument) else doc.closed_at
