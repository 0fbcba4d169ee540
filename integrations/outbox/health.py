"""The outbox section of the operations health report (registered in `integrations.ops`).

Section `outbox(now)` → `integrations.outbox.selectors.outbox_summary`: rows pending, sending
and dead, per action, and how late the oldest due row is. Dead rows need a decision (fix the
cause, then "retry" in the admin).
"""

from __future__ import annotations


def register() -> None:
    from integrations.ops.registry import health_section_register
    from integrations.outbox.selectors import outbox_summary

    health_section_register("outbox", lambda now: outbox_summary(now=now))
