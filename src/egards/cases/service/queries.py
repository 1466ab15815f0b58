"""The cases' reads: what an actor may see, a case and its thread, history, escalations and
links, the inbox with the names shown beside it, the agents a case may go to, the deliveries of
sent mail, the SQL predicates matching the partial indexes, and the bulk readers other features
use (recent cases, comparison groups, categories, teams)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal_column, not_, or_, select
from sqlalchemy.orm import Session, defer, selectinload

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Permission
from egards.bulk import select_in
from egards.cases.models import (
    AgentProfile,
    Case,
    CaseAttachment,
    CaseEscalation,
    CaseLink,
    CaseMessage,
    CaseStatusChange,
    RawInbound,
)
from egards.customers import service as customers
from egards.errors import NotFound
from egards.i18n import N_
from egards.outbox import service as outbox


def _visible(actor: Actor) -> Any:
    """Partners see only the cases of their organisation."""
    if actor.is_partner:
        return Case.organisation_id == actor.organisation_id
    return None


def get_case(session: Session, *, actor: Actor, case_id: int, for_update: bool = False) -> Case:
    actor.require(Permission.CASES_READ)
    query = select(Case).where(Case.id == case_id)
    if (visible := _visible(actor)) is not None:
        query = query.where(visible)
    if for_update:
        query = query.with_for_update()
    case = session.scalar(query)
    if case is None:
        raise NotFound(N_("case {id} not found"), field="case_id", id=case_id)
    return case


def _writable(session: Session, *, actor: Actor, case_id: int) -> Case:
    actor.require(Permission.CASES_WRITE)
    return get_case(session, actor=actor, case_id=case_id, for_update=True)


def thread(session: Session, *, actor: Actor, case_id: int) -> list[CaseMessage]:
    case = get_case(session, actor=actor, case_id=case_id)
    query = (
        select(CaseMessage)
        .where(CaseMessage.case_id == case.id)
        .options(selectinload(CaseMessage.attachments).options(defer(CaseAttachment.content)))
        .order_by(CaseMessage.id)
    )
    if actor.is_partner:
        # Internal notes stay inside the company.
        query = query.where(CaseMessage.kind != "note")
    return list(session.scalars(query))


@dataclass(frozen=True)
class Delivery:
    """What became of an outgoing e-mail: ``queued``, ``retrying`` (``attempts`` failed, the
    last for ``error``, next at ``at``), ``sent`` (at ``at``) or ``not_delivered`` (given
    up, for ``error``)."""

    state: str
    attempts: int = 0
    error: str | None = None
    at: datetime | None = None


def deliveries(session: Session, *, messages: Iterable[CaseMessage]) -> dict[int, Delivery]:
    """The outbox's outcome of each message sent by e-mail, by message id."""
    keys = {m.id: m.outbox_key for m in messages if m.outbox_key}
    found = outbox.outcomes(session, keys.values())
    result = {}
    for message_id, key in keys.items():
        outcome = found.get(key)
        if outcome is None:
            continue
        attempts, error = outcome.attempts, outcome.last_error
        if outcome.status == outbox.SENT:
            result[message_id] = Delivery("sent", attempts, at=outcome.sent_at)
        elif outcome.status == outbox.FAILED:
            result[message_id] = Delivery("not_delivered", attempts, error)
        elif attempts:
            result[message_id] = Delivery("retrying", attempts, error, outcome.next_attempt_at)
        else:
            result[message_id] = Delivery("queued")
    return result


def attachment(
    session: Session, *, actor: Actor, case_id: int, attachment_id: int
) -> CaseAttachment:
    """An accepted file of a case (refused ones were never kept)."""
    get_case(session, actor=actor, case_id=case_id)
    query = (
        select(CaseAttachment)
        .join(CaseMessage, CaseMessage.id == CaseAttachment.message_id)
        .where(CaseAttachment.id == attachment_id, CaseMessage.case_id == case_id)
    )
    if actor.is_partner:
        query = query.where(CaseMessage.kind != "note")
    found = session.scalar(query)
    if found is None or not found.accepted or found.content is None:
        raise NotFound(
            N_("attachment {attachment_id} not found"),
            attachment_id=attachment_id,
            field="attachment_id",
        )
    return found


def status_history(session: Session, *, actor: Actor, case_id: int) -> list[CaseStatusChange]:
    get_case(session, actor=actor, case_id=case_id)
    return list(
        session.scalars(
            select(CaseStatusChange)
            .where(CaseStatusChange.case_id == case_id)
            .order_by(CaseStatusChange.id)
        )
    )


def escalations(session: Session, *, actor: Actor, case_id: int) -> list[CaseEscalation]:
    get_case(session, actor=actor, case_id=case_id)
    return list(
        session.scalars(
            select(CaseEscalation)
            .where(CaseEscalation.case_id == case_id)
            .order_by(CaseEscalation.id)
        )
    )


def links(session: Session, *, actor: Actor, case_id: int) -> list[CaseLink]:
    get_case(session, actor=actor, case_id=case_id)
    return list(
        session.scalars(
            select(CaseLink)
            .where(or_(CaseLink.case_id == case_id, CaseLink.linked_case_id == case_id))
            .order_by(CaseLink.id)
        )
    )


