"""Portugal's certified-software rules (issue 20), as pure functions.

- Portaria 363/2010 and Despacho 8632/2014: every invoice, simplified invoice and credit note is
  signed with the software's RSA private key (RSA-SHA1, PKCS#1 v1.5) over
  ``InvoiceDate;SystemEntryDate;InvoiceNo;GrossTotal;PreviousHash`` (the previous document of the
  same series' full base64 signature, empty for the first); the document prints characters 1, 11,
  21 and 31 of its signature followed by "-Processado por programa certificado n.º <cert>/AT".
- Decreto-Lei 28/2019 and Portaria 195/2020: each series is registered at the AT, which answers a
  validation code; each document carries its ATCUD ``<validation code>-<number>`` and a QR code
  whose content follows the AT's "Especificações Técnicas Código QR" (fields ``CODE:value`` joined
  with ``*``, in a fixed order, money with 2 decimals and a point, optional fields omitted).

Money is in integer cents (EUR); VAT rates in basis points (23 % = 2300).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from domain.errors import InvalidRequest

# FS fatura simplificada (a till sale, art. 40 CIVA), FT fatura (a sale over the FS limit),
# NC nota de crédito (a return or a void).
PtDocType = Literal["FS", "FT", "NC"]
PT_DOC_TYPES: tuple[PtDocType, ...] = ("FS", "FT", "NC")
CONSUMER_NIF = "999999990"  # "Consumidor final": a buyer who gave no NIF
# The signature is over this key (Despacho 8632/2014: 1024-bit RSA, so a hash is 172 base64
# characters, SAF-T's maximum); HashControl is the version of the key that signed.
KEY_BITS = 1024
# A retail simplified invoice (FS) may not exceed EUR 1000 (art. 40 n.º 1 b) CIVA).
FS_LIMIT_CENTS = 100_000

_SERIES = re.compile(r"^[A-Za-z0-9._-]{1,40}$")  # SAF-T InvoiceNo: "<type> <series>/<n>"
_VALIDATION_CODE = re.compile(r"^[A-Z0-9]{8,}$")  # the AT's answer to a series registration
_REGIONS = ("PT", "PT-AC", "PT-MA")

# VAT rate bands per tax region (SAF-T TaxCode RED / INT / NOR; ISE exempt), in basis points.
RATE_BANDS: dict[str, dict[int, str]] = {
    "PT": {600: "RED", 1300: "INT", 2300: "NOR", 0: "ISE"},
    "PT-AC": {400: "RED", 900: "INT", 1600: "NOR", 0: "ISE"},
    "PT-MA": {400: "RED", 1200: "INT", 2200: "NOR", 0: "ISE"},
}
# QR fields per band: (base, vat); an exempt base has no VAT field.
_QR_BAND_FIELDS = {"ISE": ("2", ""), "RED": ("3", "4"), "INT": ("5", "6"), "NOR": ("7", "8")}


def money(cents: int) -> str:
    """2 decimals with a point, no thousands separator (signature message, QR, SAF-T)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def valid_nif(nif: str) -> bool:
    """A Portuguese NIF: 9 digits with a modulo-11 check digit."""
    if not re.fullmatch(r"[0-9]{9}", nif):
        return False
    total = sum(int(d) * w for d, w in zip(nif[:8], range(9, 1, -1), strict=True))
    check = 11 - total % 11
    return int(nif[8]) == (0 if check >= 10 else check)


def tax_code(region: str, rate_bp: int) -> str:
    """The SAF-T TaxCode of a VAT rate in a tax region (RED, INT, NOR or ISE)."""
    try:
        return RATE_BANDS[region][rate_bp]
    except KeyError:
        raise InvalidRequest(
            f"VAT rate {rate_bp / 100:g} % is not a Portuguese rate in tax region {region}.",
            code="pt_unknown_vat_rate",
        ) from None


# ---- the unit's options ----


@dataclass(frozen=True, kw_only=True)
class PtSeries:
    doc_type: PtDocType
    series: str
    validation_code: str


@dataclass(frozen=True, kw_only=True)
class PtOptions:
    """A Portuguese fiscal unit's options (fiscal_units.options), validated."""

    nif: str  # the issuer's (the retailer's) NIF
    company_name: str
    address: str
    city: str
    postal_code: str
    tax_region: str
    # (till code or "" for every till, document type) -> series
    series: dict[tuple[str, PtDocType], PtSeries]

    def series_for(self, till_code: str, doc_type: PtDocType) -> PtSeries:
        found = self.series.get((till_code, doc_type)) or self.series.get(("", doc_type))
        if found is None:
            raise InvalidRequest(
                f"No {doc_type} document series is configured for till {till_code}: add "
                f"series.{doc_type} (or series.{doc_type}.{till_code}) to the fiscal unit.",
                code="pt_series_missing",
            )
        return found


