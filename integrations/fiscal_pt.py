"""Portugal's certified-software signer, scheme "pt-at" (issue 20).

Signing is local (no network): each document is numbered in its series under a row lock, signed
with the software's RSA key over the previous document's signature, and stored in the same
transaction (`fiscal_pt_documents`), so two tills never take the same number, numbers have no
gaps and a retried document_id gets the document already stored. The receipt prints the ATCUD,
the document number and the 4 hash characters with the certified-program line; the QR code
follows Portaria 195/2020. Portugal signs no day closing: `sign_closing` answers not_required and
records nothing. `export` is the SAF-T (PT) file of a period (integrations/saft_pt.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy.orm import Session

from contracts.fiscal import (
    FiscalClosing,
    FiscalDocument,
    FiscalExport,
    FiscalExportRequest,
    FiscalScheme,
    FiscalSignature,
)
from db.models_fiscal_pt import FiscalPtDocument, FiscalPtSeries
from db.repositories import fiscal_pt as repo
from db.session import Database
from domain.errors import Conflict, InvalidRequest
from domain.fiscal_pt import (
    CONSUMER_NIF,
    FS_LIMIT_CENTS,
    ChainReport,
    PtDocType,
    PtOptions,
    QrVat,
    atcud,
    certified_line,
    generate_private_key_pem,
    invoice_no,
    load_private_key,
    parse_options,
    public_key_pem,
    qr_string,
    sign,
    signed_message,
    tax_code,
    valid_nif,
    verify_chain,
)
from integrations.fiscal import FiscalUnit

DOC_LABELS = {"FS": "Fatura simplificada", "FT": "Fatura", "NC": "Nota de crédito"}
DEMO_KEY_FILE = "fiscal-pt/demo-signing-key.pem"


class PtSettings(Protocol):
    """What the signer reads of tillflow's Settings (`# ---- fiscal: Portugal (issue 20)`)."""

    var_dir: Path

    @property
    def env(self) -> str:  # "production" never signs with a generated key
        ...

    pt_signing_key: SecretStr | None
    pt_signing_key_file: Path | None
    pt_key_version: int
    pt_certificate_number: str
    pt_producer_nif: str
    pt_software_name: str
    pt_producer_name: str
    pt_software_version: str


@dataclass(frozen=True, kw_only=True)
class PtSoftware:
    """The certified software: its signing key and what the AT certified."""

    key: rsa.RSAPrivateKey
    key_version: int
    certificate: str  # the AT's certificate number; "0": not certified
    producer_nif: str
    product_id: str  # SAF-T ProductID "<software>/<producer>"
    product_version: str
    demo_key: bool  # the local default's generated key: nothing it signs is certified

    @property
    def certified(self) -> bool:
        return not self.demo_key and self.certificate != "0"

    @property
    def public_pem(self) -> bytes:
        return public_key_pem(self.key)

    @classmethod
    def from_settings(cls, settings: PtSettings) -> PtSoftware:
        """The key from pt_signing_key, else pt_signing_key_file, else a demo key generated once
        under var_dir (and said loudly: not certified)."""
        demo = False
        if settings.pt_signing_key is not None:
            pem = settings.pt_signing_key.get_secret_value().encode()
        elif settings.pt_signing_key_file is not None:
            pem = settings.pt_signing_key_file.read_bytes()
        elif settings.env == "production":
            raise Conflict(
                "Portuguese documents cannot be signed: production has no software key "
                "(set TILLFLOW_PT_SIGNING_KEY or TILLFLOW_PT_SIGNING_KEY_FILE to the certified "
                "key); they stay pending and are signed once it is set.",
                code="pt_key_missing",
            )
        else:
            pem, demo = demo_key_pem(settings.var_dir), True
        return cls(
            key=load_private_key(pem),
            key_version=settings.pt_key_version,
            certificate=settings.pt_certificate_number,
            producer_nif=settings.pt_producer_nif,
            product_id=f"{settings.pt_software_name}/{settings.pt_producer_name}",
            product_version=settings.pt_software_version,
            demo_key=demo,
        )


def demo_key_pem(var_dir: Path) -> bytes:
    """The local default's key, generated once (owner-only file) and kept for the chain."""
    path = var_dir / DEMO_KEY_FILE
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_private_key_pem()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    try:
        os.link(tmp, path)  # first writer wins: two workers starting together share one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


