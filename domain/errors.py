"""One tree of business errors; each carries a stable code and the HTTP status the API maps it to."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; the message is written for the person at the till."""

    code = "domain_error"
    http_status = 422

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class InvalidRequest(DomainError):
    code = "invalid"
    http_status = 422


class InsufficientTender(InvalidRequest):
    code = "insufficient_tender"
