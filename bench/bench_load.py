"""Load benchmark on PostgreSQL: concurrent clients against a real `egards serve` process.

    python bench/bench_load.py [--duration 60] [--clients 50,200] [--workers 1]
                               [--pool-size 20] [--customers 5000] [--keep | --reuse]

The demo population (``egards demo``'s generator) is loaded into a database of its own, named
after the configured one and the process and dropped at exit (bench/_scratch.py); with
``--keep`` into ``<configured>_bench_load_kept`` (or ``EGARDS_BENCH_LOAD_URL``), which a later
``--reuse`` runs against without loading again. Then ``egards serve`` runs as a separate
process (uvicorn, ``--workers`` processes) and each client holds one keep-alive connection and
sends its next request as soon as the previous one is answered, for ``--duration`` seconds
per scenario:

- ``/healthz`` (the reference, in the same run: the HTTP stack and one database round trip);
- customer search (a name prefix, an e-mail, a phone number, a loyalty number, in turn);
- member statement (the latest 100 ledger entries of a random member);
- a mix: 45 % search, 45 % statement, 10 % redemptions of 1,000 Miles from random members
  (an insufficient balance answers 409, as it should).

Each row: throughput, p50/p95/p99 latency, responses >= 500 and connection errors (reset,
refused or closed without an answer). Targets: none of either, p95 under 250 ms at 50 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx
import orjson
from _scratch import BASE_URL, scratch_database
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from egards.accounts import service as accounts
from egards.accounts.domain import SYSTEM, Role
from egards.accounts.schemas import TokenCreate, UserCreate
from egards.customers.models import Customer, Identity
from egards.db import Database, make_engine
from egards.demo.generate import generate
from egards.loyalty.models import Member
from egards.migrate import upgrade

console = Console(width=150)
# Kept between runs for --reuse: named after the configured database, never a fixed name.
KEPT_URL = os.environ.get("EGARDS_BENCH_LOAD_URL") or f"{BASE_URL}_bench_load_kept"


def fresh_database(customers: int, keep: bool) -> Database:
    """The demo population in a database of its own: a scratch one dropped at exit, or with
    ``keep`` the one --reuse finds again."""
    if keep:
        server, name = KEPT_URL.rsplit("/", 1)
        admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    engine = make_engine(KEPT_URL if keep else scratch_database("load"))
    upgrade(engine)
    db = Database(engine)
    generate(db, customers=customers, seed=7, console=console)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return db


@dataclass
class Targets:
    token: str
    searches: list[str]
    members: list[int]
    flyers: list[int]  # Flying Blue members, whose Miles a redemption spends


def targets(db: Database) -> Targets:
    """A bearer token (an agent's) and what the clients ask for, read from the demo data."""
    with db.unit_of_work() as session:
        user = accounts.create_user(
            session,
            actor=SYSTEM,
            data=UserCreate(
                email=f"load-{time.time_ns()}@bench.example",
                display_name="Load",
                role=Role.AGENT,
                password="bench password 1",
            ),
        )
        actor = accounts.actor_for(user)
        _, token = accounts.create_token(
            session, actor=actor, data=TokenCreate(name="load", scopes=sorted(actor.permissions))
        )
        names = [name[:4] for name in session.scalars(select(Customer.last_name).limit(300))]
        identities = list(session.scalars(select(Identity.value).limit(300)))
        numbers = list(session.scalars(select(Member.number).limit(300)))
        members = list(session.scalars(select(Member.id)))
        flyers = list(session.scalars(select(Member.id).where(Member.programme == "flying_blue")))
    return Targets(token, names + identities + numbers, members, flyers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    url: str, port: int, workers: int, pool_size: int, data_dir: Path
) -> subprocess.Popen:
    env = {
        **os.environ,
        "EGARDS_DATABASE_URL": url,
        "EGARDS_DATA_DIR": str(data_dir),
        "EGARDS_SECRET_KEY": "bench-" + "k" * 40,
        "EGARDS_DB_POOL_SIZE": str(pool_size),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    command = [sys.executable, "-m", "egards", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=(data_dir / "server.log").open("w")
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"egards serve did not start; see {data_dir / 'server.log'}")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    server_errors: int = 0
    connection_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


Request = Callable[[random.Random], tuple[str, str, dict | None]]


def scenarios(found: Targets) -> dict[str, Request]:
    def health(rng):
        return "GET", "/healthz", None

    def search(rng):
        return "GET", "/api/v1/customers", {"params": {"q": rng.choice(found.searches)}}

    def statement(rng):
        return "GET", f"/api/v1/loyalty/members/{rng.choice(found.members)}/statement", None

    def redemption(rng):
        body = {"key": f"load-{rng.getrandbits(64):x}", "currency": "MILES", "amount": 1000}
        member = rng.choice(found.flyers)
        return "POST", f"/api/v1/loyalty/members/{member}/redemptions", {"json": body}

    def mix(rng):
        draw = rng.random()
        return (search if draw < 0.45 else statement if draw < 0.9 else redemption)(rng)

    return {
        "/healthz (reference)": health,
        "customer search": search,
        "member statement": statement,
        "mix with 10 % redemptions": mix,
    }


async def client(base: str, token: str, make: Request, seed: int, until: float, tally: Tally):
    """One keep-alive connection, one request at a time. Plain HTTP/1.1 over asyncio streams:
    the load generator shares the machine's cores with the server, so it must cost little."""
    rng = random.Random(seed)
    host, port = base.removeprefix("http://").split(":")
    reader = writer = None
    while time.monotonic() < until:
        method, path, extra = make(rng)
        body = orjson.dumps(extra["json"]) if extra and "json" in extra else b""
        if extra and "params" in extra:
            path += "?" + urlencode(extra["params"])
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(head.encode() + body)
            status = int((await reader.readuntil(b"\r\n")).split()[1])
            length = 0
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            tally.connection_errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if status >= 500:
            tally.server_errors += 1
    if writer is not None:
        writer.close()


async def load(base: str, token: str, make: Request, clients: int, duration: float) -> Tally:
    tally = Tally()
    until = time.monotonic() + duration
    await asyncio.gather(*(client(base, token, make, i, until, tally) for i in range(clients)))
    return tally


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share) - 1] if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds per scenario.")
    parser.add_argument("--clients", default="50,200", help="Concurrent clients, comma-separated.")
    parser.add_argument("--workers", type=int, default=1, help="`egards serve --workers`.")
    parser.add_argument("--pool-size", type=int, default=20, help="EGARDS_DB_POOL_SIZE.")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the loaded database for a later --reuse."
    )
    parser.add_argument("--reuse", action="store_true", help="Use the database --keep loaded.")
    args = parser.parse_args()
    client_counts = [int(count) for count in args.clients.split(",")]

    if args.reuse:
        db = Database(make_engine(KEPT_URL))
    else:
        with console.status(f"Loading the demo population ({args.customers:,} customers)"):
            db = fresh_database(args.customers, keep=args.keep)
    url = db.engine.url.render_as_string(hide_password=False)
    found = targets(db)
    db.engine.dispose()

    title = (
        f"egards serve --workers {args.workers} (pool {args.pool_size} per process), "
        f"PostgreSQL, {args.duration:g} s per row"
    )
    table = Table(title=title)
    for column in ("scenario", "clients", "requests/s", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    table.add_column(">= 500", justify="right")
    table.add_column("conn. errors", justify="right")
    table.add_column("statuses")
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server = start_server(url, port, args.workers, args.pool_size, Path(workdir))
        try:
            for clients in client_counts:
                for name, make in scenarios(found).items():
                    with console.status(f"{name}, {clients} clients"):
                        tally = asyncio.run(
                            load(
                                f"http://127.0.0.1:{port}",
                                found.token,
                                make,
                                clients,
                                args.duration,
                            )
                        )
                    ms = [value * 1000 for value in tally.latencies]
                    table.add_row(
                        name,
                        str(clients),
                        f"{len(ms) / args.duration:,.0f}",
                        f"{percentile(ms, 50):,.0f}",
                        f"{percentile(ms, 95):,.0f}",
                        f"{percentile(ms, 99):,.0f}",
                        str(tally.server_errors),
                        str(tally.connection_errors),
                        " ".join(f"{k}x{v}" for k, v in sorted(tally.statuses.items())),
                    )
        finally:
            server.terminate()
            server.wait(30)
    console.print(table)


if __name__ == "__main__":
    main()