def doc_type_for(doc: FiscalDocument) -> PtDocType:
    if doc.kind in ("return", "void"):
        return "NC"
    if doc.kind == "sale":
        return "FS" if abs(doc.total) <= FS_LIMIT_CENTS else "FT"
    raise InvalidRequest(
        f"A Portuguese document cannot be of kind {doc.kind}.", code="pt_kind_unsupported"
    )


def _document_json(doc: FiscalDocument) -> dict[str, Any]:
    return {
        "document_id": doc.document_id,
        "kind": doc.kind,
        "location_code": doc.location_code,
        "till_code": doc.till_code,
        "currency": doc.currency,
        "occurred_at": doc.occurred_at.isoformat(),
        "cashier": doc.cashier,
        "total": doc.total,
        "vat": [
            {"rate_bp": v.rate_bp, "gross": v.gross, "net": v.net, "vat": v.vat} for v in doc.vat
        ],
        "tenders": [{"kind": t.kind, "amount": t.amount} for t in doc.tenders],
        "lines": [
            {
                "line_no": ln.line_no,
                "sku": ln.sku,
                "name": ln.name,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "total": ln.total,
                "rate_bp": ln.rate_bp,
                "discount": ln.discount,
            }
            for ln in doc.lines
        ],
        "number": doc.number,
        "refers_to": doc.refers_to,
        "buyer_tax_id": doc.buyer_tax_id,
        "offline": doc.offline,
    }


def signature_of(row: FiscalPtDocument, software: PtSoftware, series: str) -> FiscalSignature:
    """The FiscalSignature of a stored document (the same answer on every retry)."""
    lines = [
        f"ATCUD:{row.atcud}",
        f"{DOC_LABELS[row.doc_type]} {row.invoice_no}",
    ]
    if row.refers_to:
        lines.append(f"Ref.: {row.refers_to}")
    lines.append(certified_line(row.hash, software.certificate))
    message = signed_message(
        invoice_date=row.invoice_date,
        system_entry=row.system_entry,
        number=row.invoice_no,
        gross_total=row.gross_total,
        previous_hash=row.previous_hash,
    )
    return FiscalSignature(
        document_id=row.document_id,
        scheme="pt-at",
        status="signed",
        receipt_lines=tuple(lines),
        qr=row.qr,
        fields=(
            ("number", row.invoice_no),
            ("series", series),
            ("doc_type", row.doc_type),
            ("atcud", row.atcud),
            ("invoice_date", row.invoice_date.isoformat()),
            ("system_entry_date", row.system_entry.isoformat(timespec="seconds")),
            ("hash", row.hash),
            ("previous_hash", row.previous_hash),
            ("signed_message", message),
            ("hash_control", row.hash_control),
            ("certificate", software.certificate),
        ),
    )


