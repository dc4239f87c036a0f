"""One error shape for every 4xx: {"error": {"code": ..., "message": ...}}; never a 500 for bad
input."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.exceptions import TemporalError

from contracts.errors import decode
from domain.errors import DomainError, TemporarilyUnavailable

log = logging.getLogger("tillflow.api")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An HTTP-level refusal (auth, idempotency misuse) with a code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error responses a route can give."""
    text = {
        400: "Malformed request",
        401: "Missing, unknown or expired token",
        403: "Token lacks the role or the store",
        404: "Not found",
        409: "Conflicts with the current state",
        422: "Invalid request or refused by a business rule",
        503: "A dependency is unavailable; retry later",
    }
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


def _body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def domain_response(exc: DomainError) -> JSONResponse:
    """The one place a business error becomes an HTTP answer: its code, message and status."""
    headers = None
    if isinstance(exc, TemporarilyUnavailable) or exc.http_status == 503:
        headers = {"Retry-After": str(TemporarilyUnavailable.retry_after_s)}
    return JSONResponse(_body(exc.code, exc.message), status_code=exc.http_status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_response(exc)

    @app.exception_handler(TemporalError)
    async def _temporal(_: Request, exc: TemporalError) -> JSONResponse:
        # A workflow's or an activity's refusal comes back as the same DomainError; anything the
        # codec does not know (an outage, a timeout, a bug) is a 503, never a 422 with its text.
        err = decode(exc)
        if err.http_status >= 500:
            log.warning("temporal failure", extra={"error": f"{type(exc).__name__}: {exc}"[:300]})
        return domain_response(err)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{_field(tuple(e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()
        )
        return JSONResponse(_body("invalid", problems or "Invalid request."), status_code=422)

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, exc: OperationalError) -> JSONResponse:
        # The database went away mid-request (a restart drops pooled connections once). Tills
        # resend with the same client id and other writes take an Idempotency-Key: a retry is safe.
        log.warning("database unavailable", extra={"error": str(exc.orig)[:300]})
        return JSONResponse(
            _body("unavailable", "The database did not answer; please try again."),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)
