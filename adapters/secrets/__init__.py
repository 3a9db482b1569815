"""API keys by reference: OS keyring, encrypted-file fallback, in-memory test store."""

from adapters.secrets.store import (
    ApiCredentials,
    EncryptedFileStore,
    KeyringStore,
    MemoryStore,
    SecretsError,
    SecretStore,
    default_store,
    keyring_usable,
    lookup,
)

__all__ = [
    "ApiCredentials",
    "EncryptedFileStore",
    "KeyringStore",
    "MemoryStore",
    "SecretStore",
    "SecretsError",
    "default_store",
    "keyring_usable",
    "lookup",
]
