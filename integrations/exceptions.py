"""Exceptions of the `integrations` app.

One root per concern. Configuration errors subclass Django's `ImproperlyConfigured` and sit
outside the roots on purpose, so a broad `except IntegrationError` cannot swallow them.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class EncryptionError(Exception):
    """Root of encrypted-field failures."""


class DecryptionError(EncryptionError):
    """A stored value that no key in FIELD_ENCRYPTION_KEYS can decrypt.

    Raised instead of returning the ciphertext, so wrong keys fail loudly.
    """

    def __init__(self, *, model: str, field: str, pk: object = None) -> None:
        self.model = model
        self.field = field
        self.pk = pk
        where = f"{model}.{field}" + (f" (pk={pk})" if pk is not None else "")
        super().__init__(
            f"Cannot decrypt {where}: no key in FIELD_ENCRYPTION_KEYS matches the stored value. "
            "Was a key removed before `manage.py rotate_encryption_keys` ran?"
        )


class EncryptionKeyError(ImproperlyConfigured):
    """FIELD_ENCRYPTION_KEYS is missing or holds something that is not a Fernet key."""
