"""The bulk path: many members' histories applied in one pass (demo data, migrations from
another system, file intake), with the outcome :func:`record_activity` gives one activity at
a time. Chunk by chunk, in id order, the members are locked and their stored state is read,
their activities go through their books in memory, and the rows are written with one bulk
statement per table (COPY on PostgreSQL), a chunk being written (and the one after next
locked and read) while the next is computed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import Table, Text, cast, select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.bulk import (
    BackgroundWriter,
    PreparedCopy,
    PreparedUpdate,
    among,
    bulk_insert,
    bulk_update,
    chunks,
    copy_escaped,
    copy_line,
    copy_of_lines,
    paused_gc,
    prepare_copy,
    prepare_update,
    reserve_ids,
    write_prepared_copy,
    write_prepared_update,
)
from egards.customers.models import TimelineEvent
from egards.db import Base, utcnow
from egards.errors import Conflict, NotFound
from egards.i18n import N_
from egards.loyalty import codec, domain, fast, stored
from egards.loyalty.errors import IdempotencyConflict
from egards.loyalty.ledger import Account, Ledger
from egards.loyalty.models import Activity, Balance, CapUsage, Entry, Member, TierChange
from egards.loyalty.models import Bucket as BucketRow
from egards.loyalty.programme import Programme

from ._common import Today, _tier_change_row, _timeline_row, get_programme, today
from .activities import _content_hash, _post_activity, earned_seqs
from .books import Book, _entry_rows, _rewrite, _usage, _usage_changes
from .earnings import earnings_of, posted_by
from .recent_rows import stored_key, written_into


def record_history(
    session: Session,
    *,
    actor: Actor,
    member: Member,
    activities: list[domain.Activity],
    today: Today = today,
) -> int:
    """Apply a member's activities in date order in one pass over their book (demo data,
    migrations from another system). Keys must be new; an invalid activity is raised, and
    the caller's unit of work rolls back what the call wrote."""
    return record_histories(session, actor=actor, histories={member.id: activities}, today=today)


@dataclass
class _Holder:
    """A member as the bulk path reads and writes it: plain columns, no ORM object."""

    id: int
    customer_id: int
    programme: str
    number: str
    tier_state: dict[str, Any]
    last_activity_on: date | None
    entries_count: int


def record_histories(
    session: Session,
    *,
    actor: Actor,
    histories: Mapping[int, Sequence[domain.Activity]],
    today: Today = today,
    chunk_size: int = 1000,
    events: dict[str, tuple[domain.TierEvent, ...]] | None = None,
    fast_path: bool = True,
) -> int:
    """Apply the activities of many members (by member id), each member's in date order (the
    activities of one day in the order given), in one pass: by chunks of ``chunk_size``
    members in id order, one query locks them and a few load their stored state, and
    activities, entries, balances, members and tier changes go in with one bulk statement
    each (a chunk is written while the next one is computed). The outcome is the one
    :func:`record_activity` gives one activity at a time. Keys must be new; an invalid
    activity is raised when its chunk comes (its member's programme is read with the member),
    and the caller's unit of work rolls back what the call wrote. ``events``, if given,
    receives the tier events each activity caused, by key. Members whose activities are all
    plain earnings go through the fast path (:mod:`egards.loyalty.fast`), unless ``fast_path``
    is false (every activity through the pure rules and the ledger: the same rows, more
    slowly)."""
    actor.require(Permission.LOYALTY_WRITE)
    with paused_gc():
        return _record_histories(session, actor, histories, today, chunk_size, events, fast_path)


def _record_histories(
    session: Session,
    actor: Actor,
    histories: Mapping[int, Sequence[domain.Activity]],
    today: Today,
    chunk_size: int,
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
    fast_path: bool,
) -> int:
    session.flush()
    member_ids = sorted(histories)
    # Each member's in date order (a day's as given); validated chunk by chunk, with the
    # programme its member's row names.
    ordered = {m: sorted(histories[m], key=lambda a: a.on) for m in member_ids}
    # All ids at once (on SQLite they are counted from the rows already written), then each
    # chunk of members with the ids of its activities.
    ids = reserve_ids(session, Activity.__table__, sum(map(len, ordered.values())))
    jobs: list[tuple[Sequence[int], list[int]]] = []
    for chunk in chunks(member_ids, chunk_size):
        taken = sum(len(ordered[member_id]) for member_id in chunk)
        jobs.append((chunk, ids[:taken]))
        ids = ids[taken:]
    copy = session.get_bind().dialect.name == "postgresql"
    into = {name: written_into(session, table) for name, table in _INSERTED}
    holders: dict[int, _Holder] = {}  # filled chunk by chunk, as each is computed
    context = _Context(
        actor, holders, ordered, utcnow(), copy, fast=fast_path, into=into, day=today()
    )
    written = 0
    # Chunk k is computed while the connection writes chunk k-1, then locks and reads the
    # members of chunk k+1, so that it never waits for Python between the two. Chunks hold
    # different members, in id order (so that two batches never wait on each other): what
    # chunk k+1 reads, chunks k-1 and k do not write. The thread holding the connection
    # only fetches rows: the members' states are decoded by the computing thread.
    reads: dict[int, _Read] = {}

    def read_chunk(index: int) -> None:
        if index < len(jobs):
            member_ids_k = jobs[index][0]
            locked = _lock_many(session, member_ids_k)
            reads[index] = _read(session, locked, ordered, member_ids_k)

    def write_chunk_then_read(done: _Chunk, index: int) -> None:
        _write_chunk(session, done)
        read_chunk(index)

    with BackgroundWriter(session) as writer:
        read_chunk(0)
        read_chunk(1)
        for index, (member_ids_k, activity_ids) in enumerate(jobs):
            read = reads.pop(index)
            holders.update(_holders(read.members))
            done = _computed(context, member_ids_k, activity_ids, read, events)
            writer.wait()
            writer.submit(write_chunk_then_read, done, index + 2)
            written += done.count
    # Mapped members and balances the caller holds were written behind the ORM's back.
    for identity in list(session.identity_map.keys()):
        if identity[0] in (Member, Balance) and identity[1][0] in holders:
            session.expire(session.identity_map[identity])
    return written


