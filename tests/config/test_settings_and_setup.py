"""Start-up configuration, `.env` creation, the admin bootstrap and `check --deploy`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config import init_env
from tests.conftest import REPO_ROOT

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 10 + "y" * 10 + "z" * 10 + "q" * 10 + "w" * 10 + "abcde",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "liaison.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LIAISON_"))}
    for name in (*PRODUCTION_ENV, "SECURE_SSL_REDIRECT"):
        clean.pop(name, None)
    clean.update({"LIAISON_READ_DOT_ENV": "0", "DJANGO_SETTINGS_MODULE": "config.settings"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_production_start_up_stops_when_a_secret_is_missing(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_check_deploy_is_clean_with_production_variables():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_init_env_writes_fresh_keys_once(tmp_path: Path):
    target = tmp_path / ".env"

    init_env.main(["--path", str(target)])
    first = target.read_text()
    init_env.main(["--path", str(target)])

    assert target.read_text() == first  # a second run keeps the keys
    values = dict(
        line.split("=", 1) for line in first.splitlines() if line and not line.startswith("#")
    )
    Fernet(values["FIELD_ENCRYPTION_KEYS"].encode())  # a valid key
    assert len(values["SECRET_KEY"]) >= 50
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    other = tmp_path / "other.env"
    init_env.main(["--path", str(other)])
    assert other.read_text() != first  # generated, not fixed


@pytest.mark.django_db
def test_ensure_admin_creates_a_random_password_once(client):
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].split()[0]

    assert client.login(username="admin", password=password)
    again = io.StringIO()
    call_command("ensure_admin", stdout=again)
    assert "exists" in again.getvalue()
    assert password not in again.getvalue()
    assert get_user_model().objects.filter(username="admin").count() == 1

    other = io.StringIO()
    call_command("ensure_admin", "--username", "second", stdout=other)
    assert other.getvalue().split("password: ")[1].split()[0] != password


@pytest.mark.django_db
def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b"Liaison" in response.content
