"""Write operations of the foundation (see STYLE.md: services do, selectors read)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet
from django.apps import apps
from django.db import models, transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from integrations.core.crypto import InvalidToken, current_fernet, primary_fernet
from integrations.core.fields import EncryptedTextField

logger = logging.getLogger(__name__)


@dataclass
class RotationReport:
    columns: int = 0
    values_checked: int = 0
    values_rotated: int = 0
    failures: list[str] = field(default_factory=list)


def encrypted_columns() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every concrete model with its encrypted fields."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def _decrypts(fernet: Fernet, token: bytes) -> bool:
    try:
        fernet.decrypt(token)
    except InvalidToken:
        return False
    return True


def encryption_keys_rotate(
    *, batch_size: int = 500, progress: Callable[[str], object] | None = None
) -> RotationReport:
    """Re-encrypt every encrypted value that is not already under the primary key.

    Rows are walked in primary-key order, `batch_size` at a time, each batch locked
    (`SELECT … FOR UPDATE` where the database has it) and rewritten in its own transaction,
    so an interrupted run leaves every row readable and a second run finishes the job. The raw
    token is read with a cast so the field's decryption is bypassed; a value no key decrypts is
    reported (model, field, pk — never the value) and left untouched.
    """
    report = RotationReport()
    multi = current_fernet()
    primary = primary_fernet()
    for model, fields in encrypted_columns():
        report.columns += len(fields)
        pk_name = model._meta.pk.attname
        raw_names = {f.attname: f"_raw_{f.attname}" for f in fields}
        last_pk = None
        while True:
            with transaction.atomic():
                qs = model._base_manager.select_for_update().order_by(pk_name)
                if last_pk is not None:
                    qs = qs.filter(**{f"{pk_name}__gt": last_pk})
                qs = qs.annotate(
                    **{
                        raw: Cast(attname, output_field=TextField())
                        for attname, raw in raw_names.items()
                    }
                )
                rows = list(qs.values(pk_name, *raw_names.values())[:batch_size])
                if not rows:
                    break
                for row in rows:
                    updates = {}
                    for attname, raw in raw_names.items():
                        token = row[raw]
                        if token is None:
                            continue
                        report.values_checked += 1
                        token_bytes = token.encode("ascii", "replace")
                        if _decrypts(primary, token_bytes):
                            continue
                        try:
                            rotated = multi.rotate(token_bytes).decode("ascii")
                        except InvalidToken:
                            report.failures.append(
                                f"{model._meta.label}.{attname} pk={row[pk_name]}"
                            )
                            continue
                        # An expression bypasses the field's encryption: store the token as is.
                        updates[attname] = Value(rotated, output_field=TextField())
                    if updates:
                        model._base_manager.filter(**{pk_name: row[pk_name]}).update(**updates)
                        report.values_rotated += len(updates)
                last_pk = rows[-1][pk_name]
            if progress is not None:
                progress(f"{model._meta.label}: up to pk {last_pk}")
    logger.info(
        "encryption_keys_rotated",
        extra={
            "columns": report.columns,
            "checked": report.values_checked,
            "rotated": report.values_rotated,
            "failures": len(report.failures),
        },
    )
    return report
