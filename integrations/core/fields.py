"""Encrypted model fields.

Thin fields over `integrations.core.crypto` (MultiFernet). Why not a package: `django-fernet-fields`
0.6 fails to import on Django >= 4.0 (`force_text`), and `django-fernet-encrypted-fields`
returns the ciphertext as the value when decryption fails; we want a loud error instead.

What a caller may rely on:

- the column holds a Fernet token (text), never the plaintext; each save uses a fresh IV, so
  equal values give different tokens;
- reading a value no configured key can decrypt raises `DecryptionError` naming model and
  field, it never returns the token as if it were the value;
- filtering by value is meaningless on ciphertext, so the only lookup allowed is `isnull`.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Lookup

from integrations.core.crypto import InvalidToken, current_fernet
from integrations.core.exceptions import DecryptionError

__all__ = ["EncryptedJSONField", "EncryptedTextField"]


class EncryptedTextField(models.TextField):
    """A text value stored encrypted; subclasses change `to_plaintext`/`from_plaintext`."""

    _allowed_lookups = frozenset({"isnull"})

    def to_plaintext(self, value: Any) -> str:
        return value if isinstance(value, str) else str(value)

    def from_plaintext(self, text: str) -> Any:
        return text

    def to_python(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)

    def get_internal_type(self) -> str:
        return "TextField"

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        token = current_fernet().encrypt(self.to_plaintext(value).encode("utf-8"))
        return token.decode("ascii")

    def decrypt(self, token: str | bytes) -> Any:
        raw = token.encode("ascii") if isinstance(token, str) else token
        try:
            plaintext = current_fernet().decrypt(raw)
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise DecryptionError(model=self._model_label(), field=self.name) from exc
        return self.from_plaintext(plaintext.decode("utf-8"))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self.decrypt(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup] | None:
        if lookup_name not in self._allowed_lookups:
            return None
        return super().get_lookup(lookup_name)

    def get_transform(self, name: str) -> Any:
        return None

    def _model_label(self) -> str:
        model = getattr(self, "model", None)
        return model._meta.label if model is not None else "<unbound>"


class EncryptedJSONField(EncryptedTextField):
    """A JSON-serialisable value stored encrypted. `None` is stored as SQL NULL."""

    def to_plaintext(self, value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))

    def from_plaintext(self, text: str) -> Any:
        return json.loads(text)

    def to_python(self, value: Any) -> Any:
        # Already a Python value (forms parse JSON with their own JSONField).
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return self.to_plaintext(self.value_from_object(obj))

    def formfield(self, **kwargs: Any) -> Any:
        from django.forms import JSONField as JSONFormField

        return super().formfield(**{"form_class": JSONFormField, **kwargs})
