"""Hypothesis profiles for the fuzz suite.

`ci` (the default) keeps the whole directory well under two minutes: a bounded, derandomized
set of examples, no per-example deadline (a shared CI machine has slow moments), no example
database written into the repository. `thorough` is for a local hunt:
`HYPOTHESIS_PROFILE=thorough .venv/bin/pytest tests/fuzz`.

Function-scoped fixtures (the database, the test client, an endpoint) are shared by the
examples of one test on purpose: every property is stated as a difference (rows before and
after one request), never as an absolute count.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "print_blob": True,
}

# Derandomized in CI: every run checks the same examples, so a red build is reproducible and
# never depends on the draw; `thorough` explores randomly.
settings.register_profile("ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
