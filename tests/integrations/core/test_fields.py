"""Encrypted fields: nothing readable at rest, wrong keys fail loudly, values round-trip."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection

from integrations.core.crypto import current_fernet
from integrations.core.exceptions import DecryptionError, EncryptionKeyError
from tests.testapp.models import SecretNote

pytestmark = pytest.mark.django_db

PLAINTEXT = "tok_live_looks_like_a_token_but_is_not_0123456789"


def raw_columns(pk: int) -> tuple[str | None, str | None]:
    table = connection.ops.quote_name(SecretNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text, data FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


def test_raw_column_holds_no_plaintext():
    note = SecretNote.objects.create(text=PLAINTEXT, data={"refresh_token": PLAINTEXT})

    raw_text, raw_data = raw_columns(note.pk)

    assert PLAINTEXT not in raw_text
    assert PLAINTEXT not in raw_data
    assert "refresh_token" not in raw_data
    assert current_fernet().decrypt(raw_text.encode()).decode() == PLAINTEXT


def test_values_round_trip_through_the_database():
    data = {"scopes": ["read", "write"], "expires_in": 3599, "nested": {"ünïcode": "✓"}}
    note = SecretNote.objects.create(text="héllo ✓", data=data)

    fresh = SecretNote.objects.get(pk=note.pk)

    assert fresh.text == "héllo ✓"
    assert fresh.data == data


def test_equal_values_are_stored_as_different_tokens():
    a = SecretNote.objects.create(text=PLAINTEXT)
    b = SecretNote.objects.create(text=PLAINTEXT)

    assert raw_columns(a.pk)[0] != raw_columns(b.pk)[0]


def test_null_stays_null():
    note = SecretNote.objects.create(text="x", data=None)

    assert raw_columns(note.pk)[1] is None
    assert SecretNote.objects.get(pk=note.pk).data is None
    assert SecretNote.objects.filter(data__isnull=True).count() == 1


def test_value_encrypted_under_an_unknown_key_raises_naming_model_and_field(settings):
    note = SecretNote.objects.create(text=PLAINTEXT)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(DecryptionError) as excinfo:
        SecretNote.objects.get(pk=note.pk)

    message = str(excinfo.value)
    assert "testapp.SecretNote.text" in message
    assert "FIELD_ENCRYPTION_KEYS" in message
    assert PLAINTEXT not in message


def test_plaintext_written_behind_the_fields_back_is_not_returned_as_a_value():
    note = SecretNote.objects.create(text="x")
    table = connection.ops.quote_name(SecretNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET text = %s WHERE id = %s", [PLAINTEXT, note.pk])  # noqa: S608

    with pytest.raises(DecryptionError):
        SecretNote.objects.get(pk=note.pk)


def test_filtering_by_value_is_refused():
    with pytest.raises(FieldError):
        list(SecretNote.objects.filter(text=PLAINTEXT))


def test_missing_keys_name_the_setting(settings):
    settings.FIELD_ENCRYPTION_KEYS = []

    with pytest.raises(EncryptionKeyError, match="FIELD_ENCRYPTION_KEYS"):
        SecretNote.objects.create(text="x")


def test_malformed_key_names_its_position_not_its_value(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), "not-a-key"]

    with pytest.raises(EncryptionKeyError) as excinfo:
        SecretNote.objects.create(text="x")

    assert "#2" in str(excinfo.value)
    assert "not-a-key" not in str(excinfo.value)
