"""`tillflow admin …` commands: bootstrap an installation's first admin (no demo data needed)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from tillflow.databases import database_url
from tillflow.settings import Settings

Command = Callable[[Settings, argparse.Namespace], int]
ROLES = ("admin", "manager", "finance", "fulfilment", "cashier")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's sub-commands to `tillflow`'s parser."""
    admin = sub.add_parser("admin", help="manage back-office users from the command line")
    verbs = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    create = verbs.add_parser(
        "create",
        help="create a user (the first admin of an empty installation); prompts for the password",
        description="Create a back-office user. The password is asked twice on a terminal, or "
        "read from the first line of standard input when that is not a terminal (scripts). "
        "The database must be migrated first (`tillflow migrate`).",
    )
    create.add_argument("--username", required=True, help="sign-in name, e.g. ada")
    create.add_argument("--display-name", help="name shown to colleagues (default: the username)")
    create.add_argument("--role", choices=ROLES, default="admin", help="default: admin")
    create.add_argument(
        "--location",
        action="append",
        default=[],
        metavar="CODE",
        help="a location the user works at (repeat for more; not needed for an admin)",
    )


def _read_password(prompt: str = "Password: ") -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise SystemExit("No password on standard input.")
        return line.rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat the password: ") != first:
        raise SystemExit("The passwords do not match; nothing was created.")
    return first


def _not_migrated(url: str) -> str | None:
    """Why the database is not ready for users (None: migrated to the newest revision)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from db.migrate import alembic_config
    from db.session import sqlalchemy_url

    script = ScriptDirectory.from_config(alembic_config(url))
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as err:  # noqa: BLE001 - any connection failure is reported as such
        return f"cannot reach the database: {type(err).__name__}: {err}"
    finally:
        engine.dispose()
    if not current:
        return "the database is empty: run `tillflow migrate` first"
    # Several branches: the table names some heads, the rest are applied as their ancestors.
    applied = {
        r.revision for r in script.revision_map.iterate_revisions(tuple(current), "base") if r
    }
    if set(script.get_heads()) - applied:
        return "the database is not migrated to the newest version: run `tillflow migrate` first"
    return None


def cmd_admin_create(settings: Settings, args: argparse.Namespace) -> int:
    """Create a user with a strong password; the first admin of an empty installation."""
    from api.auth import hash_secret
    from db.repositories import bookkeeping, staff_admin
    from db.session import Database
    from domain import staff
    from domain.errors import DomainError

    url = database_url(settings)
    problem = _not_migrated(url)
    if problem:
        raise SystemExit(f"tillflow admin create: {problem}.")
    display = args.display_name or args.username
    try:
        staff.check_username(args.username)
        password = _read_password()
        staff.check_password(
            password,
            user_inputs=[args.username, display],
            min_length=settings.password_min_length,
            min_score=settings.password_min_score,
        )
    except DomainError as err:
        raise SystemExit(f"tillflow admin create: {err.message}") from None
    if args.role != "admin" and not args.location:
        raise SystemExit(f"tillflow admin create: a {args.role} needs --location CODE.")
    db = Database(url)
    try:
        with db.unit_of_work() as s:
            ids = staff_admin.location_ids_for_codes(s, args.location).values()
            user = staff_admin.add_user(
                s,
                username=args.username,
                display_name=display,
                role=args.role,
                staff_code=None,
                permissions=[],
                pin_hash=None,
                password_hash=hash_secret(password),
                location_ids=ids,
            )
            bookkeeping.audit(
                s,
                action="user.created",
                subject=f"user:{user.username}",
                detail={
                    "by": "tillflow admin create",
                    "role": args.role,
                    "locations": args.location,
                },
            )
    except DomainError as err:
        raise SystemExit(f"tillflow admin create: {err.message}") from None
    finally:
        db.dispose()
    print(f"{args.role} {args.username} created; sign in at POST /auth/login")
    return 0


def cmd_admin(settings: Settings, args: argparse.Namespace) -> int:
    return {"create": cmd_admin_create}[args.admin_command](settings, args)


COMMANDS: dict[str, Command] = {"admin": cmd_admin}
