"""Customers, and the code on each customer's card that proves they are at the till (store
credit)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Customer, Location, Order
from db.models_customers import (
    CustomerAddress,
    CustomerConsent,
    CustomerEmail,
    CustomerPhone,
    CustomerProfile,
)
from db.models_loyalty import LoyaltyAccount
from db.models_payments import StoreCreditAccount, StoreCreditEntry
from db.models_returns import FraudSignal, Return
from db.repositories import balances
from domain import customers as domain_customers
from domain.errors import Conflict, DomainError, NotFound
from domain.secrets import mask

# Crockford's base32 without look-alikes: 16 characters carry 80 random bits, printed in groups
# of four (a card, a QR code, the app). Only its SHA-256 is kept; at 80 bits nobody guesses one.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 16


@dataclass(frozen=True)
class NewCustomer:
    id: int
    name: str
    email: str | None
    phone: str | None
    code: str  # shown this once (put it on the customer's card); only its hash is stored


def normalize_code(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def code_digest(code: str) -> str:
    """What is stored of a customer code (and all a workflow ever sees of one)."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_CHARS, 4))


def exists(session: Session, customer_id: int) -> bool:
    return session.get(Customer, customer_id) is not None


def create(
    session: Session, *, name: str, email: str | None = None, phone: str | None = None
) -> NewCustomer:
    """A new customer with a new card code; the code is in the answer and nowhere else."""
    code = _new_code()
    customer = Customer(name=name, email=email, phone=phone, code_hash=code_digest(code))
    session.add(customer)
    session.flush()
    return NewCustomer(customer.id, name, email, phone, code)


def issue_code(session: Session, customer_id: int) -> str:
    """A new card code for a customer (a lost card, a customer from before codes): the old one
    stops working. Shown this once."""
    code = _new_code()
    changed = session.execute(
        update(Customer).where(Customer.id == customer_id).values(code_hash=code_digest(code))
    )
    if not changed.rowcount:  # type: ignore[attr-defined]  # DML executes to a CursorResult
        raise NotFound(f"There is no customer {customer_id}.")
    return code


def code_hash(session: Session, customer_id: int) -> str | None:
    """The stored hash of the customer's code; None for no such customer or no code issued."""
    return session.scalar(select(Customer.code_hash).where(Customer.id == customer_id))


def digest_matches(session: Session, customer_id: int, digest: str) -> bool:
    """Whether `digest` is the hash of this customer's current code (compared in constant time)."""
    stored = code_hash(session, customer_id)
    return stored is not None and hmac.compare_digest(stored, digest)


@dataclass(frozen=True)
class CustomerMatch:
    id: int
    name: str
    email: str | None
    phone: str | None


def find_for_till(
    session: Session, q: str, limit: int = 10, *, region: str = "DE"
) -> list[CustomerMatch]:
    """Customers a cashier can attach to a sale: the exact email (any of theirs), the phone
    number (any of theirs, in any format: read as E.164 in `region`, or its digits without leading
    zeros at the end of a stored number), a card code, or a name containing `q` (3 letters or
    more). Merged-away and erased customers are not listed."""
    term = q.strip()
    digits = "".join(ch for ch in term if ch.isdigit())
    email = term.lower()
    conditions = [
        func.lower(Customer.email) == email,
        Customer.id.in_(select(CustomerEmail.customer_id).where(CustomerEmail.email == email)),
    ]
    e164 = domain_customers.try_phone(term, region) if len(digits) >= 6 else None
    if e164:
        conditions.append(
            Customer.id.in_(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164))
        )
    national = digits.lstrip("0")
    if len(national) >= 6:
        conditions.append(
            func.regexp_replace(func.coalesce(Customer.phone, ""), "[^0-9]", "", "g").like(
                "%" + national
            )
        )
        conditions.append(
            Customer.id.in_(
                select(CustomerPhone.customer_id).where(CustomerPhone.e164.like("%" + national))
            )
        )
    if len(normalize_code(term)) == CODE_CHARS:
        conditions.append(Customer.code_hash == code_digest(term))
    if len(term) >= 3:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Customer.name.ilike(f"%{escaped}%", escape="\\"))
    rows = session.scalars(
        select(Customer)
        .where(or_(*conditions), _live(session))
        .order_by(Customer.name, Customer.id)
        .limit(limit)
    )
    return [CustomerMatch(c.id, c.name, c.email, c.phone) for c in rows]