@dataclass
class _Context:
    """What every chunk of one call of the bulk path shares."""

    actor: Actor
    holders: Mapping[int, _Holder]
    histories: Mapping[int, Sequence[domain.Activity]]
    now: datetime
    copy: bool  # rows as COPY's text (PostgreSQL), or as they are
    programme_of: Callable[[str], Programme] = get_programme
    fast: bool = True  # plain earning posts through the fast path (see egards.loyalty.fast)
    # The tables COPY writes new rows into, by kind where it is not the kind's own table: the
    # recent rows' partitions (see recent_rows).
    into: Mapping[str, str] = field(default_factory=dict)
    day: date | None = None  # today, for the activities' validation (None: no date too late)
    # The constant parts of the fast path's lines of COPY text (see add_plain_lines).
    _earning_texts: dict[tuple[str, str, str, date], tuple[str, str, str]] = field(
        default_factory=dict
    )
    _activity_texts: dict[tuple[str, str, str, date], tuple[str, ...]] = field(default_factory=dict)
    _payload_parts: dict[tuple[Any, ...], tuple[bytes, bytes, bytes]] = field(default_factory=dict)
    stamp: str = field(init=False)  # ``now`` as COPY's text

    def __post_init__(self) -> None:
        self.stamp = str(self.now)

    def add_plain_lines(
        self,
        done: _Applied,
        holder: _Holder,
        programme: Programme,
        plain: fast.Plain,
        activity_ids: Iterator[int],
    ) -> tuple[int, dict[str, int]]:
        """A member's plain earnings as lines of COPY text added to ``done``: the same text as
        ``_ACTIVITY_LINE``, ``_ENTRY_LINE`` and ``_BUCKET_LINE`` make of the rows the fast
        path gives otherwise, from the integers and the constant parts of each line (kept
        by day). The member's last entry's seq, and the points credited by currency."""
        member_id = holder.id
        member = f"{member_id}\t"
        seq = holder.entries_count
        credited: dict[str, int] = {}
        buckets: dict[str, list[str]] = {}
        entry_lines, activity_lines = done.entry_lines, done.activity_lines
        references = done.activity_references
        earning_texts, activity_texts = self._earning_texts, self._activity_texts
        stamp = self.stamp
        activities = self.histories[member_id]
        for activity, lines, tier in zip(activities, plain.lines, plain.tiers, strict=True):
            activity_id = next(activity_ids)
            on = activity.on
            key = copy_escaped(activity.key)
            for rule_id, currency, amount, _ in lines:
                seq += 1
                texts = earning_texts.get((programme.code, rule_id, currency, on))
                if texts is None:
                    texts = self._earning_text(programme, rule_id, currency, on)
                before, after, bucket = texts
                entry_lines.append(
                    f"{member}{seq}\t{key}{before}{amount}{after}{activity_id}\t\t\\N\t{stamp}"
                )
                found = buckets.get(currency)
                if found is None:
                    found = buckets[currency] = []
                found.append(f"{member}{seq}{bucket}{amount}")
                credited[currency] = credited.get(currency, 0) + amount
            texts = activity_texts.get((holder.programme, activity.kind, tier, on))
            if texts is None:
                texts = self._activity_text(holder.programme, activity.kind, tier, on)
            head, middle, tail = texts
            payload, content_hash = self.payload_texts(activity)
            activity_lines.append(
                f"{activity_id}{head}{key}\t{member_id}{middle}{payload}{tail}{content_hash}"
            )
            references.append((member_id, activity_id))
            if lines:
                done.entry_references.add((member_id, activity_id))
        for found in buckets.values():
            done.bucket_lines += found
        if buckets:
            done.bucket_members.add(member_id)
        return seq, credited

    def payload_texts(self, activity: domain.Activity) -> tuple[str, str]:
        """An activity's payload as COPY's text writes it into its JSON column, and its
        content hash: what ``copy_json`` and ``_content_hash`` make of :func:`_payload`'s
        dictionary, byte for byte, but with the JSON of its kind, day, attributes and
        quantity kept (most activities share them) and only its amounts written each time.
        orjson writes a dictionary as its keys and values one after the other, so the
        whole is the parts put together, sorted keys (the hash) or not."""
        amounts = activity.amounts
        if type(amounts) is not dict:
            amounts = dict(amounts)
        parts = self._payload_parts.get(_payload_key(activity))
        if parts is None:
            parts = self._payload_part(activity)
        head, tail, sorted_tail = parts
        text = head + orjson.dumps(amounts, option=orjson.OPT_NON_STR_KEYS) + tail
        sorted_text = b'{"amounts":' + orjson.dumps(amounts, option=orjson.OPT_SORT_KEYS)
        json = text.decode()
        if "\\" in json:
            json = json.replace("\\", "\\\\")
        return json, hashlib.sha256(sorted_text + sorted_tail).hexdigest()

    def _payload_part(self, activity: domain.Activity) -> tuple[bytes, bytes, bytes]:
        """The JSON around an activity's amounts in its payload: before and after them, and
        after them with sorted keys (see :meth:`payload_texts`)."""
        payload = _payload(activity)
        payload["amounts"] = {}
        text = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        head, _, tail = text.partition(b'"amounts":{}')
        sorted_tail = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).removeprefix(
            b'{"amounts":{}'  # the first key, sorted
        )
        parts = self._payload_parts[_payload_key(activity)] = (
            head + b'"amounts":',
            tail,
            sorted_tail,
        )
        return parts

    def _earning_text(
        self, programme: Programme, rule_id: str, currency: str, on: date
    ) -> tuple[str, str, str]:
        """What an entry's line holds between its activity's key and its amount, and between
        its amount and its activity id; what a bucket's line holds between its seq and its
        amount."""
        rule, code = copy_escaped(rule_id), copy_escaped(currency)
        expires_on = domain.expiry_date(programme, currency, earned_on=on)
        expires = "\\N" if expires_on is None else str(expires_on)
        texts = self._earning_texts[(programme.code, rule_id, currency, on)] = (
            f":{rule}\tpost\t\\N\t{code}\tissuance\tmember\t",
            f"\t{on}\tearn\tposted\t{rule}\t\\N\t\\N\t{expires}\t",
            f"\t{code}\t{on}\t{expires}\t",
        )
        return texts

    def _activity_text(self, programme: str, kind: str, tier: str, on: date) -> tuple[str, ...]:
        """What an applied activity's line holds between its id and its key, between its
        member and its payload, and between its payload and its content hash."""
        texts = self._activity_texts[(programme, kind, tier, on)] = (
            f"\t{copy_escaped(programme)}\t",
            f"\t\t{copy_escaped(kind)}\t{on}\tapplied\t",
            f"\t{copy_escaped(tier)}\t\\N\t\\N\t{self.stamp}\t",
        )
        return texts


