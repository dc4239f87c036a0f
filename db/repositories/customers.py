"""Customers, and the code on each customer's card that proves they are at the till (store
credit)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Customer
from domain.errors import NotFound

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


def find_for_till(session: Session, q: str, limit: int = 10) -> list[CustomerMatch]:
    """Customers a cashier can attach to a sale: the exact email, the phone number (its digits,
    ignoring spaces and punctuation), a card code, or a name containing `q` (3 letters or more)."""
    term = q.strip()
    digits = "".join(ch for ch in term if ch.isdigit())
    conditions = [func.lower(Customer.email) == term.lower()]
    if len(digits) >= 6:
        conditions.append(
            func.regexp_replace(func.coalesce(Customer.phone, ""), "[^0-9]", "", "g").like(
                "%" + digits
            )
        )
    if len(normalize_code(term)) == CODE_CHARS:
        conditions.append(Customer.code_hash == code_digest(term))
    if len(term) >= 3:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Customer.name.ilike(f"%{escaped}%", escape="\\"))
    rows = session.scalars(
        select(Customer).where(or_(*conditions)).order_by(Customer.name).limit(limit)
    )
    return [CustomerMatch(c.id, c.name, c.email, c.phone) for c in rows]
