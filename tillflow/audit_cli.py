"""`tillflow audit verify`: recompute every chain of the hash-chained audit log and name the first
broken row of each (exit 1 when any chain is broken, 2 when the chain asked for does not exist)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from tillflow.databases import database_url
from tillflow.settings import Settings

Command = Callable[[Settings, argparse.Namespace], int]

EXIT_OK, EXIT_BROKEN, EXIT_UNKNOWN_CHAIN = 0, 1, 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to `tillflow`'s parser."""
    audit = sub.add_parser("audit", help="check the hash-chained audit log")
    verbs = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = verbs.add_parser(
        "verify",
        help="recompute every audit chain and name the first broken row (exit 1 if any)",
        description="Recompute the hash of every audit row and every link to the row before it, "
        "chain by chain, as of one instant (writers carry on meanwhile). Prints one line per "
        "chain with its row count and head hash; for a broken chain, the first row that does "
        "not verify and why. Exit status: 0 all chains verify, 1 a chain is broken, "
        "2 no such chain.",
    )
    verify.add_argument(
        "--chain",
        metavar="CODE",
        help="only this chain: 'central' or a location's chain name / code, e.g. BER",
    )
    verify.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is shown on a terminal only anyway)",
    )


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Verify the audit chains; print a summary per chain."""
    from tqdm import tqdm

    from db.repositories import audit_trail
    from db.session import Database

    db = Database(database_url(settings), pool_size=1)
    broken = 0
    try:
        with audit_trail.snapshot(db) as s:
            infos = audit_trail.chains(s, args.chain)
            if args.chain is not None and not infos:
                print(
                    f"tillflow audit verify: there is no audit chain {args.chain}.", file=sys.stderr
                )
                return EXIT_UNKNOWN_CHAIN
            total = sum(i.rows for i in infos)
            show = not args.no_progress and sys.stderr.isatty()
            with tqdm(
                total=total, unit="row", desc="verifying", disable=not show, file=sys.stderr
            ) as bar:
                reports = [audit_trail.verify_chain(s, i.chain, bar.update) for i in infos]
    finally:
        db.dispose()
    codes = {i.chain: i.location_code for i in infos}
    for r in reports:
        where = f" (location {codes[r.chain]})" if codes.get(r.chain) else ""
        head = f"head {r.head_id} {r.head_hash[:16]}…" if r.head_hash else "no head"
        if r.first_broken is None:
            print(f"{r.chain}{where}: OK, {r.rows_checked} rows, {head}")
            continue
        broken += 1
        b = r.first_broken
        print(
            f"{r.chain}{where}: BROKEN at row {b.id} ({b.kind}), {r.rows_checked} rows, "
            f"{r.breaks} break(s), {head}\n  {b.message}"
            + (f"\n  last good row before it: {b.after_id}" if b.after_id is not None else "")
        )
    if broken:
        print(
            f"tillflow audit verify: {broken} of {len(reports)} chain(s) broken; see docs/audit.md",
            file=sys.stderr,
        )
        return EXIT_BROKEN
    print(f"all {len(reports)} chain(s) verify")
    return EXIT_OK


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    return {"verify": cmd_audit_verify}[args.audit_command](settings, args)


COMMANDS: dict[str, Command] = {"audit": cmd_audit}
