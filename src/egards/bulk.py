"""Bulk reads and writes that every feature's batch paths share: lookups by many ids in
chunks, ids reserved ahead, then rows in with PostgreSQL's COPY (one executemany on SQLite)."""

from __future__ import annotations

import gc
import io
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from operator import itemgetter
from typing import Any

import orjson
import psycopg
from sqlalchemy import (
    JSON,
    DateTime,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType


def pg_cursor(session: Session) -> psycopg.Cursor[Any]:
    """A psycopg cursor on the session's own connection (COPY, server-side work), inside the
    session's transaction. PostgreSQL only."""
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"COPY needs PostgreSQL's driver, not {type(driver).__name__}")
    return driver.cursor()


def json_text(value: Any) -> str:
    """A value as JSON text, as the bulk paths write it (orjson: an order of magnitude faster
    than the standard library on the rows they write)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def chunks(items: Sequence[Any], size: int = 5000) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size``: an ``IN`` list stays well under the drivers' limits."""
    return (items[start : start + size] for start in range(0, len(items), size))


def among(session: Session, column: Any, ids: Iterable[Any]) -> Any:
    """``column IN ids`` for many ids: on PostgreSQL one array parameter (``= ANY(…)``), so
    that a statement over thousands of ids is not compiled and sent with a bind parameter
    each (a third of a bulk path's reads' CPU); ``IN`` elsewhere."""
    values = list(ids)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(array_of(session, values, column.type))


def array_of(session: Session, values: list[Any], element: Any) -> Any:
    """``values`` as one PostgreSQL array parameter of ``element``'s type, sent as one text
    (see _array_text): the driver adapted a list element by element, in Python, at about
    half a microsecond each. The parameter is typed as the array itself (a constant to the
    planner: a cast of a text is parsed again for every row a scan compares)."""
    written, split = _array_text(values, as_json=False)
    array = _ArrayText(element.compile(dialect=session.get_bind().dialect))
    if split:
        text_ = bindparam(None, written, type_=Text)
        return cast(func.string_to_array(text_, _SEPARATOR, _NULL), array)
    return bindparam(None, written, type_=array)


class _ArrayText(UserDefinedType[str]):
    """An array parameter sent as its text (see :func:`array_of`), cast to the array type."""

    cache_ok = True
    render_bind_cast = True

    def __init__(self, element: str) -> None:
        self.element = element

    def get_col_spec(self, **kw: Any) -> str:
        return f"{self.element}[]"


def select_in(session: Session, key: Any, *columns: Any, ids: Iterable[Any]) -> Iterator[Any]:
    """Rows of (``key``, ``columns``…) for many ids, read in chunks."""
    for chunk in chunks(sorted(set(ids))):
        yield from session.execute(select(key, *columns).where(key.in_(chunk)))


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a batch builds its rows: the collector would walk
    every row built so far, again and again, though none of them is garbage yet."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# How often a thread waiting for the interpreter is let in while a background writer runs.
# The writer thread waits on the server with the interpreter released; to send its next
# statement or block of COPY data it needs the interpreter back from the calling thread, which
# computes the next batch and keeps it, by default, up to 5 ms each time: the connection idle
# meanwhile. Measured: the customer import of 1,000,000 took 24.9 s with 5 ms, 21.2 s with
# 0.5 ms (the calling thread waiting for the writer 5.2 s, then 0.7 s); the loyalty bulk path
# 14-22 % less wall time in alternated pairs.
_SWITCH_INTERVAL = 0.0005
_switching = threading.Lock()
_switched: list[float] = []  # the interval before the first of the writers open now


def _prompt_writer() -> None:
    """The interpreter's switch interval shortened while a writer is open (the first of
    concurrent writers sets it; :func:`_writer_closed` gives it back after the last)."""
    with _switching:
        _switched.append(sys.getswitchinterval())
        sys.setswitchinterval(min(_SWITCH_INTERVAL, _switched[0]))


