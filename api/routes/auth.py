"""Back-office sign-in (managers, fulfilment, finance, admin) and sign-out."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Header, Request

from api import ratelimit
from api.auth import SIGN_IN_LOCKED, SignIn, sign_in, token_hash
from api.deps import DbDep, PrincipalDep, SettingsDep
from api.errors import error_responses
from api.schemas import PasswordLogin, TokenOut
from db.repositories import bookkeeping, users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=TokenOut,
    responses={**error_responses(401, 422), **SIGN_IN_LOCKED, **ratelimit.RATE_LIMITED},
    dependencies=[ratelimit.SIGN_IN],
)
def login(body: PasswordLogin, request: Request, db: DbDep, settings: SettingsDep) -> TokenOut:
    """Sign in with username and password; returns a bearer token for your role and stores.

    Wrong passwords are throttled per username and per address (429 with Retry-After);
    `signin_max_failures` in a row lock the username (423 `signin_locked` with Retry-After) until a
    manager or admin unlocks it or `signin_lockout_minutes` pass. An unknown username gets the same
    answers, as slowly."""
    attempt = SignIn(
        kind="user",
        name=body.username,
        secret=body.password,
        address=ratelimit.address_of(request),
    )
    user, token, expires = sign_in(db, settings, ratelimit.limits_of(request.app), attempt)
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
