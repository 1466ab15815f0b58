"""New activities, entries and buckets, and their merge into the history (PostgreSQL).

On PostgreSQL each of the three tables is two partitions (migration 0036): the history,
keyed by member, and the recent rows, where every new row goes (the bulk path copies into
them directly, :func:`written_into`), so that a day of activities for every member appends
to small tables instead of dirtying a page of the history's member-keyed indexes per member.
Readers see one table. :func:`merge_recent` moves members' recent rows into the history, in
member order: every member's pages are written once for all the days since the last merge
(the worker merges when the oldest recent entry is ``EGARDS_LOYALTY_MERGE_DAYS`` old,
``egards loyalty merge`` at once; what a longer interval saves per day is not measured).
SQLite keeps one table of each, and has nothing to merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.bulk import among
from egards.loyalty.models import Activity, Bucket, Entry, Member

# The tables kept apart, each with the order its rows go into the history in: by member, so
# that each member's pages are written once.
_MERGE_ORDER: dict[Table, str] = {
    Activity.__table__: "member_id, id",
    Entry.__table__: "member_id, seq",
    Bucket.__table__: "member_id, seq",
}


def _recent(table: Table) -> str:
    return f"{table.name}_recent"


def _history(table: Table) -> str:
    return f"{table.name}_history"


RECENT_TABLES = tuple(map(_recent, _MERGE_ORDER))
LEDGER_PARTITIONS = (*RECENT_TABLES, *map(_history, _MERGE_ORDER))  # what the merge job vacuums


def _apart(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def written_into(session: Session, table: Table) -> str:
    """The table the bulk path writes ``table``'s new rows into: its recent rows' partition
    when it has one, else the table itself."""
    return _recent(table) if table in _MERGE_ORDER and _apart(session) else table.name


def oldest_recent(session: Session) -> datetime | None:
    """When the oldest recent entry was written (None: nothing to merge)."""
    if not _apart(session):
        return None
    return session.scalar(text(f"SELECT min(created_at) FROM {_recent(Entry.__table__)}"))


def stored_key(session: Session, programme: str, keys: Sequence[str]) -> str | None:
    """One of ``keys`` a stored activity of ``programme`` holds, if any. On PostgreSQL only
    the history is looked in: a key the recent rows hold meets their partition's own unique
    index when it is written again (the two halves of the table's unique (programme, key)).
    Looking in the recent rows too made the planner scan them for every chunk of a day."""
    name = _history(Activity.__table__) if _apart(session) else Activity.__tablename__
    kinds = Activity.__table__.c
    stored = sa.table(
        name, sa.column("programme", kinds.programme.type), sa.column("key", kinds.key.type)
    )
    return session.scalar(
        select(stored.c.key)
        .where(stored.c.programme == programme, among(session, stored.c.key, keys))
        .limit(1)
    )


def recent_members(session: Session) -> list[int]:
    """The members holding recent rows, in id order (an activity waiting for its member,
    parked, stays recent until it is applied)."""
    if not _apart(session):
        return []
    held = " UNION ".join(f"SELECT member_id FROM {name}" for name in RECENT_TABLES)
    return list(
        session.scalars(
            text(
                f"SELECT member_id FROM ({held}) held WHERE member_id IS NOT NULL"
                " ORDER BY member_id"
            )
        )
    )


def merge_recent(session: Session, *, actor: Actor, member_ids: Sequence[int]) -> int:
    """Move these members' recent activities, entries and buckets into the history (the
    number of rows moved). The members are locked first, in id order, as every ledger
    operation and the bulk path lock them: none of their rows changes while they move, and
    readers see them in one partition or the other, never both nor neither."""
    actor.require(Permission.LOYALTY_WRITE)
    if not _apart(session) or not member_ids:
        return 0
    session.execute(
        select(Member.id)
        .where(among(session, Member.id, member_ids))
        .order_by(Member.id)
        .with_for_update()
    )
    # The rows are sorted by member before they go in: in memory, not in files (a week of
    # ten thousand members' rows is about 50 MB; the default of 4 MB made it 60 % slower).
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    moved = 0
    for table, order in _MERGE_ORDER.items():
        columns = ", ".join(f'"{column.name}"' for column in table.columns)
        result = session.execute(
            text(
                f"WITH moved AS (DELETE FROM {_recent(table)}"
                f" WHERE member_id = ANY(:members) RETURNING {columns})"
                f" INSERT INTO {_history(table)} ({columns})"
                f" SELECT {columns} FROM moved ORDER BY {order}"
            ),
            {"members": list(member_ids)},
        )
        moved += result.rowcount  # type: ignore[attr-defined]
    return moved
