"""The one codec between business errors (`domain/errors.py`) and Temporal failures.

An activity raises a `DomainError`; `encode_errors` (on its class) turns it into a non-retryable
`ApplicationError` whose type is the error's class name and whose first detail carries its code
and data. A workflow that refuses raises `to_failure(err)`. Whoever catches a Temporal failure
(a workflow around an activity or child, the API around an update or a result) calls
`from_failure` and gets the same `DomainError` back, however deep the chain of
`ActivityError` / `ChildWorkflowError` / `WorkflowUpdateFailedError` / `WorkflowFailureError`.
A failure that carries no business error is not a refusal: `decode` makes it a
`TemporarilyUnavailable` (503), never a 422 with an exception's text.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio.exceptions import ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeout

# Imported for their side effect too: each module's DomainError subclasses register themselves.
import domain.offline
import domain.picking
import domain.routing
from domain.errors import DomainError, TemporarilyUnavailable, registered

__all__ = [
    "DomainError",
    "as_workflow_failure",
    "decode",
    "encode_errors",
    "failure_message",
    "from_failure",
    "refusal",
    "timed_out",
    "to_failure",
]

_ = (domain.offline, domain.picking, domain.routing)
_MARK = "tillflow.domain_error"  # the key of the detail that says "this is a business error"
_SKIP = frozenset({"message", "code", "args"})
T = TypeVar("T")


def _plain(value: Any) -> Any:
    """`value` as JSON-safe data, or raise TypeError: only such data crosses with the error."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def _data(err: DomainError) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in vars(err).items():
        if key in _SKIP or key.startswith("_"):
            continue
        try:
            out[key] = _plain(value)
        except TypeError:
            continue  # e.g. a traceback or a session: not the client's business
    return out


def to_failure(err: DomainError) -> ApplicationError:
    """A business refusal as a non-retryable Temporal failure that `from_failure` turns back."""
    detail = {_MARK: True, "code": err.code, "status": err.http_status, "data": _data(err)}
    return ApplicationError(err.message, detail, type=type(err).__name__, non_retryable=True)


def _rebuild(failure: ApplicationError) -> DomainError | None:
    cls = registered().get(failure.type or "")
    detail = failure.details[0] if failure.details else None
    marked = isinstance(detail, dict) and detail.get(_MARK) is True
    if cls is None:
        if not marked:
            return None
        cls = DomainError  # a class this side does not know: keep its code and status text
    err = cls.__new__(cls)
    Exception.__init__(err, failure.message)
    err.message = failure.message
    if marked:
        assert isinstance(detail, dict)
        data = detail.get("data")
        if isinstance(data, dict):
            err.__dict__.update(data)
        code = detail.get("code")
        if isinstance(code, str) and code:
            err.code = code
    return err


def from_failure(exc: BaseException | None) -> DomainError | None:
    """The business error somewhere in this failure's chain, or None when there is none."""
    seen = 0
    while exc is not None and seen < 16:
        if isinstance(exc, DomainError):
            return exc
        if isinstance(exc, ApplicationError):
            found = _rebuild(exc)
            if found is not None:
                return found
        exc = getattr(exc, "cause", None) or exc.__cause__
        seen += 1
    return None


def decode(exc: BaseException) -> DomainError:
    """The business error behind a failure, or `TemporarilyUnavailable` when it is not one."""
    return from_failure(exc) or TemporarilyUnavailable(
        "The service did not answer as expected; please try again in a moment."
    )


def _encoding(fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except DomainError as err:
                raise to_failure(err) from None

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as err:
            raise to_failure(err) from None

    return run


def encode_errors(cls: type[T]) -> type[T]:
    """Class decorator for activity classes: a `DomainError` leaves each activity encoded.

    Put it above the class; every method carrying `@activity.defn` is wrapped (its definition is
    kept, so the worker registers it as before)."""
    for name, member in list(vars(cls).items()):
        if callable(member) and hasattr(member, "__temporal_activity_definition"):
            setattr(cls, name, _encoding(member))
    return cls


def refusal(exc: BaseException | None) -> DomainError | None:
    """The business refusal behind a failure (4xx), or None for an outage, timeout or bug."""
    found = from_failure(exc)
    return found if found is not None and found.http_status < 500 else None


def failure_message(exc: BaseException) -> str:
    """The innermost explanation in a failure chain (an activity's own message, not the
    wrapper's)."""
    message, seen = str(exc), 0
    current: BaseException | None = exc
    while current is not None and seen < 16:
        if isinstance(current, ApplicationError | TemporalTimeout) and current.message:
            message = current.message
        current = getattr(current, "cause", None) or current.__cause__
        seen += 1
    return message


def timed_out(exc: BaseException | None) -> bool:
    """True when the failure chain ends in a Temporal timeout (the step may succeed later)."""
    seen = 0
    while exc is not None and seen < 16:
        if isinstance(exc, TemporalTimeout):
            return True
        exc = getattr(exc, "cause", None) or exc.__cause__
        seen += 1
    return False


def as_workflow_failure(exc: BaseException) -> ApplicationError:
    """What a workflow fails (or an update refuses) with after a step failed: a business error
    re-encoded as itself, anything else with its message and type kept, never retried."""
    found = from_failure(exc)
    if found is not None:
        return to_failure(found)
    inner: BaseException | None = exc
    kind = "InternalError"
    while inner is not None:
        if isinstance(inner, ApplicationError):
            kind = inner.type or kind
        inner = getattr(inner, "cause", None)
    return ApplicationError(failure_message(exc), type=kind, non_retryable=True)
