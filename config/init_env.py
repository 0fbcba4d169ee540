"""Write a local `.env` with freshly generated secrets, unless one exists.

Run by `make run` before Django starts (so it must not import Django settings). An existing
`.env` is never touched: its keys encrypt data already in the database.

    python -m config.init_env            # create .env if missing
    python -m config.init_env --print-key  # print one new Fernet key (for FIELD_ENCRYPTION_KEYS)
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent

TEMPLATE = """\
# Written by `make run` on first start. Keep it private; never commit it.
# Every variable is explained in .env.example.
DEBUG=1
SECRET_KEY={secret_key}
FIELD_ENCRYPTION_KEYS={field_key}
ALLOWED_HOSTS=127.0.0.1,localhost
DATABASE_URL=sqlite:///db.sqlite3
"""


def render() -> str:
    return TEMPLATE.format(
        secret_key=secrets.token_urlsafe(50), field_key=Fernet.generate_key().decode()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=BASE_DIR / ".env")
    parser.add_argument("--print-key", action="store_true", help="print a new Fernet key and exit")
    args = parser.parse_args(argv)
    if args.print_key:
        print(Fernet.generate_key().decode())
        return 0
    if args.path.exists():
        print(f"{args.path.name} exists; keeping its keys.")
        return 0
    args.path.write_text(render())
    args.path.chmod(0o600)
    print(f"Wrote {args.path.name} with a new SECRET_KEY and FIELD_ENCRYPTION_KEYS.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
