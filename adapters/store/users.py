"""Local user store: usernames, roles and scrypt-hashed passwords (never the password itself).

scrypt (RFC 7914) with n=2¹⁴, r=8, p=1 and a 16-byte random salt per user; verification is
constant-time. The store is an SQLite file in the data directory (or any SQLAlchemy URL).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, create_engine, insert, select

from core.actors import Actor, Role

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LEN = 10

_meta = MetaData()
users_table = Table(
    "users",
    _meta,
    Column("username", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
)


class AuthError(PermissionError):
    """Wrong user or password (deliberately not saying which)."""


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


class UserStore:
    def __init__(self, path_or_url: str | Path) -> None:
        url = str(path_or_url)
        if "://" not in url:
            Path(url).parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{url}"
        self.engine = create_engine(url, future=True)
        _meta.create_all(self.engine)

    def is_empty(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(users_table.c.username).limit(1)).first() is None

    def add(self, username: str, role: Role, password: str, by: Actor | None = None) -> None:
        """Add a user. The first user must be a supervisor; afterwards only a supervisor adds users."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{2,64}", username):
            raise ValueError("username must be 2-64 characters of letters, digits, _ . -")
        if role is Role.SYSTEM:
            raise ValueError("role must be trader or supervisor")
        if len(password) < MIN_PASSWORD_LEN:
            raise ValueError(f"password must have at least {MIN_PASSWORD_LEN} characters")
        if self.is_empty():
            if role is not Role.SUPERVISOR:
                raise ValueError("the first account must be a supervisor (--role supervisor)")
        elif by is None or by.role is not Role.SUPERVISOR:
            raise PermissionError("only a supervisor can add users")
        salt = os.urandom(16)
        with self.engine.begin() as conn:
            if conn.execute(select(users_table.c.username).where(users_table.c.username == username)).first():
                raise ValueError(f"user {username!r} already exists")
            conn.execute(
                insert(users_table).values(username=username, role=role.value, salt=salt, hash=_hash(password, salt))
            )

    def authenticate(self, username: str, password: str) -> Actor:
        with self.engine.connect() as conn:
            row = conn.execute(select(users_table).where(users_table.c.username == username)).first()
        if row is None:
            _hash(password, b"\0" * 16)  # same work either way: no user-enumeration by timing
            raise AuthError("wrong username or password")
        if not hmac.compare_digest(_hash(password, row.salt), row.hash):
            raise AuthError("wrong username or password")
        return Actor(row.username, Role(row.role))

    def users(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [(r.username, r.role) for r in conn.execute(select(users_table.c.username, users_table.c.role))]
