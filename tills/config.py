"""How a till agent is set up: which till, where the central API is, which devices it drives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AgentConfig:
    till: str
    api_url: str  # the central API, e.g. http://10.0.0.2:8000
    data_dir: Path  # the journal, job log and snapshot live here
    host: str = "127.0.0.1"  # the page is for this machine only
    port: int = 8100
    printer_url: str | None = None  # offline receipts and drawer kicks go here directly
    scanner: str | None = None  # device path or pyserial URL
    probe_interval: float = 5.0  # how often the link is checked
    upload_interval: float = 5.0  # how often waiting sales are offered while online
    upload_batch: int = 25
    upload_wait: float = 20.0  # how long the central side may take per batch before answering 202
    snapshot_refresh: float = 300.0  # the catalogue is fetched again this often while online
    # ... and as soon as the central catalogue version moved, asked this often (one tiny call).
    version_poll: float = 10.0
    printer_poll: float = 3.0  # how often the printer's status is read
    # A hung central system holds a cash sale this long before the till sells it offline ...
    cash_timeout: float = 2.5
    # ... and a sale with a card as long as the card flow needs (above the API's payment deadline);
    # without an answer then, the sale stays open: a card that may be charged is never taken again.
    card_timeout: float = 180.0

    @property
    def journal_path(self) -> Path:
        return self.data_dir / f"{self.till}.journal.sqlite"

    @property
    def device_jobs_path(self) -> Path:
        return self.data_dir / f"{self.till}.jobs.sqlite"
