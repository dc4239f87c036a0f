"""The audit-trail tests. One of them verifies the suite's whole database: it runs last, after
every other test of the run has written its audit rows."""

from __future__ import annotations

import pytest

LAST = "test_the_suites_database_verifies"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    last = [i for i in items if i.name == LAST]
    items[:] = [i for i in items if i.name != LAST] + last