@dataclass
class _Read:
    """What a chunk of members' histories needs from the database before it is applied: the
    stored state, never the ledgers (only members with refunds in the chunk get the entries
    those reverse and their buckets)."""

    balances: dict[tuple[int, str], tuple[int, int, int]]  # balance, available, pending credits
    originals: dict[tuple[int, str], Any]
    # By (member, key) of a stored original: its earning lines, the entries it posted.
    original_lines: dict[tuple[int, str], tuple[list[domain.Earning], list[int]]]
    reversed: set[tuple[int, str]]
    entries: dict[int, dict[int, Any]]  # by member and seq: ledger entries refunds reverse
    reversals: dict[int, dict[int, int]]  # by member: reversed seq -> reversing seq
    buckets: dict[int, dict[str, list[domain.Bucket]]]  # by member and currency
    usage: dict[int, stored.Usage]  # cap usage by member
    # By member and key: stored entries without an activity whose key has the shape of an
    # activity's entry's (a grant under "F1:base"), which the ledger then refuses to the
    # batch's entries as record_activity's does (since migration 0034 the database keeps keys
    # unique among those entries only).
    taken: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: list[tuple[Any, ...]] = field(default_factory=list)  # locked, as _lock_many reads


@dataclass
class _Applied:
    """A chunk of histories applied in memory: the rows to write. When the rows go as COPY
    text (``_Context.copy``), activities, entries and buckets are made as its lines at once
    (the fast path writes them from its integers, without dictionaries): ``activity_lines``,
    ``entry_lines`` and ``bucket_lines`` instead of ``activities``, ``entries`` and
    ``buckets``; ``activity_references`` the (member, activity) pairs of those activities,
    ``entry_references`` those the entries name and ``bucket_members`` the buckets'
    members."""

    activities: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    buckets: list[dict[str, Any]]
    new_balances: list[dict[str, Any]]
    balances: list[dict[str, Any]]
    members: list[dict[str, Any]]
    tier_changes: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    deleted_buckets: list[tuple[int, int]]
    usage: list[dict[str, Any]]
    deleted_usage: list[tuple[int, str, date]]
    activity_lines: list[str] = field(default_factory=list)
    entry_lines: list[str] = field(default_factory=list)
    bucket_lines: list[str] = field(default_factory=list)
    activity_references: list[tuple[int, int]] = field(default_factory=list)
    entry_references: set[tuple[int, int]] = field(default_factory=set)
    bucket_members: set[int] = field(default_factory=set)

    def add_activity(self, copy: bool, row: dict[str, Any]) -> None:
        if not copy:
            self.activities.append(row)
            return
        self.activity_lines.append(_ACTIVITY_LINE(row))
        self.activity_references.append((row["member_id"], row["id"]))

    def add_entries(self, copy: bool, rows: list[dict[str, Any]]) -> None:
        if not copy:
            self.entries += rows
            return
        self.entry_lines += map(_ENTRY_LINE, rows)
        self.entry_references.update((row["member_id"], row["activity_id"]) for row in rows)

    def add_buckets(self, copy: bool, rows: list[dict[str, Any]]) -> None:
        if copy:
            self.bucket_lines += map(_BUCKET_LINE, rows)
            self.bucket_members.update(row["member_id"] for row in rows)
        else:
            self.buckets += rows


