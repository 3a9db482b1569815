"""API keys by reference: the encrypted-file fallback, the test store, redaction, clear errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from adapters.secrets import ApiCredentials, EncryptedFileStore, MemoryStore, SecretsError, default_store, lookup
from adapters.secrets import store as secrets_store


def test_encrypted_file_round_trip_and_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    store = EncryptedFileStore(path, "correct horse")
    store.put("binance-testnet", ApiCredentials("AKEY123456", "s3cr3t-value"))
    store.put("other", ApiCredentials("K2", "S2"))
    assert store.get("binance-testnet") == ApiCredentials("AKEY123456", "s3cr3t-value")
    assert store.refs() == ["binance-testnet", "other"]
    raw = path.read_text()
    assert "s3cr3t-value" not in raw and "AKEY123456" not in raw
    assert json.loads(raw)["kdf"] == "scrypt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(SecretsError, match="wrong passphrase"):
        EncryptedFileStore(path, "wrong").get("other")
    store.delete("other")
    assert EncryptedFileStore(path, "correct horse").refs() == ["binance-testnet"]


def test_credentials_never_print_their_secret() -> None:
    creds = ApiCredentials("AKEY123456", "s3cr3t-value")
    assert "s3cr3t" not in repr(creds) and "s3cr3t" not in str(creds) and "AKEY123456" not in repr(creds)


def test_no_keyring_falls_back_to_the_encrypted_file_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets_store, "keyring_usable", lambda: False)
    monkeypatch.delenv("BLOCKHOUSE_SECRETS_BACKEND", raising=False)
    monkeypatch.delenv("BLOCKHOUSE_SECRETS_PASSPHRASE", raising=False)
    monkeypatch.setenv("BLOCKHOUSE_SECRETS_FILE", str(tmp_path / "k.enc"))
    with pytest.raises(SecretsError, match=r"no OS keyring backend.*BLOCKHOUSE_SECRETS_PASSPHRASE"):
        default_store()
    monkeypatch.setenv("BLOCKHOUSE_SECRETS_PASSPHRASE", "pw")
    store = default_store()
    assert isinstance(store, EncryptedFileStore) and store.path == tmp_path / "k.enc"
    with pytest.raises(SecretsError, match=r"python -m adapters\.secrets set loop"):
        lookup("loop", store)


def test_memory_backend_for_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOCKHOUSE_SECRETS_BACKEND", "memory")
    store = default_store()
    store.put("x", ApiCredentials("k", "s"))
    assert lookup("x") == ApiCredentials("k", "s")
    assert isinstance(MemoryStore().refs(), list)
