"""Server-sent events from the till agent to its page: scans, and status changes (link, uploads,
printer)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

KEEPALIVE_SECONDS = 15.0
MAX_BACKLOG = 10_000  # a page this far behind is gone; it reconnects and starts afresh


class EventHub:
    """Fan-out of events to every open page; safe to publish from any thread."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, event: dict[str, Any]) -> None:
        """Send to every subscriber; call from the agent's event loop."""
        for queue in list(self._subscribers):
            if queue.qsize() >= MAX_BACKLOG:
                self._subscribers.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(event)

    def publish_threadsafe(self, event: dict[str, Any]) -> None:
        """Send from another thread (the scanner's)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.publish, event)

    def close(self) -> None:
        """End every stream (shutdown), so open pages do not hold the server up."""
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()

    async def stream(self, first: dict[str, Any] | None = None) -> AsyncIterator[str]:
        """One page's event stream in SSE framing, starting with the current status."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            # Tells the page (and tests) the subscription is live before any scan is sent.
            yield "retry: 1000\n\n"
            if first is not None:
                yield _frame(first)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                yield _frame(event)
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def _frame(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
