"""Cases benchmarks on PostgreSQL: the SLA sweep, the inbox and "no silence" queries over a
million open cases, and inbound e-mail throughput. Each figure has a reference measured in
the same run.

    python bench/bench_cases.py [--cases 1000000] [--mails 500] [--repeat 50]

Uses a database of its own, named after the configured one and the process (bench/_scratch.py),
created for the run and dropped after it.

- Sweep: cases are loaded as a running system would have left them (clocks stored, the next
  check spread over the coming days) with a worker that has been away ``--backlog-minutes``
  (30 by default): the sweep flips states in bulk and fires every escalation step that fell
  due. Reference: recomputing every clock in Python, as a sweep without stored deadlines
  would, timed on a sample and extrapolated to all cases.
- Queries: a team queue, one agent's inbox and the "no silence" view (first page, the two
  counts), through the service functions. Reference: ``SELECT 1``.
- E-mail: messages stored raw, parsed, threaded (a quarter answer an earlier one) and
  acknowledged through the outbox, one transaction pair each. Reference: parsing alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _scratch import scratch_database
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text

from egards.accounts.domain import Actor, Role
from egards.cases import service
from egards.cases.mail import receive_email
from egards.cases.models import Case
from egards.cases.service import config_from_settings
from egards.config import Settings
from egards.db import Database, make_engine
from egards.migrate import upgrade

console = Console()
# Tuesday 24 November 2026, 16:00 in Paris: inside business hours.
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
AGENTS = 50
CUSTOMERS = 10_000


def fresh_database() -> Database:
    engine = make_engine(scratch_database("cases"))
    upgrade(engine)
    return Database(engine)


LOAD_USERS = f"""
INSERT INTO users (email, display_name, role, locale, password_hash, is_active, created_at)
SELECT 'agent' || g || '@bench.example', 'Agent ' || g, 'agent', 'fr', 'x', true, :now
FROM generate_series(1, {AGENTS}) g
"""
LOAD_CUSTOMERS = f"""
INSERT INTO customers (first_name, last_name, search_last_first, search_first_last,
    preferred_language, status, created_at, updated_at)
SELECT 'Client', 'Bench' || g, 'bench' || g || ' client', 'client bench' || g,
    CASE WHEN g % 5 = 0 THEN 'en' ELSE 'fr' END, 'active', :now, :now
FROM generate_series(1, {CUSTOMERS}) g;
INSERT INTO identities (customer_id, kind, network, value, display_value, is_primary,
    verified, created_at)
SELECT id, 'email', '', 'c' || id || '@bench.example', 'c' || id || '@bench.example', true,
    true, :now FROM customers
"""
# Open cases as a running system leaves them: 60 % awaiting an answer, 10 % paused waiting on
# the customer, deadlines stored, the next escalation check spread over the coming ten days
# (and over the last --backlog-minutes, the part a returning worker must catch up on); the
# "no silence" totals are rebuilt from the rows, as `egards cases recount` does.
LOAD_CASES = """
INSERT INTO cases (customer_id, organisation_id, channel, team, subject, category, priority,
    status, language, assignee_id, tags, opened_by, created_at, updated_at, sla_policy,
    status_log, first_response_due_at, first_response_at, next_response_breaches,
    resolution_due_at, awaiting_since, reply_due_at, due_at, at_risk_at, next_check_at,
    sla_state, reopened_count, reply_overdue)
