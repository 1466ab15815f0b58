"""A scratch PostgreSQL database for one benchmark run: named after the configured database
and this process (never a fixed name, so that two runs, or a run and the tests, never meet),
created empty for the run and dropped when the process exits."""

from __future__ import annotations

import atexit
import os

from sqlalchemy import create_engine, text

BASE_URL = os.environ.get("EGARDS_BENCH_DATABASE_URL") or os.environ.get(
    "EGARDS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/egards"
)


def _admin(statement: str) -> None:
    server = BASE_URL.rsplit("/", 1)[0]
    admin = create_engine(
        f"{server}/postgres".replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(statement))
    admin.dispose()


def scratch_database(purpose: str) -> str:
    """The URL of a new, empty database for this run's ``purpose`` (dropped at exit)."""
    name = f"{BASE_URL.rsplit('/', 1)[1]}_bench_{purpose}_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"{BASE_URL.rsplit('/', 1)[0]}/{name}"
