"""`egards analytics import-transactions`: purchases from a CSV or Parquet file.

Columns: ``customer_id`` or ``customer_external_id`` (or ``external_id``), ``date``
(YYYY-MM-DD) and ``amount`` (in currency units, e.g. 12.50) or ``amount_cents``. The file is
checked as a whole with DuckDB (no Python loop over rows): each bad row is rejected with its
line number, the field and the reason; the good rows are written in one transaction, replacing
any rows of an earlier import under the same label (so that running it again is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import delete, text

from egards.accounts.domain import Actor, Permission
from egards.analytics.models import Transaction
from egards.audit import service as audit
from egards.customers.imports import write_rejects
from egards.db import Database, rowcount
from egards.errors import N_, InvalidInput

EARLIEST = date(1990, 1, 1)
ID_COLUMNS = ("customer_id", "customer_external_id", "external_id")


@dataclass
class Reject:
    line: int
    field: str
    reason: str


@dataclass
class TransactionImport:
    imported: int = 0
    replaced: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    removed_rejects: bool = False  # an earlier run's reject report was removed


def _relation(con, path: Path) -> str:
    suffix = path.suffix.lower()
    quoted = str(path).replace("'", "''")
    if suffix == ".parquet":
        con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM read_parquet('{quoted}')")
        # Parquet has no lines: the row number (from 1) stands for it.
        return "row_number() OVER () AS line"
    if suffix not in (".csv", ".txt"):
        raise InvalidInput(N_("{file}: use a .csv or .parquet file"), field="file", file=path.name)
    con.execute(
        f"CREATE TEMP VIEW src AS SELECT * FROM read_csv('{quoted}', header = true,"
        " all_varchar = true, auto_detect = true)"
    )
    return "row_number() OVER () + 1 AS line"  # line 1 is the header


def import_transactions(
    db: Database,
    path: Path,
    *,
    actor: Actor,
    label: str | None = None,
    rejects_path: Path | None = None,
    today: date | None = None,
    console: Console | None = None,
) -> TransactionImport:
    import duckdb
    import pyarrow as pa

    actor.require(Permission.CUSTOMERS_WRITE)
    label = (label or path.name)[:100]
    today = today or datetime.now(UTC).date()
    con = duckdb.connect()
    try:
        line = _relation(con, path)
        columns = {r[0] for r in con.execute("DESCRIBE src").fetchall()}
    except duckdb.Error as exc:
        raise InvalidInput(
            N_("{file} cannot be read: {reason}"), field="file", file=path.name, reason=str(exc)
        ) from None
    id_column = next((c for c in ID_COLUMNS if c in columns), None)
    amount_column = next((c for c in ("amount", "amount_cents") if c in columns), None)
    missing = [
        name
        for name, found in (
            ("customer_id or customer_external_id", id_column),
            ("date", "date" in columns),
            ("amount or amount_cents", amount_column),
        )
        if not found
    ]
    if missing:
        raise InvalidInput(
            N_("{file}: missing column(s) {columns}"),
            field="file",
            file=path.name,
            columns=", ".join(missing),
        )

    with db.unit_of_work() as session:
        rows = session.execute(
            text("SELECT id, external_id, status, merged_into_id FROM customers")
        ).all()
    customers = pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "external_id": pa.array([r[1] for r in rows], pa.string()),
            "status": pa.array([r[2] for r in rows], pa.string()),
            "merged_into_id": pa.array([r[3] for r in rows], pa.int64()),
        }
    )
    con.register("customers_in", customers)
    by = "id" if id_column == "customer_id" else "external_id"
    key = (
        f"TRY_CAST(trim(CAST({id_column} AS VARCHAR)) AS BIGINT)"
        if by == "id"
        else f"trim(CAST({id_column} AS VARCHAR))"
    )
    scale = "100" if amount_column == "amount" else "1"
    checked = con.sql(
        f"""
        WITH raw AS (
            SELECT {line}, {key} AS ref, CAST({id_column} AS VARCHAR) AS ref_text,
                   TRY_CAST(CAST("date" AS VARCHAR) AS DATE) AS on_date,
                   CAST("date" AS VARCHAR) AS date_text,
                   TRY_CAST(CAST({amount_column} AS VARCHAR) AS DECIMAL(18, 2)) AS amount,
                   CAST({amount_column} AS VARCHAR) AS amount_text
            FROM src
        )
        SELECT r.line,
               coalesce(c.merged_into_id, c.id) AS customer_id,
               r.on_date, CAST(round(r.amount * {scale}) AS BIGINT) AS amount_cents,
               CASE
                 WHEN r.ref IS NULL THEN '{id_column}'
                 WHEN c.id IS NULL THEN '{id_column}'
                 WHEN c.status = 'erased' THEN '{id_column}'
                 WHEN r.on_date IS NULL THEN 'date'
                 WHEN r.on_date < DATE '{EARLIEST}' OR r.on_date > DATE '{today}' THEN 'date'
                 WHEN r.amount IS NULL THEN '{amount_column}'
                 WHEN r.amount < 0 THEN '{amount_column}'
                 WHEN {scale} = 1 AND r.amount <> round(r.amount) THEN '{amount_column}'
               END AS bad_field,
               CASE
                 WHEN r.ref IS NULL THEN 'missing or not a customer reference: '
                      || coalesce(r.ref_text, '')
                 WHEN c.id IS NULL THEN 'unknown customer ' || r.ref_text
                 WHEN c.status = 'erased' THEN 'customer ' || r.ref_text || ' was erased'
                 WHEN r.on_date IS NULL THEN 'not a date (YYYY-MM-DD): '
                      || coalesce(r.date_text, '')
                 WHEN r.on_date < DATE '{EARLIEST}' THEN 'date before {EARLIEST}: ' || r.date_text
                 WHEN r.on_date > DATE '{today}' THEN 'date in the future: ' || r.date_text
                 WHEN r.amount IS NULL THEN 'not an amount: ' || coalesce(r.amount_text, '')
                 WHEN r.amount < 0 THEN 'negative amount ' || r.amount_text
                      || ': a refund cancels its purchase; remove the purchase instead'
                 WHEN {scale} = 1 AND r.amount <> round(r.amount) THEN
                      'amount_cents must be a whole number: ' || r.amount_text
               END AS reason
        FROM raw r LEFT JOIN customers_in c ON c.{by} = r.ref
        ORDER BY r.line
        """
    ).to_arrow_table()
    con.close()
    bad = checked.column("bad_field").is_valid().to_numpy(zero_copy_only=False)
    result = TransactionImport()
    lines = checked.column("line").to_numpy()
    if bad.any():
        fields = np.asarray(checked.column("bad_field").to_pylist(), dtype=object)[bad]
        reasons = np.asarray(checked.column("reason").to_pylist(), dtype=object)[bad]
        result.rejects = [
            Reject(int(n), str(f), str(r))
            for n, f, r in zip(lines[bad], fields, reasons, strict=True)
        ]
    result.rejected = len(result.rejects)
    good = checked.filter(pa.array(~bad)).select(["customer_id", "on_date", "amount_cents"])
    good = good.rename_columns(["customer_id", "on", "amount_cents"])
    good = good.append_column("label", pa.array([label] * good.num_rows, pa.string()))

    from egards.bulk import copy_rows

    with db.unit_of_work() as session:
        result.replaced = (
            rowcount(session.execute(delete(Transaction).where(Transaction.label == label))) or 0
        )
        if good.num_rows:
            copy_rows(session, "analytics_transactions", good)
        result.imported = good.num_rows
        audit.record(
            session,
            actor=actor,
            action="analytics.transactions_imported",
            entity_type="analytics_import",
            entity_id=label,
            after={
                "imported": result.imported,
                "replaced": result.replaced,
                "rejected": result.rejected,
            },
        )
    result.removed_rejects = write_rejects(rejects_path, result.rejects)
    if console is not None:
        console.print(f"{path.name}: {checked.num_rows:,} rows read")
    return result