def _writer_closed() -> None:
    with _switching:
        first = _switched[0]
        _switched.pop()
        if not _switched:
            sys.setswitchinterval(first)


class BackgroundWriter:
    """Runs one batch's writes at a time in a thread, on the session's connection, while the
    caller computes the next batch: PostgreSQL works on the rows (indexes, constraints)
    while Python builds more. The caller touches the connection only between :meth:`wait`
    and :meth:`submit`. On SQLite (one connection per thread) writes run in the caller."""

    def __init__(self, session: Session) -> None:
        threaded = session.get_bind().dialect.name == "postgresql"
        self._pool = ThreadPoolExecutor(max_workers=1) if threaded else None
        self._pending: Future[None] | None = None

    def submit(self, write: Callable[..., None], *args: Any) -> None:
        self.wait()
        if self._pool is None:
            write(*args)
        else:
            self._pending = self._pool.submit(write, *args)

    def wait(self) -> None:
        """Until the writes submitted last are done (their error, if any, raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> BackgroundWriter:
        _prompt_writer()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._pending is not None:
                wait_for([self._pending])  # the caller's error wins; the connection is free
        finally:
            if self._pool is not None:
                self._pool.shutdown()
            _writer_closed()


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids reserved before the rows exist, so that rows pointing to them go in alongside."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # One array, not one row per id: fetching 30,000 rows cost more than taking the ids.
        # The sequence is looked up once (a sub-select), not once per id: per id, the
        # look-up and its cast to regclass cost seven times nextval itself.
        return session.scalar(
            text(
                "SELECT array_agg(nextval((SELECT pg_get_serial_sequence("
                f"'{table.name}', 'id')::regclass))) FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
    # SQLite: transactions begin IMMEDIATE, so no other writer can take ids meanwhile.
    start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + count))


@contextmanager
def _copying(cursor: Any, statement: str) -> Iterator[Any]:
    """COPY through the driver, its errors raised as SQLAlchemy's (a duplicate key as an
    IntegrityError, a lock wait that ran out as an OperationalError), so that they reach the
    same answers as any other statement's instead of a server error."""
    try:
        with cursor.copy(statement) as copy:
            yield copy
    except psycopg.Error as error:
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY on PostgreSQL (the fastest path in), one executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    as_json = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    values_of = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    cursor = pg_cursor(session)
    quoted = ", ".join(f'"{c}"' for c in columns)
    with _copying(cursor, f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            values = values_of(row)
            if as_json:
                values = list(values)
                for i in as_json:
                    if values[i] is not None:
                        values[i] = json_text(values[i])
            write(values)


@dataclass(frozen=True)
class PreparedCopy:
    """Rows of one table in COPY's text format, made while the connection is busy with the
    previous batch, and sent later as they are."""

    table: str
    columns: tuple[str, ...]
    data: bytes


def _escaped(value: Any) -> str:
    if value is None:
        return "\\N"
    text = value if type(value) is str else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _json(value: Any) -> str:
    # JSON text holds no raw control characters (they are escaped), only backslashes.
    return "\\N" if value is None else json_text(value).replace("\\", "\\\\")


class _Stamp:
    """A timestamp's text, remembered for the next row (a batch shares one ``now``). The pair
    is one attribute, so that threads sharing it never see a value with another's text."""

    def __init__(self) -> None:
        self.last: tuple[Any, str] = (None, "\\N")

    def __call__(self, value: Any) -> str:
        last = self.last
        if value is not last[0]:
            last = self.last = (value, "\\N" if value is None else str(value))
        return last[1]


def prepare_copy(table: Table, rows: list[dict[str, Any]]) -> PreparedCopy:
    """``rows`` as the text COPY reads (what psycopg would send for them, built by hand: a
    third of the time of a CSV writer on rows with long JSON)."""
    columns = tuple(rows[0]) if rows else ()
    line = _line_maker(table, columns)
    return copy_of_lines(table.name, columns, [line(row) for row in rows])


def copy_line(table: Table, columns: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    """The function :func:`prepare_copy` turns each row of ``table`` with ``columns`` into a
    line with (for callers that make some lines themselves and must match it)."""
    return _line_maker(table, columns)


def copy_escaped(value: Any) -> str:
    """A text value as COPY's text format writes it (``None`` as ``\\N``)."""
    return _escaped(value)


def copy_json(value: Any) -> str:
    """A JSON value as COPY's text format writes it into a JSON column (``None`` as ``\\N``)."""
    return _json(value)


def copy_of_lines(table: str, columns: tuple[str, ...], lines: list[str]) -> PreparedCopy:
    """Lines of COPY text already made (each without its newline) as one prepared COPY into
    the table named ``table``."""
    text = "\n".join(lines) + "\n" if lines else ""
    return PreparedCopy(table, columns, text.encode())


def prepare_copy_columns(
    table: Table, columns: Mapping[str, Sequence[Any]], *, same: Mapping[str, Any] | None = None
) -> PreparedCopy:
    """Rows given column by column (at least one list of values; ``same``: the value every
    row has in a column) as the text COPY reads: byte for byte what :func:`prepare_copy`
    makes of the same rows, its columns in the same order, with text columns (``str`` or
    ``None``) escaped and every line joined by Arrow instead of a Python call per value."""
    import pyarrow as pa

    pc: Any = import_module("pyarrow.compute")  # its functions are made at run time
    shared = dict(same or {})
    count = len(next(iter(columns.values()))) if columns else 0
    if count == 0:
        return PreparedCopy(table.name, (), b"")
    names = (*columns, *shared)
    convert = _converters(table, names)
    parts: list[Any] = []
    for name, values in columns.items():
        if isinstance(table.c[name].type, String):
            parts.append(_escaped_array(pa.array(values, type=pa.string())))
        elif isinstance(values, pa.Array):  # numbers or dates: Arrow's text of them is str()'s
            parts.append(pc.fill_null(pc.cast(values, pa.string()), "\\N"))
        else:
            parts.append(pa.array([convert[name](value) for value in values], type=pa.string()))
    parts += [pa.scalar(convert[name](value), type=pa.string()) for name, value in shared.items()]
    lines = pc.binary_join_element_wise(*parts, "\t")
    lines = pc.binary_join_element_wise(lines, "", "\n")  # each line ended by its newline
    # No null line, so the array's data buffer, between its first and last offsets, is the
    # lines one after the other.
    _, offsets, data = lines.buffers()
    bounds = memoryview(offsets).cast("i")
    start, end = bounds[lines.offset], bounds[lines.offset + len(lines)]
    return PreparedCopy(table.name, names, data.to_pybytes()[start:end])


def _escaped_array(values: Any) -> Any:
    """:func:`_escaped` over an Arrow array of text."""
    pc: Any = import_module("pyarrow.compute")
    if pc.any(pc.match_substring_regex(values, r"[\\\t\n\r]")).as_py():
        for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            values = pc.replace_substring(values, raw, escaped)
    return pc.fill_null(values, "\\N")


def _converters(table: Table, columns: tuple[str, ...]) -> dict[str, Callable[[Any], str]]:
    """Per column, the conversion :func:`_line_maker` writes into its line function."""
    found: dict[str, Callable[[Any], str]] = {}
    for name in columns:
        column = table.c[name]
        if isinstance(column.type, JSON):
            found[name] = _json
        elif isinstance(column.type, String):
            found[name] = _escaped
        else:
            found[name] = _plain
    return found


def _plain(value: Any) -> str:
    return "\\N" if value is None else str(value)


@cache
def _line_maker(table: Table, columns: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    """One function per table and columns that turns a row into a line of COPY's text, with
    each column's conversion written in (one call per row, not one per value)."""
    parts = []
    for index, name in enumerate(columns):
        column = table.c[name]
        value = f"row[{name!r}]"
        if isinstance(column.type, JSON):
            parts.append(f"_json({value})")
        elif isinstance(column.type, String):
            parts.append(f"_escaped({value})")
        elif isinstance(column.type, DateTime):  # one stamp for a whole batch, mostly
            parts.append(f"_stamp({value})")
        elif column.nullable or column.primary_key:
            parts.append(f"(_NULL if (v{index} := {value}) is None else str(v{index}))")
        else:  # numbers and dates that cannot be missing: nothing to escape
            parts.append(f"str({value})")
    source = "def line(row):\n    return '\\t'.join((" + ", ".join(parts) + ",))\n"
    scope = {"_json": _json, "_escaped": _escaped, "_stamp": _Stamp(), "_NULL": "\\N"}
    # The source is made of the table's own column names and the converters above.
    exec(source, scope)
    return scope["line"]


def write_prepared_copy(session: Session, copy: PreparedCopy) -> None:
    if not copy.columns:
        return
    quoted = ", ".join(f'"{c}"' for c in copy.columns)
    cursor = pg_cursor(session)
    with _copying(cursor, f"COPY {copy.table} ({quoted}) FROM STDIN") as out:
        out.write(copy.data)


def bulk_update(
    session: Session, table: Table, rows: list[dict[str, Any]], *, key: str | tuple[str, ...]
) -> None:
    """Rows changed by their ``key`` column(s): one ``UPDATE … FROM unnest(arrays)`` on
    PostgreSQL (a single statement however many rows), one executemany elsewhere. Every row
    names the same columns."""
    if not rows:
        return
    keys = (key,) if isinstance(key, str) else key
    columns = list(rows[0])
    changed = [c for c in columns if c not in keys]
    if session.get_bind().dialect.name != "postgresql":
        marks = {c: f"_{c}" for c in columns}
        statement = (
            update(table)
            .where(*(table.c[k] == bindparam(marks[k]) for k in keys))
            .values({c: bindparam(marks[c]) for c in changed})
        )
        session.connection().execute(
            statement, [{marks[c]: row[c] for c in columns} for row in rows]
        )
        return
    write_prepared_update(session, prepare_update(table, rows, key=keys))


def bulk_update_unchanged(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    key: str,
    column: str,
    read: list[str],
) -> set[Any]:
    """:func:`bulk_update`, compare-and-set: each row is written only where ``column`` still
    holds, as text, what was read (``read[i]`` for ``rows[i]``), so that a change another
    transaction made since the read is never overwritten. Returns the keys written.

    On PostgreSQL the comparison is in the ``UPDATE``'s condition: a row another transaction
    holds is waited for and compared again once it commits. On SQLite the transaction holds
    the database's write lock from its start (``BEGIN IMMEDIATE``), so reading the current
    values first and writing the rows that still match is as safe."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        prepared = prepare_update(table, rows, key=key, unchanged=(column, read))
        return write_prepared_update(session, prepared)
    expected = {row[key]: seen for row, seen in zip(rows, read, strict=True)}
    current = {
        found: text
        for found, text in select_in(
            session, table.c[key], cast(table.c[column], Text), ids=expected
        )
    }
    kept = [row for row in rows if current.get(row[key]) == expected[row[key]]]
    bulk_update(session, table, kept, key=key)
    return {row[key] for row in kept}


@dataclass(frozen=True)
class PreparedUpdate:
    """PostgreSQL's ``UPDATE … FROM unnest(arrays)`` with its arrays written as text, made
    while the connection is busy with the previous batch and sent later as it is (the
    driver then only passes strings: no value is adapted on the thread that writes)."""

    statement: str
    arrays: dict[str, str]
    returning: bool = False


def prepare_update(
    table: Table,
    rows: list[dict[str, Any]],
    *,
    key: str | tuple[str, ...],
    unchanged: tuple[str, list[str]] | None = None,
) -> PreparedUpdate:
    """``rows`` (each naming the same columns) changed by their ``key`` column(s) in one
    statement; with ``unchanged`` (a column and the text read of it for each row), only where
    the column still holds that text, returning the first key of each row written."""
    keys = (key,) if isinstance(key, str) else key
    columns = list(rows[0])
    changed = [c for c in columns if c not in keys]
    dialect = postgresql.dialect()
    sources, arrays = [], {}
    for c in columns:
        type_name = table.c[c].type.compile(dialect=dialect)
        as_json = isinstance(table.c[c].type, JSON)
        source, arrays[c] = _array_source(c, type_name, [row[c] for row in rows], as_json)
        sources.append(source)
    names = [f'"{c}"' for c in columns]
    conditions = [f't."{k}" = v."{k}"' for k in keys]
    returning = ""
    if unchanged is not None:
        column, read = unchanged
        source, arrays["_read"] = _array_source("_read", "TEXT", read, False)
        sources.append(source)
        names.append('"_read"')
        conditions.append(f't."{column}"::text = v."_read"')
        returning = f' RETURNING t."{keys[0]}"'
    assignments = ", ".join(f'"{c}" = v."{c}"' for c in changed)
    statement = (
        f"UPDATE {table.name} AS t SET {assignments}"
        f" FROM unnest({', '.join(sources)}) AS v({', '.join(names)})"
        f" WHERE {' AND '.join(conditions)}{returning}"
    )
    return PreparedUpdate(statement, arrays, bool(returning))


def write_prepared_update(session: Session, prepared: PreparedUpdate) -> set[Any]:
    """Sends a :func:`prepare_update`; the keys it returned, if it returns any."""
    with pg_cursor(session) as cursor:
        # psycopg types a query as a LiteralString; this one is made of the table's own
        # names and types, the values go as parameters.
        cursor.execute(prepared.statement, prepared.arrays)  # pyright: ignore[reportArgumentType]
        return {row[0] for row in cursor.fetchall()} if prepared.returning else set()


# How an array of values other than whole numbers (an update's column, among's values) goes
# to the server: one text, its values split by string_to_array at a record separator, NULL
# written as a unit separator. Neither character is ever in JSON (which escapes every control
# character), a date or a timestamp; text that holds one goes as a quoted array instead.
_SEPARATOR, _NULL = "\x1e", "\x1f"


def _array_source(column: str, type_name: str, values: list[Any], as_json: bool) -> tuple[str, str]:
    """One column of :func:`prepare_update`: the SQL of its array from the parameter named
    ``column``, and the parameter's text."""
    written, split = _array_text(values, as_json)
    if split:
        return f"string_to_array(%({column})s, E'\\x1e', E'\\x1f')::{type_name}[]", written
    return f"%({column})s::{type_name}[]", written


def _array_text(values: list[Any], as_json: bool) -> tuple[str, bool]:
    """``values`` as one text for an array parameter, and whether it is to be split by
    ``string_to_array`` (at ``_SEPARATOR``, NULL written ``_NULL``); if not, it is an array
    literal, to be cast."""
    if not as_json and all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}", False
    if as_json:
        texts = [_NULL if value is None else json_text(value) for value in values]
    else:
        texts, last, written = [], None, _NULL
        for value in values:  # a batch's rows often share one value (a timestamp): written once
            if value is not last:
                last = value
                written = _NULL if value is None else value if type(value) is str else str(value)
            texts.append(written)
    joined = _SEPARATOR.join(texts)
    nulls = sum(value is None for value in values)
    if (
        joined.count(_SEPARATOR) == len(texts) - 1
        and joined.count(_NULL) == nulls
        and joined  # one empty text: string_to_array would give no value at all
    ):
        return joined, True
    quoted = []
    for value, written in zip(values, texts, strict=True):
        if value is None:
            quoted.append("NULL")
        elif "\\" in written or '"' in written:
            quoted.append('"' + written.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            quoted.append(f'"{written}"')
    return "{" + ",".join(quoted) + "}", False


def copy_rows(session: Session, table_name: str, table) -> None:
    """COPY on PostgreSQL from Arrow's CSV writer; one executemany elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        cursor = pg_cursor(session)
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        statement = f"COPY {table_name} ({columns}) FROM STDIN WITH (FORMAT csv)"
        with _copying(cursor, statement) as copy:
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
