"""Symmetric encryption for values stored at rest, on `cryptography`'s MultiFernet.

Keys come from the FIELD_ENCRYPTION_KEYS setting: the first key encrypts, every key decrypts,
so a new key is put first, `manage.py rotate_encryption_keys` re-encrypts, then old keys go.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from integrations.core import conf
from integrations.core.exceptions import EncryptionKeyError

__all__ = ["InvalidToken", "current_fernet", "primary_fernet"]


@lru_cache(maxsize=4)
def _build(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key "
            "(`python -m config.init_env --print-key` prints a new one)."
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip().encode()))
        except (ValueError, TypeError) as exc:
            raise EncryptionKeyError(
                f"FIELD_ENCRYPTION_KEYS entry #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from exc
    return MultiFernet(fernets), fernets[0]


def current_fernet() -> MultiFernet:
    """The MultiFernet for the keys configured right now (cached per key set)."""
    return _build(conf.field_encryption_keys())[0]


def primary_fernet() -> Fernet:
    """The key that encrypts new values."""
    return _build(conf.field_encryption_keys())[1]
