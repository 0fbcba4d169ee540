"""The outbound layer keeps its live state in Redis or in memory; the database holds only what
an in-process breaker must tell other processes (see `journal.py`)."""

from __future__ import annotations

from django.db import models


class BreakerTransition(models.Model):
    """The latest transition an in-process breaker made for a service (embedded mode).

    Without REDIS_URL each process has its own breakers; this row lets any process (a shell
    running `integrations_health`, another worker) see what the last one to change did. Written
    on transitions only, never per call.
    """

    service = models.CharField(max_length=100, unique=True)
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    reason = models.CharField(max_length=32, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    trips = models.PositiveIntegerField(default=0)
    process = models.CharField(max_length=120, help_text="host:pid of the process that changed it")
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = "breaker transition"

    def __str__(self) -> str:
        return f"{self.service}: {self.from_state} → {self.to_state}"
