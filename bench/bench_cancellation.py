"""Time from a cancellation request to its acknowledgement, through the real public path.

    python bench/bench_cancellation.py [--requests 200] [--db sqlite|postgresql]

Each request is the recap then « Confirmer ma demande de résiliation » over HTTP (the app in
process, ``TestClient``), for a contract of its own: matching, the end date, the
acknowledgement text and its PDF, the outbox row, the case in the cancellations queue, the
audit record and the timeline entry, in one transaction. The figure is the confirm request's
wall time (the acknowledgement is written in that transaction, so it is the time to
acknowledge). Reference: ``GET /healthz`` in the same run. Target: seconds, not days.

SQLite in a temporary directory; PostgreSQL in a scratch database named after
``EGARDS_BENCH_SUBS_URL`` (default ``egards_bench_subs`` on the local server) and the
process id, created for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from egards.accounts.domain import SYSTEM
from egards.app import create_app
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.db import Database, make_engine
from egards.migrate import upgrade
from egards.subscriptions import service
from egards.subscriptions.schemas import SubscriptionCreate

PG_URL = os.environ.get(
    "EGARDS_BENCH_SUBS_URL", "postgresql://postgres@127.0.0.1:5432/egards_bench_subs"
)


def _scratch(kind: str, data_dir: Path) -> tuple[str, str | None]:
    """The run's database URL, and for PostgreSQL the scratch database's name: derived from
    the configured URL and this process's id, so that two runs (or a run and the tests)
    never create or drop the same database."""
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'bench.db'}", None
    server, base = PG_URL.rsplit("/", 1)
    name = f"{base}_{os.getpid()}"
    return f"{server}/{name}", name


def _admin(statement: str) -> None:
    server = PG_URL.rsplit("/", 1)[0]
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(statement))
    admin.dispose()


def _database(url: str, name: str | None) -> Database:
    if name is not None:
        _admin(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    upgrade(engine)
    return Database(engine)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url, name = _scratch(options.db, data_dir)
        try:
            confirm, health = _run(options, data_dir, _database(url, name), url)
        finally:
            if name is not None:
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _print(options, confirm, health)


def _run(
    options: argparse.Namespace, data_dir: Path, db: Database, url: str
) -> tuple[list[float], list[float]]:
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="bench-" + "s" * 40,
        web_form_per_minute=1_000_000,
    )
    with db.unit_of_work() as session:
        for n in range(options.requests):
            customer = customers.create_customer(
                session,
                actor=SYSTEM,
                data=CustomerCreate(
                    first_name="Camille", last_name=f"Bench{n}", emails=[f"c{n}@bench.fr"]
                ),
            )
            service.create_subscription(
                session,
                actor=SYSTEM,
                data=SubscriptionCreate(
                    customer_id=customer.id,
                    reference=f"BENCH-{n}",
                    offer="Fibre",
                    start_date=date(2025, 1, 1),
                    notice_days=10,
                    price_cents=2999,
                ),
            )
    confirm, health = [], []
    with TestClient(create_app(settings, db)) as client:
        for n in range(options.requests):
            token = _csrf(client.get("/cancel").text)
            form = {
                "csrf_token": token,
                "name": f"Camille Bench{n}",
                "reference": f"BENCH-{n}",
                "email": f"c{n}@bench.fr",
                "reason": "price",
                "language": "fr",
            }
            recap = client.post("/cancel/review", data=form)
            form["csrf_token"] = _csrf(recap.text)
            started = time.perf_counter()
            done = client.post("/cancel/confirm", data=form)
            confirm.append(time.perf_counter() - started)
            assert done.status_code == 200 and 'id="ack-text"' in done.text
            started = time.perf_counter()
            client.get("/healthz")
            health.append(time.perf_counter() - started)
    db.engine.dispose()
    return confirm, health


def _print(options: argparse.Namespace, confirm: list[float], health: list[float]) -> None:
    console = Console()
    table = Table(title=f"Request to acknowledgement ({options.db}, {options.requests} requests)")
    for column in ("what", "median ms", "p95 ms", "max ms"):
        table.add_column(column)
    for name, values in (("confirm (acknowledged)", confirm), ("GET /healthz", health)):
        ordered = sorted(values)
        table.add_row(
            name,
            f"{statistics.median(ordered) * 1000:.1f}",
            f"{ordered[int(len(ordered) * 0.95) - 1] * 1000:.1f}",
            f"{ordered[-1] * 1000:.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
