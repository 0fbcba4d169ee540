"""`manage.py check` warns when no Celery app reads the Django settings (a host that skipped
Celery's Django setup would otherwise answer every webhook 200 and never process it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery, current_app

from integrations.core.checks import check_celery_app


@pytest.fixture
def as_current_app() -> Iterator[type[Celery]]:
    original = current_app._get_current_object()

    def make_current(main: str) -> Celery:
        app = Celery(main, set_as_current=False)
        app.set_current()
        return app

    yield make_current  # type: ignore[misc]
    original.set_current()


def test_the_reference_project_celery_app_passes():
    assert check_celery_app() == []


def test_no_celery_app_at_all_is_a_warning_that_says_what_to_add(as_current_app):
    as_current_app("default")  # what Celery falls back to when nobody created an app
    [warning] = check_celery_app()
    assert warning.id == "liaison_core.W001"
    assert "config_from_object('django.conf:settings', namespace='CELERY')" in warning.hint


def test_eager_in_settings_but_not_in_the_app_is_a_warning(as_current_app, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    as_current_app("hostsite")  # created, but configured from elsewhere
    [warning] = check_celery_app()
    assert warning.id == "liaison_core.W002"
    assert "CELERY_TASK_ALWAYS_EAGER" in warning.msg
