"""Fiscal units and records (issue 20), and the fiscal documents of what tillflow recorded.

A sale's, a return's and a shift's document is built here from the rows the workflows wrote (the
order and its lines and payments, the return and its refunds, the Z report), never from what a
till said. A record is inserted once per (document_id, kind); a pending one becomes signed once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from contracts.fiscal import (
    FiscalClosing,
    FiscalDocument,
    FiscalKind,
    FiscalLine,
    FiscalScheme,
    FiscalSignature,
    FiscalUnit,
    TenderAmount,
    VatAmount,
)
from db.models import Location, Order, OrderLine, Payment, Refund, Till, User
from db.models_fiscal import FiscalRecord, FiscalUnitRow
from db.models_returns import Return, ReturnLine
from db.models_shifts import Shift, ZReport
from domain.errors import NotFound

SCHEMES: tuple[FiscalScheme, ...] = ("none", "de-fiskaly", "pt-at")


# ---- fiscal units ------------------------------------------------------------------------------


def _location(session: Session, code: str) -> Location:
    loc = session.scalar(select(Location).where(Location.code == code))
    if loc is None:
        raise NotFound(f"There is no location {code}.")
    return loc


def scheme_of(session: Session, location_id: int) -> FiscalScheme:
    """The location's signing scheme ("none" without a unit): what the workflows are told."""
    found = session.scalar(
        select(FiscalUnitRow.scheme).where(FiscalUnitRow.location_id == location_id)
    )
    return cast(FiscalScheme, found or "none")


def unit_of(session: Session, location_id: int) -> FiscalUnit | None:
    """The location's fiscal unit; None without a row or with scheme none."""
    row = session.get(FiscalUnitRow, location_id)
    if row is None or row.scheme == "none":
        return None
    loc = session.get(Location, location_id)
    assert loc is not None
    return FiscalUnit(
        location_code=loc.code,
        scheme=cast(FiscalScheme, row.scheme),
        country=loc.country or "",
        options={str(k): str(v) for k, v in (row.options or {}).items()},
    )


def unit_by_code(session: Session, code: str) -> FiscalUnit | None:
    return unit_of(session, _location(session, code).id)


def unit_row(session: Session, code: str) -> tuple[Location, FiscalUnitRow | None]:
    loc = _location(session, code)
    return loc, session.get(FiscalUnitRow, loc.id)


def set_unit(
    session: Session, location_id: int, scheme: FiscalScheme, options: dict[str, str]
) -> None:
    """Create or replace a location's fiscal unit."""
    session.execute(
        insert(FiscalUnitRow)
        .values(location_id=location_id, scheme=scheme, options=options)
        .on_conflict_do_update(
            index_elements=["location_id"],
            set_={"scheme": scheme, "options": options, "updated_at": datetime.now(UTC)},
        )
    )