# Rows of a table changed by their key: the statement ready to send (PostgreSQL), or the rows.
_Update = tuple[Table, list[dict[str, Any]], tuple[str, ...]] | PreparedUpdate


@dataclass
class _Chunk:
    """A computed chunk as it goes to the writer: new rows by table (COPY's text on
    PostgreSQL), the balance and member updates."""

    inserts: list[tuple[str, PreparedCopy | list[dict[str, Any]]]]
    updates: list[_Update]  # the balances', then the members'
    deleted: list[tuple[Any, list[tuple[Any, ...]]]]  # stored state to rewrite, by table
    count: int


# The columns of entry and bucket rows, in the order their rows' dictionaries give them (the
# order COPY's text follows): the fast path writes its lines in this order itself.
_ENTRY_COLUMNS = (
    "member_id",
    "seq",
    "key",
    "op",
    "args",
    "currency",
    "debit",
    "credit",
    "amount",
    "on",
    "kind",
    "state",
    "rule_id",
    "reverses",
    "resolves",
    "expires_on",
    "activity_id",
    "memo",
    "allocations",
    "created_at",
)
_BUCKET_COLUMNS = ("member_id", "seq", "currency", "earned_on", "expires_on", "amount")
_ACTIVITY_COLUMNS = (
    "id",
    "programme",
    "key",
    "member_id",
    "member_number",
    "kind",
    "on",
    "status",
    "payload",
    "tier",
    "earnings",
    "entry_seqs",
    "received_at",
    "content_hash",
)
_ACTIVITY_LINE = copy_line(Activity.__table__, _ACTIVITY_COLUMNS)
_ENTRY_LINE = copy_line(Entry.__table__, _ENTRY_COLUMNS)
_BUCKET_LINE = copy_line(BucketRow.__table__, _BUCKET_COLUMNS)
_LINES = {
    "activities": ("activity_lines", _ACTIVITY_COLUMNS),
    "entries": ("entry_lines", _ENTRY_COLUMNS),
    "buckets": ("bucket_lines", _BUCKET_COLUMNS),
}

_INSERTED = (  # in this order: entries point to activities
    ("activities", Activity.__table__),
    ("entries", Entry.__table__),
    ("buckets", BucketRow.__table__),
    ("usage", CapUsage.__table__),
    ("new_balances", Balance.__table__),
    ("tier_changes", TierChange.__table__),
    ("timeline", TimelineEvent.__table__),
)


def _computed(
    context: _Context,
    member_ids: Sequence[int],
    activity_ids: list[int],
    read: _Read,
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
) -> _Chunk:
    """One chunk through the rules, and its rows made ready to send; nothing touches the
    database."""
    for member_id in member_ids:
        programme = context.programme_of(context.holders[member_id].programme)
        for activity in context.histories[member_id]:
            domain.validate_activity(programme, activity, today=context.day)
    done = _applied_histories(context, member_ids, read, iter(activity_ids), events)
    _check_references(done, member_ids)
    inserts: list[tuple[str, PreparedCopy | list[dict[str, Any]]]] = []
    for name, table in _INSERTED:
        if context.copy and name in _LINES:
            attribute, columns = _LINES[name]
            if lines := getattr(done, attribute):
                into = context.into.get(name, table.name)
                inserts.append((into, copy_of_lines(into, columns, lines)))
            continue
        rows = getattr(done, name)
        if rows:
            inserts.append((table.name, prepare_copy(table, rows) if context.copy else rows))
    deleted = [
        (BucketRow.__table__, done.deleted_buckets),
        (CapUsage.__table__, done.deleted_usage),
    ]
    updates: list[_Update] = []
    for table, rows, key in (
        (Balance.__table__, done.balances, ("member_id", "currency")),
        (Member.__table__, done.members, ("id",)),
    ):
        if rows:
            updates.append(
                prepare_update(table, rows, key=key) if context.copy else (table, rows, key)
            )
    count = len(done.activities) + len(done.activity_lines)
    return _Chunk(inserts, updates, deleted, count)


