"""A manager's decision on something a workflow holds for approval (a large stock adjustment, a
count variance over its threshold, ...): one update name and one payload for every such workflow,
so the API and the pages approve all of them the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

APPROVE_UPDATE = "approve"  # every workflow that waits for a manager names its update this

# The state the deciding workflow is in after the decision: every state of the workflows that take
# APPROVE_UPDATE (CountState, ShiftState, AdjustmentStatus; mypy checks each is covered).
ApprovalState = Literal[
    "counting",
    "review",
    "applied",
    "cancelled",
    "failed",
    "starting",
    "open",
    "closed",
    "assessing",
    "awaiting_approval",
    "rejected",
]


@dataclass(frozen=True, kw_only=True)
class Approval:
    """Who decided (the API checked they manage the location), what, and why."""

    manager_user_id: int
    manager_name: str
    decision: Literal["approve", "reject"]
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ApprovalAnswer:
    """What the workflow did with the decision: its state after it."""

    state: ApprovalState
    message: str = ""
