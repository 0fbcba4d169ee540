"""Publishing processing tasks off the request thread, in batches.

Why not `task.delay()` on the hot path: kombu's Redis transport builds a new Redis client and
message envelope for every publish (about 0.75 ms of CPU each, measured with
`bench/webhook_ingest.py`), which was the largest cost of receiving a webhook after the
insert itself. Celery has no batching publisher, so this module adds the smallest one that
keeps the contract:

- the delivery is durably stored (committed) before its id is handed over here, so the
  acknowledgement never depends on the broker;
- a per-process daemon thread publishes what accumulated as one `webhook_events_process_task`
  message, at most once per `linger` seconds (or as soon as `max_batch` ids wait): under
  light load an event goes out at once, under heavy load batches grow and the per-event cost
  shrinks, for at most `linger` (0.2 s) of extra processing latency;
- if the broker is down or the process dies before a batch is published, the events stay
  `pending` in the database and the periodic dispatcher re-dispatches them after
  `WEBHOOKS_PENDING_GRACE_SECONDS`: late, never lost.

Without a broker (eager mode, the embedded default) there is no worker and no beat, and a big
batch processed inside its request outlived gunicorn's timeout (issue 12: a 14,000-event
SendGrid batch, 500 to the sender, thousands of events left `pending`). There,
`EagerEventDispatcher` stands in for both:

- the request processes at most `WEBHOOKS_EAGER_BATCH_LIMIT` of its events, for at most
  `WEBHOOKS_EAGER_TIME_BUDGET_SECONDS`, and never lets a processing error reach the response
  (the events are stored: the answer is 2xx);
- the rest go to a daemon thread of the same process, which processes them after the
  response and, every `WEBHOOKS_DISPATCH_INTERVAL_SECONDS` (first at its start), runs
  `webhook_events_dispatch_due` as beat would: failed events whose retry is due, stale
  `pending` ones (left by a process that died), `processing` ones whose lease expired.

The thread starts lazily, with the first delivery a web process receives in eager mode (never
in a worker, a shell or a management command); `WEBHOOKS_EAGER_DISPATCHER = False` turns it
off. Events it had not processed when the process stopped are picked up by the next
process's first pass, once `WEBHOOKS_PENDING_GRACE_SECONDS` have passed.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from integrations.outbox.runner import InProcessRunner
from webhooks import conf

logger = logging.getLogger(__name__)

Publish = Callable[[list[int]], None]


class BackgroundEventPublisher:
    def __init__(self, publish: Publish, *, max_batch: int = 50, linger: float = 0.2) -> None:
        self._publish = publish
        self._max_batch = max_batch
        # At most one publish per `linger` seconds while busy: ids that arrive meanwhile wait
        # (at most that long) and go out together. After a quiet spell an id goes out at once.
        self._linger = linger
        self._last_publish = 0.0
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        # A forked child starts empty: its parent publishes what it had queued.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._full = threading.Event()
        self._pending: list[int] = []
        self._thread: threading.Thread | None = None

    def submit(self, event_pks: Iterable[int]) -> None:
        with self._lock:
            self._pending.extend(event_pks)
            full = len(self._pending) >= self._max_batch
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-event-publisher", daemon=True
                )
                self._thread.start()
        self._wake.set()
        if full:
            self._full.set()

    def flush(self) -> int:
        """Publish everything queued now, in batches; the number of ids handed to the broker."""
        with self._lock:
            batch, self._pending = self._pending, []
        published = 0
        for start in range(0, len(batch), self._max_batch):
            chunk = batch[start : start + self._max_batch]
            try:
                self._publish(chunk)
            except Exception as exc:
                # Stored as pending: the dispatcher re-dispatches them after the grace period.
                logger.warning(
                    "webhook_event_publish_failed",
                    extra={"events": len(chunk), "error": type(exc).__name__},
                )
                continue
            published += len(chunk)
        return published

    def _run(self) -> None:
        while True:
            self._wake.wait()
            since_last = time.monotonic() - self._last_publish
            if since_last < self._linger:
                self._full.wait(timeout=self._linger - since_last)
            self._wake.clear()
            self._full.clear()
            self._last_publish = time.monotonic()
            self.flush()


def _publish_batch(event_pks: list[int]) -> None:
    from webhooks.queue import webhook_events_publish

    webhook_events_publish(event_pks, record=False)


event_publisher = BackgroundEventPublisher(_publish_batch)


class EagerEventDispatcher(InProcessRunner):
    """Eager mode's worker and beat, in a daemon thread of the web process (module docstring).

    The thread is `integrations.outbox.runner.InProcessRunner` (the outbox relay uses the same
    one); this adds what a request may process itself. `process(pk)` runs one event (it claims
    it first, so an event run elsewhere meanwhile is skipped); the sweep re-dispatches what
    would otherwise wait forever.
    """

    def __init__(self, process: Callable[[int], object], dispatch_due: Callable[[], object]):
        super().__init__(
            name="webhook-eager-dispatcher",
            process=process,
            sweep=dispatch_due,
            enabled=conf.eager_dispatcher_enabled,
            interval=lambda: float(conf.dispatch_interval_seconds()),
        )

    def process_bounded(self, event_pks: list[int]) -> int:
        """Process what the request may (bounded), hand the rest to the thread; how many ran.

        Never raises: the events are stored, so the delivery is acknowledged whatever their
        processing does (an event left `processing` by an error is retried after its lease).
        """
        limit = conf.eager_batch_limit()
        deadline = time.monotonic() + conf.eager_time_budget_seconds()
        done = 0
        for pk in event_pks:
            if done >= limit or time.monotonic() >= deadline:
                break
            done += 1
            self.process_one(pk)
        rest = event_pks[done:]
        if rest:
            logger.info("webhook_events_deferred", extra={"processed": done, "deferred": len(rest)})
        self.submit(rest)
        return done


def _process_event(event_pk: int) -> None:
    from webhooks.services.processing import webhook_event_process

    webhook_event_process(event_pk=event_pk)


def _dispatch_due() -> None:
    from webhooks.queue import webhook_events_dispatch_due

    webhook_events_dispatch_due()


eager_dispatcher = EagerEventDispatcher(_process_event, _dispatch_due)