def remove_unit(session: Session, location_id: int) -> bool:
    row = session.get(FiscalUnitRow, location_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def lock_unit(session: Session, location_id: int) -> None:
    """Hold the location's unit row until the caller commits: one signer of pending records."""
    session.execute(
        select(FiscalUnitRow.location_id)
        .where(FiscalUnitRow.location_id == location_id)
        .with_for_update()
    )


# ---- records -----------------------------------------------------------------------------------


def record_of(session: Session, document_id: str, kind: str) -> FiscalRecord | None:
    return session.scalar(
        select(FiscalRecord).where(
            FiscalRecord.document_id == document_id, FiscalRecord.kind == kind
        )
    )


def signature_of(record: FiscalRecord) -> FiscalSignature:
    return FiscalSignature(
        document_id=record.document_id,
        scheme=cast(FiscalScheme, record.scheme),
        status=cast(Any, record.status),
        receipt_lines=tuple(record.receipt_lines or ()),
        qr=record.qr or "",
        fields=tuple((str(k), str(v)) for k, v in (record.fields or ())),
    )


def store_record(
    session: Session,
    *,
    kind: FiscalKind,
    location_id: int,
    till_code: str,
    number: str,
    occurred_at: datetime,
    document: dict[str, Any],
    signature: FiscalSignature,
) -> FiscalSignature:
    """Insert the document's record once; a pending one becomes signed once. Returns what is
    stored (a signed record is never changed: a second signature of it is ignored)."""
    now = datetime.now(UTC) if signature.status == "signed" else None
    values: dict[str, Any] = {
        "receipt_lines": list(signature.receipt_lines),
        "qr": signature.qr,
        "fields": [list(f) for f in signature.fields],
        "status": signature.status,
        "signed_at": now,
    }
    session.execute(
        insert(FiscalRecord)
        .values(
            document_id=signature.document_id,
            kind=kind,
            location_id=location_id,
            till_code=till_code,
            scheme=signature.scheme,
            number=number,
            occurred_at=occurred_at,
            document=document,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["document_id", "kind"])
    )
    if signature.status == "signed":
        session.execute(
            update(FiscalRecord)
            .where(
                FiscalRecord.document_id == signature.document_id,
                FiscalRecord.kind == kind,
                FiscalRecord.status == "pending",
            )
            .values(**values)
        )
    session.expire_all()
    stored = record_of(session, signature.document_id, kind)
    assert stored is not None
    return signature_of(stored)


def pending(
    session: Session,
    location_id: int,
    limit: int = 500,
    created_before: datetime | None = None,
) -> list[FiscalRecord]:
    """The location's pending records, oldest first (sold-at order; ties by document id); only
    those recorded before `created_before` when given."""
    q = select(FiscalRecord).where(
        FiscalRecord.location_id == location_id, FiscalRecord.status == "pending"
    )
    if created_before is not None:
        q = q.where(FiscalRecord.created_at < created_before)
    return list(
        session.scalars(q.order_by(FiscalRecord.occurred_at, FiscalRecord.document_id).limit(limit))
    )


def locations_with_pending(
    session: Session, created_before: datetime, codes: Sequence[str] = ()
) -> list[str]:
    """The codes of the locations (of `codes`, or all) with records pending since before
    `created_before`, in code order."""
    q = (
        select(Location.code)
        .join(FiscalRecord, FiscalRecord.location_id == Location.id)
        .where(FiscalRecord.status == "pending", FiscalRecord.created_at < created_before)
        .distinct()
        .order_by(Location.code)
    )
    if codes:
        q = q.where(Location.code.in_(list(codes)))
    return list(session.scalars(q))


def count_pending(session: Session, location_id: int) -> int:
    return len(
        session.scalars(
            select(FiscalRecord.id).where(
                FiscalRecord.location_id == location_id, FiscalRecord.status == "pending"
            )
        ).all()
    )


def records_between(
    session: Session, location_id: int, start: datetime, end: datetime, till_code: str = ""
) -> list[FiscalRecord]:
    """The location's records with start <= occurred_at < end, in occurred_at order."""
    q = select(FiscalRecord).where(
        FiscalRecord.location_id == location_id,
        FiscalRecord.occurred_at >= start,
        FiscalRecord.occurred_at < end,
    )
    if till_code:
        q = q.where(FiscalRecord.till_code == till_code)
    return list(session.scalars(q.order_by(FiscalRecord.occurred_at, FiscalRecord.id)))


def local_range(
    session: Session, location_id: int, first: date, last: date
) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) in the location's timezone, as instants."""
    loc = session.get(Location, location_id)
    assert loc is not None
    tz = ZoneInfo(loc.timezone)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    return start, end


# ---- documents as JSON (what a record keeps, what a pending one is signed from) ---------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def document_json(doc: FiscalDocument | FiscalClosing) -> dict[str, Any]:
    return cast(dict[str, Any], _plain(dataclasses.asdict(doc)))


