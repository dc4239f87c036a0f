"""A middleware receiver for outbound events in tests: a real HTTP server on 127.0.0.1 (ephemeral
port) that verifies `Tillflow-Signature` on the raw body, dedupes by event id as a receiver must,
and can refuse deliveries on purpose."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domain.events import SIGNATURE_HEADER, verify


@dataclass
class Delivery:
    event_id: str
    type: str
    entity: str
    body: dict[str, Any]
    signature: str
    verified_with: tuple[str, ...]  # which of the receiver's secrets matched
    status: int


@dataclass
class EventReceiver:
    secrets: list[str] = field(default_factory=list)
    fail_all: bool = False
    fail_first: dict[str, int] = field(default_factory=dict)  # event id -> refusals left
    deliveries: list[Delivery] = field(default_factory=list)
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)  # deduped by event id
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/tillflow"

    def start(self) -> EventReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.receive(raw, self.headers.get(SIGNATURE_HEADER, ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def receive(self, raw: bytes, signature: str) -> int:
        now = int(time.time())
        with self.lock:
            matched = tuple(s for s in self.secrets if verify(signature, raw, s, now))
            body = json.loads(raw)
            event_id = str(body.get("id", ""))
            if not matched:
                status = 401
            elif self.fail_all:
                status = 500
            elif self.fail_first.get(event_id, 0) > 0:
                # Processed, then the answer was lost: tillflow must send it again.
                self.fail_first[event_id] -= 1
                self.processed.setdefault(event_id, body)
                status = 503
            else:
                self.processed.setdefault(event_id, body)  # a redelivery changes nothing
                status = 200
            self.deliveries.append(
                Delivery(
                    event_id=event_id,
                    type=str(body.get("type", "")),
                    entity=str(body.get("entity", "")),
                    body=body,
                    signature=signature,
                    verified_with=matched,
                    status=status,
                )
            )
            return status

    def accepted(self) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.status == 200]
