"""What a report's loader and builder may know besides the data: where the Temporal UI is (links
to each row's workflow), when the report is made (ages), and deployment settings it needs (the
account map). Plain data, so loaders (db/) and builders (reports/) can both take it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ReportContext:
    ui_base: str = ""
    namespace: str = "default"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    options: Mapping[str, Any] = field(default_factory=dict)


def context_for(
    ui_url: str, ui_port: int, namespace: str, options: Mapping[str, Any] | None = None
) -> ReportContext:
    """The context of a deployment: its Temporal UI (the local dev server's when none is set)
    and the settings reports read (`account_map`, `xero_tax_rate`)."""
    return ReportContext(
        ui_base=ui_url or f"http://127.0.0.1:{ui_port}",
        namespace=namespace,
        options=dict(options or {}),
    )
