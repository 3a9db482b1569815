"""`python main.py users add|list`: the local user store (first account: a supervisor)."""

from __future__ import annotations

import argparse

from app.auth import read_password, user_store
from app.commands.common import add_settings_arguments, command_settings
from core.actors import Role


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("users", help="add or list terminal users (roles: trader, supervisor)")
    sub = parser.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="add a user; the first user must be a supervisor")
    add.add_argument("--username", required=True)
    add.add_argument("--role", choices=("trader", "supervisor"), required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the new user's password from stdin")
    add.add_argument("--as-user", dest="user", help="supervisor adding the user (not needed for the first one)")
    listing = sub.add_parser("list", help="list users and roles")
    for p in (add, listing, parser):
        add_settings_arguments(p)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = command_settings(args)  # --settings FILE and --set before the command count too
    store = user_store(settings)
    if args.users_command == "list":
        for name, role in store.users():
            print(f"{name:20s} {role}")
        return 0
    by = None
    if not store.is_empty():
        if not args.user:
            raise ValueError("users exist already: add --as-user SUPERVISOR (you will be asked for its password)")
        by = store.authenticate(
            args.user, read_password(argparse.Namespace(password_stdin=False), f"Password for {args.user}: ")
        )
    password = read_password(args, f"New password for {args.username}: ")
    store.add(args.username, Role(args.role), password, by)
    print(f"added {args.username} ({args.role})")
    return 0
