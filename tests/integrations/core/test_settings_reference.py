"""README's "Settings reference" table agrees with the defaults in the apps' conf.py files.

The table is written by hand; this test parses it (nothing is generated) and compares each
row's default, as a Python literal, with `DEFAULTS` of the app that reads the setting.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from integrations.core import conf as core_conf
from integrations.email import conf as email_conf
from integrations.ops import conf as ops_conf
from integrations.outbound import conf as outbound_conf
from integrations.outbox import conf as outbox_conf
from integrations.payments import conf as payments_conf
from oauth_accounts import conf as oauth_conf
from tests.conftest import REPO_ROOT
from webhooks import conf as webhooks_conf

CONF_MODULES: dict[str, ModuleType] = {
    "integrations.core": core_conf,
    "integrations.outbound": outbound_conf,
    "integrations.outbox": outbox_conf,
    "integrations.payments": payments_conf,
    "integrations.email": email_conf,
    "integrations.ops": ops_conf,
    "webhooks": webhooks_conf,
    "oauth_accounts": oauth_conf,
}
HEADER = "| Setting | Default | Meaning | App |"
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def settings_table(path: Path) -> dict[str, tuple[Any, str]]:
    """{setting: (default, app)} from the table under HEADER; empty when there is none."""
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(HEADER) + 2  # skip the header and the | --- | row
    except ValueError:
        return {}
    rows: dict[str, tuple[Any, str]] = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        name, default, _meaning, app = (cell.strip() for cell in CELL_SPLIT.split(line)[1:5])
        rows[name.strip("`")] = (ast.literal_eval(default.strip("`")), app.strip("`"))
    return rows


def normalised(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def test_every_default_is_in_the_readme_table_with_its_value():
    table = settings_table(REPO_ROOT / "README.md")
    assert table, f"README.md has no 'Settings reference' table (header {HEADER!r})"
    defaults = {
        name: (default, app)
        for app, module in CONF_MODULES.items()
        for name, default in module.DEFAULTS.items()
    }
    assert sorted(table) == sorted(defaults)
    for name, (default, app) in defaults.items():
        assert table[name][1] == app, name
        assert normalised(table[name][0]) == normalised(default), name