def parse_options(options: dict[str, str]) -> PtOptions:
    """Read and check a pt-at fiscal unit's options (see docs/fiscal-portugal.md).

    Keys: nif, company_name, address, city, postal_code, tax_region (PT, PT-AC or PT-MA; default
    PT), ``series.<TYPE>`` (every till) or ``series.<TYPE>.<TILL>`` (one till) naming a series
    for document type FS, FT or NC, and ``validation_code.<SERIES>`` for each series named."""

    def bad(message: str) -> InvalidRequest:
        return InvalidRequest(message, code="pt_options_invalid")

    opts = {str(k): str(v) for k, v in options.items()}
    nif = opts.get("nif", "").strip()
    if not valid_nif(nif):
        raise bad(f"nif {nif!r} is not a valid Portuguese NIF (9 digits, modulo-11 check).")
    region = opts.get("tax_region", "PT") or "PT"
    if region not in _REGIONS:
        raise bad(f"tax_region must be one of {', '.join(_REGIONS)}, not {region!r}.")
    series: dict[tuple[str, PtDocType], PtSeries] = {}
    seen: set[str] = set()
    for key, value in sorted(opts.items()):
        if not key.startswith("series."):
            continue
        parts = key.split(".")
        doc_type = parts[1] if len(parts) > 1 else ""
        if len(parts) not in (2, 3) or doc_type not in PT_DOC_TYPES:
            raise bad(f"{key!r}: use series.<FS|FT|NC> or series.<FS|FT|NC>.<till code>.")
        name = value.strip()
        if not _SERIES.fullmatch(name):
            raise bad(f"{key}: series {name!r} must be 1-40 letters, digits, '.', '_' or '-'.")
        if name in seen:
            raise bad(f"series {name!r} is named twice: each series has one document type.")
        seen.add(name)
        code = opts.get(f"validation_code.{name}", "").strip()
        if not _VALIDATION_CODE.fullmatch(code):
            raise bad(
                f"validation_code.{name} must be the AT's validation code of series {name} "
                "(8 or more capital letters and digits)."
            )
        till = parts[2] if len(parts) == 3 else ""
        series[(till, doc_type)] = PtSeries(
            doc_type=doc_type,
            series=name,
            validation_code=code,
        )
    for needed in ("FS", "NC"):
        if not any(t == needed for _, t in series):
            raise bad(f"series.{needed} is required (a till sells FS and refunds with NC).")
    name = opts.get("company_name", "").strip()
    if not name:
        raise bad("company_name is required (the SAF-T header names the issuer).")
    return PtOptions(
        nif=nif,
        company_name=name[:100],
        address=opts.get("address", "").strip()[:200] or "Desconhecido",
        city=opts.get("city", "").strip()[:50] or "Desconhecido",
        postal_code=opts.get("postal_code", "").strip()[:20] or "Desconhecido",
        tax_region=region,
        series=series,
    )


# ---- signature ----


def invoice_no(doc_type: PtDocType, series: str, number: int) -> str:
    return f"{doc_type} {series}/{number}"


def atcud(validation_code: str, number: int) -> str:
    return f"{validation_code}-{number}"


def signed_message(
    *,
    invoice_date: date,
    system_entry: datetime,
    number: str,
    gross_total: int,
    previous_hash: str,
) -> str:
    """The text the software signs (Portaria 363/2010, art. 6; gross total positive, cents)."""
    return ";".join(
        (
            invoice_date.isoformat(),
            system_entry.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds"),
            number,
            money(abs(gross_total)),
            previous_hash,
        )
    )


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != KEY_BITS:
        raise InvalidRequest(
            f"The Portuguese signing key must be a {KEY_BITS}-bit RSA private key (PEM).",
            code="pt_key_invalid",
        )
    return key


def generate_private_key_pem() -> bytes:
    """A new 1024-bit RSA key (PKCS#8 PEM): the local default's demo key, never certified."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """What the producer hands the AT with the certification request."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """RSA-SHA1, PKCS#1 v1.5, base64 (172 characters for a 1024-bit key)."""
    raw = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  # the law's algorithm
    return base64.b64encode(raw).decode("ascii")


