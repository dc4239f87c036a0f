"""Debian's headless Chromium for the page tests (driven by playwright, never `playwright
install`): where it is, how it is started, and the mark that skips a test without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian chromium is not installed at /usr/bin/chromium "
    "(`make test` installs it when run as root)",
)


async def launch(pw: Any) -> Any:
    """A headless browser of playwright `pw` (an async_playwright() context)."""
    return await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
