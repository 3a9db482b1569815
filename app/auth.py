"""Login for headless commands: user from --user, password from --password-stdin or a prompt."""

from __future__ import annotations

import argparse
import getpass
import sys

from adapters.store.users import UserStore
from app.settings import Settings
from core.actors import Actor


def user_store(settings: Settings) -> UserStore:
    return UserStore(settings.data_dir / "users.sqlite")


def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, help="your username")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def login(settings: Settings, args: argparse.Namespace) -> Actor:
    return user_store(settings).authenticate(args.user, read_password(args))
