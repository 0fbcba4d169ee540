"""A daemon thread of the web process standing in for a worker and beat (no broker).

The embedded default has no worker and no beat. `InProcessRunner` is both, for one kind of
work: `submit(ids)` queues ids for the thread, which runs `process(id)` for each after the
response, and every `interval()` seconds (first at its start) runs `sweep()` as beat would,
to pick up what a dead process or a failed attempt left behind. The thread starts with the
first `submit`; `enabled()` False keeps it off (then a management command sweeps). Used by the
webhook event dispatcher (`webhooks.publisher.eager_dispatcher`) and the outbox relay
(`integrations.outbox.relay.outbox_runner`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from django.db import connections

logger = logging.getLogger(__name__)


class InProcessRunner:
    """Worker and beat for one kind of work, in a daemon thread (module docstring).

    `process(pk)` must claim its row first, so work run elsewhere meanwhile is skipped; a
    raising `process` or `sweep` is logged and the thread goes on.
    """

    def __init__(
        self,
        *,
        name: str,
        process: Callable[[int], object],
        sweep: Callable[[], object],
        enabled: Callable[[], bool],
        interval: Callable[[], float],
    ) -> None:
        self._name = name
        self._process = process
        self._sweep = sweep
        self._enabled = enabled
        self._interval = interval
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked child starts with no thread and no queue (its parent keeps its own).
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._queue: list[int] = []
        self._thread: threading.Thread | None = None
        self._next_pass = 0.0
        self._stopping = False

    @property
    def enabled(self) -> bool:
        return self._enabled()

    def submit(self, pks: Iterable[int]) -> None:
        """Queue work for the thread (and start it if needed, so it also sweeps)."""
        if not self._enabled():
            return  # left in the database: the management command's sweep picks it up
        with self._lock:
            self._queue.extend(pks)
            if self._queue:
                self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._wake.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the thread has run everything queued (tests, shutdown hooks)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after its current item (tests, shutdown); `submit` restarts it."""
        with self._lock:
            thread, self._stopping = self._thread, True
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._stopping = False

    def request_pass(self) -> None:
        """Run a sweep now rather than at the next interval (tests, commands)."""
        self._next_pass = 0.0
        self.submit(())

    def process_one(self, pk: int) -> None:
        try:
            self._process(pk)
        except Exception as exc:
            logger.error(
                "in_process_runner_item_failed",
                extra={"runner": self._name, "item": pk, "error": type(exc).__name__},
            )

    def _run(self) -> None:
        while self._enabled() and not self._stopping:
            self._wake.wait(timeout=max(0.0, self._next_pass - time.monotonic()))
            self._wake.clear()
            try:
                self._drain()
                if time.monotonic() >= self._next_pass:
                    self._next_pass = time.monotonic() + self._interval()
                    self._sweep()
            except Exception as exc:
                logger.error(
                    "in_process_runner_sweep_failed",
                    extra={"runner": self._name, "error": type(exc).__name__},
                )
            finally:
                # The thread's own connections: closed between passes, never left idle open.
                connections.close_all()
        with self._lock:
            self._thread = None

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._idle.set()
                    return
            for position, pk in enumerate(batch):
                if self._stopping:  # stays in the database: the next thread's sweep takes it
                    with self._lock:
                        self._queue[:0] = batch[position:]
                    return
                self.process_one(pk)
