"""`manage.py rotate_encryption_keys`: re-encrypts under the first key, resumable."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from integrations.core.exceptions import DecryptionError
from tests.testapp.models import SecretNote

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return Fernet.generate_key().decode()


def raw_tokens() -> list[str]:
    table = connection.ops.quote_name(SecretNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text FROM {table} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_rotation_then_removing_the_old_key_keeps_every_value_readable(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    for i in range(7):
        SecretNote.objects.create(text=f"secret-{i}", data={"i": i} if i % 2 else None)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "3", stdout=out)

    assert "10 re-encrypted" in out.getvalue()  # 7 texts + 3 non-null data values
    for token in raw_tokens():
        Fernet(new.encode()).decrypt(token.encode())
        with pytest.raises(InvalidToken):
            Fernet(old.encode()).decrypt(token.encode())

    settings.FIELD_ENCRYPTION_KEYS = [new]
    values = {n.text: n.data for n in SecretNote.objects.order_by("id")}
    assert values == {f"secret-{i}": ({"i": i} if i % 2 else None) for i in range(7)}


def test_second_run_skips_values_already_rotated(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    SecretNote.objects.create(text="a")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    tokens = raw_tokens()

    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)

    assert "0 re-encrypted" in out.getvalue()
    assert raw_tokens() == tokens


def test_interrupted_rotation_can_be_resumed(settings, monkeypatch):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    for i in range(6):
        SecretNote.objects.create(text=f"v{i}")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]

    from integrations.core import services

    def stop_after_first_batch(message: str) -> None:
        raise KeyboardInterrupt  # as if the operator pressed Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        services.encryption_keys_rotate(batch_size=2, progress=stop_after_first_batch)

    new_fernet = Fernet(new.encode())
    rotated_after_stop = 0
    for token in raw_tokens():
        try:
            new_fernet.decrypt(token.encode())
            rotated_after_stop += 1
        except InvalidToken:
            pass
    assert rotated_after_stop == 2  # the first batch committed, nothing else touched

    report = services.encryption_keys_rotate(batch_size=2)
    assert report.values_rotated == 4
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert sorted(n.text for n in SecretNote.objects.all()) == [f"v{i}" for i in range(6)]


def test_undecryptable_values_are_reported_and_left_alone(settings):
    lost, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [lost]
    orphan = SecretNote.objects.create(text="orphan")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    SecretNote.objects.create(text="fine")
    before = raw_tokens()

    with pytest.raises(CommandError) as excinfo:
        call_command("rotate_encryption_keys", stdout=io.StringIO())

    assert f"testapp.SecretNote.text pk={orphan.pk}" in str(excinfo.value)
    assert "orphan" not in str(excinfo.value)
    assert raw_tokens() == before
    with pytest.raises(DecryptionError):
        SecretNote.objects.get(pk=orphan.pk)
