"""The bulk writers give back exactly the rows they were given: COPY's text made away from the
connection, and the arrays of an update as text (escapes, quotes, NULL against an empty
string, JSON, dates, timestamps, booleans); and the rows found among many values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.exc import IntegrityError

from egards.bulk import among, bulk_insert, bulk_update, prepare_copy, write_prepared_copy

table = Table(
    "bulk_round_trip",
    MetaData(),
    Column("number", Integer),
    Column("word", String(40), nullable=False),
    Column("maybe", String(40)),
    Column("day", Date),
    Column("doc", JSON),
    Column("at", DateTime(timezone=True)),
    Column("body", Text, nullable=False),
    Column("flag", Boolean),
)
text_ = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
rows = st.lists(
    st.fixed_dictionaries(
        {
            "number": st.none() | st.integers(-(2**31), 2**31 - 1),
            "word": text_.map(lambda t: t[:40]),
            "maybe": st.none() | text_.map(lambda t: t[:40]),
            "day": st.none() | st.dates(),
            "doc": st.none() | st.dictionaries(text_, text_ | st.integers(-100, 100)),
            "at": st.none()
            | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)).map(
                lambda d: d.replace(tzinfo=UTC)
            ),
            "body": text_,
            "flag": st.none() | st.booleans(),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
def test_rows_written_in_bulk_read_back_the_same(db, rows):
    with db.unit_of_work() as session:
        table.create(session.connection(), checkfirst=True)
        session.execute(table.delete())
        if db.dialect == "postgresql":
            write_prepared_copy(session, prepare_copy(table, rows))
        else:
            bulk_insert(session, table, rows)
        back = [dict(row._mapping) for row in session.execute(table.select())]
        session.rollback()
    for row in back:  # SQLite keeps no time zone
        if row["at"] is not None and row["at"].tzinfo is None:
            row["at"] = row["at"].replace(tzinfo=UTC)
    assert back == rows


updated = Table(
    "bulk_updated",
    MetaData(),
    Column("id", Integer, primary_key=True),
    *(Column(c.name, c.type, nullable=c.nullable) for c in table.c),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows)
@example(  # text holding the separators an update's arrays are split at, and one empty text
    rows=[
        {
            "number": None,
            "word": "a\x1eb",
            "maybe": "\x1f",
            "day": None,
            "doc": {"\x1e": "\x1f"},
            "at": None,
            "body": "",
            "flag": False,
        }
    ]
)
def test_rows_updated_in_bulk_read_back_the_same(db, rows):
    """Every row written first with other values, then changed by one bulk update (on
    PostgreSQL, ``UPDATE … FROM unnest`` of arrays sent as text)."""
    rows = [{"id": n, **row} for n, row in enumerate(rows)]
    blank = {"word": "", "body": "", "maybe": "x", "doc": {"a": 1}, "flag": True}
    with db.unit_of_work() as session:
        updated.create(session.connection(), checkfirst=True)
        session.execute(updated.delete())
        bulk_insert(session, updated, [{**row, **blank} for row in rows])
        bulk_update(session, updated, rows, key="id")
        back = [dict(row._mapping) for row in session.execute(updated.select().order_by("id"))]
        session.rollback()
    for row in back:  # SQLite keeps no time zone
        if row["at"] is not None and row["at"].tzinfo is None:
            row["at"] = row["at"].replace(tzinfo=UTC)
    assert back == rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows, asked=st.lists(text_.map(lambda t: t[:40])), numbers=st.lists(st.integers(0, 9)))
@example(rows=[], asked=["a\x1eb", "\x1f", "", 'q"\\'], numbers=[])  # separators, quotes, empty
def test_rows_among_many_values_are_exactly_those_holding_one(db, rows, asked, numbers):
    """``among`` (on PostgreSQL one array parameter sent as text) finds the rows whose value
    is one of those asked, text or whole numbers, and no other."""
    rows = [{"id": n, **row} for n, row in enumerate(rows)]
    with db.unit_of_work() as session:
        updated.create(session.connection(), checkfirst=True)
        session.execute(updated.delete())
        bulk_insert(session, updated, rows)
        words = {
            row.id
            for row in session.execute(
                select(updated.c.id).where(
                    among(session, updated.c.word, [*asked, *(row["word"] for row in rows[::2])])
                )
            )
        }
        ids = set(
            session.scalars(select(updated.c.id).where(among(session, updated.c.id, numbers)))
        )
        session.rollback()
    wanted = set(asked) | {row["word"] for row in rows[::2]}
    assert words == {row["id"] for row in rows if row["word"] in wanted}
    assert ids == {row["id"] for row in rows if row["id"] in numbers}


keyed = Table("bulk_keyed", MetaData(), Column("id", Integer, primary_key=True))


def test_a_duplicate_key_in_bulk_is_an_integrity_error_as_any_other_write(db):
    """COPY's errors come back as SQLAlchemy's, so a duplicate answers 409 like any other
    write's, never a server error."""
    with db.unit_of_work() as session:
        keyed.create(session.connection(), checkfirst=True)
        with pytest.raises(IntegrityError):
            bulk_insert(session, keyed, [{"id": 1}, {"id": 1}])
        session.rollback()
    if db.dialect != "postgresql":
        return  # prepared COPY text is PostgreSQL's own
    with db.unit_of_work() as session:
        keyed.create(session.connection(), checkfirst=True)
        with pytest.raises(IntegrityError):
            write_prepared_copy(session, prepare_copy(keyed, [{"id": 2}, {"id": 2}]))
        session.rollback()
