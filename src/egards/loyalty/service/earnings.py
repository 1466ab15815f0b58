"""An activity's earning lines as readers see them (its result, a replay's, the explanation),
read from what is stored: since migration 0017 an activity row holds no earning lines; the
entries it posted give each line's rule, currency and amount, and the programme's rules, at
the tier the activity earned at (``tier``), give the reason (a message)
(:func:`domain.rendered_earnings`). Rows written before keep their stored lines
(``earnings``), read as they are. The explanation's count of the current period is read as
sums (:func:`period_count`): the entries say the same whether their activities were written
with their lines or without."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from egards.bulk import chunks
from egards.i18n import render_message
from egards.loyalty import codec, domain
from egards.loyalty.models import Activity, Entry
from egards.loyalty.programme import OnTierReached, Programme

# (seq, rule id, currency, amount) of an entry an activity posted.
Posted = tuple[int, str | None, str, int]


def activity_of_row(row: Any) -> domain.Activity:
    """A stored activity (a row of ``loyalty_activities``) as the rules see it."""
    payload = row.payload
    return domain.Activity(
        key=row.key,
        kind=row.kind,
        on=row.on,
        amounts=payload.get("amounts") or {},
        attributes=payload.get("attributes") or {},
        quantity=payload.get("quantity", 1),
        reverses=payload.get("reverses"),
    )


def posted_by(session: Session, rows: Iterable[Any]) -> dict[int, list[Posted]]:
    """The entries the applied activities posted, by activity id, in their order (read
    through the primary key's range of each member, filtered by day: an activity's entries
    are dated on its day; the (member, day) index went with migration 0031)."""
    wanted = {(row.member_id, row.on): set() for row in rows if row.member_id is not None}
    ids = {row.id for row in rows}
    for row in rows:
        if row.member_id is not None:
            wanted[(row.member_id, row.on)].add(row.id)
    found: dict[int, list[Posted]] = {}
    members = sorted({member_id for member_id, _ in wanted})
    days = sorted({day for _, day in wanted})
    for chunk in chunks(members):
        query = (
            select(Entry.activity_id, Entry.seq, Entry.rule_id, Entry.currency, Entry.amount)
            .where(Entry.member_id.in_(chunk), Entry.on.in_(days), Entry.activity_id.in_(ids))
            .order_by(Entry.member_id, Entry.seq)
        )
        for activity_id, seq, rule_id, currency, amount in session.execute(query):
            assert activity_id is not None, "the query keeps the activities' entries"
            found.setdefault(activity_id, []).append((seq, rule_id, currency, amount))
    return found


def earnings_of(
    session: Session, programme: Programme, rows: Sequence[Any]
) -> dict[int, list[domain.Earning]]:
    """The earning lines of stored activities (rows with every column of
    ``loyalty_activities``), by activity id, reasons as messages: what
    :func:`domain.count_activity` gave each when it was applied (none for a parked one)."""
    lean = [row for row in rows if row.earnings is None and row.status == "applied"]
    posted = posted_by(session, lean) if lean else {}
    refunds = [row for row in lean if (row.payload or {}).get("reverses")]
    originals: dict[tuple[int | None, str], Any] = {}
    if refunds:
        keys = sorted({row.payload["reverses"] for row in refunds})
        for chunk in chunks(keys):
            for original in session.scalars(
                select(Activity).where(
                    Activity.programme == programme.code,
                    Activity.key.in_(chunk),
                    Activity.status == "applied",
                )
            ):
                originals[(original.member_id, original.key)] = original
    original_lines = earnings_of(session, programme, list(originals.values())) if originals else {}
    found: dict[int, list[domain.Earning]] = {}
    for row in rows:
        if row.earnings is not None:
            found[row.id] = [codec.earning_from_json(e) for e in row.earnings]
        elif row.status != "applied":
            found[row.id] = []
        else:
            activity = activity_of_row(row)
            if activity.reverses:
                original = originals.get((row.member_id, activity.reverses))
                lines = original_lines.get(original.id, []) if original is not None else []
                found[row.id] = domain.reverse_earnings(lines, reversal=activity)
            else:
                entries = [(r or "", c, a) for _, r, c, a in posted.get(row.id, [])]
                found[row.id] = domain.rendered_earnings(programme, activity, row.tier, entries)
    return found


def period_count(
    session: Session, programme: Programme, state: domain.TierState, member_id: int, *, as_of: date
) -> domain.PeriodCount:
    """:func:`domain.count_period` over the member's ledger, summed by the database: the
    entries of the current period in the qualifying currency, with their activities, grouped
    by activity (a refund's lines under the activity it reverses), then by kind. What Python
    receives does not grow with the member's history: a row per kind of activity."""
    since = state.period_start
    reverses = Activity.payload["reverses"].as_string()
    counted = [
        Entry.member_id == member_id,
        Entry.on >= since,  # the (member, day) index; the activity's day is the line's
        Entry.currency == programme.qualification.currency,
        Entry.kind.in_(("earn", "reversal")),
        Activity.on >= since,
        Activity.on <= as_of,
    ]
    reached = state.upgrades[-1] if state.upgrades else None
    if reached is not None and programme.qualification.on_tier_reached is not OnTierReached.KEEP:
        # After the last line of the activity that reached the tier; without one in the
        # period, after its day.
        last = (
            select(func.max(Entry.seq))
            .join(Activity, Activity.id == Entry.activity_id)
            .where(*counted, Activity.key == reached.activity_key)
            .scalar_subquery()
        )
        counted.append(or_(Entry.seq > last, and_(last.is_(None), Activity.on > reached.on)))
    key = func.coalesce(reverses, Activity.key)
    by_activity = (
        select(
            func.max(case((reverses.is_(None), Activity.kind))).label("kind"),
            func.sum(case((Entry.kind == "reversal", -Entry.amount), else_=Entry.amount)).label(
                "net"
            ),
            func.min(Entry.seq).label("first"),
        )
        .join(Activity, Activity.id == Entry.activity_id)
        .where(*counted)
        .group_by(key)
        .subquery()
    )
    kept = by_activity.c.net != 0
    rows = session.execute(
        select(
            by_activity.c.kind,
            func.sum(by_activity.c.net),
            func.sum(case((kept, 1), else_=0)),
            func.min(case((kept, by_activity.c.first))),
        ).group_by(by_activity.c.kind)
    ).all()
    kinds = sorted((first, kind, n) for kind, _, n, first in rows if kind is not None and n)
    return domain.PeriodCount(
        amount=sum(int(net) for _, net, _, _ in rows),
        activities=tuple((kind, int(n)) for _, kind, n in kinds),
    )


def store_earnings_json(session: Session, batch: int = 1000) -> None:
    """Migration 0017's way down: every applied activity written without its earning lines
    gets them back as they were stored before (lines with reasons in English and French,
    entries posted, the member's number)."""
    from egards.loyalty.models import Member

    from ._common import programmes

    known = programmes()
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(Activity)
                .where(Activity.id > last, Activity.status == "applied")
                .order_by(Activity.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        last = rows[-1].id
        rows = [row for row in rows if row.earnings is None]  # (SQL or JSON null)
        posted = posted_by(session, rows)
        numbers = dict(
            session.execute(
                select(Member.id, Member.number).where(
                    Member.id.in_({row.member_id for row in rows})
                )
            ).all()
        )
        for code in {row.programme for row in rows}:
            if code not in known:
                continue
            mine = [row for row in rows if row.programme == code]
            lines = earnings_of(session, known[code], mine)
            for row in mine:
                assert row.member_id is not None, "an applied activity has its member"
                row.earnings = [
                    {
                        **codec.earning_to_json(line),
                        "reason": render_message("en", line.reason),
                        "reason_fr": render_message("fr", line.reason),
                    }
                    for line in lines[row.id]
                ]
                row.entry_seqs = [seq for seq, *_ in posted.get(row.id, [])]
                row.member_number = row.member_number or numbers.get(row.member_id, "")
        session.flush()
