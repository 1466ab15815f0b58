"""Bulk writes that every feature's batch paths share: ids reserved ahead, then rows in
with PostgreSQL's COPY (one executemany on SQLite)."""

from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select, text
from sqlalchemy.orm import Session


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids reserved before the rows exist, so that rows pointing to them go in alongside."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id'))"
                    " FROM generate_series(1, :n)"
                ),
                {"n": count},
            )
        )
    # SQLite: transactions begin IMMEDIATE, so no other writer can take ids meanwhile.
    start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + count))


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (the fastest path in), one executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
    cursor = session.connection().connection.driver_connection.cursor()
    quoted = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[c]) if c in as_json and row[c] is not None else row[c]
                    for c in columns
                ]
            )


def copy_rows(session: Session, table_name: str, table) -> None:
    """COPY on PostgreSQL from Arrow's CSV writer; one executemany elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        cursor = session.connection().connection.driver_connection.cursor()
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        with cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            view = buffer.getbuffer()
            for start in range(0, len(view), 1 << 22):
                copy.write(view[start : start + (1 << 22)])
        return
    columns = ", ".join(f'"{c}"' for c in table.column_names)
    marks = ", ".join("?" for _ in table.column_names)
    data = [
        col.cast("string").to_pylist() if str(col.type) == "date32[day]" else col.to_pylist()
        for col in table.columns
    ]
    session.connection().exec_driver_sql(
        f"INSERT INTO {table_name} ({columns}) VALUES ({marks})", list(zip(*data, strict=True))
    )
