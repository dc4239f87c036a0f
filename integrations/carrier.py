"""The Carrier Protocol: buy a shipping label for a parcel; get a tracking number and a printable
label.

Local default: `LocalCarrier` makes a tracking number from the parcel's key (so a retry buys nothing
twice) and draws the label as PDF or ZPL. A carrier returns the label's bytes; the shipping activity
puts them in the FileStore (integrations/files.py: PostgreSQL or S3), never on a container's disk
(issue 18). Real adapters (DHL, UPS, a label broker) implement the same Protocol.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from domain.online_orders import ShippingAddress

LABEL_FORMATS = ("pdf", "zpl")


@dataclass(frozen=True)
class LabelRequest:
    key: str  # idempotency: the same key is the same label
    order_number: str
    ship_from: str  # store name and address
    ship_to_name: str
    ship_to_country: str
    weight_g: int
    length_cm: int
    width_cm: int
    height_cm: int
    # Issue 19: the structured addresses a real carrier needs (None: not known; LocalCarrier
    # prints the one-line texts above).
    ship_to: ShippingAddress | None = None
    ship_from_address: ShippingAddress | None = None
    email: str = ""  # the recipient's, for the carrier's delivery notices


@dataclass(frozen=True)
class Label:
    carrier: str
    tracking_number: str
    tracking_url: str
    path: str  # a label file an older adapter wrote to disk ("" when it returns content)
    format: str  # pdf | zpl
    content: bytes = b""  # the label itself, stored by the shipping activity


class CarrierError(Exception):
    """The carrier refused the parcel for good (too heavy, no service to that country)."""


class Carrier(Protocol):
    def buy_label(self, req: LabelRequest) -> Label:
        """Buy (or find, for a key bought before) the label for one parcel."""
        ...


class LocalCarrier:
    """No carrier account needed: a deterministic tracking number and the label's bytes.

    `labels_dir` is no longer written (issue 18: labels go to the FileStore); it is accepted so
    existing callers keep building it."""

    name = "tillflow-local"
    MAX_WEIGHT_G = 31_500

    def __init__(self, labels_dir: Path | None = None, label_format: str = "pdf") -> None:
        if label_format not in LABEL_FORMATS:
            raise ValueError(
                f"label format must be one of {', '.join(LABEL_FORMATS)}, not {label_format!r}"
            )
        self.labels_dir = labels_dir
        self.format = label_format

    def buy_label(self, req: LabelRequest) -> Label:
        if req.weight_g > self.MAX_WEIGHT_G:
            raise CarrierError(f"A parcel may weigh at most {self.MAX_WEIGHT_G / 1000:g} kg.")
        digits = int(hashlib.sha256(req.key.encode()).hexdigest(), 16) % 10**12
        tracking = f"TF{digits:012d}DE"
        text = [
            f"tillflow local carrier  {tracking}",
            f"Order {req.order_number}",
            f"From: {req.ship_from}",
            f"To: {req.ship_to_name} ({req.ship_to_country or '-'})",
            f"{req.weight_g} g  {req.length_cm} x {req.width_cm} x {req.height_cm} cm",
        ]
        data = _pdf(text) if self.format == "pdf" else _zpl(tracking, text)
        return Label(self.name, tracking, "", "", self.format, content=data)


def _zpl(tracking: str, lines: list[str]) -> bytes:
    body = "".join(f"^FO40,{40 + 50 * n}^A0N,32,32^FD{_ascii(t)}^FS" for n, t in enumerate(lines))
    return f"^XA^CI28{body}^FO40,340^BCN,120,Y,N,N^FD{tracking}^FS^XZ\n".encode()


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode().replace("^", " ").replace("~", " ")


def _pdf(lines: list[str]) -> bytes:
    """A one-page A6 PDF with the label's text (Helvetica); small enough to write by hand."""

    def esc(t: str) -> str:
        return _ascii(t).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 11 Tf 20 390 Td 14 TL " + " ".join(f"({esc(t)}) '" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] /Contents 4 0 R "
            "/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)
