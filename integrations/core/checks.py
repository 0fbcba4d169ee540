"""System checks of `integrations.core`, and the helpers every Liaison app's checks share.

They run at `manage.py check` (and before `runserver`, `migrate`, the test runner), read
settings only — never the database or the network — and name the setting and what to do.
Liaison's apps do not rely on the reference project's settings file to refuse a bad value:
a host project's settings get the same checks.

- `liaison_core.E001` FIELD_ENCRYPTION_KEYS is missing or empty while a model of an installed
  app has encrypted fields.
- `liaison_core.E002` FIELD_ENCRYPTION_KEYS is not a list of strings.
- `liaison_core.E003` an entry of FIELD_ENCRYPTION_KEYS is not a valid Fernet key (by position;
  the key itself is never printed).
- `liaison_core.E004` a `RATELIMIT_*` rate is not "<count>/<s|m|h|d>".
- `liaison_core.W001` no Celery app reads the Django settings: Liaison's tasks (webhook
  processing, email sending, token refresh) would go to Celery's built-in default broker and
  never run, while every webhook is still answered 200 and stays `pending`.
- `liaison_core.W002` `CELERY_TASK_ALWAYS_EAGER` is set in the settings but the current Celery
  app does not have it (its configuration is not read from these settings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from integrations.core import conf

# "<count>/<s|m|h|d>": what both django-ratelimit and DRF's throttles understand.
RATE_PATTERN = re.compile(r"^[1-9][0-9]*/[smhd]$")

_UNSET = object()


def missing_app_errors(*, app: str, requires: Sequence[str], check_id: str) -> list[CheckMessage]:
    """One error per app in `requires` that is not in INSTALLED_APPS."""
    return [
        Error(
            f"{app} needs {required!r} in INSTALLED_APPS.",
            hint=f"Add {required!r} to INSTALLED_APPS (README: 'Install into an existing "
            f"project' lists the apps and their order).",
            id=check_id,
        )
        for required in requires
        if not apps.is_installed(required)
    ]


def require_apps(*, app: str, requires: Sequence[str], check_id: str) -> None:
    """Refuse to start when an app `app` imports is missing (call from `import_models`).

    Without it, the first import of the missing app's models fails later with Django's bare
    "Model class … isn't in an application in INSTALLED_APPS", before any check could run;
    this names the setting and the app instead (the same text as the `check_id` check).
    """
    errors = missing_app_errors(app=app, requires=requires, check_id=check_id)
    if errors:
        raise ImproperlyConfigured(
            " ".join(f"{error.msg} {error.hint} ({check_id})" for error in errors)
        )


def number_setting_errors(
    specs: Iterable[tuple[str, type[int] | type[float], float]], *, check_id: str
) -> list[CheckMessage]:
    """Errors for settings that are set but are not a number of the kind, or below `minimum`.

    `specs`: (setting name, int or float, smallest allowed value). An unset setting is fine:
    the app's conf.py default applies.
    """
    errors: list[CheckMessage] = []
    for name, kind, minimum in specs:
        value: Any = getattr(settings, name, _UNSET)
        if value is _UNSET or value is None:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and kind is int:
            ok = isinstance(value, int) or float(value).is_integer()
        if ok and value < minimum:
            ok = False
        if not ok:
            what = "an integer" if kind is int else "a number"
            errors.append(
                Error(
                    f"{name} must be {what} >= {minimum:g}; it is {value!r}.",
                    hint=f"Set {name} to {what} >= {minimum:g}, or remove it to use the "
                    "default (README: 'Settings reference').",
                    id=check_id,
                )
            )
    return errors


def _uses_encrypted_fields() -> bool:
    from integrations.core.fields import EncryptedTextField

    return any(
        isinstance(field, EncryptedTextField)
        for model in apps.get_models()
        for field in model._meta.get_fields()
    )


@register()
def check_field_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    raw = getattr(settings, "FIELD_ENCRYPTION_KEYS", None)
    if isinstance(raw, (str, bytes)) or (
        raw is not None and not all(isinstance(key, str) for key in raw)
    ):
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS must be a list of strings (Fernet keys).",
                hint='Set FIELD_ENCRYPTION_KEYS = ["<key>", ...]: the first key encrypts, every '
                "key decrypts. From an environment variable, split it on commas.",
                id="liaison_core.E002",
            )
        ]
    if not conf.field_encryption_keys():
        if not _uses_encrypted_fields():
            return []
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS is not set: installed apps store encrypted fields "
                "(tokens, webhook secrets) and cannot read or write them without a key.",
                hint="Set FIELD_ENCRYPTION_KEYS to a list of Fernet keys; generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`. Keep it apart from SECRET_KEY.",
                id="liaison_core.E001",
            )
        ]
    from integrations.core.crypto import current_fernet
    from integrations.core.exceptions import EncryptionKeyError

    try:
        current_fernet()
    except EncryptionKeyError as exc:
        # The message names the entry's position, never the key.
        return [
            Error(
                str(exc),
                hint="Replace that entry with a key from Fernet.generate_key() (32 url-safe "
                "base64-encoded bytes); keep the old key listed while data is encrypted "
                "with it.",
                id="liaison_core.E003",
            )
        ]
    return []


@register()
def check_rate_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in conf.DEFAULT_RATE_LIMITS:
        setting = conf.rate_limit_setting(name)
        value = getattr(settings, setting, None)
        if not value:  # unset: the default; empty: the limit is off
            continue
        if not isinstance(value, str) or not RATE_PATTERN.match(value):
            errors.append(
                Error(
                    f'{setting} must be "<count>/<s|m|h|d>" (e.g. "10/m"); it is {value!r}.',
                    hint=f'Set {setting} to a rate such as "10/m", or to "" to switch the '
                    "limit off.",
                    id="liaison_core.E004",
                )
            )
    return errors


_CELERY_SETUP_HINT = (
    "Use Celery's documented Django setup: a <project>/celery.py with "
    "app.config_from_object('django.conf:settings', namespace='CELERY') and "
    "app.autodiscover_tasks(), imported from <project>/__init__.py (README: 'Install into an "
    "existing project', step 3); then set CELERY_BROKER_URL, or CELERY_TASK_ALWAYS_EAGER = True "
    "to run tasks in-process."
)


@register()
def check_celery_app(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from celery import current_app

    app = current_app._get_current_object()
    if app.main == "default":  # Celery's fallback app: nobody created one
        return [
            Warning(
                "No Celery app is configured, so Liaison's tasks would be sent to Celery's "
                "default broker and never run (webhook events would stay pending).",
                hint=_CELERY_SETUP_HINT,
                id="liaison_core.W001",
            )
        ]
    eager = bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))
    if eager and not app.conf.task_always_eager:
        return [
            Warning(
                "CELERY_TASK_ALWAYS_EAGER is True in the settings, but the Celery app "
                f"{app.main!r} does not run tasks eagerly: its configuration is not read from "
                "the Django settings.",
                hint=_CELERY_SETUP_HINT,
                id="liaison_core.W002",
            )
        ]
    return []