def document_from_json(data: dict[str, Any]) -> FiscalDocument:
    return FiscalDocument(
        document_id=data["document_id"],
        kind=data["kind"],
        location_code=data["location_code"],
        till_code=data["till_code"],
        currency=data["currency"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        cashier=data["cashier"],
        total=int(data["total"]),
        vat=tuple(VatAmount(**v) for v in data["vat"]),
        tenders=tuple(TenderAmount(**t) for t in data["tenders"]),
        lines=tuple(FiscalLine(**ln) for ln in data.get("lines", ())),
        number=data.get("number", ""),
        refers_to=data.get("refers_to", ""),
        buyer_tax_id=data.get("buyer_tax_id", ""),
        offline=bool(data.get("offline", False)),
    )


def closing_from_json(data: dict[str, Any]) -> FiscalClosing:
    return FiscalClosing(
        document_id=data["document_id"],
        location_code=data["location_code"],
        till_code=data["till_code"],
        currency=data["currency"],
        z_number=int(data["z_number"]),
        opened_at=datetime.fromisoformat(data["opened_at"]),
        closed_at=datetime.fromisoformat(data["closed_at"]),
        total=int(data["total"]),
        vat=tuple(VatAmount(**v) for v in data["vat"]),
        tenders=tuple(TenderAmount(**t) for t in data["tenders"]),
    )


# ---- building documents from what tillflow recorded ------------------------------------------


def _vat(rows: Sequence[tuple[int, int, int]]) -> tuple[VatAmount, ...]:
    """(rate_bp, net, vat) rows summed per rate."""
    by_rate: dict[int, list[int]] = {}
    for rate, net, vat in rows:
        acc = by_rate.setdefault(rate, [0, 0])
        acc[0] += net
        acc[1] += vat
    return tuple(
        VatAmount(rate_bp=r, gross=n + v, net=n, vat=v) for r, (n, v) in sorted(by_rate.items())
    )


def _names(session: Session, order: Order) -> tuple[str, str]:
    loc = session.get(Location, order.location_id) if order.location_id else None
    till = session.get(Till, order.till_id) if order.till_id else None
    return (loc.code if loc else "", till.code if till else "")


def _cashier(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return user.display_name if user else ""


def sale_document(session: Session, workflow_id: str) -> tuple[FiscalDocument, int]:
    """The fiscal document of a recorded till sale, and its location id."""
    order = session.scalar(select(Order).where(Order.workflow_id == workflow_id))
    if order is None or order.location_id is None:
        raise NotFound(f"No recorded sale {workflow_id} to sign.")
    lines = list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        )
    )
    pays = session.scalars(
        select(Payment)
        .where(Payment.workflow_id == workflow_id, Payment.status != "voided")
        .order_by(Payment.id)
    ).all()
    location_code, till_code = _names(session, order)
    doc = FiscalDocument(
        document_id=workflow_id,
        kind="sale",
        location_code=location_code,
        till_code=till_code,
        currency=order.currency,
        occurred_at=order.placed_at,
        cashier=_cashier(session, order.cashier_id),
        total=order.total,
        vat=_vat([(ln.tax_rate_bp, ln.net, ln.tax) for ln in lines]),
        tenders=tuple(TenderAmount(kind=p.tender, amount=p.amount) for p in pays),
        lines=tuple(
            FiscalLine(
                line_no=ln.line_no,
                sku=ln.sku,
                name=ln.name,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                total=ln.gross,
                rate_bp=ln.tax_rate_bp,
                discount=ln.discount + sum(int(p.get("amount", 0)) for p in (ln.promotions or ())),
            )
            for ln in lines
        ),
        number=order.number,
    )
    return doc, order.location_id


def _split(gross: int, rate_bp: int) -> tuple[int, int]:
    """A tax-included amount as (net, vat), rounded half up like the sale's own tax."""
    vat = (gross * rate_bp * 2 + (10_000 + rate_bp)) // (2 * (10_000 + rate_bp))
    return gross - vat, vat