def _check_references(done: _Applied, member_ids: Sequence[int]) -> None:
    """What the hot tables' foreign keys checked row by row before migration 0018, once for
    the chunk: its entries, buckets and activities belong to its members (locked, so they
    exist), its entries to its activities (written with them). Members and activities are
    never deleted, so what holds when written holds after."""
    members = set(member_ids)
    activities = {row["id"] for row in done.activities}
    activities.update(activity for _, activity in done.activity_references)
    entry_members = {member for member, _ in done.entry_references} | done.bucket_members
    entry_members.update(member for member, _ in done.activity_references)
    entry_activities = {activity for _, activity in done.entry_references}
    for rows in (done.entries, done.buckets, done.activities):
        entry_members.update(row["member_id"] for row in rows)
    if not entry_members <= members:
        raise Conflict(N_("rows of members outside the batch"), field="member_id")
    entry_activities.update(row["activity_id"] for row in done.entries)
    if not entry_activities <= activities:
        raise Conflict(N_("entries of activities outside the batch"), field="activity_id")


def _read(
    session: Session,
    members: list[tuple[Any, ...]],
    histories: Mapping[int, Sequence[domain.Activity]],
    member_ids: Sequence[int],
) -> _Read:
    """A chunk's locked ``members`` with their stored balances, the stored activities its
    refunds name, and for the members with refunds, the entries those reverse and the
    buckets that still hold points."""
    programmes = {row[0]: row[2] for row in members}
    _refuse_stored_keys(session, programmes, histories, member_ids)
    table = Balance.__table__
    # Fetched at once (iterating a result fetches row by row, through every layer).
    balances = {
        (member_id, currency): (balance, available, pending_credits)
        for member_id, currency, balance, available, pending_credits in session.execute(
            select(
                table.c.member_id,
                table.c.currency,
                table.c.balance,
                table.c.available,
                table.c.pending_credits,
            ).where(among(session, table.c.member_id, member_ids))
        ).all()
    }
    refunding = [m for m in member_ids if any(a.reverses for a in histories[m])]
    originals, reversed_ = _stored_originals(
        session, programmes, {member_id: histories[member_id] for member_id in refunding}
    )
    capped = [m for m in member_ids if _capped(programmes[m])]
    usage = stored.read_usage(session, capped) if capped else {}
    lines: dict[int, list[domain.Earning]] = {}
    for code in {programmes[member_id] for member_id, _ in originals}:
        rows = [row for (m, _), row in originals.items() if programmes[m] == code]
        lines.update(earnings_of(session, get_programme(code), rows))
    original_lines: dict[tuple[int, str], tuple[list[domain.Earning], list[int]]] = {}
    lean = [row for row in originals.values() if row.entry_seqs is None]
    posted = posted_by(session, lean) if lean else {}
    for (member_id, key), row in originals.items():
        if row.entry_seqs is not None or row.payload.get("reverses"):  # (a refund earned none)
            seqs = list(row.entry_seqs or [])
        else:
            seqs = [seq for seq, *_ in posted.get(row.id, [])]
        original_lines[(member_id, key)] = (lines[row.id], seqs)
    read = _Read(
        balances,
        originals,
        original_lines,
        reversed_,
        {},
        {},
        {},
        usage,
        taken=_taken(session, member_ids),
        members=members,
    )
    if not refunding:
        return read
    seqs = {seq for _, found in original_lines.values() for seq in found}
    entries = Entry.__table__
    for chunk in chunks(refunding):
        for row in session.execute(
            select(*stored.ENTRY_COLUMNS).where(
                entries.c.member_id.in_(chunk), entries.c.seq.in_(sorted(seqs))
            )
        ):
            read.entries.setdefault(row.member_id, {})[row.seq] = stored.ledger_entry(row)
        for member_id, reversed_seq, seq in session.execute(
            select(entries.c.member_id, entries.c.reverses, entries.c.seq).where(
                entries.c.member_id.in_(chunk), entries.c.reverses.in_(sorted(seqs))
            )
        ):
            read.reversals.setdefault(member_id, {})[reversed_seq] = seq
        buckets = BucketRow.__table__
        for row in session.execute(select(buckets).where(buckets.c.member_id.in_(chunk))):
            read.buckets.setdefault(row.member_id, {}).setdefault(row.currency, []).append(
                domain.Bucket(str(row.seq), row.earned_on, row.expires_on, row.amount)
            )
    return read


