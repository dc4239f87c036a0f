"""Bad input is refused at the door, once for every route, before anything reaches SQL.

One ASGI middleware, in front of the whole app:

- a body over its route group's size limit is a 413 `too_large` (see `api/body_limits.py`);
- a control character in the path (so in any path parameter), in a query parameter's name or
  value, in a header value, or in any string (key or value) of a JSON body is a 422 `invalid`.
  PostgreSQL refuses NUL in text and JSONB outright, and the rest (escape sequences, C1 controls,
  lone UTF-16 surrogates that psycopg cannot encode) are never meant input. Free text in a body
  may hold tab, line feed and carriage return; paths, queries and headers may not;
- a JSON body with numbers no column can hold (beyond a signed 64-bit integer, NaN, infinities)
  or nested beyond what the parser can take is a 422 `invalid` too.

Every refusal is the usual `{"error": {"code": ..., "message": ...}}` shape and names the field.
The body is buffered once here, within its limit, and handed on unchanged: FastAPI and the
webhooks (which verify signatures over the raw bytes) read it as if from the client.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_limits import (
    BadContentLength,
    BodyLimits,
    BodyTooLarge,
    ClientGone,
    declared_length,
    read_body,
)
from tillflow.settings import Settings

# C0 and C1 control characters and lone surrogates; the body variant lets \t \n \r through.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_HEADER = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# The bytes through which a control character or a lone surrogate can get into a parsed JSON
# string: a backslash (escapes: \u0000, \ud800, \b, ...), raw C0 controls and DEL (invalid JSON in
# UTF-8, but UTF-16 text is full of NULs), and the UTF-8 lead bytes of C1 controls (\xc2) and of
# surrogates (\xed). A body without any of them needs no look at its strings.
_STRING_SUSPECTS = (
    b"\\" + bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f\xc2\xed"
)
_NOT_SUSPECT = bytes(b for b in range(256) if b not in _STRING_SUSPECTS)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_JSON_TYPES = re.compile(r"^application/([a-z0-9.+-]*\+)?json\b", re.IGNORECASE)


class Refused(Exception):
    """The request is bad input; the message says where and why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _describe(text: str, where: str, pattern: re.Pattern[str] = _CONTROL) -> str:
    found = pattern.search(text)
    point = ord(found.group()) if found else 0
    kind = "a lone surrogate" if 0xD800 <= point <= 0xDFFF else "a control character"
    return f"{where} contains {kind} (U+{point:04X}); remove it."


def check_path(path: str) -> None:
    if _CONTROL.search(path):
        raise Refused(422, "invalid", _describe(path, "The path"))


def check_query(query_string: bytes) -> None:
    """The query parameters as Starlette will decode them (percent-decoded UTF-8)."""
    if not query_string:
        return
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if _CONTROL.search(name):
            raise Refused(422, "invalid", _describe(name, "A query parameter's name"))
        if _CONTROL.search(value):
            raise Refused(422, "invalid", _describe(value, f"Query parameter {name!r}"))


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    for name, value in headers:
        if _CONTROL_IN_HEADER.search(value):
            label = name.decode("latin-1")
            raise Refused(422, "invalid", f"Header {label!r} contains a control character.")


def strings_may_hold_controls(body: bytes) -> bool:
    """False when no string parsed from this body can hold a control or a surrogate (a fast
    byte test; a true answer only means the strings are looked at)."""
    return bool(body.translate(None, _NOT_SUSPECT))


def _number_refused(text: str) -> Refused:
    shown = text if len(text) <= 30 else f"{text[:27]}..."
    return Refused(422, "invalid", f"The body holds the number {shown}, which no field can hold.")


def _int(text: str) -> int:
    # Checked before int(): a 4,000-digit literal is refused without being converted.
    if len(text) > 20 or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise _number_refused(text)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise _number_refused(text)
    return value


def _constant(text: str) -> Any:
    """NaN, Infinity, -Infinity: Python's json takes them; JSON has no such numbers."""
    raise _number_refused(text)


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def _strings(value: Any) -> list[str]:
    """Every string in a parsed body, keys included."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            out.append(item)
        elif type(item) is dict:
            out.extend(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return out


def _bad_string_at(value: Any) -> str:
    """The refusal message for the first bad string, naming its field (the slow path)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        field = ".".join(str(p) for p in path) or "body"
        if isinstance(item, str) and _CONTROL_IN_TEXT.search(item):
            return _describe(item, f"Field {field!r}", _CONTROL_IN_TEXT)
        if isinstance(item, dict):
            for key, child in item.items():
                if _CONTROL_IN_TEXT.search(key):
                    return _describe(key, f"A key in {field!r}", _CONTROL_IN_TEXT)
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, i)) for i, child in enumerate(item))
    return "The body contains a control character; remove it."


def check_json(body: bytes) -> None:
    """Refuse a JSON body holding controls, lone surrogates, or numbers no column can hold.

    A body that is not JSON at all is left to the route (a 422 from FastAPI, or the webhooks' own
    400), unless it holds a NUL byte, which nothing accepts."""
    try:
        # As json.loads(bytes) decodes (UTF-8/16/32, lone surrogates passed through), on a decoder
        # built once.
        value = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except Refused:
        raise
    except RecursionError:
        raise Refused(422, "invalid", "The body is nested too deeply.") from None
    except ValueError as err:  # JSONDecodeError, a bad encoding
        if b"\x00" in body:
            raise Refused(422, "invalid", "The body contains a NUL byte; remove it.") from None
        if not isinstance(err, json.JSONDecodeError | UnicodeDecodeError):
            raise Refused(422, "invalid", f"The body is not valid JSON: {err}.") from None
        return
    if strings_may_hold_controls(body) and _CONTROL_IN_TEXT.search("".join(_strings(value))):
        raise Refused(422, "invalid", _bad_string_at(value))


def parsed_as_json(path: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether this body will be read as JSON: FastAPI does when there is no content type or a
    JSON one; the webhooks parse their raw body whatever it says."""
    if path.startswith("/webhooks/"):
        return True
    types = [v.strip() for k, v in headers if k == b"content-type"]
    return not types or not types[0] or _JSON_TYPES.match(types[0].decode("latin-1")) is not None


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class InputGuard:
    """The ASGI middleware: size limits, then path, query, headers and body checks."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        group = self.limits.group(scope["path"])
        limit = self.limits.limit(group)
        try:
            declared = declared_length(scope["headers"])
            if declared is not None and declared > limit:
                raise BodyTooLarge(group, limit)
            check_path(scope["path"])
            check_query(scope.get("query_string", b""))
            check_headers(scope["headers"])
            body = await read_body(receive, group, limit)
            if body and parsed_as_json(scope["path"], scope["headers"]):
                check_json(body)
        except BodyTooLarge as err:
            await _refusal(
                413, "too_large", f"The request body is over the {err.limit} bytes allowed here."
            )(scope, receive, send)
            return
        except BadContentLength as err:
            await _refusal(400, "malformed", f"{err}.")(scope, receive, send)
            return
        except Refused as err:
            await _refusal(err.status, err.code, err.message)(scope, receive, send)
            return
        except ClientGone:
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Put the guard in front of every route of the app."""
    app.add_middleware(InputGuard, limits=BodyLimits.from_settings(settings))