def return_document(session: Session, workflow_id: str) -> tuple[FiscalDocument, int]:
    """The fiscal document of a completed return or void: negative amounts, refers to its sale."""
    ret = session.scalar(select(Return).where(Return.workflow_id == workflow_id))
    if ret is None:
        raise NotFound(f"No return {workflow_id} to sign.")
    return_id = ret.return_id
    order = session.get(Order, ret.order_id) if ret.order_id else None
    sold = (
        {
            ln.line_no: ln
            for ln in session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
        }
        if order
        else {}
    )
    rows = list(
        session.scalars(
            select(ReturnLine).where(ReturnLine.return_pk == ret.id).order_by(ReturnLine.line_no)
        )
    )
    lines, vat_rows = [], []
    for r in rows:
        was = sold.get(r.order_line_no) if r.order_line_no is not None else None
        rate = was.tax_rate_bp if was else 0
        net, vat = _split(r.refund_amount, rate)
        vat_rows.append((rate, -net, -vat))
        lines.append(
            FiscalLine(
                line_no=r.line_no,
                sku=r.sku,
                name=was.name if was else r.sku,
                quantity=-r.quantity,
                unit_price=was.unit_price if was else r.refund_amount // max(r.quantity, 1),
                total=-r.refund_amount,
                rate_bp=rate,
            )
        )
    refunds = session.execute(
        select(Payment.tender, Refund.amount)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.idempotency_key.like(f"return:{return_id}:%"), Refund.status != "failed")
        .order_by(Refund.id)
    ).all()
    tenders = [TenderAmount(kind=t, amount=-a) for t, a in refunds]
    rest = ret.refund_total - sum(a for _, a in refunds)
    if rest > 0:  # store credit or an exchange's value
        method = "store_credit" if ret.refund_method == "store_credit" else "exchange"
        tenders.append(TenderAmount(kind=method, amount=-rest))
    loc = session.get(Location, ret.location_id)
    till = session.get(Till, ret.till_id) if ret.till_id else None
    doc = FiscalDocument(
        document_id=ret.workflow_id,
        kind="void" if ret.void else "return",
        location_code=loc.code if loc else "",
        till_code=till.code if till else "",
        currency=ret.currency,
        occurred_at=ret.created_at,
        cashier=_cashier(session, ret.cashier_id),
        total=-ret.refund_total,
        vat=_vat(vat_rows),
        tenders=tuple(tenders),
        lines=tuple(lines),
        number=ret.return_id,
        refers_to=order.workflow_id if order else "",
    )
    return doc, ret.location_id


def closing_document(session: Session, shift_workflow_id: str) -> tuple[FiscalClosing, int]:
    """The closing of a shift from its stored Z report."""
    shift = session.scalar(select(Shift).where(Shift.workflow_id == shift_workflow_id))
    z = session.scalar(select(ZReport).where(ZReport.shift_id == shift.id)) if shift else None
    if shift is None or z is None or shift.closed_at is None:
        raise NotFound(f"Shift {shift_workflow_id} has no Z report to sign.")
    report = z.report
    loc = session.get(Location, shift.location_id)
    till = session.get(Till, shift.till_id)
    tenders = tuple(
        TenderAmount(kind=str(t["tender"]), amount=int(t["sales"]) - int(t["refunds"]))
        for t in report.get("tenders", ())
    )
    closing = FiscalClosing(
        document_id=shift_workflow_id,
        location_code=loc.code if loc else "",
        till_code=till.code if till else "",
        currency=shift.currency,
        z_number=z.z_number,
        opened_at=shift.opened_at,
        closed_at=shift.closed_at,
        total=sum(t.amount for t in tenders),
        vat=_vat(
            [(int(t["rate_bp"]), int(t["net"]), int(t["tax"])) for t in report.get("taxes", ())]
        ),
        tenders=tenders,
    )
    return closing, shift.location_id
