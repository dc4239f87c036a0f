"""Customer messages: the language a location writes in, the text of each kind of message in that
language (subject, plain-text body, a short SMS form), an e-mail receipt, and the backoff between
delivery attempts. Pure: no I/O; the drain (activities/messages.py) gathers the facts.

A location has no language of its own: it is derived from its country (ISO 3166 alpha-2,
`locations.country`), e.g. DE/AT/CH/LI -> de, PT/BR/AO/MZ -> pt; anything else, or no country, is
English. A kind without a template here is sent with the subject and body its workflow wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from string import Formatter
from typing import Literal
from zoneinfo import ZoneInfo

from domain.money import format_minor

Language = Literal["en", "de", "pt"]
LANGUAGES: tuple[Language, ...] = ("en", "de", "pt")
DEFAULT_LANGUAGE: Language = "en"

_COUNTRY_LANGUAGE: dict[str, Language] = {
    "DE": "de",
    "AT": "de",
    "CH": "de",
    "LI": "de",
    "LU": "de",
    "PT": "pt",
    "BR": "pt",
    "AO": "pt",
    "MZ": "pt",
    "CV": "pt",
}


def language_for(country: str | None) -> Language:
    """The language of a location in `country` (English when unknown)."""
    return _COUNTRY_LANGUAGE.get((country or "").strip().upper(), DEFAULT_LANGUAGE)


@dataclass(frozen=True, kw_only=True)
class Template:
    subject: str
    text: str
    sms: str


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """What goes out: the e-mail subject and body, and the SMS text."""

    language: Language
    subject: str
    text: str
    sms: str


# Placeholders: {name} {order} {store} {address} {hours} {code} {deadline} {tracking} {carrier}
# {receipt}. Every language has every placeholder of its English original (a test checks).
TEMPLATES: dict[str, dict[Language, Template]] = {
    "ready_for_pickup": {
        "en": Template(
            subject="Your order {order} is ready for pickup at {store}",
            text="Hello {name},\n\nyour order {order} is ready at {store}, {address}.\n"
            "Your pickup code: {code}\n"
            "Please collect it by {deadline} (opening hours: {hours}).\n"
            "Coming by car? Tell us your parking bay when you arrive and we bring it out.\n",
            sms="{store}: order {order} is ready. Pickup code {code}, collect by {deadline}.",
        ),
        "de": Template(
            subject="Ihre Bestellung {order} liegt zur Abholung bei {store} bereit",
            text="Hallo {name},\n\nIhre Bestellung {order} liegt bei {store}, {address}, bereit.\n"
            "Ihr Abholcode: {code}\n"
            "Bitte holen Sie sie bis {deadline} ab (Öffnungszeiten: {hours}).\n"
            "Mit dem Auto da? Nennen Sie uns bei Ankunft Ihren Parkplatz, wir bringen sie "
            "hinaus.\n",
            sms="{store}: Bestellung {order} liegt bereit. Abholcode {code}, abholen bis "
            "{deadline}.",
        ),
        "pt": Template(
            subject="A sua encomenda {order} está pronta para levantamento em {store}",
            text="Olá {name},\n\na sua encomenda {order} está pronta em {store}, {address}.\n"
            "O seu código de levantamento: {code}\n"
            "Levante-a até {deadline} (horário: {hours}).\n"
            "Vem de carro? Diga-nos o seu lugar de estacionamento quando chegar e levamos-lha.\n",
            sms="{store}: encomenda {order} pronta. Código {code}, levantar até {deadline}.",
        ),
    },
    "pickup_reminder": {
        "en": Template(
            subject="Reminder: order {order} waits for you until {deadline}",
            text="Hello {name},\n\nyour order {order} is waiting at {store} until {deadline}.\n"
            "Your pickup code: {code}\n",
            sms="{store}: order {order} waits until {deadline}. Pickup code {code}.",
        ),
        "de": Template(
            subject="Erinnerung: Bestellung {order} wartet bis {deadline} auf Sie",
            text="Hallo {name},\n\nIhre Bestellung {order} wartet bei {store} bis {deadline}.\n"
            "Ihr Abholcode: {code}\n",
            sms="{store}: Bestellung {order} wartet bis {deadline}. Abholcode {code}.",
        ),
        "pt": Template(
            subject="Lembrete: a encomenda {order} espera por si até {deadline}",
            text="Olá {name},\n\na sua encomenda {order} espera por si em {store} até "
            "{deadline}.\nO seu código de levantamento: {code}\n",
            sms="{store}: encomenda {order} espera até {deadline}. Código {code}.",
        ),
    },
    "pickup_extended": {
        "en": Template(
            subject="More time to collect order {order}",
            text="Hello {name},\n\nyour order {order} now waits for you at {store} until "
            "{deadline}.\n",
            sms="{store}: order {order} now waits until {deadline}.",
        ),
        "de": Template(
            subject="Mehr Zeit für die Abholung von Bestellung {order}",
            text="Hallo {name},\n\nIhre Bestellung {order} wartet bei {store} jetzt bis "
            "{deadline}.\n",
            sms="{store}: Bestellung {order} wartet jetzt bis {deadline}.",
        ),
        "pt": Template(
            subject="Mais tempo para levantar a encomenda {order}",
            text="Olá {name},\n\na sua encomenda {order} espera agora por si em {store} até "
            "{deadline}.\n",
            sms="{store}: encomenda {order} espera agora até {deadline}.",
        ),
    },
    "pickup_expired": {
        "en": Template(
            subject="Order {order} was not collected",
            text="Hello {name},\n\nyour order {order} was not collected by {deadline}, so we "
            "have put it back on the shelf. Your payment is refunded.\n",
            sms="{store}: order {order} was not collected by {deadline}; your payment is refunded.",
        ),
        "de": Template(
            subject="Bestellung {order} wurde nicht abgeholt",
            text="Hallo {name},\n\nIhre Bestellung {order} wurde bis {deadline} nicht abgeholt; "
            "wir haben die Ware zurückgelegt. Ihre Zahlung wird erstattet.\n",
            sms="{store}: Bestellung {order} wurde bis {deadline} nicht abgeholt; Ihre Zahlung "
            "wird erstattet.",
        ),
        "pt": Template(
            subject="A encomenda {order} não foi levantada",
            text="Olá {name},\n\na sua encomenda {order} não foi levantada até {deadline}, por "
            "isso voltou à prateleira. O seu pagamento é reembolsado.\n",
            sms="{store}: encomenda {order} não levantada até {deadline}; pagamento reembolsado.",
        ),
    },
    "picked_up": {
        "en": Template(
            subject="Thank you for collecting order {order}",
            text="Hello {name},\n\norder {order} was handed over at {store}. Thank you!\n",
            sms="{store}: order {order} handed over. Thank you!",
        ),
        "de": Template(
            subject="Danke für die Abholung von Bestellung {order}",
            text="Hallo {name},\n\nBestellung {order} wurde bei {store} übergeben. Vielen Dank!\n",
            sms="{store}: Bestellung {order} übergeben. Vielen Dank!",
        ),
        "pt": Template(
            subject="Obrigado por levantar a encomenda {order}",
            text="Olá {name},\n\na encomenda {order} foi entregue em {store}. Obrigado!\n",
            sms="{store}: encomenda {order} entregue. Obrigado!",
        ),
    },
    "shipped": {
        "en": Template(
            subject="Your order {order} is on its way",
            text="Hello {name},\n\nyour order {order} has left {store}.\n"
            "Tracking: {tracking} ({carrier})\n",
            sms="{store}: order {order} shipped, tracking {tracking} ({carrier}).",
        ),
        "de": Template(
            subject="Ihre Bestellung {order} ist unterwegs",
            text="Hallo {name},\n\nIhre Bestellung {order} hat {store} verlassen.\n"
            "Sendungsverfolgung: {tracking} ({carrier})\n",
            sms="{store}: Bestellung {order} versandt, Sendung {tracking} ({carrier}).",
        ),
        "pt": Template(
            subject="A sua encomenda {order} está a caminho",
            text="Olá {name},\n\na sua encomenda {order} saiu de {store}.\n"
            "Seguimento: {tracking} ({carrier})\n",
            sms="{store}: encomenda {order} enviada, seguimento {tracking} ({carrier}).",
        ),
    },
    "receipt": {
        "en": Template(
            subject="Your receipt {order} from {store}",
            text="Thank you for shopping at {store}.\n\n{receipt}",
            sms="{store}: receipt {order}.",
        ),
        "de": Template(
            subject="Ihr Beleg {order} von {store}",
            text="Vielen Dank für Ihren Einkauf bei {store}.\n\n{receipt}",
            sms="{store}: Beleg {order}.",
        ),
        "pt": Template(
            subject="O seu recibo {order} de {store}",
            text="Obrigado pela sua compra em {store}.\n\n{receipt}",
            sms="{store}: recibo {order}.",
        ),
    },
}

_GREETING_NAME: dict[Language, str] = {
    "en": "there",
    "de": "liebe Kundin, lieber Kunde",
    "pt": "cliente",
}
_WEEKDAYS: dict[Language, tuple[str, ...]] = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "pt": ("seg", "ter", "qua", "qui", "sex", "sáb", "dom"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def local_time(at: datetime, timezone: str, language: Language) -> str:
    """A deadline as the store's customers read it, in the store's own time."""
    t = at.astimezone(ZoneInfo(timezone))
    day = _WEEKDAYS[language][t.weekday()]
    if language == "de":
        return f"{day}, {t:%d.%m.} {t:%H:%M} Uhr"
    if language == "pt":
        return f"{day}, {t:%d/%m} {t:%H:%M}"
    return f"{day} {t.day:02d} {_MONTHS_EN[t.month - 1]} {t:%H:%M}"


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(
    kind: str,
    language: Language,
    facts: Mapping[str, str],
    *,
    fallback_subject: str = "",
    fallback_body: str = "",
) -> Rendered:
    """The message of `kind` in `language` (English when that language has no template; the
    workflow's own subject and body when no language has one)."""
    by_language = TEMPLATES.get(kind)
    if by_language is None:
        return Rendered(
            language=DEFAULT_LANGUAGE,
            subject=fallback_subject,
            text=fallback_body,
            sms=f"{fallback_subject}: {fallback_body}" if fallback_subject else fallback_body,
        )
    used: Language = language if language in by_language else DEFAULT_LANGUAGE
    tpl = by_language[used]
    values = _Blank({k: str(v) for k, v in facts.items()})
    if not values.get("name"):
        values["name"] = _GREETING_NAME[used]
    return Rendered(
        language=used,
        subject=tpl.subject.format_map(values).strip(),
        text=tpl.text.format_map(values),
        sms=tpl.sms.format_map(values).strip(),
    )


# ---- e-mail receipts ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReceiptLineText:
    name: str
    quantity: int
    line_total: int


@dataclass(frozen=True, kw_only=True)
class ReceiptTenderText:
    kind: str
    amount: int
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class ReceiptText:
    """A recorded sale as the e-mail receipt shows it (amounts in minor units)."""

    number: str
    store_name: str
    store_address: str
    sold_at_local: str
    currency: str
    lines: Sequence[ReceiptLineText]
    subtotal: int
    tax_total: int
    total: int
    tenders: Sequence[ReceiptTenderText] = field(default_factory=tuple)
    change_due: int = 0
    notes: Sequence[str] = field(default_factory=tuple)


_RECEIPT_WORDS: dict[Language, dict[str, str]] = {
    "en": {"receipt": "Receipt", "subtotal": "Subtotal", "tax": "Tax", "total": "Total",
           "change": "Change", "paid": "Paid"},
    "de": {"receipt": "Beleg", "subtotal": "Zwischensumme", "tax": "MwSt.", "total": "Summe",
           "change": "Rückgeld", "paid": "Bezahlt"},
    "pt": {"receipt": "Recibo", "subtotal": "Subtotal", "tax": "IVA", "total": "Total",
           "change": "Troco", "paid": "Pago"},
}  # fmt: skip


def receipt_body(r: ReceiptText, language: Language) -> str:
    """The receipt as plain text, one line per item, amounts right-aligned."""
    w = _RECEIPT_WORDS.get(language, _RECEIPT_WORDS[DEFAULT_LANGUAGE])

    def row(left: str, amount: int) -> str:
        money = format_minor(amount, r.currency, symbol=True)
        return f"{left[: 46 - len(money)]:<{47 - len(money)}}{money}"

    out = [f"{w['receipt']} {r.number}", r.store_name]
    if r.store_address:
        out.append(r.store_address)
    out += [r.sold_at_local, ""]
    out += [row(f"{ln.quantity} x {ln.name}", ln.line_total) for ln in r.lines]
    out += [
        "",
        row(w["subtotal"], r.subtotal),
        row(w["tax"], r.tax_total),
        row(w["total"], r.total),
    ]
    for t in r.tenders:
        label = f"{w['paid']} {t.kind}" + (f" {t.detail}" if t.detail else "")
        out.append(row(label, t.amount))
    if r.change_due:
        out.append(row(w["change"], r.change_due))
    out += [""] + list(r.notes)
    return "\n".join(out).rstrip() + "\n"


# ---- delivery attempts -------------------------------------------------------------------------


def backoff(attempts: int, *, base_s: float, cap_s: float) -> timedelta:
    """Wait before the next attempt after `attempts` failed ones: base, 2x, 4x, ... up to cap."""
    exponent = max(0, min(attempts - 1, 30))
    return timedelta(seconds=min(cap_s, base_s * (2**exponent)))
