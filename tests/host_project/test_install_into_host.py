"""Liaison installs into an existing Django project (issue 11), proved end to end.

The scenario does what the README's "Install into an existing project" says, and nothing
more: build the sdist and wheel, install the wheel into a fresh virtualenv (pinned by
constraints.txt), `django-admin startproject hostsite`, add the host's own app `shop`
(tests/host_project/host_template/), append the documented settings, then in that venv:

- `check --deploy` with production settings is clean (no warning at all);
- `makemigrations shop` for the host's app, and no migration missing in Liaison's apps;
- `migrate`, `collectstatic` (Liaison's static files are in the wheel);
- `webhook_endpoint create` for Stripe, SendGrid and the host's own provider `acme`;
- `shop_scenario` (the host app's command, Django's test client): signed Stripe and SendGrid
  deliveries run Liaison's and the host's handlers and the host's signal receivers, the host
  provider's delivery is processed by a wildcard handler (and a failing one reaches the host's
  `webhook_event_failed` receiver), `/connections/` renders inside the host's base template,
  the health dashboard and staff API answer in the host's stock admin;
- `send_test_webhook` against the project served by gunicorn on a loopback port.

Nothing reaches a provider: webhooks are posted locally and no API key is configured. Only
pip talks to a package index (PyPI or a warm pip cache). Run with `make test-host`; `make test`
excludes the `host_project` marker.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webhooks.signing import generate_ec_key_pair

pytestmark = pytest.mark.host_project

REPO = Path(__file__).resolve().parents[2]
HOST_TEMPLATE = Path(__file__).resolve().parent / "host_template"
STRIPE_FIXTURE = REPO / "tests/webhooks/fixtures/stripe/payment_intent.succeeded.json"
APPS = ("integrations", "webhooks", "oauth_accounts")
HOST_NAME = "shop.example.com"
# Nothing listens on the discard port: a non-loopback request through it is refused at once.
DEAD_PROXY = "http://127.0.0.1:9"

# Seconds: generous for a cold pip cache on a busy two-core machine, still bounded.
BUILD_TIMEOUT = 300
PIP_TIMEOUT = 900
COMMAND_TIMEOUT = 180
SERVER_START_TIMEOUT = 60


def _log(text: str) -> None:
    print(f"host-project: {text}", flush=True)


def _run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float, what: str
) -> subprocess.CompletedProcess[str]:
    """Run one command; fail the test with its output when it fails or overruns."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{what}: no answer within {timeout:.0f} s\n{exc.stdout!s}\n{exc.stderr!s}")
    if result.returncode != 0:
        pytest.fail(
            f"{what}: exit {result.returncode}\n--- stdout\n{result.stdout}\n"
            f"--- stderr\n{result.stderr}"
        )
    _log(f"{what} ({time.monotonic() - started:.1f} s)")
    return result


def _pip_env() -> dict[str, str]:
    """The environment pip runs in: this one minus anything Python- or Django-specific."""
    dropped = ("PYTHON", "VIRTUAL_ENV", "DJANGO_", "DATABASE_URL", "REDIS_URL", "CELERY_")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


def _host_env(venv: Path, **extra: str) -> dict[str, str]:
    """A clean environment for the host project: none of Liaison's test variables, and a dead
    proxy for every host but loopback, so an outbound call that should not happen fails fast
    instead of reaching the internet."""
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "hostsite.settings",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


@dataclass
class HostProject:
    root: Path
    venv: Path
    wheel: Path
    sdist: Path
    env: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def manage(
        self, *args: str, what: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run(
            [self.python, "manage.py", *args],
            cwd=self.root,
            env=env or self.env,
            timeout=COMMAND_TIMEOUT,
            what=what,
        )


def _build(out: Path) -> tuple[Path, Path]:
    _run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        cwd=REPO,
        env=_pip_env(),
        timeout=BUILD_TIMEOUT,
        what="python -m build (sdist, then the wheel from the sdist)",
    )
    (wheel,) = out.glob("liaison-*.whl")
    (sdist,) = out.glob("liaison-*.tar.gz")
    return wheel, sdist


