"""Where a device worker's printer comes from: the till's record in the back office.

The worker asks the central side (a short TillDevices workflow) before its first job, again once
its answer is older than `refresh_s`, and at once when a print failed — so a printer changed in
/admin/tills is used from the next job (or the next retry of a job stuck on the old printer),
without restarting the worker. A worker that cannot reach the central side keeps printing to
the printer it knew."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from contracts.devices import TILL_DEVICES_TIMEOUT, TillDevices
from devices.printers import PrinterConfig, PrinterUnavailable

log = logging.getLogger("tillflow.devices")
Fetch = Callable[[], Coroutine[Any, Any, TillDevices]]


class PrinterFromRecord:
    """The till's stored printer URL, cached for `refresh_s`; safe to call from activity threads
    while the worker's event loop runs the look-up."""

    def __init__(
        self,
        till_code: str,
        fetch: Fetch,
        loop: asyncio.AbstractEventLoop,
        *,
        refresh_s: float = 60.0,
        fallback_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.till_code = till_code
        self.fetch = fetch
        self.loop = loop
        self.refresh_s = refresh_s
        self.fallback_url = fallback_url
        self.clock = clock
        self._url: str | None = None
        self._asked_at: float | None = None
        self._lock = threading.Lock()

    def url(self, *, force: bool = False) -> str:
        """The printer URL to use for the job at hand (from an activity thread)."""
        with self._lock:
            stale = self._asked_at is None or self.clock() - self._asked_at >= self.refresh_s
            if force or stale:
                self._ask()
            if self._url:
                return self._url
        if self.fallback_url:
            return self.fallback_url
        raise PrinterUnavailable(
            f"till {self.till_code} has no printer on its record yet; set printer_url at "
            f"/admin/tills/{self.till_code}"
        )

    def _ask(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self.fetch(), self.loop)
        try:
            found = future.result(TILL_DEVICES_TIMEOUT.total_seconds() + 1)
        except (FutureTimeout, Exception) as err:  # noqa: BLE001 - keep the last known printer
            future.cancel()
            log.warning("till %s: kept printer %s (%s)", self.till_code, self._url, err)
            return
        self._take(found)

    def _take(self, found: TillDevices) -> str | None:
        self._asked_at = self.clock()
        if not found.found or not found.active:
            log.warning("till %s is %s", self.till_code, "closed" if found.found else "unknown")
        url = found.printer_url.strip()
        if url:
            try:
                PrinterConfig.parse(url)
            except ValueError as err:  # the API validates; a hand-edited row must not crash us
                log.warning("till %s: stored printer ignored: %s", self.till_code, err)
                url = ""
        if url != (self._url or ""):
            log.info("till %s now prints to %s", self.till_code, url or "(none)")
        self._url = url or None
        return self._url
