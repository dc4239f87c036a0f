"""A small threaded HTTP server on 127.0.0.1 (ephemeral port) for the web-store API fakes in
tests."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    reply: Reply
    times: int


Handler = Callable[[Seen, re.Match[str]], Reply]


class FakeHttpServer:
    """Routes (method, path regex) to handlers; records every request; can fail the next N on
    purpose."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.seen: list[Seen] = []
        self.faults: list[_Fault] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- set-up ------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def fail_next(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` matching requests get this answer instead of the real one."""
        with self.lock:
            self.faults.append(
                _Fault(method, re.compile(pattern), Reply(status, body, headers or {}), times)
            )

    def start(self) -> FakeHttpServer:
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                owner._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def requests(self, method: str | None = None, path_contains: str = "") -> list[Seen]:
        with self.lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and path_contains in s.path
            ]

    # ---- per request -------------------------------------------------------------------------

    def authorized(self, seen: Seen) -> Reply | None:
        """None when the request may proceed; otherwise the refusal (subclasses check
        credentials)."""
        return None

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        seen = Seen(
            h.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in h.headers.items()},
            body,
            time.monotonic(),
        )
        with self.lock:
            self.seen.append(seen)
            reply = self.authorized(seen) or self._fault(seen)
            if reply is None:
                reply = self._route(seen)
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        h.send_response(reply.status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _fault(self, seen: Seen) -> Reply | None:
        for f in self.faults:
            if f.times > 0 and f.method == seen.method and f.pattern.search(seen.path):
                f.times -= 1
                return f.reply
        return None

    def _route(self, seen: Seen) -> Reply:
        for method, pattern, handler in self.routes:
            m = pattern.match(seen.path)
            if m and method == seen.method:
                return handler(seen, m)
        return self.not_found()

    def not_found(self) -> Reply:
        return Reply(404, {"errors": "Not Found"})