# ---- customer profiles (issue 17) ----------------------------------------------------------
# The `customers` row keeps the name, the card code and (mirrored) the primary email and phone;
# db/models_customers.py holds every email and phone, addresses, consents and the profile row.


@dataclass(frozen=True)
class Contacts:
    emails: list[str]  # already normalised (domain/customers.py)
    phones: list[str]  # E.164


def region_for(session: Session, location_ids: Iterable[int], default: str) -> str:
    """The country a phone typed without +prefix is read in: the (first) store's, else
    `default`."""
    ids = sorted(location_ids)
    if ids:
        country = session.scalar(
            select(Location.country)
            .where(Location.id.in_(ids), Location.country.is_not(None))
            .order_by(Location.id)
            .limit(1)
        )
        if country:
            return country.upper()
    return default.upper()


def _display(session: Session, customer_id: int) -> str:
    name = session.scalar(select(Customer.name).where(Customer.id == customer_id)) or ""
    return f"customer {customer_id} ({name})" if name else f"customer {customer_id}"


def check_contacts_free(session: Session, contacts: Contacts, *, own_id: int | None) -> None:
    """409 when an email or phone already belongs to another customer, naming who."""
    for email in contacts.emails:
        owner = session.scalar(
            select(CustomerEmail.customer_id).where(CustomerEmail.email == email)
        )
        if owner is None:
            owner = session.scalar(select(Customer.id).where(func.lower(Customer.email) == email))
        if owner is not None and owner != own_id:
            raise Conflict(
                f"The email {email} belongs to {_display(session, owner)}: attach them instead.",
                code="customer_email_taken",
            )
    for phone in contacts.phones:
        owner = session.scalar(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == phone))
        if owner is not None and owner != own_id:
            raise Conflict(
                f"The phone number {phone} belongs to {_display(session, owner)}: "
                "attach them instead.",
                code="customer_phone_taken",
            )


def profile_row(session: Session, customer_id: int, *, lock: bool = False) -> CustomerProfile:
    """The customer's profile row (made with its defaults on first use); NotFound without the
    customer."""
    q = select(Customer).where(Customer.id == customer_id)
    if session.scalar(q.with_for_update() if lock else q) is None:
        raise NotFound(f"There is no customer {customer_id}.")
    session.execute(
        insert(CustomerProfile).values(customer_id=customer_id).on_conflict_do_nothing()
    )
    return session.get_one(CustomerProfile, customer_id)


def _mirror(session: Session, customer_id: int) -> None:
    """Copy the primary email and phone onto the `customers` row (the till look-up, receipts)."""
    email = session.scalar(
        select(CustomerEmail.email).where(
            CustomerEmail.customer_id == customer_id, CustomerEmail.is_primary
        )
    )
    phone = session.scalar(
        select(CustomerPhone.e164).where(
            CustomerPhone.customer_id == customer_id, CustomerPhone.is_primary
        )
    )
    session.execute(
        update(Customer).where(Customer.id == customer_id).values(email=email, phone=phone)
    )


def add_email(
    session: Session,
    customer_id: int,
    email: str,
    *,
    verified: bool = False,
    primary: bool = False,
    source: str = "api",
) -> None:
    """Add (or re-flag) one of the customer's emails; the first one is primary."""
    row = session.scalar(select(CustomerEmail).where(CustomerEmail.email == email))
    has_primary = session.scalar(
        select(CustomerEmail.id).where(
            CustomerEmail.customer_id == customer_id, CustomerEmail.is_primary
        )
    )
    if row is None:
        row = CustomerEmail(
            customer_id=customer_id, email=email, is_primary=False, verified=verified, source=source
        )
        session.add(row)
        session.flush()
    elif verified:
        row.verified = True
    if primary or has_primary is None:
        session.execute(
            update(CustomerEmail)
            .where(CustomerEmail.customer_id == customer_id, CustomerEmail.id != row.id)
            .values(is_primary=False)
        )
        session.flush()
        row.is_primary = True
    session.flush()
    _mirror(session, customer_id)


