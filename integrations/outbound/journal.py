"""Breaker transitions of in-process (embedded) breakers, recorded where every process can read
them: one database row per service (`models.BreakerTransition`), written on a transition only.

Best effort by design: a breaker must keep working without a database (a benchmark, a test
that forbids database access, a table not migrated yet), so a failed write is logged at debug
level and forgotten, and a failed read means "nothing recorded".
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from integrations.outbound.rules import BreakerStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedTransition:
    service: str
    from_state: str
    to_state: str
    reason: str
    opened_at: float
    trips: int
    process: str
    changed_at: datetime


def _process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def breaker_transition_record(
    service: str, left: str, entered: str, reason: str, status: BreakerStatus
) -> None:
    """Store the latest transition of this process's breaker for `service`."""
    try:
        from integrations.outbound.models import BreakerTransition

        BreakerTransition.objects.update_or_create(
            service=service,
            defaults={
                "from_state": left,
                "to_state": entered,
                "reason": reason,
                "opened_at": datetime.fromtimestamp(status.opened_at, UTC)
                if status.opened_at
                else None,
                "trips": status.trips,
                "process": _process(),
                "changed_at": datetime.now(UTC),
            },
        )
    except Exception as exc:  # best effort: the breaker works without it
        logger.debug(
            "integrations.breaker.journal_write_failed service=%s error=%s",
            service,
            type(exc).__name__,
            extra={"event": "integrations.breaker.journal_write_failed", "service": service},
        )


def breaker_transition_latest(service: str) -> RecordedTransition | None:
    """The latest transition any in-process breaker recorded for `service`, if any."""
    try:
        from integrations.outbound.models import BreakerTransition

        row = BreakerTransition.objects.filter(service=service).first()
    except Exception as exc:  # no table, no database access: nothing recorded
        logger.debug(
            "integrations.breaker.journal_read_failed service=%s error=%s",
            service,
            type(exc).__name__,
        )
        return None
    if row is None:
        return None
    return RecordedTransition(
        service=row.service,
        from_state=row.from_state,
        to_state=row.to_state,
        reason=row.reason,
        opened_at=row.opened_at.timestamp() if row.opened_at else 0.0,
        trips=row.trips,
        process=row.process,
        changed_at=row.changed_at,
    )
