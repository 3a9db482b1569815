"""API keys by reference: the OS keyring first, an encrypted file where there is no keyring.

Settings name a key by reference only (``key_ref = "binance-testnet"``); the key and its secret
live here and are looked up when a venue connects. They never enter a settings file, the journal
or a log line (`ApiCredentials` prints its key shortened and its secret masked).

Backends:
- `KeyringStore` — the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service).
- `EncryptedFileStore` — where no keyring backend exists (a headless server, CI): one file,
  Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from a passphrase with scrypt
  (n=2^15, r=8, p=1, 16-byte random salt stored beside the token). The passphrase comes from
  ``BLOCKHOUSE_SECRETS_PASSPHRASE`` (or is passed in); the file is written 0600, atomically.
- `MemoryStore` — the test backend.

`default_store()` chooses (``BLOCKHOUSE_SECRETS_BACKEND=keyring|file|memory`` forces one) and says
clearly why it fell back.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

SERVICE = "blockhouse"
PASSPHRASE_ENV = "BLOCKHOUSE_SECRETS_PASSPHRASE"
BACKEND_ENV = "BLOCKHOUSE_SECRETS_BACKEND"
FILE_ENV = "BLOCKHOUSE_SECRETS_FILE"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class SecretsError(RuntimeError):
    """A key that cannot be stored or found; the message says what to do."""


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    api_key: str
    secret: str

    def __repr__(self) -> str:
        shown = self.api_key[:4] + "…" if len(self.api_key) > 4 else "…"
        return f"ApiCredentials(api_key={shown!r}, secret=***)"

    __str__ = __repr__


class SecretStore(Protocol):
    description: str

    def get(self, ref: str) -> ApiCredentials | None: ...

    def put(self, ref: str, creds: ApiCredentials) -> None: ...

    def delete(self, ref: str) -> None: ...

    def refs(self) -> list[str]: ...


def lookup(ref: str, store: SecretStore | None = None) -> ApiCredentials:
    """The credentials stored under `ref`, or a `SecretsError` saying how to add them."""
    store = store or default_store()
    creds = store.get(ref)
    if creds is None:
        raise SecretsError(
            f"no API key stored under {ref!r} in {store.description}; add it with "
            f"`python -m adapters.secrets set {ref} --api-key KEY` (the secret is read from stdin)"
        )
    return creds


class MemoryStore:
    """In-process store for tests."""

    description = "the in-memory test store"

    def __init__(self, items: dict[str, ApiCredentials] | None = None) -> None:
        self._items = dict(items or {})

    def get(self, ref: str) -> ApiCredentials | None:
        return self._items.get(ref)

    def put(self, ref: str, creds: ApiCredentials) -> None:
        self._items[ref] = creds

    def delete(self, ref: str) -> None:
        self._items.pop(ref, None)

    def refs(self) -> list[str]:
        return sorted(self._items)


class KeyringStore:
    """One keyring entry per reference: service 'blockhouse', user = reference, value = JSON."""

    def __init__(self, service: str = SERVICE) -> None:
        import keyring

        self._keyring = keyring
        self.service = service
        self.description = f"the OS keyring ({type(keyring.get_keyring()).__name__}, service {service!r})"

    def get(self, ref: str) -> ApiCredentials | None:
        raw = self._keyring.get_password(self.service, ref)
        if raw is None:
            return None
        data = json.loads(raw)
        return ApiCredentials(data["api_key"], data["secret"])

    def put(self, ref: str, creds: ApiCredentials) -> None:
        self._keyring.set_password(self.service, ref, json.dumps({"api_key": creds.api_key, "secret": creds.secret}))
        index = set(self.refs()) | {ref}
        self._keyring.set_password(self.service, "__index__", json.dumps(sorted(index)))

    def delete(self, ref: str) -> None:
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._keyring.delete_password(self.service, ref)
        index = set(self.refs()) - {ref}
        self._keyring.set_password(self.service, "__index__", json.dumps(sorted(index)))

    def refs(self) -> list[str]:
        raw = self._keyring.get_password(self.service, "__index__")
        return list(json.loads(raw)) if raw else []


class EncryptedFileStore:
    """All references in one Fernet-encrypted JSON file; the key comes from a passphrase via scrypt."""

    def __init__(self, path: Path, passphrase: str) -> None:
        if not passphrase:
            raise SecretsError(f"the encrypted key file {path} needs a passphrase: set {PASSPHRASE_ENV}")
        self.path = path
        self._passphrase = passphrase.encode()
        self.description = f"the encrypted file {path}"

    def get(self, ref: str) -> ApiCredentials | None:
        item = self._read().get(ref)
        return None if item is None else ApiCredentials(item["api_key"], item["secret"])

    def put(self, ref: str, creds: ApiCredentials) -> None:
        items = self._read()
        items[ref] = {"api_key": creds.api_key, "secret": creds.secret}
        self._write(items)

    def delete(self, ref: str) -> None:
        items = self._read()
        if items.pop(ref, None) is not None:
            self._write(items)

    def refs(self) -> list[str]:
        return sorted(self._read())

    def _fernet(self, salt: bytes):  # type: ignore[no-untyped-def]
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(self._passphrase)
        return Fernet(base64.urlsafe_b64encode(key))

    def _read(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        from cryptography.fernet import InvalidToken

        doc = json.loads(self.path.read_text(encoding="utf-8"))
        salt = base64.b64decode(doc["salt"])
        try:
            plain = self._fernet(salt).decrypt(doc["token"].encode())
        except InvalidToken:
            raise SecretsError(f"cannot decrypt {self.path}: wrong passphrase in {PASSPHRASE_ENV}?") from None
        data: dict[str, dict[str, str]] = json.loads(plain)
        return data

    def _write(self, items: dict[str, dict[str, str]]) -> None:
        salt = os.urandom(16)
        token = self._fernet(salt).encrypt(json.dumps(items).encode()).decode()
        doc = {
            "version": 1,
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": base64.b64encode(salt).decode(),
            "token": token,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc))
        os.replace(tmp, self.path)


def keyring_usable() -> bool:
    """True when a real OS keyring backend is available (not the 'fail' or 'null' backends)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # a broken keyring installation is the same as none
        return False
    if isinstance(backend, fail.Keyring):
        return False
    return float(getattr(backend, "priority", 0)) > 0