def add_phone(session: Session, customer_id: int, e164: str, *, primary: bool = False) -> None:
    row = session.scalar(select(CustomerPhone).where(CustomerPhone.e164 == e164))
    has_primary = session.scalar(
        select(CustomerPhone.id).where(
            CustomerPhone.customer_id == customer_id, CustomerPhone.is_primary
        )
    )
    if row is None:
        row = CustomerPhone(customer_id=customer_id, e164=e164, is_primary=False)
        session.add(row)
        session.flush()
    if primary or has_primary is None:
        session.execute(
            update(CustomerPhone)
            .where(CustomerPhone.customer_id == customer_id, CustomerPhone.id != row.id)
            .values(is_primary=False)
        )
        session.flush()
        row.is_primary = True
    session.flush()
    _mirror(session, customer_id)


def remove_email(session: Session, customer_id: int, email: str) -> None:
    session.execute(
        delete(CustomerEmail).where(
            CustomerEmail.customer_id == customer_id, CustomerEmail.email == email
        )
    )
    _promote(session, customer_id)


def remove_phone(session: Session, customer_id: int, e164: str) -> None:
    session.execute(
        delete(CustomerPhone).where(
            CustomerPhone.customer_id == customer_id, CustomerPhone.e164 == e164
        )
    )
    _promote(session, customer_id)


def _promote(session: Session, customer_id: int) -> None:
    """After a removal: the oldest remaining email / phone becomes primary if none is."""
    for model in (CustomerEmail, CustomerPhone):
        primary = session.scalar(
            select(model.id).where(model.customer_id == customer_id, model.is_primary)
        )
        if primary is None:
            first = session.scalar(
                select(model.id).where(model.customer_id == customer_id).order_by(model.id).limit(1)
            )
            if first is not None:
                session.execute(update(model).where(model.id == first).values(is_primary=True))
    session.flush()
    _mirror(session, customer_id)


def create_profile(
    session: Session,
    *,
    name: str,
    contacts: Contacts,
    source: str,
    verified_email: bool = False,
) -> NewCustomer:
    """A new customer with these contacts (first of each primary) and a new card code; 409 when a
    contact belongs to someone else."""
    check_contacts_free(session, contacts, own_id=None)
    new = create(session, name=name)
    profile_row(session, new.id)
    for email in contacts.emails:
        add_email(session, new.id, email, verified=verified_email, source=source)
    for phone in contacts.phones:
        add_phone(session, new.id, phone)
    c = session.get_one(Customer, new.id)
    return NewCustomer(new.id, name, c.email, c.phone, new.code)


def set_addresses(session: Session, customer_id: int, addresses: list[dict[str, str]]) -> None:
    """Replace the customer's addresses."""
    session.execute(delete(CustomerAddress).where(CustomerAddress.customer_id == customer_id))
    for a in addresses:
        session.add(CustomerAddress(customer_id=customer_id, **a))
    session.flush()


def record_consent(
    session: Session,
    customer_id: int,
    *,
    channel: str,
    granted: bool,
    source: str,
    user_id: int | None,
) -> None:
    session.add(
        CustomerConsent(
            customer_id=customer_id,
            channel=channel,
            granted=granted,
            source=source,
            recorded_by=user_id,
        )
    )
    session.flush()


def link_for_order(session: Session, email: str, name: str, phone: str = "") -> int | None:
    """The customer a web order belongs to: the owner of its email (the web store sent the order
    confirmation there, so the address counts as verified from now on), else a new customer made
    from the order and linked. None for an order without a usable email. A merged owner hands
    the order to its survivor."""
    try:
        address = domain_customers.normalize_email(email) if email else ""
    except DomainError:
        address = ""
    if not address:
        return None
    owner = session.scalar(select(CustomerEmail.customer_id).where(CustomerEmail.email == address))
    if owner is None:
        owner = session.scalar(select(Customer.id).where(func.lower(Customer.email) == address))
        if owner is not None:  # a customer from before profiles: give them the email row
            profile_row(session, owner)
            add_email(session, owner, address, verified=True, source="web")
    if owner is not None:
        survivor = _survivor(session, owner)
        add_email(session, survivor, address, verified=True, source="web")
        return survivor
    phones: list[str] = []
    if phone:
        e164 = domain_customers.try_phone(phone, "ZZ")  # only a +country number is trusted here
        if (
            e164
            and session.scalar(select(CustomerPhone.id).where(CustomerPhone.e164 == e164)) is None
        ):
            phones.append(e164)
    cleaned = " ".join(name.split())[: domain_customers.NAME_MAX] or address
    if not phones:
        return _new_web_customer(session, cleaned, address)
    new = create_profile(
        session,
        name=cleaned,
        contacts=Contacts([address], phones),
        source="web",
        verified_email=True,
    )
    return new.id


