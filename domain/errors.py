"""One tree of business errors; each carries a stable code and the HTTP status the API maps it to.

Every class here (and every subclass elsewhere in domain/) registers itself by name, so the codec in
`contracts/errors.py` can carry any of them through Temporal and rebuild the same error on the
other side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

_REGISTRY: dict[str, type[DomainError]] = {}


class DomainError(Exception):
    """A business rule refused the request; the message is written for the person at the till."""

    code: str = "domain_error"  # an instance may refine its class's code
    http_status: ClassVar[int] = 422

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls


_REGISTRY[DomainError.__name__] = DomainError


def registered() -> dict[str, type[DomainError]]:
    """Every DomainError class known so far, by class name (what travels through Temporal)."""
    return dict(_REGISTRY)


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


class OutOfStock(Conflict):
    """Fewer units available to promise than asked for; nothing of the basket was held."""

    code = "out_of_stock"

    def __init__(self, location_id: int, sku: str, wanted: int) -> None:
        super().__init__(
            f"{sku}: fewer than {wanted} available to promise at location {location_id}."
        )
        self.location_id, self.sku, self.wanted = location_id, sku, wanted


class InsufficientBalance(Conflict):
    """A gift card or store credit holds less than the amount asked of it."""

    code = "insufficient_balance"


class OfflineRefused(InvalidRequest):
    """A tender the till may not take while offline; the message says what to do instead."""

    code = "offline_refused"


class WrongItem(InvalidRequest):
    """The picker scanned something that is not (or not that many) on the pick list."""

    code = "wrong_item"


class PickIncomplete(InvalidRequest):
    """The picker reported a pick that is missing units."""

    code = "pick_incomplete"


class LimitReached(DomainError):
    """A cap on what one caller may hold at once (open carts, say) is reached: nothing was made;
    the message says what to finish or wait for first."""

    code = "limit_reached"
    http_status = 429


class TemporarilyUnavailable(DomainError):
    """A dependency did not answer (or failed in a way no business rule explains): retry later.

    Never a refusal: the till treats it as "offline" and keeps selling."""

    code = "temporarily_unavailable"
    http_status = 503
    retry_after_s: ClassVar[int] = 1


# ---- catalogue (issue 14) ----


@dataclass(frozen=True)
class CatalogProblem:
    """One broken catalogue rule: where (e.g. "variants[0].barcodes[1]"), a stable code, and what
    to fix."""

    field: str
    code: str
    message: str


class CatalogInvalid(InvalidRequest):
    """A catalogue edit broke one or more rules; `problems` lists every one (nothing was saved).

    Its code is the problems' code when they share one (e.g. "bad_barcode"), else "invalid"."""

    def __init__(self, problems: Sequence[CatalogProblem]) -> None:
        self.problems = tuple(problems)
        codes = {p.code for p in self.problems}
        parts = [f"{p.field}: {p.message}" if p.field else p.message for p in self.problems]
        super().__init__(
            "; ".join(parts) or "The catalogue entry is not valid.",
            code=codes.pop() if len(codes) == 1 else "invalid",
        )


# ---- catalogue sync (issue 14) ----


# ---- stores, tills and staff (issue 14) ----


# ---- stock operations (issue 14) ----


# ---- transfers and counts (issue 14) ----
