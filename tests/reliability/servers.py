"""Processes the fault tests start and stop: the web server, Celery workers, and throwaway
Redis and PostgreSQL servers they can kill to simulate an outage.

Every process is started on 127.0.0.1, on a port from the reliability tests' range
(`PORT_RANGE`) or one the OS picked, and stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
from django.conf import settings

from tests.conftest import REPO_ROOT, _database_url_for, stop_process

# Ports these tests may bind (the OS picks for the fake upstream: port 0).
PORT_RANGE = range(18600, 18650)


def free_port() -> int:
    """A port of `PORT_RANGE` nothing listens on right now."""
    for port in PORT_RANGE:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def wait_for(predicate, *, timeout: float, step: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def service_env(*, database_name: str, **overrides: str) -> dict[str, str]:
    """Environment of a child Django process on the test database and the test's secrets.

    No SENDGRID_API_KEY: emails are recorded and printed to the console, nothing leaves.
    """
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "LIAISON_TEST_CELERY_EAGER": "0",
            "DATABASE_URL": _database_url_for(database_name),
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "SENDGRID_API_KEY": "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def manage(env: Mapping[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run `manage.py <args>` in a child process; its stdout (raises on failure).

    System checks are skipped: they have tests of their own, and a fault test should not
    depend on them."""
    done = subprocess.run(
        [sys.executable, "manage.py", args[0], "--skip-checks", *args[1:]],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited with {done.returncode}: "
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return done.stdout.decode(errors="replace")


# --- web server ------------------------------------------------------------------------------


@dataclass
class WebServer:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc)


def start_web_server(
    env: Mapping[str, str], *, log: Path, workers: int = 2, threads: int = 8, timeout: float = 30
) -> WebServer:
    """gunicorn (threaded workers, keep-alive) serving `config.wsgi` until it answers."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                "--worker-class=gthread",
                f"--threads={threads}",
                "--keep-alive=30",
                "--graceful-timeout=5",
                "--timeout=60",
                "--log-level=warning",
            ],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = WebServer(proc=proc, port=port, log=log)

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log}")
        try:
            requests.get(f"{server.base_url}/healthz", timeout=2)
        except requests.RequestException:
            return False
        return True

    if not wait_for(answers, timeout=timeout, step=0.25):
        server.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout}s; see {log}")
    return server


def start_shipped_server(
    env: Mapping[str, str], *, log: Path, timeout: float = 30, **overrides: str
) -> WebServer:
    """gunicorn with the shipped production configuration (`config/gunicorn.conf.py`).

    Only the bind address (a free loopback port) and the `overrides` (its GUNICORN_* /
    WEB_CONCURRENCY variables) differ from a deployment.
    """
    port = free_port()
    child_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", **overrides}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"],
            cwd=REPO_ROOT,
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return _until_answering(WebServer(proc=proc, port=port, log=log), timeout=timeout)


def _until_answering(server: WebServer, *, timeout: float) -> WebServer:
    def answers() -> bool:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.proc.returncode}; see {server.log}")
        try:
            requests.get(f"{server.base_url}/healthz", timeout=2)
        except requests.RequestException:
            return False
        return True

    if not wait_for(answers, timeout=timeout, step=0.25):
        server.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout}s; see {server.log}")
    return server


# --- Celery workers --------------------------------------------------------------------------


def start_logged_worker(
    env: Mapping[str, str],
    *,
    log: Path,
    timeout: float = 30.0,
    wait: bool = True,
    concurrency: int = 1,
) -> subprocess.Popen[bytes]:
    """A Celery worker (one child process) whose output goes to `log`; waits for a ping.

    Like `tests.conftest.start_celery_worker`, plus the log: the console email transport
    prints there, so a test can count the emails the worker really sent. `wait=False`: do not
    ping (a worker on another broker than the test process's); the caller checks it works.
    """
    from celery import current_app

    hostname = f"reliability-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                # Both queues, as a worker started without -Q does (named here to be explicit).
                "--queues=celery,liaison_dispatch",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={hostname}",
            ],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if not wait:  # the caller sees it work (e.g. events get processed)
        return proc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early with {proc.returncode}; see {log}")
        if current_app.control.ping(destination=[hostname], timeout=0.5):
            return proc
    stop_process(proc)
    raise RuntimeError(f"celery worker did not answer a ping within {timeout}s; see {log}")


def start_beat(env: Mapping[str, str], *, log: Path, schedule: Path) -> subprocess.Popen[bytes]:
    """Celery beat with the project's schedule (its intervals come from `env`)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=WARNING",
                f"--schedule={schedule}",
            ],
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill_one_web_worker(server: WebServer) -> int:
    """SIGKILL one gunicorn worker (the master starts another); its pid, 0 if none."""
    workers = child_pids(server.proc.pid)
    if not workers:
        return 0
    with contextlib.suppress(ProcessLookupError):
        os.kill(workers[0], signal.SIGKILL)
    return workers[0]


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc), e.g. a prefork worker's pool processes."""
    found: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and its children at once (no shutdown, no acknowledgement)."""
    children = child_pids(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


# --- throwaway Redis -------------------------------------------------------------------------


@dataclass
class ThrowawayRedis:
    """A private redis-server on a port of ours: killed and restarted to simulate an outage."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; the Redis fault test needs it")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for(self.answers, timeout=10, step=0.05):
            self.stop()
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    def answers(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: the outage; every connection drops at once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: a hung server. Connections stay open (and new ones are accepted by the
        kernel) but nothing is answered."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def pause_clients(self, seconds: float) -> None:
        """`CLIENT PAUSE <ms> ALL`: every client blocks for `seconds` (a broker pause), and
        nothing queued is lost."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        try:
            client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.thaw()  # a stopped process ignores SIGTERM until continued
            stop_process(self.proc)


# --- throwaway PostgreSQL --------------------------------------------------------------------


def _pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"{name} (PostgreSQL server binaries) is not installed")


@dataclass
class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary directory, on a port of ours.

    Run as the `postgres` user when the tests run as root (initdb refuses root). `stop()` is an
    immediate shutdown (connections drop, like a crashed server); `start()` brings it back.
    """

    port: int = field(default_factory=free_port)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="liaison-pg-")))
    # `synchronous_commit=off` acknowledges a commit before its WAL is written: an immediate
    # stop then loses the last commits, which a test of acknowledged work must not allow.
    durable_commits: bool = False

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed: {done.stderr.decode(errors='replace')[-1500:]}"
            )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            _pg_binary("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
            f" -c synchronous_commit={'on' if self.durable_commits else 'off'}"
        )
        self._run(
            _pg_binary("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def running(*stoppables: object) -> Iterator[None]:
    """Stop (by PID) whatever was started, whatever happens in the block."""
    try:
        yield
    finally:
        for item in stoppables:
            with contextlib.suppress(Exception):
                item.stop()  # type: ignore[attr-defined]
