"""Waking the relay after commit, and the sweep that makes the wake-up optional.

With a broker, `outbox_wake` publishes `outbox_item_perform_task` to the default queue: one
message per row, or for several rows one `celery.starmap` message per `WAKE_CHUNK` of them; a
failed publish is logged and forgotten (the row is the record). A transaction registers one
wake-up for all the rows it records (`outbox_wake_on_commit`), and a batch of webhook events
publishes its transactions' wake-ups together (`outbox_wakes_deferred`). The sweep
(`outbox_relay_sweep`, run by `outbox_relay_sweep_task` from beat on the `liaison_dispatch`
queue, so no backlog delays it, and by `manage.py outbox_relay`) performs due rows itself, in
this process, for at most one relay interval: recovery after a wiped broker or dead workers
neither waits behind the backlog nor multiplies it.

Without a broker (the embedded default), rows are performed after commit in the process that
wrote them (as eager Celery tasks were), and the in-process runner (`outbox_runner`, the same
mechanism as the webhook dispatcher thread) sweeps every `OUTBOX_RELAY_INTERVAL_SECONDS` for
rows that failed or whose process died; with `OUTBOX_EAGER_RELAY = False` only
`manage.py outbox_relay` sweeps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

from integrations.outbox import conf
from integrations.outbox.runner import InProcessRunner
from integrations.outbox.services import outbox_item_perform, outbox_items_due

logger = logging.getLogger(__name__)


# Rows woken by one broker message: publishing costs a fraction per row, and a chunk's sends
# still spread over the workers chunk by chunk.
WAKE_CHUNK = 10


@dataclass(frozen=True)
class SweepReport:
    due: int = 0
    done: int = 0
    failed: int = 0
    waiting: int = 0
    dead: int = 0


class _WakeAfterCommit:
    """The one on_commit hook of a transaction: wakes every row the transaction recorded."""

    def __init__(self, item_pk: int) -> None:
        self.item_pks = [item_pk]

    def __call__(self) -> None:
        outbox_wake(item_pks=self.item_pks)


def outbox_wake_on_commit(*, item_pk: int) -> None:
    """Have the row performed after the current transaction commits (now, outside one).

    One hook per transaction: a row recorded where a hook of this transaction is already
    registered — at this savepoint level or an enclosing one, so a rollback that discards
    the hook also discards the row — joins it. (A row of a savepoint rolled back later still
    gets its wake-up; performing finds nothing to claim.)
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        level = set(connection.savepoint_ids)
        for savepoints, hook, _robust in connection.run_on_commit:
            if isinstance(hook, _WakeAfterCommit) and savepoints <= level:
                hook.item_pks.append(item_pk)
                return
    transaction.on_commit(_WakeAfterCommit(item_pk), robust=True)


class _Deferred(threading.local):
    depth = 0
    item_pks: list[int]


_deferred = _Deferred()


@contextmanager
def outbox_wakes_deferred() -> Iterator[None]:
    """Hold the wake-ups of the transactions committed inside the block and publish them
    together when it ends (a batch of webhook events: one publish pass for the batch, not
    one per event). Rows are recorded either way; a lost wake-up is found by the sweep."""
    if _deferred.depth == 0:
        _deferred.item_pks = []
    _deferred.depth += 1
    try:
        yield
    finally:
        _deferred.depth -= 1
        if _deferred.depth == 0:
            pks, _deferred.item_pks = list(dict.fromkeys(_deferred.item_pks)), []
            if pks:
                outbox_wake(item_pks=pks)


def outbox_wake(*, item_pks: list[int]) -> None:
    """Have the rows performed soon (after commit). Never raises: the rows are recorded."""
    if _deferred.depth:
        _deferred.item_pks.extend(item_pks)
        return
    from celery import current_app

    if current_app.conf.task_always_eager:
        # As eager Celery did: performed now, in this process; the thread only sweeps.
        for pk in item_pks:
            outbox_runner.process_one(pk)
        outbox_runner.submit(())
        return
    from integrations.outbox.tasks import outbox_item_perform_task

    if len(item_pks) == 1:
        try:
            outbox_item_perform_task.delay(item_pks[0])
        except Exception as exc:
            _publish_failed(item_pks, exc)
        return
    for start in range(0, len(item_pks), WAKE_CHUNK):
        chunk = item_pks[start : start + WAKE_CHUNK]
        try:
            # One message (Celery's built-in `celery.starmap`) performs the chunk's rows one
            # after the other in the worker that takes it.
            outbox_item_perform_task.starmap([(pk,) for pk in chunk]).apply_async()
        except Exception as exc:
            _publish_failed(chunk, exc)


def _publish_failed(item_pks: list[int], exc: Exception) -> None:
    for pk in item_pks:
        logger.warning(
            "outbox_wake_publish_failed", extra={"outbox_item": pk, "error": type(exc).__name__}
        )


def outbox_relay_sweep(*, time_budget: float | None = None) -> SweepReport:
    """Perform due rows (and rows whose lease expired) here, for at most `time_budget` s."""
    budget = conf.relay_interval_seconds() if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    counts = {"done": 0, "failed": 0, "waiting": 0, "dead": 0}
    due = outbox_items_due(limit=conf.relay_batch_size())
    for pk in due:
        if time.monotonic() >= deadline:
            break
        status = outbox_item_perform(item_pk=pk).status
        key = {"done": "done", "dead": "dead", "waiting": "waiting"}.get(status, "failed")
        if status != "skipped":
            counts[key] += 1
    report = SweepReport(due=len(due), **counts)
    if report.due:
        logger.info("outbox_relay_swept", extra=report.__dict__)
    return report


def _perform(pk: int) -> None:
    outbox_item_perform(item_pk=pk)


def _sweep() -> None:
    outbox_relay_sweep()


outbox_runner = InProcessRunner(
    name="outbox-relay",
    process=_perform,
    sweep=_sweep,
    enabled=conf.eager_relay_enabled,
    interval=conf.relay_interval_seconds,
)
