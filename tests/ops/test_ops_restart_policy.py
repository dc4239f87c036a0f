"""The supervisor's restart policy and its verdict on PostgreSQL and Temporal, without processes:
backoff doubling to its cap, the limit per window, a line per exit in the child's log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tillflow import stack
from tillflow.settings import Settings


class Exited:
    """Stands in for a Popen that has exited with `code`."""

    def __init__(self, code: int) -> None:
        self.returncode = code
        self.pid = 4242

    def poll(self) -> int:
        return self.returncode


def _child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stack.Child:
    def start(self: stack.Child) -> None:  # no process: every start exits at once
        self.proc = Exited(3)  # type: ignore[assignment]  # a Popen stand-in
        self.restart_at = None

    monkeypatch.setattr(stack.Child, "start", start)
    (tmp_path / "logs").mkdir()
    return stack.Child("devices-BER1", ["devices"], {}, tmp_path / "logs")


def test_backoff_doubles_to_its_cap_and_the_limit_waits_for_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = stack.Supervisor(
        Settings(up_restart_limit=4, up_restart_window_s=100, up_restart_backoff_max_s=3)
    )
    child = sup.add(_child(tmp_path, monkeypatch))
    now, waits = 1.0, []
    for _ in range(5):
        sup.tick(now)  # sees the exit, schedules the restart
        assert child.restart_at is not None
        waits.append(round(child.restart_at - now, 2))
        now = child.restart_at
        sup.tick(now)  # restarts it
        child.started_at = now
    # 0.5, 1, 2, then the 3 s cap; the fifth restart in 100 s waits for the first (at 1.5) to
    # leave the window: the fifth exit at 7.5 waits until 101.5.
    assert waits == [0.5, 1.0, 2.0, 3.0, 94.0]
    log = (tmp_path / "logs" / "devices-BER1.log").read_text()
    assert log.count("devices-BER1 exited with code 3") == 5
    assert log.count("devices-BER1 restarted") == 5
    assert "restart limit: 4 in 100 s reached" in log


def test_a_child_that_ran_a_minute_restarts_at_the_first_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sup = stack.Supervisor(Settings())
    child = sup.add(_child(tmp_path, monkeypatch))
    child.quick_exits = 5  # it had been crashing…
    sup.tick(stack.STABLE_S + 1)  # …but this time it ran for over a minute
    assert child.restart_at == pytest.approx(stack.STABLE_S + 1 + stack.FIRST_BACKOFF_S)


def test_only_postgres_or_temporal_down_for_good_stops_the_stack(tmp_path: Path) -> None:
    services = stack.Services(
        Settings(up_service_retries=2), tmp_path, "postgresql://x@127.0.0.1:1/x", "h:1", None, None
    )
    state: dict[str, Any] = {"pg": True, "tries": 0}

    def restart() -> None:
        state["tries"] += 1

    services._pg_alive = lambda: state["pg"]  # type: ignore[method-assign]  # no server here
    services._temporal_alive = lambda: True  # type: ignore[method-assign]  # no server here
    services._pg_restart = restart  # type: ignore[method-assign]  # records the restart
    assert services.check(0) is None
    state["pg"] = False
    assert services.check(10) is None and services.check(20) is None  # two tries to bring it back
    assert state["tries"] == 2
    state["pg"] = True  # it came back: the count starts again
    assert services.check(30) is None
    state["pg"] = False
    assert services.check(40) is None and services.check(50) is None
    verdict = services.check(60)
    assert verdict == "PostgreSQL is down and did not come back after 2 tries"
