"""A pytest plugin that records the histories of the workflows the tests it runs start.

Load it with `-p history_recorder` and TILLFLOW_RECORD_HISTORIES=1 (tests/histories/record.py does
both). Before each Temporal test environment of the session shuts down (the suite's dev server,
the fulfilment time-skipping server, any a test starts) it reads every workflow that ran there —
listed through visibility where the server has it, else the ids the tests started, plus their
children — and keeps, per workflow type, one history for each path not committed yet
(history_files.path_signature). A kept history is:
- decrypted (the payloads are the tests' fake data; no key needed to replay it),
- stripped of worker / client identities (host names),
- replayed at once against the current code, and dropped if that fails (a test's stand-in
  workflow of the same name, say),
- written to tests/histories/<WorkflowType>/<test module>--<test name>.json.

Histories of failed tests are not kept. Existing files are never rewritten: old histories stay
until retired by hand (docs/operations.md, "Upgrading running workflows").
TILLFLOW_RECORD_TYPES=Sale,OnlineOrder limits recording to those workflow types."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from history_files import (
    HISTORIES,
    IDENTITY,
    REPLAY_CONVERTER,
    history_files,
    load,
    messages,
    path_signature,
    payloads,
    slug,
    workflow_classes,
    workflow_type,
    workflow_type_names,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.client._impl import _ClientImpl
from temporalio.service import RPCError
from temporalio.testing import _workflow as testing_impl
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from tillflow.payloads import DATA_CONVERTER, ENCRYPTED
from tillflow.workers import sandbox_runner

MAX_EVENTS = 2_000  # a longer history (a long-lived loop) adds replay time, not a new path

_current = ["session"]  # the node id of the test running now
_intervals: list[tuple[datetime, datetime, str]] = []  # (start, end, node id) per test
_started: dict[tuple[int, str], str] = {}  # (service client, workflow id) -> node id
_failed: set[str] = set()
_seen: set[tuple[str, tuple[str, ...]]] = set()  # (type, path signature) committed or written
_written: list[Path] = []
_dropped: list[str] = []
_replayer: list[Replayer] = []
_read: dict[str, int] = {}  # workflow type -> histories read


def _only() -> set[str]:
    raw = os.environ.get("TILLFLOW_RECORD_TYPES", "")
    return {t.strip() for t in raw.split(",") if t.strip()}


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("TILLFLOW_RECORD_HISTORIES") != "1":
        raise pytest.UsageError("history_recorder records only with TILLFLOW_RECORD_HISTORIES=1")
    for path in history_files():
        history = load(path)
        _seen.add((workflow_type(history), path_signature(history)))
    _patch_client()
    _patch_environments()


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("TILLFLOW_RECORD_HISTORIES") != "1":
        return
    out = sys.stderr
    read = ", ".join(f"{kind} {n}" for kind, n in sorted(_read.items()))
    print(f"\nhistory_recorder: read {read or 'nothing'}", file=out)
    print(f"history_recorder: {len(_written)} new histories", file=out)
    for path in _written:
        print(f"  + {path.relative_to(HISTORIES.parent.parent)}", file=out)
    for line in _dropped:
        print(f"  - {line}", file=out)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    _current[0] = item.nodeid
    start = datetime.now(UTC)
    try:
        return (yield)
    finally:
        _intervals.append((start, datetime.now(UTC), item.nodeid))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _failed.add(report.nodeid)


# ---- seeing which workflows ran ---------------------------------------------------------------


def _patch_client() -> None:
    start_workflow = _ClientImpl.start_workflow
    update_with_start = _ClientImpl.start_update_with_start_workflow

    async def recording_start(self: _ClientImpl, input: Any) -> Any:
        _started.setdefault((id(self._client.service_client), input.id), _current[0])
        return await start_workflow(self, input)

    async def recording_update_with_start(self: _ClientImpl, input: Any) -> Any:
        key = (id(self._client.service_client), input.start_workflow_input.id)
        _started.setdefault(key, _current[0])
        return await update_with_start(self, input)

    _ClientImpl.start_workflow = recording_start  # type: ignore[method-assign]  # patched to record
    _ClientImpl.start_update_with_start_workflow = recording_update_with_start  # type: ignore[method-assign]  # patched


def _patch_environments() -> None:
    for cls in vars(testing_impl).values():
        if not (
            isinstance(cls, type)
            and issubclass(cls, testing_impl.WorkflowEnvironment)
            and "shutdown" in vars(cls)
        ):
            continue
        original: Callable[[Any], Awaitable[None]] = cls.shutdown

        def wrap(original: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
            async def shutdown(self: testing_impl.WorkflowEnvironment) -> None:
                if not getattr(self, "_histories_recorded", False):
                    self._histories_recorded = True  # type: ignore[attr-defined]  # our own flag
                    await _record_all(self.client)
                await original(self)

            return shutdown

        cls.shutdown = wrap(original)  # type: ignore[method-assign,assignment]  # patched to record


def _attribute(started: datetime | None) -> str:
    """The test during which a workflow started (the current one if after every finished one)."""
    if started is not None:
        for begin, end, nodeid in _intervals:
            if begin <= started <= end:
                return nodeid
        if _intervals and started < _intervals[0][0]:
            return "session"
    return _current[0]


async def _record_all(client: Client) -> None:
    known = workflow_type_names()
    only = _only()
    wanted = (only & known) if only else known
    todo: list[tuple[str, str | None, str]] = []  # (workflow id, run id, node id)
    listed: set[str] = set()
    try:
        found = [wf async for wf in client.list_workflows()]
        found.sort(key=lambda wf: wf.start_time)
        for wf in found:
            listed.add(wf.id)
            if wf.workflow_type in wanted:
                todo.append((wf.id, wf.run_id, _attribute(wf.start_time)))
    except RPCError:
        pass  # the time-skipping test server has no visibility: the started ids below
    key = id(client.service_client)
    for (service, wid), nodeid in _started.items():
        if service == key and wid not in listed:
            todo.append((wid, None, nodeid))
    done: set[tuple[str, str | None]] = set()
    while todo:
        wid, run_id, nodeid = todo.pop(0)
        if (wid, run_id) in done:
            continue
        done.add((wid, run_id))
        try:
            history = await client.get_workflow_handle(wid, run_id=run_id).fetch_history()
        except RPCError:
            continue  # started on another server
        for event in history.events:
            if event.HasField("child_workflow_execution_started_event_attributes"):
                child = event.child_workflow_execution_started_event_attributes
                ex = child.workflow_execution
                if child.workflow_type.name in wanted:
                    todo.append((ex.workflow_id, ex.run_id, nodeid))
        started = history.events[0].workflow_execution_started_event_attributes
        started.workflow_id = started.workflow_id or history.workflow_id  # for the replay
        kind = workflow_type(history)
        _read[kind] = _read.get(kind, 0) + 1
        if kind in wanted and nodeid not in _failed:
            await _keep(history, nodeid)


async def _keep(history: WorkflowHistory, nodeid: str) -> None:
    if len(history.events) > MAX_EVENTS:
        return
    await _decrypt(history)
    kind, signature = workflow_type(history), path_signature(history)
    if (kind, signature) in _seen:
        return
    failure = await _replay_failure(history)
    if failure is not None:
        _dropped.append(f"{kind} from {nodeid}: does not replay ({failure})")
        return
    _seen.add((kind, signature))
    folder = HISTORIES / kind
    folder.mkdir(exist_ok=True)
    name = slug(nodeid)
    path, n = folder / f"{name}.json", 2
    while path.exists():
        path, n = folder / f"{name}-{n}.json", n + 1
    path.write_text(history.to_json() + "\n", encoding="utf-8")
    _written.append(path)


async def _decrypt(history: WorkflowHistory) -> None:
    """Payloads in the clear (the tests' fake data), identities without host names."""
    codec = DATA_CONVERTER.payload_codec
    assert codec is not None
    for payload in payloads(history):
        if payload.metadata.get("encoding") == ENCRYPTED:
            payload.CopyFrom((await codec.decode([payload]))[0])
    for event in history.events:
        for msg in messages(event):
            if "identity" in msg.DESCRIPTOR.fields_by_name and msg.identity:
                msg.identity = IDENTITY


async def _replay_failure(history: WorkflowHistory) -> str | None:
    if not _replayer:
        runner = sandbox_runner()
        _replayer.append(
            Replayer(
                workflows=workflow_classes(),
                workflow_runner=runner,
                unsandboxed_workflow_runner=UnsandboxedWorkflowRunner(),
                data_converter=REPLAY_CONVERTER,
            )
        )
    result = await _replayer[0].replay_workflow(history, raise_on_replay_failure=False)
    return None if result.replay_failure is None else str(result.replay_failure)[:300]
