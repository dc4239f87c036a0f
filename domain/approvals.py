"""Which till actions need a manager's approval: the per-store permission table's rules.

Shopify POS's staff permissions are the model: each sensitive action is either free for a
cashier or needs a manager, optionally with an allowance a cashier may use alone (a discount up to
10 %, a paid-out up to 20.00). A manager signed in at the till approves their own actions (they are
still audited with their name). A store keeps only the rows that differ from DEFAULTS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from domain.errors import InvalidRequest

Action = Literal[
    "discount",
    "price_override",
    "no_sale",
    "paid_out",
    "return_without_receipt",
    "shift_variance",
    "void",
]
LimitUnit = Literal["basis_points", "minor_units", "none"]


@dataclass(frozen=True)
class ActionInfo:
    label: str
    unit: LimitUnit  # what the cashier's allowance is measured in


ACTIONS: dict[str, ActionInfo] = {
    "discount": ActionInfo("Line or basket discount above the cashier's allowance", "basis_points"),
    "price_override": ActionInfo("Price override below the catalogue price", "basis_points"),
    "no_sale": ActionInfo("Open the cash drawer without a sale", "none"),
    "paid_out": ActionInfo("Paid-out from the drawer above the allowance", "minor_units"),
    "return_without_receipt": ActionInfo("Return without a receipt", "none"),
    "shift_variance": ActionInfo(
        "Close a shift whose cash is off by more than the allowance", "minor_units"
    ),
    "void": ActionInfo("Void a completed sale (same day, same till)", "none"),
}


@dataclass(frozen=True)
class Rule:
    action: str
    approval: bool  # needs a manager when a cashier does it (beyond `cashier_limit`)
    cashier_limit: int | None = None  # basis points or minor units, per ACTIONS[action].unit

    def needs_manager(self, role: str, amount: int = 0) -> bool:
        """Whether this action, by someone of `role`, for `amount` (basis points off, or minor
        units), needs a manager's approval."""
        if role in ("manager", "admin") or not self.approval:
            return False
        if self.cashier_limit is None:
            return True
        return amount > self.cashier_limit


DEFAULTS: dict[str, Rule] = {
    "discount": Rule("discount", True, 1000),  # a cashier may give up to 10 %
    "price_override": Rule("price_override", True, 0),
    "no_sale": Rule("no_sale", True),
    "paid_out": Rule("paid_out", True, 5000),
    # Off by default: the return policy's own cap per customer decides (domain/returns.py).
    "return_without_receipt": Rule("return_without_receipt", False),
    "shift_variance": Rule("shift_variance", True, 500),
    "void": Rule("void", True),
}


def rules_with(
    overrides: Mapping[str, Rule], defaults: Mapping[str, Rule] | None = None
) -> dict[str, Rule]:
    """The store's table: the defaults (DEFAULTS, or the deployment's), its own rows in their
    place."""
    base = {**DEFAULTS, **(defaults or {})}
    return {**base, **{a: r for a, r in overrides.items() if a in base}}


def check_rule(action: str, approval: bool, cashier_limit: int | None) -> Rule:
    """A rule as a manager sets it; unknown actions and nonsense limits are refused."""
    info = ACTIONS.get(action)
    if info is None:
        raise InvalidRequest(
            f"There is no action '{action}'; actions: {', '.join(ACTIONS)}.", code="unknown_action"
        )
    if cashier_limit is not None:
        if info.unit == "none":
            raise InvalidRequest(f"'{action}' takes no allowance.", code="bad_limit")
        if cashier_limit < 0:
            raise InvalidRequest(
                f"The allowance for '{action}' cannot be negative.", code="bad_limit"
            )
        if info.unit == "basis_points" and cashier_limit > 10_000:
            raise InvalidRequest(
                f"The allowance for '{action}' is in basis points: 0 to 10000 (100 %).",
                code="bad_limit",
            )
    return Rule(action, approval, cashier_limit)
