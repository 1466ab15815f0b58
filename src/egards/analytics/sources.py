"""Where scoring reads from: the transactions (loyalty activities or imported purchases), the
events of cases and tiers, memberships and subscriptions, read in bulk as integer arrays
(COPY on PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from egards.analytics.churn import NEVER, CustomerEvents
from egards.bulk import pg_cursor
from egards.errors import N_, InvalidInput

EPOCH = date(1970, 1, 1)
ACTIVITY_ON = 'a."on"'
TIER_ON = 't."on"'

Source = Literal["all", "loyalty", "imported"]
SOURCES: tuple[str, ...] = ("all", "loyalty", "imported")


def epoch_day(value: date) -> int:
    """``value`` as the day number the analytics arrays hold: days since 1970-01-01."""
    return (value - EPOCH).days


def _date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def _has_table(session: Session, name: str) -> bool:
    return inspect(session.connection()).has_table(name)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _epoch_day(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def loyalty_transactions_sql(dialect: str) -> str:
    """(customer_id, day, amount_cents) of the loyalty activities that are purchases.

    Applied activities only (parked ones have no member yet); the amounts of an activity are
    summed (fare + taxes, goods, device...). A refunded activity is left out entirely, and so
    is the refund: the purchase did not happen, and the models count purchases, which cannot
    be negative. Activities without an amount (a subscription month, a partner event) are
    not discretionary purchases; subscription months feed the sBG cohorts instead.
    """
    day = _epoch_day(dialect, ACTIVITY_ON)
    if dialect == "postgresql":
        amount = (
            "(SELECT coalesce(sum((v.value)::numeric), 0)::bigint"
            " FROM json_each_text(a.payload -> 'amounts') v)"
        )
        reverses = "r.payload ->> 'reverses'"
    else:
        amount = (
            "(SELECT CAST(coalesce(sum(v.value), 0) AS INTEGER)"
            " FROM json_each(a.payload, '$.amounts') v)"
        )
        reverses = "json_extract(r.payload, '$.reverses')"
    return (
        f"SELECT customer_id, day, amount_cents FROM ("
        f"SELECT m.customer_id AS customer_id, {day} AS day, {amount} AS amount_cents"
        " FROM loyalty_activities a JOIN loyalty_members m ON m.id = a.member_id"
        " WHERE a.status = 'applied' AND a.kind <> 'refund' AND a.\"on\" <= :as_of"
        # Uncorrelated, so that it is computed once (a correlated NOT EXISTS made SQLite scan
        # every applied activity for each purchase: minutes for a demo).
        " AND a.programme || ':' || a.key NOT IN (SELECT r.programme || ':' || "
        f"({reverses}) FROM loyalty_activities r WHERE r.kind = 'refund'"
        f" AND r.status = 'applied' AND {reverses} IS NOT NULL)"
        ") t WHERE amount_cents > 0"
    )


def imported_transactions_sql(dialect: str) -> str:
    day = _epoch_day(dialect, '"on"')
    return (
        f"SELECT customer_id, {day} AS day, amount_cents FROM analytics_transactions"
        ' WHERE "on" <= :as_of'
    )


def transactions_sql(session: Session, source: str) -> str:
    """The query behind the transaction source (loyalty activities, imported, or both)."""
    if source not in SOURCES:
        raise InvalidInput(
            N_("unknown source {source}; use one of {choices}"),
            field="source",
            source=repr(source),
            choices=", ".join(SOURCES),
        )
    dialect = _dialect(session)
    parts = []
    if source in ("all", "loyalty") and _has_table(session, "loyalty_activities"):
        parts.append(loyalty_transactions_sql(dialect))
    if source in ("all", "imported"):
        parts.append(imported_transactions_sql(dialect))
    return " UNION ALL ".join(parts) if parts else "SELECT 1, 1, 1 WHERE 1 = 0"


def _read_int_columns(session: Session, sql: str, params: dict, n: int) -> list[np.ndarray]:
    """Run ``sql`` and return its ``n`` integer columns as arrays, in bulk."""
    if _dialect(session) == "postgresql":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        literal = _with_dates(sql, params)
        cursor = pg_cursor(session)
        chunks: list[bytes] = []
        # psycopg types a query as a LiteralString; this one is the module's own SQL with
        # dates written in (date.isoformat, never text from outside).
        copying = cursor.copy(f"COPY ({literal}) TO STDOUT WITH (FORMAT csv)")  # pyright: ignore[reportArgumentType]
        with copying as copy:
            for data in copy:
                chunks.append(bytes(data))
        names = [f"c{i}" for i in range(n)]
        if not any(chunks):
            return [np.zeros(0, dtype=np.int64) for _ in range(n)]
        table = pacsv.read_csv(
            pa.py_buffer(b"".join(chunks)),
            read_options=pacsv.ReadOptions(column_names=names),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.int64())),
        )
        return [table.column(i).to_numpy() for i in range(n)]
    result = session.connection().execute(text(sql), params)
    parts: list[np.ndarray] = []
    while rows := result.fetchmany(500_000):
        parts.append(np.asarray(rows, dtype=np.float64).reshape(-1, n))
    if not parts:
        return [np.zeros(0, dtype=np.int64) for _ in range(n)]
    block = np.concatenate(parts)
    return [block[:, i].astype(np.int64) for i in range(n)]


def _with_dates(sql: str, params: dict[str, date]) -> str:
    """``sql`` with its ``:name`` date parameters written in as literals (for COPY and for
    another engine's reader, which take no parameters)."""
    for key, value in params.items():
        sql = sql.replace(f":{key}", f"DATE '{value.isoformat()}'")
    return sql


def transactions_query(session: Session, *, source: str, as_of: date) -> str:
    """The PostgreSQL query of :func:`read_transactions` as one text, the day written in:
    what another engine (Spark, by JDBC) runs to read the same rows."""
    return _with_dates(transactions_sql(session, source), {"as_of": as_of})


def read_transactions(
    session: Session, *, source: str = "all", as_of: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer_id, day since 1970-01-01, amount in cents) of every purchase up to ``as_of``."""
    ids, days, amounts = _read_int_columns(
        session, transactions_sql(session, source), {"as_of": as_of}, 3
    )
    return ids, days, amounts


def _read_events(session: Session, *, as_of: date) -> CustomerEvents:
    dialect = _dialect(session)
    down_ids = down_days = np.zeros(0, np.int64)
    down_from = np.zeros(0, dtype=object)
    if _has_table(session, "loyalty_tier_changes"):
        rows = session.execute(
            text(
                f"SELECT m.customer_id, {_epoch_day(dialect, TIER_ON)}, t.from_tier"
                " FROM loyalty_tier_changes t JOIN loyalty_members m ON m.id = t.member_id"
                " WHERE t.kind = 'downgraded' AND t.\"on\" <= :as_of"
            ),
            {"as_of": as_of},
        ).all()
        if rows:
            down_ids = np.array([r[0] for r in rows], dtype=np.int64)
            down_days = np.array([r[1] for r in rows], dtype=np.int64)
            down_from = np.array([r[2] for r in rows], dtype=object)
    events = CustomerEvents(down_ids, down_days, down_from)
    if not _has_table(session, "cases"):
        return events
    columns = {c["name"] for c in inspect(session.connection()).get_columns("cases")}
    if not {"customer_id", "created_at"} <= columns:
        return events
    created = _timestamp_day(dialect, "created_at")
    where = f" FROM cases WHERE customer_id IS NOT NULL AND {_as_date(dialect, 'created_at')}"
    if not columns >= PROMISE_COLUMNS:
        ids, days = _read_int_columns(
            session, f"SELECT customer_id, {created}{where} <= :as_of", {"as_of": as_of}, 2
        )
        return replace(events, case_customer=ids, case_day=days, has_cases=True)
    ids, days, broken, closed, complaint = _read_int_columns(
        session,
        f"SELECT customer_id, {created}, {_broken_promise_day(dialect)},"
        f" {_closed_day(dialect)}, CASE WHEN category = 'complaint' THEN 1 ELSE 0 END"
        f"{where} <= :as_of",
        {"as_of": as_of},
        5,
    )
    return replace(
        events,
        case_customer=ids,
        case_day=days,
        has_cases=True,
        case_broken_day=broken,
        case_closed_day=closed,
        case_complaint=complaint.astype(bool),
        has_promises=True,
    )


PROMISE_COLUMNS = frozenset(
    {
        "status",
        "category",
        "updated_at",
        "first_response_due_at",
        "first_response_at",
        "first_response_breached",
        "next_response_breaches",
        "awaiting_since",
        "reply_due_at",
        "reply_overdue",
        "sla_state",
        "resolved_at",
        "closed_at",
    }
)


def _as_date(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"CAST({column} AT TIME ZONE 'UTC' AS DATE)"
    return f"date({column})"


def _timestamp_day(dialect: str, column: str) -> str:
    return _epoch_day(dialect, _as_date(dialect, column))


def _broken_promise_day(dialect: str) -> str:
    """The day a case's response promise was first broken, as the row tells it; NEVER if kept.

    A first response later than promised (or none yet, past its deadline) breaks it on the
    deadline; an awaited answer still pending breaks it on its due day (not while paused
    waiting on the customer, unless the sweep already found it late); a late next response is
    only counted, so the last update of the case stands for its day (never earlier than the
    breach, so a training cutoff cannot see it before it happened).
    """
    first_due, reply_due, updated = (
        _timestamp_day(dialect, c) for c in ("first_response_due_at", "reply_due_at", "updated_at")
    )
    terms = (
        "CASE WHEN first_response_breached OR (first_response_breached IS NULL"
        f" AND first_response_at IS NULL) THEN {first_due} END",
        "CASE WHEN awaiting_since IS NOT NULL AND (reply_overdue OR sla_state <> 'paused')"
        f" THEN {reply_due} END",
        f"CASE WHEN next_response_breaches > 0 THEN {updated} END",
    )
    least = "LEAST" if dialect == "postgresql" else "min"
    return f"{least}({', '.join(f'coalesce({t}, {NEVER})' for t in terms)})"


def _closed_day(dialect: str) -> str:
    closed = _timestamp_day(dialect, "coalesce(resolved_at, closed_at, updated_at)")
    return f"CASE WHEN status IN ('resolved', 'closed') THEN {closed} ELSE {NEVER} END"


def _read_members(session: Session):
    """Loyalty members (customer, programme, tier rank, tier) and each programme's tiers."""
    if not _has_table(session, "loyalty_members"):
        return None, {}
    from egards.loyalty import service as loyalty

    programme_tiers = {
        code: [(t.code, t.name.get("en")) for t in programme.tiers]
        for code, programme in loyalty.programmes().items()
    }
    rows = session.execute(
        text("SELECT customer_id, programme, tier FROM loyalty_members ORDER BY customer_id")
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    programmes = np.array([r[1] for r in rows], dtype=object)
    tiers = np.array([r[2] for r in rows], dtype=object)
    rank = np.full(ids.size, -1, dtype=np.int64)
    for code, tier_list in programme_tiers.items():
        for position, (tier, _) in enumerate(tier_list):
            rank[(programmes == code) & (tiers == tier)] = position
    return (ids, programmes, rank, tiers), programme_tiers


def _read_subscriptions(session: Session, *, as_of: date) -> tuple[np.ndarray, np.ndarray] | None:
    if not _has_table(session, "loyalty_activities"):
        return None
    dialect = _dialect(session)
    customer_ids, days = _read_int_columns(
        session,
        f"SELECT m.customer_id, {_epoch_day(dialect, ACTIVITY_ON)}"
        " FROM loyalty_activities a JOIN loyalty_members m ON m.id = a.member_id"
        " WHERE a.status = 'applied' AND a.kind = 'subscription_month'"
        ' AND a."on" <= :as_of',
        {"as_of": as_of},
        2,
    )
    return customer_ids, days


def _active_customers(session: Session) -> np.ndarray:
    (ids,) = _read_int_columns(session, "SELECT id FROM customers WHERE status = 'active'", {}, 1)
    return ids


def customer_id_range(session: Session) -> tuple[int, int]:
    """The lowest and highest customer ids (0, 0 without customers): the range another
    engine splits among its readers."""
    lowest, highest = session.execute(text("SELECT min(id), max(id) FROM customers")).one()
    return int(lowest or 0), int(highest or 0)
