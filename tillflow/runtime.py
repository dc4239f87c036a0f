"""How a tillflow process runs: its event loop and its long-lived heap."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a worker process's main coroutine on uvloop where it is installed (as uvicorn does for
    the API), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def freeze_startup_objects() -> None:
    """Modules, clients and workers live as long as the process: out of the garbage collector's
    way, so a full collection in the middle of a sale scans only what the sales made."""
    gc.collect()
    gc.freeze()