def _new_web_customer(session: Session, name: str, address: str) -> int:
    """What create_profile makes of an order's email nobody owns (checked by the caller): the
    customer (the email mirrored on it, a new card code), its profile row and its one verified,
    primary email, in three statements (issue 21: one new customer per order in a storm)."""
    customer_id: int = session.execute(
        insert(Customer)
        .values(name=name, email=address, phone=None, code_hash=code_digest(_new_code()))
        .returning(Customer.id)
    ).scalar_one()
    session.execute(insert(CustomerProfile).values(customer_id=customer_id))
    session.execute(
        insert(CustomerEmail).values(
            customer_id=customer_id, email=address, is_primary=True, verified=True, source="web"
        )
    )
    return customer_id


def _survivor(session: Session, customer_id: int) -> int:
    seen = {customer_id}
    current = customer_id
    while True:
        nxt = session.scalar(
            select(CustomerProfile.merged_into_id).where(CustomerProfile.customer_id == current)
        )
        if nxt is None or nxt in seen:
            return current
        seen.add(nxt)
        current = nxt


def _live(session: Session) -> Any:
    """Customers neither merged away nor erased (what a look-up lists)."""
    return Customer.id.not_in(
        select(CustomerProfile.customer_id).where(
            or_(CustomerProfile.merged_into_id.is_not(None), CustomerProfile.erased_at.is_not(None))
        )
    )


@dataclass(frozen=True)
class ProfileView:
    id: int
    name: str
    emails: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    addresses: list[dict[str, Any]]
    consents: list[dict[str, Any]]  # the whole history, oldest first
    tax_exempt: bool
    groups: tuple[str, ...]
    notes: str
    merged_into: int | None
    erased: bool
    has_card_code: bool
    created_at: datetime


def profile(session: Session, customer_id: int) -> ProfileView:
    c = session.get(Customer, customer_id)
    if c is None:
        raise NotFound(f"There is no customer {customer_id}.")
    p = session.get(CustomerProfile, customer_id)
    emails = session.scalars(
        select(CustomerEmail)
        .where(CustomerEmail.customer_id == customer_id)
        .order_by(CustomerEmail.id)
    ).all()
    phones = session.scalars(
        select(CustomerPhone)
        .where(CustomerPhone.customer_id == customer_id)
        .order_by(CustomerPhone.id)
    ).all()
    addresses = session.scalars(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id == customer_id)
        .order_by(CustomerAddress.id)
    ).all()
    consents = session.scalars(
        select(CustomerConsent)
        .where(CustomerConsent.customer_id == customer_id)
        .order_by(CustomerConsent.id)
    ).all()
    email_rows = [
        {"email": e.email, "primary": e.is_primary, "verified": e.verified} for e in emails
    ]
    if not email_rows and c.email:  # a customer from before profiles
        email_rows = [{"email": c.email, "primary": True, "verified": False}]
    phone_rows = [{"number": ph.e164, "primary": ph.is_primary} for ph in phones]
    if not phone_rows and c.phone:
        phone_rows = [{"number": c.phone, "primary": True}]
    return ProfileView(
        id=c.id,
        name=c.name,
        emails=email_rows,
        phones=phone_rows,
        addresses=[
            {
                "kind": a.kind,
                "line1": a.line1,
                "line2": a.line2,
                "postcode": a.postcode,
                "city": a.city,
                "country": a.country,
            }
            for a in addresses
        ],
        consents=[
            {
                "channel": k.channel,
                "granted": k.granted,
                "source": k.source,
                "recorded_at": k.recorded_at.isoformat(),
            }
            for k in consents
        ],
        tax_exempt=bool(p and p.tax_exempt),
        groups=tuple(p.groups or ()) if p else (),
        notes=p.notes if p else "",
        merged_into=p.merged_into_id if p else None,
        erased=bool(p and p.erased_at is not None),
        has_card_code=c.code_hash is not None,
        created_at=c.created_at,
    )