SELECT
    1 + g % :customers, NULL,
    (ARRAY['email','web_form','phone','shop','social','partner','letter'])[1 + g % 7],
    (ARRAY['support','shop','installation','quality','billing','cancellations'])[1 + g % 6],
    'Bench case ' || g, 'question', 'normal',
    CASE WHEN g % 10 = 0 THEN 'waiting_on_customer' ELSE 'open' END, 'fr',
    CASE WHEN g % 10 < 7 THEN 1 + g % :agents END, '[]', 'bench', c.created, c.created,
    'standard',
    json_build_array(json_build_array(
        to_char(c.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'), 'new')),
    c.created + interval '20 hours',
    CASE WHEN g % 5 >= 3 THEN c.created + interval '1 hour' END, 0,
    c.created + interval '5 days',
    CASE WHEN g % 5 < 3 THEN c.created END,
    CASE WHEN g % 5 < 3 THEN c.created + interval '20 hours' END,
    CASE WHEN g % 10 <> 0 THEN
        CASE WHEN g % 5 < 3 THEN c.created + interval '20 hours'
             ELSE c.created + interval '5 days' END END,
    CASE WHEN g % 10 <> 0 THEN
        CASE WHEN g % 5 < 3 THEN c.created + interval '15 hours'
             ELSE c.created + interval '4 days' END END,
    CASE WHEN g % 10 <> 0 THEN
        :now - make_interval(mins => :backlog)
        + make_interval(secs => (g * 7919 % 864000)::float * (:backlog * 60 + 864000) / 864000)
        END,
    CASE WHEN g % 10 = 0 THEN 'paused'
         WHEN (CASE WHEN g % 5 < 3 THEN c.created + interval '20 hours'
                    ELSE c.created + interval '5 days' END) < :now - interval '1 hour'
              THEN 'breached'
         WHEN (CASE WHEN g % 5 < 3 THEN c.created + interval '15 hours'
                    ELSE c.created + interval '4 days' END) < :now - interval '1 hour'
              THEN 'at_risk'
         ELSE 'on_track' END,
    0,
    g % 5 < 3 AND g % 10 <> 0
        AND c.created + interval '20 hours' <= :now - make_interval(mins => :backlog)
FROM generate_series(1, :n) g,
     LATERAL (SELECT :now - make_interval(mins => (g * 104729 % 14400)::int) AS created) c
"""


def load(db: Database, n: int, backlog: int) -> float:
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(text(LOAD_USERS), {"now": NOW})
        for statement in LOAD_CUSTOMERS.split(";"):
            connection.execute(text(statement), {"now": NOW})
        chunk = 250_000
        for start in range(0, n, chunk):
            size = min(chunk, n - start)
            connection.execute(
                text(
                    LOAD_CASES.replace(
                        "generate_series(1, :n)",
                        f"generate_series({start + 1}::bigint, {start + size})",
                    )
                ),
                {"now": NOW, "customers": CUSTOMERS, "agents": AGENTS, "backlog": backlog, "n": n},
            )
    with db.unit_of_work() as session:
        service.recount(session)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(function, repeat: int) -> tuple[float, float]:
    function()  # warm the caches once
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations), percentile(durations, 0.95)


def bench_sweep(db: Database, config, n: int) -> dict:
    with db.unit_of_work() as session:
        due = session.scalar(
            select(text("count(*)")).select_from(Case).where(Case.next_check_at <= NOW)
        )
    started = time.perf_counter()
    report = service.sweep(db, config=config, now=NOW, batch=1000)
    elapsed = time.perf_counter() - started
    # Reference: every clock recomputed in Python, on a sample, extrapolated.
    sample = 5000
    with db.unit_of_work() as session:
        cases = list(session.scalars(select(Case).order_by(Case.id).limit(sample)))
        started = time.perf_counter()
        for case in cases:
            service.read_clocks(case, config, now=NOW)
        per_case = (time.perf_counter() - started) / len(cases)
    return {"elapsed": elapsed, "report": report, "due": due, "reference": per_case * n}


def bench_queries(db: Database, repeat: int) -> list[tuple[str, float, float]]:
    agent = Actor(label="bench agent", role=Role.AGENT, user_id=1)
    rows = []
    with db.unit_of_work() as session:
        rows.append(
            ("reference: SELECT 1", *timed(lambda: session.execute(text("SELECT 1")), repeat))
        )
        rows.append(
            (
                "team queue (support, first 50)",
                *timed(
                    lambda: service.list_cases(
                        session, actor=agent, view="team", team="support", limit=50
                    ),
                    repeat,
                ),
            )
        )
        rows.append(
            (
                "my inbox (first 50)",
                *timed(lambda: service.list_cases(session, actor=agent, view="mine"), repeat),
            )
        )
        rows.append(
            (
                "no silence (first 100 + counts)",
                *timed(lambda: service.no_silence(session, actor=agent, now=NOW), repeat),
            )
        )
    return rows


def mails(count: int) -> list[bytes]:
    messages = []
    for i in range(count):
        message = EmailMessage()
        known = i % 2 == 0
        sender = f"c{1 + i % CUSTOMERS}@bench.example" if known else f"stranger{i}@example.net"
        message["From"] = f"Client {i} <{sender}>"
        message["To"] = "service-client@egards.example"
        message["Subject"] = f"Demande {i}: ma box ne fonctionne plus"
        message["Message-ID"] = f"<bench-{i}@example.net>"
        if i % 4 == 3:  # a quarter answer an earlier message of the run
            message["In-Reply-To"] = f"<bench-{i - 3}@example.net>"
            message["References"] = f"<bench-{i - 3}@example.net>"
        message.set_content("Bonjour,\n\nMa connexion coupe tous les soirs depuis une semaine.\n")
        message.add_alternative(
            "<p>Bonjour,</p><p>Ma connexion <b>coupe</b> tous les soirs.</p>", subtype="html"
        )
        messages.append(message.as_bytes())
    return messages


def bench_mail(db: Database, config, count: int) -> dict:
    raw = mails(count)
    started = time.perf_counter()
    for message in raw:
        BytesParser(policy=policy.default).parsebytes(message).get_body()
    parse_rate = count / (time.perf_counter() - started)
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    for i, message in enumerate(raw):
        result = receive_email(
            db, raw=message, config=config, source="bench", now=NOW + timedelta(seconds=i)
        )
        statuses[result.status] = statuses.get(result.status, 0) + 1
    rate = count / (time.perf_counter() - started)
    # The SMTP receiver takes several connections at once: the same load, four at a time.
    others = [m.replace(b"bench-", b"bench-concurrent-") for m in raw]
    started = time.perf_counter()

    def deliver(pair: tuple[int, bytes]) -> None:
        index, message = pair
        when = NOW + timedelta(seconds=index)
        receive_email(db, raw=message, config=config, source="bench", now=when)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(deliver, enumerate(others)))
    concurrent = count / (time.perf_counter() - started)
    return {
        "rate": rate,
        "concurrent": concurrent,
        "parse_rate": parse_rate,
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--backlog-minutes", type=int, default=30)
    args = parser.parse_args()
    config = config_from_settings(Settings())
    db = fresh_database()
    console.print(f"Loading {args.cases:,} open cases into a scratch database …")
    load_time = load(db, args.cases, args.backlog_minutes)
    console.print(f"loaded in {load_time:.1f} s")
    sweep = bench_sweep(db, config, args.cases)
    queries = bench_queries(db, args.repeat)
    mail = bench_mail(db, config, args.mails)

    table = Table(title=f"Cases on PostgreSQL, {args.cases:,} open cases")
    table.add_column("measure")
    table.add_column("result", justify="right")
    table.add_column("target", justify="right")
    table.add_column("reference (same run)", justify="right")
    report = sweep["report"]
    table.add_row(
        f"SLA sweep ({sweep['due']:,} due after a {args.backlog_minutes}-min backlog; "
        f"{report.at_risk:,} → at risk, {report.breached:,} → breached, "
        f"{report.escalations:,} steps fired)",
        f"{sweep['elapsed']:.2f} s",
        "< 30 s",
        f"{sweep['reference']:.0f} s (every clock recomputed in Python)",
    )
    reference = queries[0]
    for name, median, p95 in queries[1:]:
        table.add_row(
            f"{name}: p50 {median:.1f} ms",
            f"p95 {p95:.1f} ms",
            "< 100 ms",
            f"{reference[0]}: p95 {reference[2]:.2f} ms",
        )
    table.add_row(
        f"inbound e-mail parsed, threaded, acknowledged ({args.mails}: {mail['statuses']})",
        f"{mail['rate']:.0f} /s",
        "≥ 50 /s",
        f"parse only: {mail['parse_rate']:.0f} /s",
    )
    table.add_row(
        "inbound e-mail, four deliveries at a time (as the SMTP receiver takes them)",
        f"{mail['concurrent']:.0f} /s",
        "≥ 50 /s",
        "",
    )
    console.print(table)


if __name__ == "__main__":
    main()
