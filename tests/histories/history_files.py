"""The committed workflow histories (tests/histories/<WorkflowType>/<path>.json): which workflow
classes exist, how a history is told apart from another (its "path"), and how they are read back.

Shared by the recorder (history_recorder.py, a pytest plugin) and the replay test
(test_replay_histories.py). See docs/operations.md, "Upgrading running workflows"."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

from google.protobuf.message import Message
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

import workflows
from tillflow.payloads import DATA_CONVERTER

HISTORIES = Path(__file__).resolve().parent

# Replaying reads plain payloads: the recorder decrypts them, so a committed history does not
# depend on TILLFLOW_PAYLOAD_KEY (a rotated key still replays every file).
REPLAY_CONVERTER: DataConverter = dataclasses.replace(DATA_CONVERTER, payload_codec=None)

IDENTITY = "history-recorder"  # replaces the worker / client identities (pid@host)


def workflow_classes() -> list[type]:
    """Every @workflow.defn class of the workflows package (what the workers can run)."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(workflows.__path__, "workflows."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if not isinstance(value, type):
                continue
            defn = workflow._Definition.from_class(value)
            if defn is not None and defn.name is not None and value.__module__ == info.name:
                found[defn.name] = value
    return [found[name] for name in sorted(found)]


def workflow_type_names() -> set[str]:
    """The workflow type names of workflow_classes()."""
    names = set()
    for cls in workflow_classes():
        defn = workflow._Definition.must_from_class(cls)
        assert defn.name is not None
        names.add(defn.name)
    return names


def workflow_type(history: WorkflowHistory) -> str:
    """The workflow type a history was started as."""
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def _token(event: HistoryEvent) -> str | None:
    """What one event says about the path taken (None: nothing)."""
    kind = event.WhichOneof("attributes")
    if kind == "activity_task_scheduled_event_attributes":
        return "activity:" + event.activity_task_scheduled_event_attributes.activity_type.name
    if kind == "marker_recorded_event_attributes":
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_local_activity" and "data" in marker.details:
            data = json.loads(marker.details["data"].payloads[0].data)
            return "local:" + str(data.get("activity_type"))
        if marker.marker_name == "core_patch" and "patch_data" in marker.details:
            data = json.loads(marker.details["patch_data"].payloads[0].data)
            return "patch:" + str(data.get("id"))
        return "marker:" + marker.marker_name
    if kind == "start_child_workflow_execution_initiated_event_attributes":
        child = event.start_child_workflow_execution_initiated_event_attributes
        return "child:" + child.workflow_type.name
    if kind == "workflow_execution_signaled_event_attributes":
        return "signal:" + event.workflow_execution_signaled_event_attributes.signal_name
    if kind == "workflow_execution_update_accepted_event_attributes":
        attrs = event.workflow_execution_update_accepted_event_attributes
        return "update:" + attrs.accepted_request.input.name
    if kind in (
        "activity_task_failed_event_attributes",
        "activity_task_timed_out_event_attributes",
        "timer_started_event_attributes",
        "signal_external_workflow_execution_initiated_event_attributes",
        "request_cancel_external_workflow_execution_initiated_event_attributes",
        "workflow_execution_cancel_requested_event_attributes",
        "child_workflow_execution_failed_event_attributes",
        "workflow_execution_completed_event_attributes",
        "workflow_execution_failed_event_attributes",
        "workflow_execution_continued_as_new_event_attributes",
        "workflow_execution_canceled_event_attributes",
        "workflow_execution_terminated_event_attributes",
        "workflow_execution_timed_out_event_attributes",
        "workflow_task_failed_event_attributes",
    ):
        return kind.removesuffix("_event_attributes")
    return None


def path_signature(history: WorkflowHistory) -> tuple[str, ...]:
    """The path a history took: its activities, patches, children, signals, updates, timers and
    how it ended (still running, completed, failed...), ignoring how often each happened.

    Two histories with the same signature exercise the same code; the recorder keeps one."""
    tokens = {t for t in map(_token, history.events) if t is not None}
    closed = any(
        (_token(e) or "").startswith("workflow_execution_")
        and not (_token(e) or "").startswith("workflow_execution_cancel_requested")
        for e in history.events
    )
    if not closed:
        tokens.add("running")
    return tuple(sorted(tokens))


def history_files() -> list[Path]:
    """Every committed history, by workflow type then name."""
    return sorted(HISTORIES.glob("*/*.json"))


def load(path: Path) -> WorkflowHistory:
    """A committed history, with its workflow's id (child ids and the like are made from it, so
    the replay must use the recorded one; the recorder makes sure the first event holds it)."""
    history = WorkflowHistory.from_json("", path.read_text(encoding="utf-8"))
    started = history.events[0].workflow_execution_started_event_attributes
    return WorkflowHistory(started.workflow_id or f"{path.parent.name}/{path.stem}", history.events)


def messages(msg: Message) -> Iterator[Message]:
    """`msg` and every message inside it (map values and repeated fields too)."""
    yield msg
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    yield from messages(item)
        elif field.is_repeated:
            for item in value:
                yield from messages(item)
        else:
            yield from messages(value)


def payloads(history: WorkflowHistory) -> Iterator[Payload]:
    """Every payload of a history (inputs, results, signals, failures' encoded attributes...)."""
    for event in history.events:
        for msg in messages(event):
            if isinstance(msg, Payload):
                yield msg


def slug(nodeid: str) -> str:
    """A file name from a test's node id: 'tests/x/test_a.py::test_b[c]' -> 'test_a--test_b-c'."""
    module, _, name = nodeid.partition("::")
    text = f"{Path(module).stem}--{name}" if name else Path(module).stem
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:90] or "history"
