"""Loaded into the benchmark's Celery worker (`--include=bench.worker_stats`): counts the SQL
statements the worker sends and writes the running total to $BENCH_STATS_FILE after each task.
"""

from __future__ import annotations

import os
from typing import Any

from celery.signals import task_postrun
from django.db.backends.signals import connection_created

_count = 0
_LOG = os.environ.get("BENCH_SQL_LOG", "")  # every statement's start, for a closer look


def _counting(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    global _count
    _count += 1
    if _LOG:
        with open(_LOG, "a") as handle:
            handle.write(sql[:160].replace("\n", " ") + "\n")
    return execute(sql, params, many, context)


def _installed(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _counting not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counting)


@task_postrun.connect
def _write(**kwargs: Any) -> None:
    path = os.environ.get("BENCH_STATS_FILE")
    if path:
        with open(f"{path}.tmp", "w") as handle:
            handle.write(str(_count))
        os.replace(f"{path}.tmp", path)  # readers never see a half-written file


connection_created.connect(_installed)
