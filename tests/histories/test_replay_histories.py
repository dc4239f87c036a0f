"""Every committed workflow history replays against the current workflow code.

A change to a workflow that running workflows (an OnlineOrder waiting days for its pickup, a Sale's
device step retrying for a day) cannot replay fails here: guard it with `workflow.patched(...)`
(docs/operations.md, "Upgrading running workflows"). New histories: tests/histories/record.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from history_files import (
    HISTORIES,
    IDENTITY,
    REPLAY_CONVERTER,
    history_files,
    load,
    messages,
    payloads,
    workflow_classes,
    workflow_type,
    workflow_type_names,
)
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from tillflow.payloads import ENCRYPTED
from tillflow.workers import sandbox_runner

FILES = history_files()


def _histories() -> list[tuple[Path, WorkflowHistory]]:
    return [(path, load(path)) for path in FILES]


def test_there_are_histories() -> None:
    assert len(FILES) >= len(workflow_type_names()), "run tests/histories/record.py"


def test_every_file_is_in_its_workflow_types_folder() -> None:
    wrong = [
        str(path.relative_to(HISTORIES))
        for path, history in _histories()
        if workflow_type(history) != path.parent.name
    ]
    assert wrong == []


def test_every_workflow_type_has_a_recorded_history() -> None:
    recorded = {path.parent.name for path in FILES}
    missing = sorted(workflow_type_names() - recorded)
    assert missing == [], f"no history for {missing}: run tests/histories/record.py"


async def test_every_history_replays_against_the_current_code() -> None:
    """All histories in one Replayer with every workflow class (as the workers run them: Sale
    unsandboxed, the rest in the sandbox with the workers' passthrough modules)."""
    histories = _histories()
    known = workflow_type_names()
    unknown = [
        f"{path.relative_to(HISTORIES)}: no workflow class named {workflow_type(h)!r}"
        for path, h in histories
        if workflow_type(h) not in known
    ]
    assert unknown == [], "a history whose workflow type no longer exists:\n" + "\n".join(unknown)
    replayer = Replayer(
        workflows=workflow_classes(),
        workflow_runner=sandbox_runner(),
        unsandboxed_workflow_runner=UnsandboxedWorkflowRunner(),
        data_converter=REPLAY_CONVERTER,
    )
    paths = {id(history): path for path, history in histories}

    async def each() -> AsyncIterator[WorkflowHistory]:
        for _, history in histories:
            yield history

    failures = []
    async with replayer.workflow_replay_iterator(each()) as results:  # one worker for all
        async for result in results:
            if result.replay_failure is not None:
                path = paths[id(result.history)]
                failures.append(f"{path.relative_to(HISTORIES)}: {result.replay_failure}")
    assert failures == [], "histories that no longer replay:\n" + "\n".join(failures)


async def test_a_history_of_an_unknown_workflow_type_fails_the_replay() -> None:
    """The replay is not vacuous: a history of a renamed or deleted workflow type fails."""
    history = load(FILES[0])
    history.events[0].workflow_execution_started_event_attributes.workflow_type.name = "Gone"
    replayer = Replayer(workflows=workflow_classes(), data_converter=REPLAY_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None


# ---- what the committed files may hold -----------------------------------------------------------

SECRETS = (
    re.compile(rb"\b[sr]k_(live|test)_[A-Za-z0-9]{6,}"),  # Stripe API keys
    re.compile(rb"\bwhsec_[A-Za-z0-9]{6,}"),  # webhook signing secrets
    re.compile(rb"\bshp(at|ss|ca|pa)_[A-Fa-f0-9]{8,}"),  # Shopify tokens
    re.compile(rb"\bc[ks]_[a-f0-9]{20,}"),  # WooCommerce keys
    re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(rb"\$argon2|\$2[aby]\$\d\d\$"),  # password hashes
)
CARD = re.compile(rb"(?<!\d)[3-6]\d{14,15}(?!\d)")


def _luhn(digits: bytes) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits.decode())):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HISTORIES)) for p in FILES])
def test_a_history_holds_no_secret_card_number_or_host(path: Path) -> None:
    history = load(path)
    found = []
    for payload in payloads(history):
        assert payload.metadata.get("encoding") != ENCRYPTED, "record.py decrypts payloads"
        for pattern in SECRETS:
            found += [m.group(0)[:12] for m in pattern.finditer(payload.data)]
        found += [m.group(0)[:6] for m in CARD.finditer(payload.data) if _luhn(m.group(0))]
    identities = {
        msg.identity
        for event in history.events
        for msg in messages(event)
        if "identity" in msg.DESCRIPTOR.fields_by_name and msg.identity
    }
    assert found == []
    assert identities <= {IDENTITY}


def test_the_secret_scan_finds_what_it_looks_for() -> None:
    raw = b'{"key": "sk_live_abcdef123456", "pan": "4242424242424242"}'
    assert any(p.search(raw) for p in SECRETS)
    assert [m.group(0) for m in CARD.finditer(raw) if _luhn(m.group(0))] == [b"4242424242424242"]
