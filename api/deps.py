"""Request-scoped dependencies: the database, the Temporal client, the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from temporalio.client import Client

from api.auth import authenticate
from db.repositories.users import Principal
from db.session import Database
from tillflow.settings import Settings


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_client(request: Request) -> Client:
    return request.app.state.temporal


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


AuthorizationHeader = Annotated[str | None, Header(description="Bearer <token>")]


def get_principal(
    db: Annotated[Database, Depends(get_db)],
    authorization: AuthorizationHeader = None,
) -> Principal:
    with db.unit_of_work() as s:
        return authenticate(s, authorization)


DbDep = Annotated[Database, Depends(get_db)]
ClientDep = Annotated[Client, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Replays of a write with the same key return the first answer",
    ),
]