def _create_project(root: Path, venv: Path) -> None:
    _run(
        [str(venv / "bin" / "django-admin"), "startproject", "hostsite", str(root)],
        cwd=root.parent,
        env=_host_env(venv),
        timeout=COMMAND_TIMEOUT,
        what="django-admin startproject hostsite",
    )
    shutil.copytree(HOST_TEMPLATE / "shop", root / "shop")
    shutil.copytree(HOST_TEMPLATE / "templates", root / "templates")
    for name in ("__init__.py", "celery.py", "urls.py"):
        shutil.copy(HOST_TEMPLATE / "hostsite" / name, root / "hostsite" / name)
    settings = root / "hostsite" / "settings.py"
    settings.write_text(
        settings.read_text() + "\n\n" + (HOST_TEMPLATE / "settings_append.py").read_text()
    )


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> HostProject:
    base = tmp_path_factory.mktemp("host_project")
    wheel, sdist = _build(base / "dist")
    venv = base / "venv"
    _run(
        [sys.executable, "-m", "venv", str(venv)],
        cwd=base,
        env=_pip_env(),
        timeout=COMMAND_TIMEOUT,
        what="fresh virtualenv",
    )
    _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(REPO / "constraints.txt"),
            str(wheel),
        ],
        cwd=base,
        env=_pip_env(),
        timeout=PIP_TIMEOUT,
        what=f"pip install {wheel.name} -c constraints.txt",
    )
    root = base / "site"
    root.mkdir()
    _create_project(root, venv)
    env = _host_env(
        venv,
        HOST_SECRET_KEY=secrets.token_urlsafe(50),
        HOST_ALLOWED_HOSTS=f"{HOST_NAME},127.0.0.1",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    return HostProject(root=root, venv=venv, wheel=wheel, sdist=sdist, env=env)


def _source_files(pattern: str) -> set[str]:
    return {
        path.relative_to(REPO).as_posix()
        for app in APPS
        for path in (REPO / app).glob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_wheel_holds_the_apps_with_their_files_and_nothing_else(host: HostProject) -> None:
    names = set(zipfile.ZipFile(host.wheel).namelist())
    expected = (
        _source_files("**/templates/**/*")
        | _source_files("**/static/**/*")
        | _source_files("**/migrations/*.py")
        | _source_files("**/management/commands/*.py")
        | _source_files("**/*.py")
    )
    assert expected, "no source files found"
    missing = sorted(expected - names)
    assert not missing, f"missing from the wheel: {missing}"
    stray = sorted(name for name in names if name.split("/")[0] not in (*APPS, _dist_info(names)))
    assert not stray, f"not part of the apps: {stray}"
    assert any(name.endswith("/licenses/LICENSE") for name in names)
    metadata = zipfile.ZipFile(host.wheel).read(f"{_dist_info(names)}/METADATA").decode()
    runtime = {
        line.split(":", 1)[1].strip().split(" ")[0].split(">")[0].split("[")[0].lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert not runtime & {"pytest", "ruff", "mypy", "coverage", "build", "playwright"}
    _log(
        f"{host.wheel.name}: {len(names)} files — "
        f"{len(_source_files('**/templates/**/*'))} templates, "
        f"{len(_source_files('**/static/**/*'))} static, "
        f"{len(_source_files('**/migrations/*.py'))} migration modules; no config/tests/bench"
    )


def _dist_info(names: set[str]) -> str:
    return next(name.split("/")[0] for name in names if ".dist-info/" in name)


def test_sdist_leaves_out_the_reference_project_tests_and_benchmarks(host: HostProject) -> None:
    import tarfile

    with tarfile.open(host.sdist) as archive:
        top = {name.split("/")[1] for name in archive.getnames() if name.count("/") >= 1}
    assert {"integrations", "webhooks", "oauth_accounts", "LICENSE", "CHANGELOG.md"} <= top
    assert not top & {"config", "tests", "bench", "docs", "templates"}


def test_installed_version_is_exposed(host: HostProject) -> None:
    result = _run(
        [host.python, "-c", "import integrations, webhooks; print(integrations.__version__)"],
        cwd=host.root,
        env=host.env,
        timeout=COMMAND_TIMEOUT,
        what="integrations.__version__",
    )
    assert result.stdout.strip() == host.wheel.name.split("-")[1]


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("FIELD_ENCRYPTION_KEYS", "", "FIELD_ENCRYPTION_KEYS"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key", "FIELD_ENCRYPTION_KEYS"),
    ],
)
def test_check_names_a_required_setting_the_host_got_wrong(
    host: HostProject, variable: str, value: str, named: str
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [host.python, "manage.py", "check"],
        cwd=host.root,
        env={**host.env, variable: value},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    assert named in result.stderr, result.stderr
    assert "liaison_core.E00" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    seconds = time.monotonic() - started
    _log(f"manage.py check with {variable}={value!r} names {named} ({seconds:.1f} s)")


def test_check_deploy_is_clean(host: HostProject) -> None:
    result = host.manage(
        "check", "--deploy", "--fail-level", "WARNING", what="manage.py check --deploy"
    )
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr


def test_migrations(host: HostProject) -> None:
    host.manage("makemigrations", "shop", what="manage.py makemigrations shop (the host's app)")
    result = host.manage(
        "makemigrations", "--check", "--dry-run", what="no migration missing in Liaison's apps"
    )
    assert "No changes detected" in result.stdout
    host.manage("migrate", "--noinput", what="manage.py migrate")
    host.manage("collectstatic", "--noinput", what="manage.py collectstatic")
    assert (host.root / "staticfiles" / "oauth_accounts" / "connections.css").is_file()


def test_webhook_endpoints_are_created_with_the_command(host: HostProject) -> None:
    stripe_secret = f"whsec_{secrets.token_hex(16)}"
    host.manage(
        "webhook_endpoint",
        "create",
        "--provider",
        "stripe",
        "--slug",
        "stripe",
        "--secret",
        stripe_secret,
        what="webhook_endpoint create --provider stripe",
    )
    private_pem, public_b64 = generate_ec_key_pair()
    key_file = host.root.parent / "sendgrid-test-key.pem"
    key_file.write_text(private_pem)
    host.manage(
        "webhook_endpoint",
        "create",
        "--provider",
        "sendgrid",
        "--slug",
        "sendgrid",
        "--public-key",
        public_b64,
        what="webhook_endpoint create --provider sendgrid",
    )
    created = host.manage(
        "webhook_endpoint",
        "create",
        "--provider",
        "acme",
        "--slug",
        "acme",
        what="webhook_endpoint create --provider acme (the host's provider)",
    )
    generated = [
        line.rsplit(": ", 1)[1] for line in created.stdout.splitlines() if "Secret" in line
    ]
    assert len(generated) == 1, created.stdout
    host.secrets.update(
        stripe=stripe_secret,
        sendgrid_public=public_b64,
        sendgrid_private_file=str(key_file),
        acme=generated[0],
    )


def test_host_scenario_through_the_test_client(host: HostProject) -> None:
    assert host.secrets, "the endpoints test runs first"
    result = host.manage(
        "shop_scenario",
        "--stripe-fixture",
        str(STRIPE_FIXTURE),
        "--stripe-secret",
        host.secrets["stripe"],
        "--sendgrid-private-key",
        host.secrets["sendgrid_private_file"],
        "--sendgrid-public-key",
        host.secrets["sendgrid_public"],
        "--acme-secret",
        host.secrets["acme"],
        what="manage.py shop_scenario",
    )
    for line in result.stdout.splitlines():
        if line.startswith("scenario: "):
            _log(line)
    assert "scenario: all steps passed" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not listen on {port} within {SERVER_START_TIMEOUT} s")


@pytest.fixture
def server(host: HostProject) -> Iterator[str]:
    """The host project served by gunicorn on a loopback port (plain HTTP, so no SSL redirect:
    TLS would end at a proxy in front of it)."""
    port = _free_port()
    log = (host.root.parent / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            str(host.venv / "bin" / "gunicorn"),
            "hostsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
        ],
        cwd=host.root,
        env={**host.env, "HOST_SSL_REDIRECT": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
        log.close()


def test_send_test_webhook_against_the_running_project(host: HostProject, server: str) -> None:
    for slug, event_type in (("stripe", "payment_intent.succeeded"), ("acme", "order.shipped")):
        result = host.manage(
            "send_test_webhook",
            slug,
            event_type,
            "--url",
            server,
            what=f"manage.py send_test_webhook {slug} {event_type} (gunicorn)",
        )
        assert "status: 200" in result.stdout, result.stdout
        event_id = next(
            line.split(": ", 1)[1]
            for line in result.stdout.splitlines()
            if line.startswith("event id: ")
        )
        listed = host.manage(
            "webhook_events", "--slug", slug, "--json", what=f"webhook_events --slug {slug}"
        )
        rows = {row["event_id"]: row for row in map(json.loads, listed.stdout.splitlines())}
        assert rows[event_id]["status"] == "processed", rows[event_id]