def verify(public_pem: bytes, message: str, signature: str) -> bool:
    public = serialization.load_pem_public_key(public_pem)
    if not isinstance(public, rsa.RSAPublicKey):
        raise InvalidRequest("The public key is not an RSA key.", code="pt_key_invalid")
    try:
        public.verify(
            base64.b64decode(signature, validate=True),
            message.encode("utf-8"),
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303  # the law's algorithm
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def hash_chars(signature: str) -> str:
    """Characters 1, 11, 21 and 31 of the signature (printed, and the QR's field Q)."""
    return "".join(signature[i] for i in (0, 10, 20, 30))


def certified_line(signature: str, certificate: str) -> str:
    return f"{hash_chars(signature)}-Processado por programa certificado n.º {certificate}/AT"


# ---- QR code (Portaria 195/2020) ----


@dataclass(frozen=True, kw_only=True)
class QrVat:
    rate_bp: int
    net: int  # cents, positive
    vat: int


def qr_string(
    *,
    issuer_nif: str,
    buyer_nif: str,
    buyer_country: str,
    doc_type: PtDocType,
    status: str,
    invoice_date: date,
    number: str,
    atcud_code: str,
    tax_region: str,
    vat: Sequence[QrVat],
    gross_total: int,
    signature: str,
    certificate: str,
) -> str:
    """The QR code's content: A..O, Q, R in the spec's order; money positive, 2 decimals; a
    band's fields only when the document has an amount at that rate."""
    bands: dict[str, list[int]] = {}
    for v in vat:
        band = tax_code(tax_region, v.rate_bp)
        acc = bands.setdefault(band, [0, 0])
        acc[0] += abs(v.net)
        acc[1] += abs(v.vat)
    fields: list[tuple[str, str]] = [
        ("A", issuer_nif),
        ("B", buyer_nif or CONSUMER_NIF),
        ("C", buyer_country or "PT"),
        ("D", doc_type),
        ("E", status),
        ("F", invoice_date.strftime("%Y%m%d")),
        ("G", number),
        ("H", atcud_code),
        ("I1", tax_region),
    ]
    for band in ("ISE", "RED", "INT", "NOR"):
        if band not in bands:
            continue
        base_field, vat_field = _QR_BAND_FIELDS[band]
        fields.append((f"I{base_field}", money(bands[band][0])))
        if vat_field:
            fields.append((f"I{vat_field}", money(bands[band][1])))
    total_vat = sum(acc[1] for acc in bands.values())
    fields += [
        ("N", money(total_vat)),
        ("O", money(abs(gross_total))),
        ("Q", hash_chars(signature)),
        ("R", certificate),
    ]
    return "*".join(f"{code}:{value}" for code, value in fields)


def parse_qr(content: str) -> dict[str, str]:
    """The QR's fields by code (split on '*', then on the first ':')."""
    return dict(part.split(":", 1) for part in content.split("*"))


# ---- chain verification ----


@dataclass(frozen=True, kw_only=True)
class ChainDocument:
    """One signed document as stored, in series order."""

    document_id: str
    series: str
    number: int
    invoice_no: str
    invoice_date: date
    system_entry: datetime
    gross_total: int  # cents, positive
    hash: str
    previous_hash: str


@dataclass(frozen=True, kw_only=True)
class ChainProblem:
    document_id: str
    invoice_no: str
    reason: str  # signature | link | gap | order | depends


@dataclass(frozen=True, kw_only=True)
class ChainReport:
    checked: int
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def broken(self) -> tuple[str, ...]:
        """Documents whose own signature, link or number is wrong (not just downstream)."""
        return tuple(p.document_id for p in self.problems if p.reason != "depends")


def verify_chain(documents: Sequence[ChainDocument], public_pem: bytes) -> ChainReport:
    """Check every series' chain: numbers 1..n without gaps, each document's previous hash the
    previous document's signature, each signature valid over the message rebuilt from the
    stored fields. Every document after a broken one is reported as depending on it."""
    problems: list[ChainProblem] = []
    by_series: dict[str, list[ChainDocument]] = {}
    for doc in documents:
        by_series.setdefault(doc.series, []).append(doc)
    for docs in by_series.values():
        docs.sort(key=lambda d: d.number)
        previous: ChainDocument | None = None
        tainted = False
        for doc in docs:
            reason = ""
            expected_number = previous.number + 1 if previous else 1
            expected_link = previous.hash if previous else ""
            message = signed_message(
                invoice_date=doc.invoice_date,
                system_entry=doc.system_entry,
                number=doc.invoice_no,
                gross_total=doc.gross_total,
                previous_hash=expected_link,
            )
            if doc.number != expected_number:
                reason = "gap"
            elif doc.previous_hash != expected_link:
                reason = "link"
            elif previous and doc.system_entry < previous.system_entry:
                reason = "order"
            elif not verify(public_pem, message, doc.hash):
                reason = "signature"
            if reason:
                tainted = True
                problems.append(
                    ChainProblem(
                        document_id=doc.document_id, invoice_no=doc.invoice_no, reason=reason
                    )
                )
            elif tainted:
                problems.append(
                    ChainProblem(
                        document_id=doc.document_id, invoice_no=doc.invoice_no, reason="depends"
                    )
                )
            previous = doc
    return ChainReport(checked=len(documents), problems=tuple(problems))
