"""Customer profiles: how names, emails and phones are read and normalised, how contacts are masked
for cashiers, and what a merge may join. Pure (phonenumbers is a parsing library, no framework)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

import phonenumbers

from domain.errors import Conflict, InvalidRequest

ConsentChannel = Literal["email", "sms", "post"]
CONSENT_CHANNELS: tuple[str, ...] = get_args(ConsentChannel)
ConsentSource = Literal["till", "web", "form", "api", "import"]
CONSENT_SOURCES: tuple[str, ...] = get_args(ConsentSource)

NAME_MAX = 200
# One "@", something before it, a dotted domain after it; no spaces. Deliverability is the
# mail server's business (a verified flag says whether anyone proved it).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def erased_name(customer_id: int) -> str:
    """The name an erased profile keeps (its sales stay; they no longer name a person)."""
    return f"Erased customer {customer_id}"


def clean_name(name: str) -> str:
    """A name with its whitespace collapsed; refuses an empty or overlong one."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidRequest("A customer needs a name.", code="customer_name_missing")
    if len(cleaned) > NAME_MAX:
        raise InvalidRequest(
            f"A customer's name has at most {NAME_MAX} characters.", code="customer_name_long"
        )
    return cleaned


def normalize_email(email: str) -> str:
    """`  Ana@Example.COM ` -> `ana@example.com`; refuses what is not an email address."""
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise InvalidRequest(f"{email!r} is not an email address.", code="bad_email")
    return cleaned


def normalize_phone(number: str, region: str) -> str:
    """A phone number as E.164 (`030 1234567` in DE -> `+49301234567`); a number without a
    `+country` prefix is read in `region` (the store's country). Refuses what is no valid
    number."""
    raw = number.strip()
    if not raw or len(raw) > 40:
        raise InvalidRequest(f"{number!r} is not a phone number.", code="bad_phone")
    try:
        parsed = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidRequest(f"{number!r} is not a phone number.", code="bad_phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidRequest(
            f"{number!r} is not a valid phone number (read in {region.upper()}); "
            "give it with its +country prefix.",
            code="bad_phone",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_phone(text: str, region: str) -> str | None:
    """The E.164 form of `text` if it reads as a valid phone number, else None (a search term)."""
    try:
        return normalize_phone(text, region)
    except InvalidRequest:
        return None


def mask_email(email: str) -> str:
    """`ana.silva@example.com` -> `a***@example.com` (what a cashier sees)."""
    if "@" not in email:
        return "***"
    user, host = email.split("@", 1)
    return f"{user[:1]}***@{host}"


def mask_phone(e164: str) -> str:
    """`+49301234567` -> `+49*******67` (the country code and the last two digits)."""
    try:
        country = str(phonenumbers.parse(e164).country_code)
    except phonenumbers.NumberParseException:
        country = ""
    head = "+" + country if country else ""
    rest = e164[len(head) :]
    return head + "*" * max(len(rest) - 2, 0) + rest[-2:]


def check_consent(channel: str, source: str) -> None:
    if channel not in CONSENT_CHANNELS:
        raise InvalidRequest(
            f"Consent is given per channel: {', '.join(CONSENT_CHANNELS)}; not {channel!r}.",
            code="bad_consent_channel",
        )
    if source not in CONSENT_SOURCES:
        raise InvalidRequest(
            f"A consent's source is one of {', '.join(CONSENT_SOURCES)}; not {source!r}.",
            code="bad_consent_source",
        )


@dataclass(frozen=True, kw_only=True)
class MergeSide:
    id: int
    merged_into: int | None
    erased: bool
    credit_currency: str | None  # their store credit account's currency, None without one
    credit_balance: int = 0


def check_merge(source: MergeSide, survivor: MergeSide) -> None:
    """A duplicate may be merged into another live profile: not itself, not an already merged or
    erased one, and their store credit in one currency (a ledger never converts)."""
    if source.id == survivor.id:
        raise InvalidRequest("A customer cannot be merged into themselves.", code="merge_self")
    for side in (source, survivor):
        if side.merged_into is not None:
            raise Conflict(
                f"Customer {side.id} was already merged into customer {side.merged_into}.",
                code="customer_merged",
            )
        if side.erased:
            raise Conflict(f"Customer {side.id} was erased.", code="customer_erased")
    if (
        source.credit_balance
        and survivor.credit_currency is not None
        and source.credit_currency != survivor.credit_currency
    ):
        raise Conflict(
            f"Customer {source.id}'s store credit is in {source.credit_currency}, customer "
            f"{survivor.id}'s in {survivor.credit_currency}: it cannot move.",
            code="merge_currency",
        )