def list_cases(
    session: Session,
    *,
    actor: Actor,
    view: str = "all",
    team: str | None = None,
    status: str | None = None,
    customer_id: int | None = None,
    include_closed: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], bool]:
    """The inbox: open cases, earliest deadline first. ``view``: mine, team, unassigned, all."""
    actor.require(Permission.CASES_READ)
    query = select(Case)
    if (visible := _visible(actor)) is not None:
        query = query.where(visible)
    if view == "mine":
        query = query.where(Case.assignee_id == (actor.user_id or 0))
    elif view == "unassigned":
        query = query.where(Case.assignee_id.is_(None))
    if team:
        query = query.where(Case.team == team)
    if status:
        query = query.where(Case.status == status)
    elif not include_closed:
        query = query.where(_is_open())
    if customer_id is not None:
        query = query.where(Case.customer_id == customer_id)
        order: tuple[Any, ...] = (Case.created_at.desc(), Case.id.desc())
    else:
        order = queue_order(Case.due_at)
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1).offset(offset)))
    return rows[:limit], len(rows) > limit


def queue_order(deadline: Any) -> tuple[Any, ...]:
    """``domain.priority_key`` in SQL, on a deadline column (``due_at`` for the inbox and the
    team queues, ``reply_due_at`` for "no silence"): deadline first, then value band, churn
    band, audience (a tie-break inside a band), and the case number."""
    return (
        deadline.asc().nulls_last(),
        Case.value_band.desc(),
        Case.churn_band.desc(),
        func.coalesce(Case.audience, 0).desc(),
        Case.id,
    )


def display_names(session: Session, cases: list[Any]) -> dict[str, dict[int, str]]:
    """The names shown beside cases: their customers' and their assignees', by id."""
    customer_ids = {c.customer_id for c in cases if c.customer_id}
    user_ids = {c.assignee_id for c in cases if c.assignee_id}
    names = {"customers": {}, "users": {}}
    if customer_ids:
        names["customers"] = customers.names(session, customer_ids)
    if user_ids:
        names["users"] = accounts.display_names(session, user_ids)
    return names


def assignable_agents(session: Session) -> list[Any]:
    """(id, display name) of the active agents and supervisors, by name: whom a case may go to."""
    return list(accounts.assignable_staff(session))


def _sql(value: str) -> Any:
    """A constant written into the SQL, not bound: PostgreSQL matches a partial index's
    predicate only against constants, and a cached generic plan has none."""
    return literal_column(f"'{value}'")


def _is_open() -> Any:
    return Case.status.not_in((_sql("resolved"), _sql("closed")))


def _reply_pending() -> Any:
    """Awaiting an answer, not yet found late, clock running: the partial index's predicate,
    written the same way so that both databases use the index."""
    return and_(
        Case.awaiting_since.is_not(None), not_(Case.reply_overdue), Case.sla_state != _sql("paused")
    )


def unreadable_messages(session: Session, *, actor: Actor, limit: int = 50) -> list[RawInbound]:
    actor.require(Permission.CASES_SUPERVISE)
    return list(
        session.scalars(
            select(RawInbound)
            .where(RawInbound.status == "failed")
            .order_by(RawInbound.id.desc())
            .limit(limit)
        )
    )


def _fired_keys(session: Session, case_ids: Sequence[int]) -> dict[tuple[int, str, datetime], set]:
    fired: dict[tuple[int, str, datetime], set[str]] = {}
    if not case_ids:
        return fired
    for case_id, metric, started, key in session.execute(
        select(
            CaseEscalation.case_id,
            CaseEscalation.metric,
            CaseEscalation.clock_started_at,
            CaseEscalation.step_key,
        ).where(CaseEscalation.case_id.in_(case_ids))
    ):
        fired.setdefault((case_id, metric, started), set()).add(key)
    return fired


def count_recent_cases(session: Session, *, customer_id: int, since: datetime) -> int:
    """How many cases a customer opened since a moment (repeated incidents)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.customer_id == customer_id, Case.created_at >= since)
        )
        or 0
    )


def cases_without(session: Session, *, excluded_case_ids: Any, before: date) -> list[Any]:
    """(id, customer_id, created_at) of customers' cases opened before a day and not in
    ``excluded_case_ids`` (a subquery): the comparison group of a return report."""
    limit = datetime.combine(before, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    return list(
        session.execute(
            select(Case.id, Case.customer_id, Case.created_at).where(
                Case.customer_id.is_not(None),
                Case.created_at < limit,
                Case.id.not_in(excluded_case_ids),
            )
        ).all()
    )


def case_facts(
    session: Session, case_ids: Iterable[int]
) -> dict[int, tuple[str | None, int | None]]:
    """Category and CSAT of each case, in bulk."""
    rows = select_in(session, Case.id, Case.category, Case.satisfaction, ids=case_ids)
    return {case_id: (category, csat) for case_id, category, csat in rows}


def message_sender(session: Session, message_id: int) -> tuple[str, str | None] | None:
    """The channel and sender address of one message, or ``None``: for the features that
    link a person by the address they answered from."""
    row = session.execute(
        select(CaseMessage.channel, CaseMessage.from_address).where(CaseMessage.id == message_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def team_of(session: Session, user_id: int | None) -> str | None:
    """The first team an agent works in (their budget's team), if they have a profile."""
    profile = session.get(AgentProfile, user_id) if user_id is not None else None
    return profile.teams[0] if profile is not None and profile.teams else None


def case_ids_of(session: Session, customer_ids: Iterable[int]) -> list[int]:
    """The cases of these customers (for the features whose rows hang on a case)."""
    return list(session.scalars(select(Case.id).where(Case.customer_id.in_(list(customer_ids)))))