class PortugalSigner:
    """FiscalSigner for scheme "pt-at": local chained signatures, stored with the numbering."""

    scheme: FiscalScheme = "pt-at"

    def __init__(
        self, db: Database, software: PtSoftware, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._db = db
        self.software = software
        # tests pin the clock; the system entry date is the signing time, to the second
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))

    async def start(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        return None  # no transaction to open: the document is signed when it is finished

    async def cancel(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        return None  # nothing was numbered before finish

    async def finish(self, unit: FiscalUnit, doc: FiscalDocument) -> FiscalSignature:
        return await asyncio.to_thread(self.sign_document, unit, doc)

    async def sign_closing(self, unit: FiscalUnit, closing: FiscalClosing) -> FiscalSignature:
        # Portugal has no signed day closing (the SAF-T file is the report): nothing recorded.
        return FiscalSignature(
            document_id=closing.document_id, scheme="pt-at", status="not_required"
        )

    async def export(self, unit: FiscalUnit, request: FiscalExportRequest) -> FiscalExport:
        from integrations.saft_pt import build_saft

        return await asyncio.to_thread(build_saft, self._db, self.software, unit, request)

    def verify(self, location_code: str) -> ChainReport:
        """Check every series of the location's documents with the software's public key."""
        with self._db.unit_of_work() as session:
            loc = repo.location(session, location_code)
            docs = repo.chain(session, loc.id)
        return verify_chain(docs, self.software.public_pem)

    def sign_document(self, unit: FiscalUnit, doc: FiscalDocument) -> FiscalSignature:
        """Number, sign and store the document in one transaction (idempotent per document)."""
        if unit.scheme != "pt-at":
            raise Conflict(
                f"Location {unit.location_code} signs with {unit.scheme}, not pt-at.",
                code="fiscal_scheme_mismatch",
            )
        if doc.currency != "EUR":
            raise InvalidRequest(
                f"A Portuguese document is in EUR, not {doc.currency}.", code="pt_currency"
            )
        opts = parse_options(dict(unit.options))
        buyer = doc.buyer_tax_id.strip().upper().removeprefix("PT")
        if buyer and not valid_nif(buyer):
            raise InvalidRequest(
                f"The buyer's NIF {doc.buyer_tax_id!r} is not a valid Portuguese NIF.",
                code="pt_buyer_nif_invalid",
            )
        with self._db.unit_of_work() as session:
            loc = repo.location(session, doc.location_code)
            found = repo.find(session, doc.document_id, doc.kind)
            if found is not None:
                return self._stored(session, found)
            doc_type = doc_type_for(doc)
            series = opts.series_for(doc.till_code, doc_type)
            series_row = repo.lock_series(session, loc.id, series)
            found = repo.find(session, doc.document_id, doc.kind)  # a racing retry won the lock
            if found is not None:
                return self._stored(session, found)
            refers_to = ""
            if doc_type == "NC" and doc.refers_to:
                original = repo.invoice_of(session, loc.id, doc.refers_to)
                refers_to = original.invoice_no if original is not None else ""
            tz = ZoneInfo(loc.timezone or "Europe/Lisbon")
            entry = self._clock().astimezone(tz).replace(tzinfo=None, microsecond=0)
            if series_row.last_system_entry and entry < series_row.last_system_entry:
                entry = series_row.last_system_entry  # a worker's clock behind: never backwards
            invoice_date: date = doc.occurred_at.astimezone(tz).date()
            number = series_row.last_number + 1
            no = invoice_no(doc_type, series.series, number)
            gross = abs(doc.total)
            message = signed_message(
                invoice_date=invoice_date,
                system_entry=entry,
                number=no,
                gross_total=gross,
                previous_hash=series_row.last_hash,
            )
            signature = sign(self.software.key, message)
            code = atcud(series.validation_code, number)
            for v in doc.vat:
                tax_code(opts.tax_region, v.rate_bp)  # refuses a rate Portugal does not have
            qr = qr_string(
                issuer_nif=opts.nif,
                buyer_nif=buyer or CONSUMER_NIF,
                buyer_country="PT",
                doc_type=doc_type,
                status="N",
                invoice_date=invoice_date,
                number=no,
                atcud_code=code,
                tax_region=opts.tax_region,
                vat=[QrVat(rate_bp=v.rate_bp, net=v.net, vat=v.vat) for v in doc.vat],
                gross_total=gross,
                signature=signature,
                certificate=self.software.certificate,
            )
            row = FiscalPtDocument(
                document_id=doc.document_id,
                kind=doc.kind,
                location_id=loc.id,
                till_code=doc.till_code,
                series_id=series_row.id,
                doc_type=doc_type,
                number=number,
                invoice_no=no,
                atcud=code,
                status="N",
                invoice_date=invoice_date,
                system_entry=entry,
                gross_total=gross,
                net_total=sum(abs(v.net) for v in doc.vat),
                tax_payable=sum(abs(v.vat) for v in doc.vat),
                buyer_nif=buyer or CONSUMER_NIF,
                hash=signature,
                previous_hash=series_row.last_hash,
                hash_control=str(self.software.key_version),
                refers_to=refers_to,
                qr=qr,
                document=_document_json(doc),
            )
            repo.add(session, series_row, row)
            return signature_of(row, self.software, series.series)

    def _stored(self, session: Session, row: FiscalPtDocument) -> FiscalSignature:
        series = session.get(FiscalPtSeries, row.series_id)
        return signature_of(row, self.software, series.series if series else "")


def check_options(options: dict[str, str]) -> PtOptions:
    """Validate a pt-at fiscal unit's options (the admin API calls it before storing them)."""
    return parse_options(options)
