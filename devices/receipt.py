"""Receipt layout for 42-column ESC/POS paper, as printer commands and as plain text."""

from __future__ import annotations

import contextlib
import io
import textwrap

from escpos.escpos import Escpos
from escpos.printer import Dummy

from contracts.devices import Receipt, ReceiptLine
from domain.money_format import format_amount, format_money

PAPER_COLUMNS = 42  # font A on 80 mm paper
RULE = "-" * PAPER_COLUMNS
# Item details ("2 x 1.95") end at this column, leaving 11 columns for line totals up to
# 99,999,999.99, so quantities and totals each line up.
_DETAIL_END = PAPER_COLUMNS - 12
# GS k (function B) carries the payload length in one byte.
_CODE128_MAX = 255


def format_rate(rate_bp: int) -> str:
    """Basis points as a percentage for people: 2000 -> '20%', 550 -> '5.5%'."""
    whole, frac = divmod(rate_bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def two_columns(left: str, right: str, width: int = PAPER_COLUMNS) -> str:
    """Left text and right-aligned text on one line; the left side is cut to make room."""
    room = width - len(right) - 1
    if room <= 0:
        return right[:width]
    return f"{left[:room]:<{room}} {right}"


def code128_payload(sale_id: str) -> str | None:
    """The GS k payload for a sale id in code set B, or None when the id cannot be encoded."""
    if not sale_id or not all(32 <= ord(char) < 127 for char in sale_id):
        return None
    # '{' selects code sets and functions in ESC/POS CODE128 data; a literal one is doubled.
    payload = "{B" + sale_id.replace("{", "{{")
    return payload if len(payload) <= _CODE128_MAX else None


def header_lines(receipt: Receipt) -> list[str]:
    """Store name and address, each wrapped to the paper width."""
    return _wrap(receipt.store_name) + _wrap(receipt.store_address)


def info_lines(receipt: Receipt) -> list[str]:
    """Till, cashier, sale id and the time of sale."""
    till = two_columns(f"Till {receipt.till_code}", f"Cashier {receipt.cashier_name}")
    sale, sold_at = f"Sale {receipt.sale_id}", receipt.sold_at.strftime("%Y-%m-%d %H:%M")
    if len(sale) + len(sold_at) < PAPER_COLUMNS:
        return [till, two_columns(sale, sold_at)]
    # Never cut the sale id: staff type it in for returns when the barcode won't scan.
    chunks = [sale[at : at + PAPER_COLUMNS] for at in range(0, len(sale), PAPER_COLUMNS)]
    return [till, *chunks, sold_at]


def _amount(amount: int, currency: str, locale: str) -> str:
    """An amount in a column: as the store's locale writes it (1.234,50), else 1234.50."""
    return format_amount(amount, currency, locale, paper=True)


def item_lines(line: ReceiptLine, currency: str, locale: str = "") -> list[str]:
    """One line per item; a name too long to share it gets a line of its own above."""
    detail = f"{line.quantity} x {_amount(line.unit_price, currency, locale)}"
    # With promotions: the price before them, then one row per promotion, adding up to the total.
    total = _amount(line.line_total + sum(d.amount for d in line.discounts), currency, locale)
    room = _DETAIL_END - len(detail) - 1
    off = [
        two_columns(f"  {d.label}"[:_DETAIL_END], _amount(-d.amount, currency, locale))
        for d in line.discounts
    ]
    if len(line.name) <= room:
        return [two_columns(two_columns(line.name, detail, _DETAIL_END), total), *off]
    return [*_wrap(line.name), two_columns(two_columns("", detail, _DETAIL_END), total), *off]


def tax_lines(receipt: Receipt) -> list[str]:
    """Subtotal, tax total and one row per tax rate: code, rate, net, tax."""
    cur, loc = receipt.currency, receipt.locale
    label = "Tax included" if receipt.prices_include_tax else "Tax"
    lines = [
        two_columns("Subtotal", _amount(receipt.subtotal, cur, loc)),
        two_columns(label, _amount(receipt.tax_total, cur, loc)),
    ]
    if receipt.taxes:
        lines.append(f"{'Code':<8}{'Rate':>8}{'Net':>13}{'Tax':>13}")
    for tax in receipt.taxes:
        net, amount = _amount(tax.net, cur, loc), _amount(tax.tax, cur, loc)
        lines.append(f"{tax.code[:8]:<8}{format_rate(tax.rate_bp):>8}{net:>13}{amount:>13}")
    return lines


def total_line(receipt: Receipt, width: int = PAPER_COLUMNS) -> str:
    """The grand total with its currency: as the store's locale writes it (29,80 €), else
    EUR 29.80."""
    return two_columns(
        "TOTAL", format_money(receipt.total, receipt.currency, receipt.locale, paper=True), width
    )


def tender_lines(receipt: Receipt) -> list[str]:
    """One line per tender with its detail (card brand and last digits, voucher no.)."""
    lines = []
    for tender in receipt.tenders:
        label = tender.kind.replace("_", " ").title()
        left = f"{label} {tender.detail}" if tender.detail else label
        lines.append(two_columns(left, _amount(tender.amount, receipt.currency, receipt.locale)))
    return lines


def change_lines(receipt: Receipt) -> list[str]:
    """The change due line, only when there is change to give."""
    if receipt.change_due <= 0:
        return []
    change = _amount(receipt.change_due, receipt.currency, receipt.locale)
    return [two_columns("Change due", change)]


def fiscal_lines(receipt: Receipt) -> list[str]:
    """The fiscal signature's lines (issue 20: TSE data, ATCUD, "signature pending"), wrapped;
    none for a location that signs nothing."""
    if not receipt.fiscal_lines:
        return []
    return [RULE, *(part for line in receipt.fiscal_lines for part in wrap_hard(line))]


def receipt_text(receipt: Receipt) -> str:
    """The receipt as plain text lines (for logs and receipt files), without styling or barcode."""
    lines = [line.center(PAPER_COLUMNS).rstrip() for line in header_lines(receipt)]
    if receipt.reprint:
        lines.append("*** REPRINT ***".center(PAPER_COLUMNS).rstrip())
    lines += [*info_lines(receipt), RULE]
    for item in receipt.lines:
        lines += item_lines(item, receipt.currency, receipt.locale)
    lines += [RULE, *tax_lines(receipt), RULE, total_line(receipt)]
    lines += [*tender_lines(receipt), *change_lines(receipt), *fiscal_lines(receipt), ""]
    if receipt.fiscal_qr:
        lines += [f"QR: {receipt.fiscal_qr}", ""]
    lines += [part for note in receipt.notes for part in _wrap(note)]
    lines += [line.center(PAPER_COLUMNS).rstrip() for line in _wrap(receipt.footer)]
    return "\n".join(lines) + "\n"


def render_receipt(printer: Escpos, receipt: Receipt) -> None:
    """Send a receipt to an ESC/POS printer: header, items, taxes, total, tenders, barcode, cut."""
    printer.hw("INIT")
    _render_header(printer, receipt)
    _lines(printer, [*info_lines(receipt), RULE])
    for item in receipt.lines:
        _lines(printer, item_lines(item, receipt.currency, receipt.locale))
    _lines(printer, [RULE, *tax_lines(receipt), RULE])
    _render_total(printer, receipt)
    _lines(printer, tender_lines(receipt))
    _render_change(printer, receipt)
    _render_fiscal(printer, receipt)
    _render_barcode(printer, receipt)
    _lines(printer, [part for note in receipt.notes for part in _wrap(note)])
    _render_footer(printer, receipt)
    printer.cut()


# python-escpos works out each code page's characters again for every new printer object (its
# Encoder memoizes them per instance): ~10 ms of CPU per receipt. They never change, so every
# rendering shares one memo; each receipt still has its own encoder, which picks the code pages
# exactly as before, so the bytes are the same.
_CODEPAGE_CHARS: dict[str, dict[str, int]] = {}


def off_printer(profile: str | None = None) -> Dummy:
    """A Dummy printer to render into, sharing the code-page tables worked out before."""
    dummy = Dummy(profile=profile)
    dummy.magic.encoder.available_characters = _CODEPAGE_CHARS
    return dummy


def receipt_bytes(receipt: Receipt, profile: str | None = None) -> bytes:
    """The complete ESC/POS byte stream of a receipt, rendered off-printer into a Dummy."""
    dummy = off_printer(profile)
    render_receipt(dummy, receipt)
    return dummy.output


def _render_header(printer: Escpos, receipt: Receipt) -> None:
    printer.set(align="center", bold=True, double_height=True)
    _lines(printer, _wrap(receipt.store_name))
    printer.set(bold=False, normal_textsize=True)
    _lines(printer, _wrap(receipt.store_address))
    if receipt.reprint:
        # Inverted so staff and customers cannot mistake a copy for the original.
        printer.set(bold=True, invert=True)
        printer.textln(" *** REPRINT *** ")
        printer.set(bold=False, invert=False)
    printer.set(align="left")


def _render_total(printer: Escpos, receipt: Receipt) -> None:
    # Double width halves the columns, so the total is laid out on half the paper.
    printer.set(bold=True, double_width=True, double_height=True)
    printer.textln(total_line(receipt, PAPER_COLUMNS // 2))
    printer.set(bold=False, normal_textsize=True)


def _render_change(printer: Escpos, receipt: Receipt) -> None:
    lines = change_lines(receipt)
    if lines:
        printer.set(bold=True)
        _lines(printer, lines)
        printer.set(bold=False)


def _render_barcode(printer: Escpos, receipt: Receipt) -> None:
    printer.ln()
    payload = code128_payload(receipt.sale_id)
    if payload is None:
        # The sale id is still printed in the header, so a return can type it in.
        return
    # python-escpos print()s "Using hardware barcode renderer" for every barcode: kept out of the
    # device worker's log, which is one structured event per line (log handlers keep their stream).
    with contextlib.redirect_stdout(io.StringIO()):
        printer.barcode(payload, "CODE128", height=64, width=2, pos="BELOW", function_type="B")
    printer.ln()


def _render_fiscal(printer: Escpos, receipt: Receipt) -> None:
    """The signature's lines, then its QR code (native ESC/POS QR: the printer draws it from the
    content, so the bytes carry the content as the tax office's app will read it)."""
    _lines(printer, fiscal_lines(receipt))
    if receipt.fiscal_qr:
        printer.ln()
        printer.set(align="center")
        printer.qr(receipt.fiscal_qr, size=4, native=True)
        printer.set(align="left")


def _render_footer(printer: Escpos, receipt: Receipt) -> None:
    printer.set(align="center")
    _lines(printer, _wrap(receipt.footer))


def _lines(printer: Escpos, lines: list[str]) -> None:
    for line in lines:
        printer.textln(line)


def wrap_hard(text: str) -> list[str]:
    """Wrapped at the paper width, long words (a base64 signature) cut rather than overflowing."""
    return [
        part
        for para in text.splitlines()
        for part in textwrap.wrap(para, PAPER_COLUMNS, break_long_words=True) or [""]
    ]


def _wrap(text: str) -> list[str]:
    return [part for para in text.splitlines() for part in textwrap.wrap(para, PAPER_COLUMNS)]