def _refuse_stored_keys(
    session: Session,
    programmes: Mapping[int, str],
    histories: Mapping[int, Sequence[domain.Activity]],
    member_ids: Sequence[int],
) -> None:
    """Keys must be new: the activities' unique (programme, key) refused a stored one when
    the table was one; on PostgreSQL each of its partitions has its own (migration 0036), so
    a key the history holds is looked for, one query per programme in the chunk."""
    keys: dict[str, list[str]] = {}
    for member_id in member_ids:
        wanted = keys.setdefault(programmes[member_id], [])
        wanted += (activity.key for activity in histories[member_id])
    for programme, wanted in keys.items():
        if (found := stored_key(session, programme, wanted)) is not None:
            raise IdempotencyConflict(
                N_("activity {data_key} was already received"), data_key=found, field="key"
            )


def _taken(session: Session, member_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The members' stored entries without an activity whose key has the shape of an
    activity's entry's (``_Read.taken``): one probe of the partial unique index per member,
    which in the common case finds nothing (it reads a member's grants, redemptions and
    expiries, never their earnings)."""
    entries = Entry.__table__
    found: dict[int, dict[str, Any]] = {}
    for row in session.execute(
        select(*stored.ENTRY_COLUMNS).where(
            among(session, entries.c.member_id, member_ids),
            entries.c.activity_id.is_(None),
            entries.c.key.regexp_match(stored.ACTIVITY_ENTRY_KEY.pattern),
        )
    ):
        found.setdefault(row.member_id, {})[row.key] = row
    return found


def _capped(code: str) -> bool:
    """Whether a programme has rules capped per period (only then has it usage to read)."""
    programme = get_programme(code)
    found = _CAPPED.get(code)
    if found is None or found[0] is not programme:
        found = _CAPPED[code] = (programme, bool(stored.capped_rules(programme)))
    return found[1]


_CAPPED: dict[str, tuple[Programme, bool]] = {}


def _fast_rules(programme: Programme) -> tuple[fast.Earner, fast.Tiers]:
    """The fast path's view of a programme, kept from one call to the next: its earner
    remembers the answers it gave (most of a day's activities are alike), up to a bound."""
    found = _FAST.get(programme.code)
    if found is None or found[0].programme is not programme:
        found = _FAST[programme.code] = (fast.Earner(programme), fast.Tiers(programme))
    return found


_FAST: dict[str, tuple[fast.Earner, fast.Tiers]] = {}


def _applied_histories(
    context: _Context,
    member_ids: Sequence[int],
    read: _Read,
    activity_ids: Iterator[int],
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
) -> _Applied:
    """Each member's book resumed from the stored state, then their activities through it,
    in date order, as :func:`_apply` does one at a time."""
    actor, now = context.actor, context.now
    done = _Applied([], [], [], [], [], [], [], [], [], [], [])
    for member_id in member_ids:
        holder = context.holders[member_id]
        programme = context.programme_of(holder.programme)
        taken = read.taken.get(member_id)
        if (
            context.fast
            and taken is None  # the fast path asks no ledger
            and _applied_plain(context, done, holder, programme, read, activity_ids, events)
        ):
            continue
        totals = {}
        for currency in programme.currencies:
            found = read.balances.get((member_id, currency.code))
            if found is not None:
                balance, available, pending_credits = found
                totals[Account.of_member(str(member_id), currency.code)] = (
                    balance,
                    balance - available,
                    pending_credits,
                )
        past = stored.StoredPast(
            member_id,
            entries=read.entries.get(member_id),
            reversals=read.reversals.get(member_id),
            buckets=read.buckets.get(member_id),
            keys=taken,
        )
        book = Book(
            member=holder,  # type: ignore[arg-type]
            programme=programme,
            ledger=Ledger.resume(past, length=holder.entries_count, totals=totals),
            state=codec.state_from_json(holder.tier_state),
            written=holder.entries_count,
            **_usage(read.usage.get(member_id, {})),
        )
        applied: dict[str, Any] = {}
        reversed_keys: set[str] = set()
        for activity in context.histories[member_id]:
            row = _history_row(next(activity_ids), holder, activity, now)
            lines: list[domain.Earning] | None = None
            seqs: list[int] = []
            original_on = None
            if activity.reverses:
                key = activity.reverses
                original = applied.get(key) or read.originals.get((member_id, key))
                if original is None:
                    raise NotFound(
                        N_("no applied activity {key} for this member"), key=key, field="reverses"
                    )
                if key in reversed_keys or (member_id, key) in read.reversed:
                    raise Conflict(
                        N_("activity {key} is already reversed"), key=key, field="reverses"
                    )
                reversed_keys.add(key)
                if key in applied:
                    lines, seqs = list(book.lines[key]), earned_seqs(book, original)
                else:
                    lines, seqs = read.original_lines[(member_id, key)]
                original_on = original.on
            caused = _post_activity(book, row, activity, lines, seqs, original_on)
            if events is not None:
                events[activity.key] = caused
            for event in caused:
                done.tier_changes.append(_tier_change_row(member_id, event, actor, now))
                done.timeline.append(_timeline_row(holder.customer_id, member_id, event, actor))
            applied[row.key] = row
            done.add_activity(context.copy, vars(row))
        done.add_entries(context.copy, _entry_rows(book, now))
        deleted, buckets = stored.bucket_changes(member_id, book.ledger, holder.entries_count)
        done.deleted_buckets += [(member_id, seq) for seq in deleted]
        done.add_buckets(context.copy, buckets)
        deleted_usage, usage = _usage_changes(book)
        done.deleted_usage += deleted_usage
        done.usage += usage
        for currency in book.programme.currencies:
            account = book.account(currency.code)
            balance = {
                "member_id": member_id,
                "currency": currency.code,
                "balance": book.ledger.balance(account),
                "available": book.ledger.available(account),
                "pending_credits": book.ledger.pending_credits(account),
            }
            known = (member_id, currency.code) in read.balances
            (done.balances if known else done.new_balances).append(balance)
        state = book.state
        done.members.append(
            {
                "id": member_id,
                "tier": state.tier,
                "tier_since": state.since,
                "period_end": state.period_end,
                "counter": state.counter,
                "tier_state": codec.state_to_json(state),
                "last_activity_on": holder.last_activity_on,
                "entries_count": len(book.ledger),
                "updated_at": now,
            }
        )
    return done


def _applied_plain(
    context: _Context,
    done: _Applied,
    holder: _Holder,
    programme: Programme,
    read: _Read,
    activity_ids: Iterator[int],
    events: dict[str, tuple[domain.TierEvent, ...]] | None,
) -> bool:
    """A member's activities through the fast path, if they are all plain earnings (see
    :mod:`egards.loyalty.fast`): the rows :func:`_applied_histories` writes for them through
    the book, without the book. ``False`` (and nothing done) if one is not plain."""
    member_id = holder.id
    activities = context.histories[member_id]
    if len({a.key for a in activities}) != len(activities):
        return False  # the same key twice: the ledger decides
    earner, tiers = _fast_rules(programme)
    plain = fast.count_plain(
        programme, earner, tiers, holder.tier_state, holder.last_activity_on, activities
    )
    if plain is None:
        return False
    actor, now = context.actor, context.now
    if context.copy:
        seq, credited = context.add_plain_lines(done, holder, programme, plain, activity_ids)
    else:
        seq, credited = _add_plain_rows(context, done, holder, programme, plain, activity_ids)
    for activity, caused in zip(activities, plain.events, strict=True):
        if events is not None:
            events[activity.key] = caused
        for event in caused:
            done.tier_changes.append(_tier_change_row(member_id, event, actor, now))
            done.timeline.append(_timeline_row(holder.customer_id, member_id, event, actor))
    for currency in programme.currencies:
        code = currency.code
        amount = credited.get(code, 0)
        found = read.balances.get((member_id, code))
        balance, available, pending = found if found is not None else (0, 0, 0)
        (done.balances if found is not None else done.new_balances).append(
            {
                "member_id": member_id,
                "currency": code,
                "balance": balance + amount,
                "available": available + amount,
                "pending_credits": pending,
            }
        )
    holder.last_activity_on = plain.last_activity_on
    tier_state = plain.tier_state
    done.members.append(
        {
            "id": member_id,
            "tier": tier_state["tier"],
            "tier_since": date.fromisoformat(tier_state["since"]),
            "period_end": (
                date.fromisoformat(tier_state["period_end"]) if tier_state["period_end"] else None
            ),
            "counter": tier_state["counter"],
            "tier_state": tier_state,
            "last_activity_on": holder.last_activity_on,
            "entries_count": seq,
            "updated_at": now,
        }
    )
    return True


def _add_plain_rows(
    context: _Context,
    done: _Applied,
    holder: _Holder,
    programme: Programme,
    plain: fast.Plain,
    activity_ids: Iterator[int],
) -> tuple[int, dict[str, int]]:
    """A member's plain earnings as rows added to ``done`` (SQLite, and the reference the
    COPY text of :meth:`_Context.add_plain_lines` is checked against). The member's last
    entry's seq, and the points credited by currency."""
    member_id, now = holder.id, context.now
    seq = holder.entries_count
    credited: dict[str, int] = {}
    buckets: dict[str, list[dict[str, Any]]] = {}
    activities = context.histories[member_id]
    for activity, lines, tier in zip(activities, plain.lines, plain.tiers, strict=True):
        activity_id = next(activity_ids)
        for rule_id, currency, amount, _ in lines:
            seq += 1
            expires_on = domain.expiry_date(programme, currency, earned_on=activity.on)
            done.entries.append(
                {
                    "member_id": member_id,
                    "seq": seq,
                    "key": f"{activity.key}:{rule_id}",
                    "op": "post",
                    "args": None,
                    "currency": currency,
                    "debit": "issuance",
                    "credit": "member",
                    "amount": amount,
                    "on": activity.on,
                    "kind": "earn",
                    "state": "posted",
                    "rule_id": rule_id,
                    "reverses": None,
                    "resolves": None,
                    "expires_on": expires_on,
                    "activity_id": activity_id,
                    "memo": "",
                    "allocations": None,
                    "created_at": now,
                }
            )
            buckets.setdefault(currency, []).append(
                {
                    "member_id": member_id,
                    "seq": seq,
                    "currency": currency,
                    "earned_on": activity.on,
                    "expires_on": expires_on,
                    "amount": amount,
                }
            )
            credited[currency] = credited.get(currency, 0) + amount
        row = _history_row(activity_id, holder, activity, now)
        row.member_number = ""  # its member's
        row.status = "applied"
        row.tier = tier
        done.activities.append(vars(row))
    for rows in buckets.values():
        done.buckets += rows
    return seq, credited


def _write_chunk(session: Session, chunk: _Chunk) -> None:
    tables = Base.metadata.tables
    for table, keys in chunk.deleted:  # before the rewritten rows go in
        _rewrite(session, table, keys, [])
    for name, rows in chunk.inserts:
        if isinstance(rows, PreparedCopy):
            write_prepared_copy(session, rows)
        else:
            bulk_insert(session, tables[name], rows)
    for update in chunk.updates:
        if isinstance(update, PreparedUpdate):
            write_prepared_update(session, update)
        else:
            table, rows, key = update
            bulk_update(session, table, rows, key=key)


def _lock_many(session: Session, member_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The members, locked in id order (so that two batches never wait on each other), as
    rows of what :func:`_holders` makes holders of."""
    table = Member.__table__
    rows: list[tuple[Any, ...]] = []
    for chunk in chunks(member_ids):
        query = (
            select(
                table.c.id,
                table.c.customer_id,
                table.c.programme,
                table.c.number,
                cast(table.c.tier_state, Text),  # decoded below by orjson: a third of the time
                table.c.last_activity_on,
                table.c.entries_count,
            )
            .where(among(session, table.c.id, chunk))
            .order_by(table.c.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        rows += session.execute(query).all()
    found = {row[0] for row in rows}
    missing = [member_id for member_id in member_ids if member_id not in found]
    if missing:
        raise NotFound(N_("member {member_id} not found"), member_id=missing[0], field="member_id")
    return rows


def _holders(rows: list[tuple[Any, ...]]) -> dict[int, _Holder]:
    """Holders of :func:`_lock_many`'s rows, their states decoded."""
    return {
        id_: _Holder(id_, customer_id, programme, number, orjson.loads(state), last, count)
        for id_, customer_id, programme, number, state, last, count in rows
    }


def _stored_originals(
    session: Session,
    programmes: Mapping[int, str],
    histories: Mapping[int, Sequence[domain.Activity]],
) -> tuple[dict[tuple[int, str], Any], set[tuple[int, str]]]:
    """Applied activities that refunds in the batch name but the batch does not hold, by
    (member, key), and those of them a stored refund already reversed."""
    wanted: set[tuple[int, str]] = set()
    for member_id, activities in histories.items():
        keys = {a.key for a in activities}
        wanted |= {
            (member_id, a.reverses) for a in activities if a.reverses and a.reverses not in keys
        }
    if not wanted:
        return {}, set()
    member_ids = sorted({member_id for member_id, _ in wanted})
    keys = sorted({key for _, key in wanted})
    found: dict[tuple[int, str], Any] = {}
    reversed_: set[tuple[int, str]] = set()
    table = Activity.__table__
    for chunk in chunks(member_ids):
        applied = (
            table.c.member_id.in_(chunk),
            table.c.status == "applied",
        )
        for row in session.execute(select(table).where(*applied, table.c.key.in_(keys))):
            if row.programme == programmes[row.member_id]:
                found[(row.member_id, row.key)] = row
        reverses = table.c.payload["reverses"].as_string()
        for member_id, programme, key in session.execute(
            select(table.c.member_id, table.c.programme, reverses).where(
                *applied, reverses.in_(keys)
            )
        ):
            if programme == programmes[member_id]:
                reversed_.add((member_id, key))
    return {k: v for k, v in found.items() if k in wanted}, reversed_


def _history_row(
    activity_id: int, holder: _Holder, activity: domain.Activity, now: datetime
) -> SimpleNamespace:
    """An activity's record before it is applied, written later with the others."""
    payload = _payload(activity)
    return SimpleNamespace(
        id=activity_id,
        programme=holder.programme,
        key=activity.key,
        member_id=holder.id,
        member_number=holder.number,
        kind=activity.kind,
        on=activity.on,
        status="parked",
        payload=payload,
        tier=None,
        earnings=None,
        entry_seqs=None,
        received_at=now,
        content_hash=_content_hash(payload),
    )


def _payload_key(activity: domain.Activity) -> tuple[Any, ...]:
    """What an activity's payload holds but its amounts."""
    return (
        activity.kind,
        activity.on,
        tuple(activity.attributes.items()),
        activity.quantity,
        activity.reverses,
    )


def _payload(activity: domain.Activity) -> dict[str, Any]:
    """An activity as its row stores it (and its content hash is made of)."""
    return {
        "kind": activity.kind,
        "on": activity.on.isoformat(),
        "amounts": dict(activity.amounts),
        "attributes": dict(activity.attributes),
        "quantity": activity.quantity,
        "reverses": activity.reverses,
    }
