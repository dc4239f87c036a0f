"""Customers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import Customer


def exists(session: Session, customer_id: int) -> bool:
    return session.get(Customer, customer_id) is not None


def create(
    session: Session, *, name: str, email: str | None = None, phone: str | None = None
) -> Customer:
    customer = Customer(name=name, email=email, phone=phone)
    session.add(customer)
    session.flush()
    return customer
