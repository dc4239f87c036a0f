"""Every log line a test's calls produce, with every logger at DEBUG: for scans of what the logs
must never hold (bearer codes, secrets)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tillflow.logs import JsonFormatter


@contextmanager
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Root and every logger known so far at DEBUG (those made later inherit it from root), and
    those that do not propagate to root heard too; caplog puts each level back when the test
    ends, the extra handlers go when the block does."""
    caplog.set_level(logging.DEBUG)
    deaf: list[logging.Logger] = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                deaf.append(logger)
    try:
        yield
    finally:
        for logger in deaf:
            logger.removeHandler(caplog.handler)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """What the captured records say, formatted as the service logs them (message, extra
    fields, exception and traceback), one record a line."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)
