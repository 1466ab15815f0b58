"""The "no silence" view: every case awaiting a human answer, with its totals kept at write
time in sharded counters (``_track`` after each change, ``recount`` to rebuild them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases.models import Case, CaseCounter, CaseMessage, RawInbound
from egards.cases.service._common import PAUSED
from egards.cases.service.queries import _reply_pending, _visible, queue_order
from egards.db import rowcount
from egards.errors import InvalidInput
from egards.features import hooks
from egards.i18n import N_


@dataclass(frozen=True)
class SilenceRow:
    case: Case
    waiting_messages: int
    time_left: timedelta | None


@dataclass(frozen=True)
class SilenceView:
    rows: list[SilenceRow]
    waiting: int
    past_promise: int
    unreadable: int
    # The cursor of the page after this one (``after=``), None on the last page.
    next_after: str | None = None


@dataclass(frozen=True)
class CustomerColumns:
    """What the view shows of each waiting customer: live tiers, value band, churn risk."""

    tiers: list[str]
    value_band: str = ""
    churn_risk: float | None = None


def customer_columns(
    session: Session, *, actor: Actor, customer_ids: Iterable[int | None], locale: str
) -> dict[int, CustomerColumns]:
    """The live tiers (the features' ``service.current_tiers``: loyalty) and the value band
    and churn risk (their ``service.customer_signals``: analytics) of many customers in bulk,
    through hooks since cases may import neither; empty where the actor may not see them."""
    ids = sorted({i for i in customer_ids if i is not None})
    if not ids:
        return {}
    tiers: dict[int, list[str]] = {}
    for _, hook in hooks("service", "current_tiers"):
        for customer_id, names in hook(
            session, actor=actor, customer_ids=ids, locale=locale
        ).items():
            tiers.setdefault(customer_id, []).extend(names)
    signals: dict[int, object] = {}
    for _, hook in hooks("service", "customer_signals"):
        signals.update(hook(session, actor=actor, customer_ids=ids))
    return {
        i: CustomerColumns(
            tiers=tiers.get(i, []),
            value_band=getattr(signals.get(i), "value_band", ""),
            churn_risk=getattr(signals.get(i), "churn_risk", None),
        )
        for i in ids
    }


COUNTER_SHARDS = 16
WAITING, OVERDUE = "waiting", "overdue"


def _bump(session: Session, name: str, case_id: int, delta: int) -> None:
    if not delta:
        return
    shard = case_id % COUNTER_SHARDS
    changed = rowcount(
        session.execute(
            update(CaseCounter)
            .where(CaseCounter.name == name, CaseCounter.shard == shard)
            .values(value=CaseCounter.value + delta)
            .execution_options(synchronize_session=False)
        )
    )
    if not changed:
        session.add(CaseCounter(name=name, shard=shard, value=delta))
        session.flush()


def _membership(case: Case) -> tuple[bool, bool]:
    return case.awaiting_since is not None, bool(case.reply_overdue)


def _track(session: Session, case: Case, was: tuple[bool, bool], *, now: datetime) -> None:
    """Keep the "no silence" totals in step with this case's change."""
    late = case.reply_due_at is not None and case.reply_due_at <= now
    if case.reply_overdue and (case.awaiting_since is None or not late):
        case.reply_overdue = False
    waiting, overdue = _membership(case)
    _bump(session, WAITING, case.id, int(waiting) - int(was[0]))
    _bump(session, OVERDUE, case.id, int(overdue) - int(was[1]))


def _counter(session: Session, name: str) -> int:
    total = session.scalar(select(func.sum(CaseCounter.value)).where(CaseCounter.name == name))
    return int(total or 0)


def recount(session: Session) -> tuple[int, int]:
    """Rebuild the totals from the cases (after a bulk load, or to check them)."""
    session.execute(delete(CaseCounter))
    totals = []
    for name, where in (
        (WAITING, Case.awaiting_since.is_not(None)),
        (OVERDUE, and_(Case.awaiting_since.is_not(None), Case.reply_overdue.is_(True))),
    ):
        shard = Case.id % COUNTER_SHARDS
        rows = dict(session.execute(select(shard, func.count()).where(where).group_by(shard)).all())
        for number in range(COUNTER_SHARDS):
            session.add(CaseCounter(name=name, shard=number, value=rows.get(number, 0)))
        totals.append(sum(rows.values()))
    session.flush()
    return totals[0], totals[1]


def silence_cursor(case: Case) -> str:
    """Where the next page starts: after this case, in the view's order (``queue_order``:
    deadline, value band, churn band, audience, id)."""
    due = case.reply_due_at.isoformat() if case.reply_due_at is not None else ""
    return f"{due}~{case.value_band}~{case.churn_band}~{case.audience or 0}~{case.id}"


def _parse_cursor(after: str) -> tuple[datetime | None, int, int, int, int]:
    due, *numbers = after.split("~")
    try:
        moment = datetime.fromisoformat(due) if due else None
        value, churn, audience, case_id = (int(n) for n in numbers)
    except ValueError:
        raise InvalidInput(N_("not a page cursor: {after!r}"), after=after, field="after") from None
    if moment is not None and moment.tzinfo is None:
        raise InvalidInput(N_("not a page cursor: {after!r}"), after=after, field="after")
    return moment, value, churn, audience, case_id


def _after(after: str) -> ColumnElement[bool]:
    """Keyset condition: the cases that come after the cursor in ``queue_order`` (deadlines
    first, those with none last; then value and churn bands and audience, descending; id)."""
    due, value, churn, audience, case_id = _parse_cursor(after)
    reach = func.coalesce(Case.audience, 0)
    same_due = Case.reply_due_at.is_(None) if due is None else Case.reply_due_at == due
    later = (
        or_(Case.reply_due_at > due, Case.reply_due_at.is_(None))
        if due is not None
        else Case.id.is_(None)  # nothing comes after the deadline-less cases' own order
    )
    return or_(
        later,
        and_(same_due, Case.value_band < value),
        and_(same_due, Case.value_band == value, Case.churn_band < churn),
        and_(same_due, Case.value_band == value, Case.churn_band == churn, reach < audience),
        and_(
            same_due,
            Case.value_band == value,
            Case.churn_band == churn,
            reach == audience,
            Case.id > case_id,
        ),
    )


def no_silence(
    session: Session,
    *,
    actor: Actor,
    now: datetime,
    limit: int = 100,
    offset: int = 0,
    after: str | None = None,
) -> SilenceView:
    """Every case with a customer message awaiting a human answer, in priority order
    (``queries.queue_order``: deadline, then value, churn risk, audience).

    A case leaves only by an answer or an explicit, justified closure; ``past_promise``
    counts those whose answer is overdue, ``unreadable`` raw messages that failed to parse.
    ``after`` (a cursor from ``next_after``) pages by keyset: a page costs the same however
    deep it is, and a case answered meanwhile does not shift the next page.
    """
    actor.require(Permission.CASES_READ)
    base = Case.awaiting_since.is_not(None)
    visible = _visible(actor)
    where = and_(base, visible) if visible is not None else base
    query = select(Case).where(where)
    if after:
        query = query.where(_after(after))
    cases = list(
        session.scalars(
            query.order_by(*queue_order(Case.reply_due_at)).limit(limit + 1).offset(offset)
        )
    )
    more = len(cases) > limit
    cases = cases[:limit]
    late = and_(Case.reply_due_at < now, Case.sla_state != PAUSED)
    if visible is not None:
        # A partner's share is small: count it directly.
        waiting = session.scalar(select(func.count()).select_from(Case).where(where)) or 0
        flagged = or_(Case.reply_overdue.is_(True), late)
        past = session.scalar(select(func.count()).select_from(Case).where(where, flagged)) or 0
    else:
        # Totals kept at write time, plus the answers that fell due since the last sweep.
        waiting = _counter(session, WAITING)
        since_sweep = session.scalar(
            select(func.count()).select_from(Case).where(_reply_pending(), Case.reply_due_at < now)
        )
        past = _counter(session, OVERDUE) + (since_sweep or 0)
    counts: dict[int, int] = {}
    if cases:
        counts = dict(
            session.execute(
                select(CaseMessage.case_id, func.count())
                .where(
                    CaseMessage.case_id.in_([c.id for c in cases]),
                    CaseMessage.awaiting_answer.is_(True),
                )
                .group_by(CaseMessage.case_id)
            ).all()
        )
    unreadable = 0
    if not actor.is_partner:
        unreadable = (
            session.scalar(
                select(func.count()).select_from(RawInbound).where(RawInbound.status == "failed")
            )
            or 0
        )
    rows = [
        SilenceRow(
            case,
            counts.get(case.id, 0),
            case.reply_due_at - now if case.reply_due_at is not None else None,
        )
        for case in cases
    ]
    return SilenceView(
        rows=rows,
        waiting=waiting,
        past_promise=past,
        unreadable=unreadable,
        next_after=silence_cursor(cases[-1]) if more else None,
    )
