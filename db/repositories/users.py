"""Users, their locations, and API tokens (stored as SHA-256 of the token, never the token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ApiToken, User, UserLocation


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: str
    location_ids: frozenset[int]
    till_id: int | None


def user_by_staff_code(session: Session, staff_code: str) -> User | None:
    return session.scalar(select(User).where(User.staff_code == staff_code, User.active))


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.active))


def user_location_ids(session: Session, user_id: int) -> frozenset[int]:
    rows = session.scalars(select(UserLocation.location_id).where(UserLocation.user_id == user_id))
    return frozenset(rows)


def add_token(
    session: Session, *, token_hash: str, user_id: int, till_id: int | None, expires_at: datetime
) -> None:
    session.add(ApiToken(token_hash=token_hash, user_id=user_id, till_id=till_id, expires_at=expires_at))
    session.flush()


def principal_for_token(session: Session, token_hash: str, now: datetime) -> Principal | None:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.active,
        )
    ).first()
    if row is None:
        return None
    token, user = row
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        location_ids=user_location_ids(session, user.id),
        till_id=token.till_id,
    )


def revoke_token(session: Session, token_hash: str, now: datetime) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    if token is not None and token.revoked_at is None:
        token.revoked_at = now


def display_name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.display_name if user else ""
