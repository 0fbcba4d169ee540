"""Celery tasks of the outbox (thin: an id in, one service call)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def outbox_item_perform_task(item_id: int) -> str:
    """Perform one row (a wake-up: safe to run twice, late, or never; the sweep backs it up)."""
    from integrations.outbox.services import outbox_item_perform

    return outbox_item_perform(item_pk=int(item_id)).status


@shared_task(ignore_result=True)
def outbox_relay_sweep_task() -> dict[str, int]:
    """Perform due rows and rows whose lease expired (Celery beat, `liaison_dispatch` queue)."""
    from integrations.outbox.relay import outbox_relay_sweep

    return dict(outbox_relay_sweep().__dict__)