def search(session: Session, q: str, region: str, limit: int = 20) -> list[int]:
    """Ids of live customers by email, phone (any format; read in `region`), card code or name."""
    return [m.id for m in find_for_till(session, q, limit, region=region)]


def history(
    session: Session, customer_id: int, location_ids: frozenset[int] | None
) -> dict[str, list[dict[str, Any]]]:
    """The customer's orders and returns (only those of `location_ids` and the web's own, unless
    None: every store), the gift cards their orders issued, their store credit and its ledger."""
    oq = select(Order).where(Order.customer_id == customer_id)
    rq = select(Return).where(Return.customer_id == customer_id)
    if location_ids is not None:
        oq = oq.where(or_(Order.location_id.in_(location_ids), Order.location_id.is_(None)))
        rq = rq.where(Return.location_id.in_(location_ids))
    orders_ = session.scalars(oq.order_by(Order.placed_at, Order.id)).all()
    returns_ = session.scalars(rq.order_by(Return.id)).all()
    cards: list[dict[str, Any]] = []
    for o in orders_:
        for code, amount in balances.gift_cards_loaded_by(session, o.workflow_id):
            card = balances.gift_card(session, code)
            cards.append(
                {
                    "code_masked": mask(code),
                    "loaded": amount,
                    "balance": card.balance,
                    "currency": card.currency,
                    "status": card.status,
                    "order_number": o.number,
                }
            )
    credit: list[dict[str, Any]] = []
    account = session.scalar(
        select(StoreCreditAccount).where(StoreCreditAccount.customer_id == customer_id)
    )
    if account is not None:
        entries = session.scalars(
            select(StoreCreditEntry)
            .where(StoreCreditEntry.account_id == account.id)
            .order_by(StoreCreditEntry.id)
        ).all()
        credit.append(
            {
                "currency": account.currency,
                "balance": account.balance,
                "ledger": [
                    {
                        "delta": e.delta,
                        "reason": e.reason,
                        "reference": e.reference,
                        "at": e.created_at.isoformat(),
                    }
                    for e in entries
                ],
            }
        )
    return {
        "orders": [
            {
                "number": o.number,
                "channel": o.channel,
                "status": o.status,
                "location_id": o.location_id,
                "currency": o.currency,
                "total": o.total,
                "placed_at": o.placed_at.isoformat(),
            }
            for o in orders_
        ],
        "returns": [
            {
                "return_id": r.return_id,
                "status": r.status,
                "location_id": r.location_id,
                "currency": r.currency,
                "refund_total": r.refund_total,
                "refund_method": r.refund_method,
                "created_at": r.created_at.isoformat(),
            }
            for r in returns_
        ],
        "gift_cards": cards,
        "store_credit": credit,
    }


@dataclass(frozen=True)
class Merged:
    orders: int
    returns: int
    store_credit: int  # minor units moved
    currency: str | None
    card_code_moved: bool


