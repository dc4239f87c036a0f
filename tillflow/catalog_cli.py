"""`tillflow catalog …` commands (filled in by the catalog part of issue 14)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from tillflow.settings import Settings

Command = Callable[[Settings, argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to `tillflow`'s parser."""
