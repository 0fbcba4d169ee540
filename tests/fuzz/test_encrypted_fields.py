"""Property-based round trips of the encrypted fields through the real database.

Any text and any JSON value comes back equal after a save and a fresh read; the column holds a
Fernet token (ASCII), never the plaintext — so NUL bytes, emoji or 4-byte characters that some
databases cannot store as text are still stored fine.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.cases import json_values
from tests.testapp.models import SecretNote

pytestmark = pytest.mark.django_db

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=500)


def raw_columns(pk: int) -> tuple[str, str | None]:
    table = SecretNote._meta.db_table
    with connection.cursor() as cursor:
        # The table name comes from model metadata, not from input.
        cursor.execute(f"SELECT text, data FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


@given(text=any_text, data=json_values)
def test_any_text_and_json_value_round_trips_through_the_database(text, data):
    note = SecretNote.objects.create(text=text, data=data)

    fresh = SecretNote.objects.get(pk=note.pk)

    assert fresh.text == text
    assert fresh.data == data
    raw_text, raw_data = raw_columns(note.pk)
    assert raw_text.isascii()
    assert raw_text != text
    if data is not None:
        assert raw_data.isascii()
        assert json.dumps(data) not in raw_data or len(json.dumps(data)) < 4


@given(first=any_text, second=any_text)
def test_updates_replace_the_value_and_equal_values_get_different_tokens(first, second):
    one = SecretNote.objects.create(text=first)
    two = SecretNote.objects.create(text=first)
    assert raw_columns(one.pk)[0] != raw_columns(two.pk)[0]  # a fresh IV every save

    one.text = second
    one.save(update_fields=["text"])

    assert SecretNote.objects.get(pk=one.pk).text == second
    assert SecretNote.objects.get(pk=two.pk).text == first