def default_file(data_dir: Path | None = None) -> Path:
    env = os.environ.get(FILE_ENV)
    if env:
        return Path(env).expanduser()
    if data_dir is None:
        import platformdirs

        data_dir = Path(platformdirs.user_data_dir("Blockhouse"))
    return data_dir / "api-keys.enc"


_MEMORY = MemoryStore()


def default_store(data_dir: Path | None = None, passphrase: str | None = None) -> SecretStore:
    """The OS keyring when there is one; otherwise the encrypted file, with a clear note why."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced == "memory":
        return _MEMORY
    if forced not in ("", "keyring", "file"):
        raise SecretsError(f"{BACKEND_ENV} must be keyring, file or memory, got {forced!r}")
    if forced == "keyring" or (not forced and keyring_usable()):
        if not keyring_usable():
            raise SecretsError(f"{BACKEND_ENV}=keyring but this machine has no OS keyring backend")
        return KeyringStore()
    path = default_file(data_dir)
    if not forced:
        log.info("no OS keyring backend (headless machine or CI): API keys are kept in the encrypted file %s", path)
    passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        raise SecretsError(
            "no OS keyring backend on this machine (a headless server or CI), so API keys are kept in the "
            f"encrypted file {path}; set {PASSPHRASE_ENV} to its passphrase (or install a keyring backend, "
            "e.g. Secret Service on Linux)"
        )
    return EncryptedFileStore(path, passphrase)
