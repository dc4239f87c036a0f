"""Back-office sign-in (managers, fulfilment, finance, admin) and sign-out."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Header

from api.auth import issue_token, token_hash, unauthorized, verify_secret
from api.deps import DbDep, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.schemas import PasswordLogin, TokenOut
from db.repositories import bookkeeping, users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut, responses=error_responses(401, 422))
def login(body: PasswordLogin, db: DbDep, settings: SettingsDep) -> TokenOut:
    """Sign in with username and password; returns a bearer token for your role and stores."""
    with db.unit_of_work() as s:
        user = users.user_by_username(s, body.username)
        if user is None or not verify_secret(body.password, user.password_hash):
            raise unauthorized("Username or password is wrong.")
        token, expires = issue_token(s, user.id, None, settings.token_ttl_hours)
        bookkeeping.audit(
            s, action="auth.login", subject=f"user:{user.username}", actor_user_id=user.id
        )
        return TokenOut(
            token=token,
            expires_at=expires,
            user=user.username,
            display_name=user.display_name,
            role=user.role,
        )


@router.post("/logout", status_code=204, responses=error_responses(401))
def logout(principal: PrincipalDep, db: DbDep, authorization: str = Header()) -> None:
    """Revoke the token this request carries."""
    with db.unit_of_work() as s:
        users.revoke_token(
            s, token_hash(authorization.partition(" ")[2].strip()), datetime.now(UTC)
        )
        bookkeeping.audit(
            s,
            action="auth.logout",
            subject=f"user:{principal.username}",
            actor_user_id=principal.user_id,
        )
