"""Handlers loaded into a real Celery worker by the worker-killed test (`--include`).

`liaison.test.block`: the first run writes its process id to the marker file named in the
payload and blocks (bounded) so the test can kill the worker mid-event; a later run succeeds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from webhooks.handlers import register


@register("stripe", "liaison.test.block")
def block_first_time(event) -> None:
    marker = Path(event.payload["marker"])
    if marker.exists():
        marker.with_suffix(".done").write_text(str(os.getpid()))
        return
    marker.write_text(str(os.getpid()))
    time.sleep(30)  # killed long before this ends