def merge(session: Session, source_id: int, into_id: int, *, key: str) -> Merged:
    """Merge duplicate `source_id` into `into_id` in the caller's transaction: orders and returns
    are re-pointed, store credit moves by a pair of "merge" ledger rows (out of one account, into
    the other), the card code moves when the survivor has none, emails / phones / addresses join
    the survivor (not as primary); the duplicate keeps its row, marked merged_into."""
    first, second = sorted((source_id, into_id))
    profile_row(session, first, lock=True)
    profile_row(session, second, lock=True)
    src_p, dst_p = (
        session.get_one(CustomerProfile, source_id),
        session.get_one(CustomerProfile, into_id),
    )
    src_acc = session.scalar(
        select(StoreCreditAccount).where(StoreCreditAccount.customer_id == source_id)
    )
    dst_acc = session.scalar(
        select(StoreCreditAccount).where(StoreCreditAccount.customer_id == into_id)
    )
    domain_customers.check_merge(
        domain_customers.MergeSide(
            id=source_id,
            merged_into=src_p.merged_into_id,
            erased=src_p.erased_at is not None,
            credit_currency=src_acc.currency if src_acc else None,
            credit_balance=src_acc.balance if src_acc else 0,
        ),
        domain_customers.MergeSide(
            id=into_id,
            merged_into=dst_p.merged_into_id,
            erased=dst_p.erased_at is not None,
            credit_currency=dst_acc.currency if dst_acc else None,
        ),
    )
    moved_orders = session.execute(
        update(Order).where(Order.customer_id == source_id).values(customer_id=into_id)
    ).rowcount  # type: ignore[attr-defined]  # DML executes to a CursorResult
    moved_returns = session.execute(
        update(Return).where(Return.customer_id == source_id).values(customer_id=into_id)
    ).rowcount  # type: ignore[attr-defined]  # DML executes to a CursorResult
    session.execute(
        update(FraudSignal).where(FraudSignal.customer_id == source_id).values(customer_id=into_id)
    )
    amount, currency = 0, None
    if src_acc is not None and src_acc.balance > 0:
        amount, currency = src_acc.balance, src_acc.currency
        reference = f"merge:customer:{source_id}->customer:{into_id}"
        balances.post_store_credit(
            session,
            source_id,
            delta=-amount,
            reason="merge",
            reference=reference,
            key=f"{key}:out",
            currency=currency,
        )
        balances.post_store_credit(
            session,
            into_id,
            delta=amount,
            reason="merge",
            reference=reference,
            key=f"{key}:in",
            currency=currency,
        )
    src, dst = session.get_one(Customer, source_id), session.get_one(Customer, into_id)
    card_moved = False
    if src.code_hash is not None and dst.code_hash is None:
        dst.code_hash, card_moved = src.code_hash, True
    src.code_hash = None
    src.email = None
    src.phone = None
    session.flush()
    for model in (CustomerEmail, CustomerPhone):
        session.execute(
            update(model)
            .where(model.customer_id == source_id)
            .values(customer_id=into_id, is_primary=False)
        )
    session.execute(
        update(CustomerAddress)
        .where(CustomerAddress.customer_id == source_id)
        .values(customer_id=into_id)
    )
    src_p.merged_into_id = into_id
    src_p.merged_at = src_p.updated_at = datetime.now(UTC)
    session.flush()
    _promote(session, into_id)
    return Merged(moved_orders, moved_returns, amount, currency, card_moved)


def erase(session: Session, customer_id: int) -> None:
    """Pseudonymise the customer: the name becomes "Erased customer {id}", emails, phones,
    addresses, notes and the card code go; consent history stays (it holds no contact detail);
    orders and returns keep pointing at the row (a sale stays a sale)."""
    p = profile_row(session, customer_id, lock=True)
    if p.erased_at is not None:
        return
    for model in (CustomerEmail, CustomerPhone, CustomerAddress):
        session.execute(delete(model).where(model.customer_id == customer_id))
    session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(
            name=domain_customers.erased_name(customer_id), email=None, phone=None, code_hash=None
        )
    )
    p.notes = ""
    p.erased_at = p.updated_at = datetime.now(UTC)
    session.flush()


def rename(session: Session, customer_id: int, name: str) -> None:
    session.execute(update(Customer).where(Customer.id == customer_id).values(name=name))


def verify_email(session: Session, customer_id: int, email: str) -> None:
    changed = session.execute(
        update(CustomerEmail)
        .where(CustomerEmail.customer_id == customer_id, CustomerEmail.email == email)
        .values(verified=True)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]  # DML executes to a CursorResult
        raise NotFound(f"Customer {customer_id} has no email {email}.")


def groups_of(session: Session, customer_id: int | None) -> frozenset[str]:
    """The groups a customer's promotions may be scoped to: the profile's own groups and the
    loyalty tier (e.g. "gold"); nobody: none."""
    if customer_id is None:
        return frozenset()
    own = session.scalar(
        select(CustomerProfile.groups).where(CustomerProfile.customer_id == customer_id)
    )
    tier = session.scalar(
        select(LoyaltyAccount.tier).where(LoyaltyAccount.customer_id == customer_id)
    )
    return frozenset([*(own or ()), *([tier] if tier else [])])


def set_groups(session: Session, customer_id: int, groups: Iterable[str]) -> None:
    """Replace the profile's customer groups (trimmed, lower-cased, unique)."""
    row = profile_row(session, customer_id, lock=True)
    row.groups = sorted({g.strip().lower() for g in groups if g.strip()})
    session.flush()
