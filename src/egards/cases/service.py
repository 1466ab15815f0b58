"""Use cases of cases and listening. Each takes a session, an actor and ``now``; only flushes.

Every change recomputes the case's SLA columns (``refresh_sla``) from its status history, so
that sweeps, the inbox and the "no silence" view read stored, indexed values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Text, and_, cast, delete, func, literal_column, not_, or_, select, update
from sqlalchemy.orm import Session, defer, selectinload

from egards.accounts.domain import Actor, Permission, Role
from egards.accounts.models import User
from egards.audit import service as audit
from egards.bulk import select_in
from egards.cases import domain
from egards.cases.acknowledgement import (
    AcknowledgementTemplates,
    load_acknowledgement_templates,
    render_acknowledgement,
)
from egards.cases.domain import (
    LOOP_MARKER_HEADER,
    CaseFacts,
    CaseStatus,
    Channel,
    Priority,
    SlaMetric,
    SlaState,
    format_case_number,
    tag_subject,
)
from egards.cases.intake import check_attachment, route_team
from egards.cases.models import (
    AgentProfile,
    Case,
    CaseAttachment,
    CaseCounter,
    CaseEscalation,
    CaseLink,
    CaseMessage,
    CaseStatusChange,
    RawInbound,
    WebhookReceipt,
)
from egards.cases.sla_config import SlaSettings, load_sla_config
from egards.config import Settings
from egards.customers import service as customers
from egards.customers.domain import ERASED, Erasure, IdentityKind, normalise_identity
from egards.customers.models import Customer, Identity
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.outbox import service as outbox

OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.WAITING_ON_CUSTOMER,
    CaseStatus.WAITING_ON_PARTNER,
)
PAUSED = "paused"
ACK_KEY = "case-ack:"
SILO_OF_TEAM = {
    "support": "support",
    "shop": "shop",
    "installation": "partner",
    "quality": "quality",
    "billing": "billing",
    "cancellations": "cancellation",
    "supervisors": "support",
}


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CasesConfig:
    sla: SlaSettings
    ack: AcknowledgementTemplates
    mail_from: str = "service-client@egards.example"
    max_attachment_bytes: int = 5_000_000
    assignment: str = "least_loaded"
    time_zone: str = "Europe/Paris"

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1]


@lru_cache(maxsize=8)
def _load(sla_file: Path | None) -> tuple[SlaSettings, AcknowledgementTemplates]:
    return load_sla_config(sla_file), load_acknowledgement_templates()


def config_from_settings(settings: Settings) -> CasesConfig:
    sla, ack = _load(settings.sla_file)
    return CasesConfig(
        sla=sla,
        ack=ack,
        mail_from=settings.mail_from,
        max_attachment_bytes=settings.max_attachment_bytes,
        assignment=settings.case_assignment,
    )


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentIn:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class InboundIn:
    """One message from a customer, whatever the channel."""

    body_text: str
    subject: str | None = None
    body_html: str | None = None
    from_name: str | None = None
    from_address: str | None = None
    address_kind: str | None = None
    """email, phone or social: how ``from_address`` identifies a person."""
    network: str = ""
    to_address: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    attachments: tuple[AttachmentIn, ...] = ()
    raw_id: int | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class CaseDetails:
    channel: Channel
    subject: str
    category: str | None = None
    priority: Priority = Priority.NORMAL
    team: str | None = None
    language: str | None = None
    loyalty_tier: str | None = None
    tags: tuple[str, ...] = ()
    customer_id: int | None = None
    organisation_id: int | None = None


@dataclass
class Opened:
    case: Case
    message: CaseMessage
    acknowledgement: CaseMessage | None = None
    refused_attachments: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Reading cases
# --------------------------------------------------------------------------------------


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
        raise NotFound(f"case {case_id} not found", field="case_id", id=case_id)
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
        raise NotFound(f"attachment {attachment_id} not found", field="attachment_id")
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
        order = (Case.due_at.asc().nulls_last(), Case.id)
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1).offset(offset)))
    return rows[:limit], len(rows) > limit


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


COUNTER_SHARDS = 16
WAITING, OVERDUE = "waiting", "overdue"


def _bump(session: Session, name: str, case_id: int, delta: int) -> None:
    if not delta:
        return
    shard = case_id % COUNTER_SHARDS
    changed = session.execute(
        update(CaseCounter)
        .where(CaseCounter.name == name, CaseCounter.shard == shard)
        .values(value=CaseCounter.value + delta)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        session.add(CaseCounter(name=name, shard=shard, value=delta))
        session.flush()


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


def no_silence(
    session: Session, *, actor: Actor, now: datetime, limit: int = 100, offset: int = 0
) -> SilenceView:
    """Every case with a customer message awaiting a human answer, oldest deadline first.

    A case leaves only by an answer or an explicit, justified closure; ``past_promise``
    counts those whose answer is overdue, ``unreadable`` raw messages that failed to parse.
    """
    actor.require(Permission.CASES_READ)
    base = Case.awaiting_since.is_not(None)
    visible = _visible(actor)
    where = and_(base, visible) if visible is not None else base
    cases = list(
        session.scalars(
            select(Case)
            .where(where)
            .order_by(Case.reply_due_at.asc().nulls_last(), Case.id)
            .limit(limit)
            .offset(offset)
        )
    )
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
    return SilenceView(rows=rows, waiting=waiting, past_promise=past, unreadable=unreadable)


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


# --------------------------------------------------------------------------------------
# SLA clocks
# --------------------------------------------------------------------------------------


def _history(case: Case) -> list[tuple[datetime, CaseStatus]]:
    return [(datetime.fromisoformat(at), CaseStatus(status)) for at, status in case.status_log]


def _policy(config: CasesConfig, case: Case) -> domain.SlaPolicy:
    for policy in config.sla.policies:
        if policy.name == case.sla_policy:
            return policy
    # The configuration changed since the case was opened: choose again.
    return config.sla.policy_for(_facts(case))


def _facts(case: Case) -> CaseFacts:
    return CaseFacts(
        channel=case.channel,
        category=case.category,
        priority=case.priority,
        team=case.team,
        loyalty_tier=case.loyalty_tier,
    )


def case_clocks(case: Case, config: CasesConfig) -> dict[SlaMetric, domain.SlaClock]:
    """The clocks of a case, rebuilt from its stored facts and status history."""
    policy = _policy(config, case)
    history = _history(case)
    pauses = domain.pauses_from_history(history)
    resolution_pauses = domain.pauses_from_history(
        history, pausing=domain.RESOLUTION_PAUSING_STATUSES
    )
    closed_unanswered = case.closed_at if case.first_response_at is None else None
    clocks: dict[SlaMetric, domain.SlaClock] = {}
    first = config.sla.clock(
        policy,
        SlaMetric.FIRST_RESPONSE,
        started_at=case.created_at,
        pauses=pauses,
        stopped_at=case.first_response_at or closed_unanswered,
    )
    if first is not None:
        clocks[SlaMetric.FIRST_RESPONSE] = first
    if case.next_response_started_at is not None:
        following = config.sla.clock(
            policy,
            SlaMetric.NEXT_RESPONSE,
            started_at=case.next_response_started_at,
            pauses=pauses,
            stopped_at=case.closed_at,
        )
        if following is not None:
            clocks[SlaMetric.NEXT_RESPONSE] = following
    resolution = config.sla.clock(
        policy,
        SlaMetric.RESOLUTION,
        started_at=case.created_at,
        pauses=resolution_pauses,
        stopped_at=case.resolved_at,
    )
    if resolution is not None:
        clocks[SlaMetric.RESOLUTION] = resolution
    return clocks


def read_clocks(case: Case, config: CasesConfig, *, now: datetime) -> list[domain.ClockReading]:
    return [domain.read_clock(clock, now=now) for clock in case_clocks(case, config).values()]


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


_STATE_ORDER = {SlaState.ON_TRACK: 0, SlaState.AT_RISK: 1, SlaState.BREACHED: 2}


def refresh_sla(
    case: Case,
    config: CasesConfig,
    *,
    now: datetime,
    fired: dict[tuple[int, str, datetime], set[str]] | None = None,
) -> None:
    """Store deadlines, state, the at-risk instant and the next escalation check."""
    clocks = case_clocks(case, config)
    readings = {metric: domain.read_clock(clock, now=now) for metric, clock in clocks.items()}
    first = readings.get(SlaMetric.FIRST_RESPONSE)
    following = readings.get(SlaMetric.NEXT_RESPONSE)
    resolution = readings.get(SlaMetric.RESOLUTION)
    case.first_response_due_at = first.deadline if first else None
    case.next_response_due_at = following.deadline if following else None
    case.resolution_due_at = resolution.deadline if resolution else None
    if first and not first.is_running and case.first_response_breached is None:
        case.first_response_breached = first.state is SlaState.BREACHED
    if resolution and not resolution.is_running:
        case.resolution_breached = resolution.state is SlaState.BREACHED
    elif resolution:
        case.resolution_breached = None
    reply = following if following and following.is_running else first
    case.reply_due_at = (
        reply.deadline if case.awaiting_since is not None and reply is not None else None
    )
    running = {metric: r for metric, r in readings.items() if r.is_running}
    if CaseStatus(case.status) in domain.PAUSING_STATUSES and running:
        case.sla_state = PAUSED
        case.due_at = case.at_risk_at = case.next_check_at = None
        return
    if running:
        worst = max((r.state for r in running.values()), key=_STATE_ORDER.__getitem__)
        case.sla_state = str(worst)
        case.due_at = min(r.deadline for r in running.values())
        pending_risk = [r.at_risk_at for r in running.values() if r.state is SlaState.ON_TRACK]
        case.at_risk_at = min(pending_risk, default=None)
    else:
        breached = case.first_response_breached or case.resolution_breached
        case.sla_state = str(SlaState.BREACHED if breached else SlaState.MET)
        case.due_at = case.at_risk_at = None
    fired = fired or {}
    instants = []
    for metric in running:
        clock = clocks[metric]
        keys = fired.get((case.id, str(metric), clock.started_at), set())
        instant = domain.next_escalation_at(config.sla.escalation, clock, fired=keys, now=now)
        if instant is not None:
            instants.append(instant)
    case.next_check_at = min(instants, default=None)


# --------------------------------------------------------------------------------------
# Opening cases
# --------------------------------------------------------------------------------------


def _find_customer(session: Session, message: InboundIn, region: str = "FR") -> int | None:
    """The active customer owning the sender's identity, if exactly one does."""
    if not message.from_address or not message.address_kind:
        return None
    try:
        value = normalise_identity(
            IdentityKind(message.address_kind), message.from_address, region=region
        )
    except (InvalidInput, ValueError):
        return None
    owner = session.scalar(
        select(Identity.customer_id)
        .join(Customer, Customer.id == Identity.customer_id)
        .where(
            Identity.kind == message.address_kind,
            Identity.network == (message.network or ""),
            Identity.value == value,
            Customer.status == "active",
        )
    )
    return owner


def _store_attachments(
    session: Session, message: CaseMessage, files: Iterable[AttachmentIn], config: CasesConfig
) -> list[str]:
    refusals = []
    files = list(files)
    if files:
        session.flush()  # the message's id, for its attachments
    for item in files:
        verdict = check_attachment(
            filename=item.filename,
            content_type=item.content_type,
            content=item.content,
            max_bytes=config.max_attachment_bytes,
        )
        session.add(
            CaseAttachment(
                message_id=message.id,
                filename=(item.filename or "attachment")[:255],
                content_type=(item.content_type or "application/octet-stream")[:120],
                size=len(item.content),
                sha256=hashlib.sha256(item.content).hexdigest(),
                accepted=verdict.accepted,
                refusal=verdict.refusal,
                content=item.content if verdict.accepted else None,
            )
        )
        if verdict.refusal:
            refusals.append(verdict.refusal)
    return refusals


def _log_status(case: Case, status: CaseStatus, at: datetime) -> None:
    case.status_log = [*case.status_log, [at.isoformat(), str(status)]]


# What the partner organisation of a case follows on the customer's timeline: the case's life
# and its exchanges with the customer. Notes, assignment, escalations, links, ratings and edits
# stay internal (docs/partners.md).
SHARED_WITH_PARTNER = frozenset(
    {"case.opened", "case.message_received", "case.acknowledged", "case.replied", "case.status"}
)


def _timeline(
    session: Session, actor: Actor, case: Case, kind: str, summary: str, at: datetime
) -> None:
    if case.customer_id is None:
        return
    customers.record_event(
        session,
        actor=actor,
        customer_id=case.customer_id,
        kind=kind,
        summary=f"{format_case_number(case.id)} · {summary}"[:1000],
        channel=case.channel,
        silo=SILO_OF_TEAM.get(case.team, "support"),
        ref_type="case",
        ref_id=str(case.id),
        occurred_at=at,
        shared_with=case.organisation_id if kind in SHARED_WITH_PARTNER else None,
    )


def open_case(
    session: Session,
    *,
    actor: Actor,
    details: CaseDetails,
    message: InboundIn,
    config: CasesConfig,
    now: datetime | None = None,
    acknowledge: bool = True,
    answered_on_the_spot: bool = False,
    region: str = "FR",
) -> Opened:
    """Open a case from any channel with its first message, choose its promise, assign it,
    acknowledge it in the customer's language, and put it on the timeline and in the audit.
    """
    actor.require(Permission.CASES_WRITE)
    now = now or utcnow()
    received = message.received_at or now
    customer: Customer | None = None
    customer_id = details.customer_id
    if customer_id is not None:
        # The actor must be able to see this customer (a partner: one assigned to it).
        customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    elif not actor.is_partner:  # a partner never links a file it cannot see
        customer_id = _find_customer(session, message, region)
        if customer_id is not None:
            customer = session.get(Customer, customer_id)
    subject = " ".join((details.subject or "").split())[:300] or _first_words(message.body_text)
    language = _language(details.language, customer)
    team = route_team(channel=details.channel, category=details.category, team=details.team)
    facts = CaseFacts(
        channel=details.channel,
        category=details.category,
        priority=details.priority,
        team=team,
        loyalty_tier=details.loyalty_tier,
    )
    policy = config.sla.policy_for(facts)
    case = Case(
        customer_id=customer_id,
        # What a partner opens belongs to its organisation, whatever the channel.
        organisation_id=actor.organisation_id if actor.is_partner else details.organisation_id,
        channel=str(details.channel),
        team=team,
        subject=subject,
        category=details.category,
        priority=str(details.priority),
        status=str(CaseStatus.NEW),
        language=language,
        tags=sorted(set(details.tags)),
        sender_name=(message.from_name or None) and message.from_name[:200],
        sender_address=message.from_address,
        sender_kind=message.address_kind,
        loyalty_tier=details.loyalty_tier,
        opened_by=actor.label,
        created_at=received,
        updated_at=now,
        sla_policy=policy.name,
        status_log=[[received.isoformat(), str(CaseStatus.NEW)]],
        awaiting_since=None if answered_on_the_spot else received,
        sla_state=str(SlaState.ON_TRACK),
        reply_overdue=False,
        next_response_breaches=0,
        reopened_count=0,
    )
    session.add(case)
    session.flush()
    inbound = _add_message(
        session,
        case,
        kind="inbound",
        channel=case.channel,
        author=message.from_name or message.from_address or actor.label,
        message=message,
        awaiting=not answered_on_the_spot,
        at=received,
    )
    refused = _store_attachments(session, inbound, message.attachments, config)
    if answered_on_the_spot:
        case.first_response_at = received
    session.add(
        CaseStatusChange(
            case_id=case.id,
            at=received,
            from_status=None,
            to_status=str(CaseStatus.NEW),
            actor_label=actor.label,
        )
    )
    _auto_assign(session, case, config, now=now)
    refresh_sla(case, config, now=now)
    _track(session, case, (False, False), now=now)
    audit.record(
        session,
        actor=actor,
        action="case.open",
        entity_type="case",
        entity_id=case.id,
        customer_id=customer_id,
        after={
            "number": format_case_number(case.id),
            "channel": case.channel,
            "team": case.team,
            "subject": case.subject,
            "priority": case.priority,
            "category": case.category,
            "sla_policy": case.sla_policy,
            "first_response_due_at": _iso(case.first_response_due_at),
            "assignee_id": case.assignee_id,
        },
    )
    _timeline(session, actor, case, "case.opened", f"Case opened ({case.channel}): {subject}", now)
    acknowledgement = None
    if acknowledge and not answered_on_the_spot:
        acknowledgement = _acknowledge(
            session, case, inbound, config, customer=customer, now=now, actor=actor
        )
    if refused:
        _refusal_notice(session, case, inbound, refused, config, now=now)
    session.flush()
    return Opened(case, inbound, acknowledgement, refused)


def _first_words(text: str, limit: int = 80) -> str:
    words = " ".join(text.split())
    return (words[: limit - 1] + "…") if len(words) > limit else (words or "(no subject)")


def _language(requested: str | None, customer: Customer | None) -> str:
    if customer is not None and customer.preferred_language:
        return customer.preferred_language[:2]
    if requested:
        primary = requested.replace("_", "-").split("-")[0].casefold()
        return primary if primary in ("fr", "en") else "en"
    return "fr"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _add_message(
    session: Session,
    case: Case,
    *,
    kind: str,
    channel: str,
    author: str,
    message: InboundIn,
    awaiting: bool,
    at: datetime,
) -> CaseMessage:
    entry = CaseMessage(
        case_id=case.id,
        kind=kind,
        channel=channel,
        author_label=author[:200],
        from_address=message.from_address,
        to_address=message.to_address,
        subject=(message.subject or None) and message.subject[:300],
        body_text=message.body_text,
        body_html=message.body_html,
        message_id=message.message_id,
        in_reply_to=message.in_reply_to,
        references=message.references,
        raw_id=message.raw_id,
        awaiting_answer=awaiting,
        created_at=at,
    )
    session.add(entry)
    return entry


def _email_of(session: Session, case: Case) -> str | None:
    """Where to write to the customer: the sender's e-mail, else the file's primary one."""
    if case.sender_kind == "email" and case.sender_address:
        return case.sender_address
    if case.customer_id is None:
        return None
    return session.scalar(
        select(Identity.value)
        .where(Identity.customer_id == case.customer_id, Identity.kind == "email")
        .order_by(Identity.is_primary.desc(), Identity.id)
        .limit(1)
    )


def _thread_headers(session: Session, case: Case) -> dict[str, str]:
    """In-Reply-To the customer's last message, References the whole thread (last 20)."""
    rows = session.execute(
        select(CaseMessage.kind, CaseMessage.message_id)
        .where(CaseMessage.case_id == case.id, CaseMessage.message_id.is_not(None))
        .order_by(CaseMessage.id)
    ).all()
    headers = {LOOP_MARKER_HEADER: format_case_number(case.id)}
    inbound = [message_id for kind, message_id in rows if kind == "inbound"]
    if inbound:
        headers["In-Reply-To"] = inbound[-1]
    if rows:
        headers["References"] = " ".join(message_id for _, message_id in rows[-20:])
    return headers


def _acknowledge(
    session: Session,
    case: Case,
    inbound: CaseMessage,
    config: CasesConfig,
    *,
    customer: Customer | None,
    now: datetime,
    actor: Actor,
) -> CaseMessage:
    """The acknowledgement: by e-mail when we have an address, else shown where it came in."""
    ack = render_acknowledgement(
        templates=config.ack,
        language=case.language,
        case_sequence=case.id,
        channel=Channel(case.channel),
        first_response_due=case.first_response_due_at,
        customer_time_zone=config.time_zone,
        customer_name=(
            f"{customer.first_name} {customer.last_name}" if customer else case.sender_name
        ),
        original_subject=case.subject,
    )
    to = _email_of(session, case)
    key = f"{ACK_KEY}{case.id}"
    entry = CaseMessage(
        case_id=case.id,
        kind="acknowledgement",
        channel=case.channel if case.channel != "email" and not to else "email",
        author_label="Égards",
        to_address=to,
        subject=ack.subject,
        body_text=ack.body,
        awaiting_answer=False,
        delivery="queued" if to else "shown",
        created_at=now,
    )
    if to:
        headers = {
            **_thread_headers(session, case),
            **domain.ACKNOWLEDGEMENT_HEADERS,
            "Content-Language": ack.language,
        }
        queued = outbox.enqueue_email(
            session,
            key=key,
            sender=config.mail_from,
            to=to,
            subject=ack.subject,
            body=ack.body,
            headers=headers,
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
        entry.message_id = queued.payload["message_id"]
        entry.outbox_key = key
    session.add(entry)
    _timeline(session, actor, case, "case.acknowledged", f"Acknowledged in {ack.language}", now)
    return entry


def _refusal_notice(
    session: Session,
    case: Case,
    inbound: CaseMessage,
    refusals: list[str],
    config: CasesConfig,
    *,
    now: datetime,
) -> None:
    """A clear reply to the sender saying which files were not accepted, and why."""
    to = _email_of(session, case)
    french = case.language == "fr"
    intro = (
        "Certaines pièces jointes de votre message n'ont pas pu être acceptées :"
        if french
        else "Some attachments of your message could not be accepted:"
    )
    size = config.max_attachment_bytes
    limit = f"{size // 1_000_000} M" if size >= 1_000_000 else f"{size // 1000} K"
    outro = (
        "Votre message lui-même a bien été reçu. Vous pouvez nous renvoyer ces documents en PDF"
        f" ou en image, de moins de {limit}o chacun."
        if french
        else "Your message itself was received. You may send these documents again as PDF or"
        f" images, under {limit}B each."
    )
    body = "\n".join([intro, "", *(f"- {r}" for r in refusals), "", outro, ""])
    subject = tag_subject(
        "Pièces jointes refusées" if french else "Attachments not accepted", case.id
    )
    entry = CaseMessage(
        case_id=case.id,
        kind="system",
        channel="email" if to else case.channel,
        author_label="Égards",
        to_address=to,
        subject=subject,
        body_text=body,
        awaiting_answer=False,
        delivery="queued" if to else "none",
        created_at=now,
    )
    if to:
        key = f"case-refusal:{inbound.id}"
        queued = outbox.enqueue_email(
            session,
            key=key,
            sender=config.mail_from,
            to=to,
            subject=subject,
            body=body,
            headers={**_thread_headers(session, case), **domain.ACKNOWLEDGEMENT_HEADERS},
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
        entry.message_id = queued.payload["message_id"]
        entry.outbox_key = key
    session.add(entry)


# --------------------------------------------------------------------------------------
# Following messages, replies, notes
# --------------------------------------------------------------------------------------


def add_inbound(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    message: InboundIn,
    config: CasesConfig,
    now: datetime | None = None,
) -> Opened:
    """A customer wrote again: back to open (reopened if resolved), a next-response clock
    starts if we had answered; on a closed case, a follow-up case linked to it opens."""
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    received = message.received_at or now
    effect = domain.receive_inbound_message(CaseStatus(case.status))
    was = _membership(case)
    if effect.follow_up_case:
        opened = open_case(
            session,
            actor=actor,
            details=CaseDetails(
                channel=Channel(case.channel),
                subject=case.subject,
                category=case.category,
                priority=Priority(case.priority),
                team=case.team,
                language=case.language,
                loyalty_tier=case.loyalty_tier,
                customer_id=None,
                organisation_id=case.organisation_id,
            ),
            message=message,
            config=config,
            now=now,
        )
        if opened.case.customer_id is None and case.customer_id is not None:
            opened.case.customer_id = case.customer_id
        session.add(
            CaseLink(
                case_id=opened.case.id,
                linked_case_id=case.id,
                kind="follow_up_of",
                created_at=now,
                created_by=actor.label,
            )
        )
        return opened
    entry = _add_message(
        session,
        case,
        kind="inbound",
        channel=case.channel,
        author=message.from_name or message.from_address or actor.label,
        message=message,
        awaiting=True,
        at=received,
    )
    refused = _store_attachments(session, entry, message.attachments, config)
    if effect.status != CaseStatus(case.status):
        _set_status(session, actor, case, effect.status, reason=None, now=received)
        if effect.reopened:
            case.reopened_count += 1
            case.resolved_at = None
            case.resolution_breached = None
    if case.awaiting_since is None:
        case.awaiting_since = received
    if case.first_response_at is not None and case.next_response_started_at is None:
        case.next_response_started_at = received
    case.updated_at = now
    refresh_sla(case, config, now=now, fired=_fired_keys(session, [case.id]))
    _track(session, case, was, now=now)
    session.flush()  # the message's id, for the audit record
    audit.record(
        session,
        actor=actor,
        action="case.message_received",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        after={"message_id": entry.id, "reopened": effect.reopened},
    )
    _timeline(
        session,
        actor,
        case,
        "case.message_received",
        ("Reopened: " if effect.reopened else "New message: ") + _first_words(message.body_text),
        received,
    )
    if refused:
        _refusal_notice(session, case, entry, refused, config, now=now)
    session.flush()
    return Opened(case, entry, None, refused)


def reply(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    body: str,
    config: CasesConfig,
    now: datetime | None = None,
    then_status: CaseStatus | None = None,
) -> CaseMessage:
    """Answer the customer. The answer stops the first- or next-response clock, takes the
    case out of the "no silence" view and goes out through the outbox."""
    now = now or utcnow()
    body = body.strip()
    if not body:
        raise InvalidInput("an answer cannot be empty", field="body")
    case = _writable(session, actor=actor, case_id=case_id)
    if case.status == CaseStatus.CLOSED:
        raise Conflict(f"{format_case_number(case.id)} is closed", field="case_id")
    was = _membership(case)
    to = _email_of(session, case)
    subject = tag_subject(f"Re: {case.subject}", case.id)
    entry = CaseMessage(
        case_id=case.id,
        kind="reply",
        channel="email" if to else case.channel,
        author_label=actor.label,
        author_id=actor.user_id,
        to_address=to,
        subject=subject,
        body_text=body,
        awaiting_answer=False,
        delivery="queued" if to else "manual",
        created_at=now,
    )
    session.add(entry)
    session.flush()
    if to:
        key = f"case-reply:{entry.id}"
        queued = outbox.enqueue_email(
            session,
            key=key,
            sender=config.mail_from,
            to=to,
            subject=subject,
            body=body,
            headers=_thread_headers(session, case),
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
        entry.message_id = queued.payload["message_id"]
        entry.outbox_key = key
    _answered(session, case, config, now=now)
    if case.status == CaseStatus.NEW and then_status is None:
        then_status = CaseStatus.OPEN
    if then_status is not None and then_status != CaseStatus(case.status):
        _change(session, actor, case, then_status, reason=None, config=config, now=now)
    refresh_sla(case, config, now=now, fired=_fired_keys(session, [case.id]))
    _track(session, case, was, now=now)
    audit.record(
        session,
        actor=actor,
        action="case.reply",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        after={"message_id": entry.id, "to": to, "delivery": entry.delivery},
    )
    _timeline(session, actor, case, "case.replied", _first_words(body, 200), now)
    session.flush()
    return entry


def _answered(session: Session, case: Case, config: CasesConfig, *, now: datetime) -> None:
    clocks = case_clocks(case, config)
    if case.first_response_at is None:
        case.first_response_at = now
    if case.next_response_started_at is not None:
        following = clocks.get(SlaMetric.NEXT_RESPONSE)
        if following and domain.read_clock(following, now=now).state is SlaState.BREACHED:
            case.next_response_breaches += 1
        case.next_response_started_at = None
    case.awaiting_since = None
    session.execute(
        update(CaseMessage)
        .where(CaseMessage.case_id == case.id, CaseMessage.awaiting_answer.is_(True))
        .values(awaiting_answer=False, answered_at=now)
    )
    case.updated_at = now


def add_note(
    session: Session, *, actor: Actor, case_id: int, body: str, now: datetime | None = None
) -> CaseMessage:
    """An internal note: seen by colleagues, never by the customer, stops no clock."""
    now = now or utcnow()
    body = body.strip()
    if not body:
        raise InvalidInput("a note cannot be empty", field="body")
    case = _writable(session, actor=actor, case_id=case_id)
    entry = CaseMessage(
        case_id=case.id,
        kind="note",
        channel="console",
        author_label=actor.label,
        author_id=actor.user_id,
        body_text=body,
        awaiting_answer=False,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.note",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        after={"message_id": entry.id},
    )
    _timeline(session, actor, case, "case.note", _first_words(body, 200), now)
    return entry


# --------------------------------------------------------------------------------------
# Status, assignment, links
# --------------------------------------------------------------------------------------


def _set_status(
    session: Session,
    actor: Actor,
    case: Case,
    target: CaseStatus,
    *,
    reason: str | None,
    now: datetime,
) -> None:
    session.add(
        CaseStatusChange(
            case_id=case.id,
            at=now,
            from_status=case.status,
            to_status=str(target),
            actor_label=actor.label,
            reason=reason,
        )
    )
    _log_status(case, target, now)
    case.status = str(target)


def _change(
    session: Session,
    actor: Actor,
    case: Case,
    target: CaseStatus,
    *,
    reason: str | None,
    config: CasesConfig,
    now: datetime,
) -> None:
    current = CaseStatus(case.status)
    reason = (reason or "").strip() or None
    awaiting = case.awaiting_since is not None
    if awaiting and target in domain.STOPPING_STATUSES and not reason:
        # The one way out of the "no silence" view without an answer: a written reason.
        raise domain.ClosureReasonRequired(
            f"{format_case_number(case.id)} still awaits an answer; say why it ends without one",
            current=str(current),
        )
    domain.change_status(current, target, reason=reason)
    before = case.status
    _set_status(session, actor, case, target, reason=reason, now=now)
    if target is CaseStatus.RESOLVED:
        case.resolved_at = now
    elif target is CaseStatus.CLOSED:
        case.closed_at = now
        case.closure_reason = reason
        if case.resolved_at is None:
            case.resolved_at = now
    elif current is CaseStatus.RESOLVED:
        case.resolved_at = None
        case.resolution_breached = None
        case.reopened_count += 1
    if awaiting and target in domain.STOPPING_STATUSES:
        case.awaiting_since = None
        session.execute(
            update(CaseMessage)
            .where(CaseMessage.case_id == case.id, CaseMessage.awaiting_answer.is_(True))
            .values(awaiting_answer=False)
        )
    case.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="case.status",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        before={"status": before},
        after={"status": str(target), "left_unanswered": awaiting and target != current},
        reason=reason,
    )
    summary = f"Status {before} → {target}" + (f" ({reason})" if reason else "")
    _timeline(session, actor, case, "case.status", summary, now)


def change_status(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    target: CaseStatus,
    reason: str | None,
    config: CasesConfig,
    now: datetime | None = None,
) -> Case:
    """Move a case along the status machine; ending it while an answer is owed needs a
    reason (and closing without resolution the supervise permission, unless it was answered)."""
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    if target in domain.STOPPING_STATUSES and case.awaiting_since is not None:
        # Ending a case without answering it is a supervisor's decision.
        actor.require(Permission.CASES_SUPERVISE)
    was = _membership(case)
    _change(session, actor, case, target, reason=reason, config=config, now=now)
    refresh_sla(case, config, now=now, fired=_fired_keys(session, [case.id]))
    _track(session, case, was, now=now)
    session.flush()
    return case


def update_case(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    config: CasesConfig,
    changes: dict[str, Any],
    now: datetime | None = None,
) -> Case:
    """Category, priority, team, tags, subject or loyalty tier; the promise is chosen again
    (a new policy applies from the case's start, as if it had been known then)."""
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    allowed = {"category", "priority", "team", "tags", "subject", "loyalty_tier"}
    if not actor.is_partner:
        allowed.add("organisation_id")  # hand the case to a partner (installer, shop)
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    before = {name: getattr(case, name) for name in changes}
    was = _membership(case)
    if "team" in changes:
        changes["team"] = route_team(
            channel=Channel(case.channel), category=None, team=changes["team"]
        )
    if "priority" in changes:
        changes["priority"] = str(Priority(changes["priority"]))
    if "tags" in changes:
        changes["tags"] = sorted({str(tag).strip()[:40] for tag in changes["tags"] if tag})
    for name, value in changes.items():
        setattr(case, name, value)
    case.sla_policy = config.sla.policy_for(_facts(case)).name
    case.updated_at = now
    refresh_sla(case, config, now=now, fired=_fired_keys(session, [case.id]))
    _track(session, case, was, now=now)
    audit.record(
        session,
        actor=actor,
        action="case.update",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        before=before,
        after={**changes, "sla_policy": case.sla_policy},
    )
    _timeline(
        session,
        actor,
        case,
        "case.updated",
        ", ".join(f"{k}: {v}" for k, v in changes.items()),
        now,
    )
    session.flush()
    return case


def record_satisfaction(
    session: Session, *, actor: Actor, case_id: int, score: int, now: datetime | None = None
) -> Case:
    """The customer's CSAT on a resolved or closed case (from a survey); once per case."""
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    if case.status not in ("resolved", "closed"):
        raise Conflict("a case is rated once resolved or closed", field="score")
    if case.satisfaction is not None:
        raise Conflict(f"case {case.id} is already rated {case.satisfaction}", field="score")
    if not 1 <= score <= 5:
        raise InvalidInput("must be between 1 and 5", field="score")
    case.satisfaction, case.satisfaction_at = score, now
    audit.record(
        session,
        actor=actor,
        action="case.satisfaction",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        after={"satisfaction": score},
    )
    _timeline(session, actor, case, "case.rated", f"CSAT {score}/5", now)
    session.flush()
    return case


def assign(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    assignee_id: int | None,
    now: datetime | None = None,
) -> Case:
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    if case.assignee_id not in (None, actor.user_id) or assignee_id not in (None, actor.user_id):
        # Taking a free case is anyone's; moving a case between people is supervision.
        actor.require(Permission.CASES_SUPERVISE)
    if assignee_id is not None:
        user = session.get(User, assignee_id)
        if user is None or not user.is_active:
            raise NotFound(f"user {assignee_id} not found", field="assignee_id")
    before = case.assignee_id
    case.assignee_id = assignee_id
    case.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="case.assign",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        before={"assignee_id": before},
        after={"assignee_id": assignee_id},
    )
    _timeline(
        session,
        actor,
        case,
        "case.assigned",
        f"Assigned to user {assignee_id}" if assignee_id else "Unassigned",
        now,
    )
    session.flush()
    return case


def _auto_assign(session: Session, case: Case, config: CasesConfig, *, now: datetime) -> None:
    """Round-robin or least-loaded among agents of the case's team who speak its language
    and, when they list skills, have the case's category among them."""
    profiles = list(
        session.scalars(
            select(AgentProfile)
            .join(User, User.id == AgentProfile.user_id)
            .where(AgentProfile.accepting.is_(True), User.is_active.is_(True))
        )
    )
    eligible = [
        p
        for p in profiles
        if case.team in (p.teams or [])
        and (not p.languages or case.language in p.languages)
        and (not p.skills or not case.category or case.category in p.skills)
    ]
    if not eligible:
        return
    if config.assignment == "round_robin":
        chosen = min(
            eligible,
            key=lambda p: (p.last_assigned_at is not None, p.last_assigned_at or now, p.user_id),
        )
    else:
        loads = dict(
            session.execute(
                select(Case.assignee_id, func.count())
                .where(
                    Case.assignee_id.in_([p.user_id for p in eligible]),
                    _is_open(),
                )
                .group_by(Case.assignee_id)
            ).all()
        )
        chosen = min(eligible, key=lambda p: (loads.get(p.user_id, 0), p.user_id))
    chosen.last_assigned_at = now
    case.assignee_id = chosen.user_id


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


def team_of(session: Session, user_id: int | None) -> str | None:
    """The first team an agent works in (their budget's team), if they have a profile."""
    profile = session.get(AgentProfile, user_id) if user_id is not None else None
    return profile.teams[0] if profile is not None and profile.teams else None


def set_agent_profile(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    teams: list[str],
    languages: list[str],
    skills: list[str],
    accepting: bool = True,
) -> AgentProfile:
    actor.require(Permission.CASES_SUPERVISE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", field="user_id")
    if user.role not in (Role.AGENT, Role.SUPERVISOR):
        raise InvalidInput("only agents and supervisors take cases", field="user_id")
    for team in teams:
        route_team(channel=Channel.EMAIL, category=None, team=team)
    profile = session.get(AgentProfile, user_id)
    before = None
    if profile is None:
        profile = AgentProfile(user_id=user_id)
        session.add(profile)
    else:
        before = {"teams": profile.teams, "languages": profile.languages, "skills": profile.skills}
    profile.teams, profile.languages, profile.skills = teams, languages, skills
    profile.accepting = accepting
    audit.record(
        session,
        actor=actor,
        action="case.agent_profile",
        entity_type="user",
        entity_id=user_id,
        before=before,
        after={"teams": teams, "languages": languages, "skills": skills, "accepting": accepting},
    )
    session.flush()
    return profile


def link_customer(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    customer_id: int,
    now: datetime | None = None,
) -> Case:
    """Attach a case from an unknown sender to a customer file (its history goes along)."""
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    if case.customer_id == customer.id:
        return case
    before = case.customer_id
    case.customer_id = customer.id
    case.language = case.language if before else (customer.preferred_language or "fr")[:2]
    case.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="case.link_customer",
        entity_type="case",
        entity_id=case.id,
        customer_id=customer.id,
        before={"customer_id": before},
        after={"customer_id": customer.id},
    )
    _timeline(
        session,
        actor,
        case,
        "case.linked",
        f"Case {format_case_number(case.id)} ({case.channel}) linked to this file: {case.subject}",
        now,
    )
    session.flush()
    return case


def suggest_customers(
    session: Session, *, actor: Actor, case_id: int, limit: int = 5
) -> list[Customer]:
    """Files that may be the unknown sender: same e-mail or phone in another spelling, same
    handle on another network, then the sender's name."""
    case = get_case(session, actor=actor, case_id=case_id)
    actor.require(Permission.CUSTOMERS_READ)
    found: dict[int, Customer] = {}
    address = (case.sender_address or "").strip()
    candidates: list[tuple[str, str]] = []
    if address:
        if "@" in address:
            local = address.split("@")[0].split("+")[0].casefold()
            candidates.append(("email_local", local))
        elif case.sender_kind == "social":
            candidates.append(("social", address.lstrip("@").casefold()))
        else:
            candidates.append(("phone", address))
    for kind, value in candidates:
        query = select(Identity.customer_id)
        if kind == "email_local":
            query = query.where(
                Identity.kind == "email", Identity.value.startswith(value + "@", autoescape=True)
            )
        elif kind == "social":
            query = query.where(Identity.kind == "social", Identity.value == value)
        else:
            try:
                normal = normalise_identity(IdentityKind.PHONE, value)
            except InvalidInput:
                continue
            query = query.where(Identity.kind == "phone", Identity.value == normal)
        for customer_id in session.scalars(query.limit(limit)):
            try:
                found.setdefault(
                    customer_id,
                    customers.get_customer(session, actor=actor, customer_id=customer_id),
                )
            except NotFound:
                continue
    if len(found) < limit and case.sender_name:
        matches, _ = customers.search_customers(
            session, actor=actor, text=case.sender_name, limit=limit
        )
        for customer in matches:
            found.setdefault(customer.id, customer)
    return list(found.values())[:limit]


def link_cases(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    linked_case_id: int,
    kind: str,
    now: datetime | None = None,
) -> CaseLink:
    """Related cases, or a duplicate (which is then closed with that reason)."""
    now = now or utcnow()
    if kind not in ("related", "duplicate_of"):
        raise InvalidInput("kind is related or duplicate_of", field="kind")
    if case_id == linked_case_id:
        raise InvalidInput("a case cannot be linked to itself", field="linked_case_id")
    case = _writable(session, actor=actor, case_id=case_id)
    other = get_case(session, actor=actor, case_id=linked_case_id)
    existing = session.scalar(
        select(CaseLink).where(
            CaseLink.case_id == case.id,
            CaseLink.linked_case_id == other.id,
            CaseLink.kind == kind,
        )
    )
    if existing:
        return existing
    link = CaseLink(
        case_id=case.id,
        linked_case_id=other.id,
        kind=kind,
        created_at=now,
        created_by=actor.label,
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.link",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        after={"linked_case_id": other.id, "kind": kind},
    )
    _timeline(
        session,
        actor,
        case,
        "case.linked_case",
        f"{kind.replace('_', ' ')} {format_case_number(other.id)}",
        now,
    )
    return link


# --------------------------------------------------------------------------------------
# Sweep and escalation (the worker)
# --------------------------------------------------------------------------------------

WORKER = Actor(label="égards worker", role=Role.ADMIN)
_NEXT_PRIORITY = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}


@dataclass
class SweepReport:
    at_risk: int = 0
    breached: int = 0
    checked: int = 0
    escalations: int = 0

    def __str__(self) -> str:
        return (
            f"{self.at_risk} now at risk, {self.breached} newly breached, "
            f"{self.checked} checked, {self.escalations} escalation steps fired"
        )


def flag_states(session: Session, *, now: datetime) -> tuple[int, int]:
    """Bulk flips of the stored state from the stored instants (set-based, indexed)."""
    breached = session.execute(
        update(Case)
        .where(Case.sla_state.in_((_sql("on_track"), _sql("at_risk"))), Case.due_at <= now)
        .values(sla_state="breached")
        .execution_options(synchronize_session=False)
    ).rowcount
    at_risk = session.execute(
        update(Case)
        .where(Case.sla_state == _sql("on_track"), Case.at_risk_at <= now)
        .values(sla_state="at_risk")
        .execution_options(synchronize_session=False)
    ).rowcount
    late = session.scalars(
        update(Case)
        .where(_reply_pending(), Case.reply_due_at <= now)
        .values(reply_overdue=True)
        .returning(Case.id)
        .execution_options(synchronize_session=False)
    ).all()
    per_shard: dict[int, int] = {}
    for case_id in late:
        per_shard[case_id % COUNTER_SHARDS] = per_shard.get(case_id % COUNTER_SHARDS, 0) + 1
    for shard, count in per_shard.items():
        _bump(session, OVERDUE, shard, count)
    return at_risk or 0, breached or 0


def sweep(
    db: Any, *, config: CasesConfig, now: datetime | None = None, batch: int = 500
) -> SweepReport:
    """Flag states in bulk, then fire the escalation steps that fell due, in batches.

    Only cases whose stored ``next_check_at`` has passed are loaded; each batch is one unit
    of work and records the steps it fires, so a step never fires twice.
    """
    now = now or utcnow()
    report = SweepReport()
    with db.unit_of_work() as session:
        report.at_risk, report.breached = flag_states(session, now=now)
    seen: set[int] = set()
    while True:
        with db.unit_of_work() as session:
            query = (
                select(Case)
                .where(Case.next_check_at <= now)
                .order_by(Case.next_check_at)
                .limit(batch)
            )
            if db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            cases = [case for case in session.scalars(query) if case.id not in seen]
            if not cases:
                break
            fired = _fired_keys(session, [case.id for case in cases])
            for case in cases:
                seen.add(case.id)
                report.escalations += _escalate(session, case, config, now=now, fired=fired)
                refresh_sla(case, config, now=now, fired=fired)
            report.checked += len(cases)
    return report


def _escalate(
    session: Session,
    case: Case,
    config: CasesConfig,
    *,
    now: datetime,
    fired: dict[tuple[int, str, datetime], set[str]],
) -> int:
    count = 0
    for metric, clock in case_clocks(case, config).items():
        reading = domain.read_clock(clock, now=now)
        keys = fired.setdefault((case.id, str(metric), clock.started_at), set())
        for step in domain.due_escalations(config.sla.escalation, reading, fired=keys):
            detail = _apply_step(session, case, step, metric, reading, config, now=now)
            session.add(
                CaseEscalation(
                    case_id=case.id,
                    metric=str(metric),
                    clock_started_at=clock.started_at,
                    step_key=step.key,
                    action=str(step.action),
                    fired_at=now,
                    detail=detail,
                )
            )
            keys.add(step.key)
            count += 1
    return count


def _apply_step(
    session: Session,
    case: Case,
    step: domain.EscalationStep,
    metric: SlaMetric,
    reading: domain.ClockReading,
    config: CasesConfig,
    *,
    now: datetime,
) -> str:
    number = format_case_number(case.id)
    late = reading.state is SlaState.BREACHED
    what = f"{metric.value.replace('_', ' ')} {'breached' if late else 'at risk'}"
    before = {"team": case.team, "assignee_id": case.assignee_id, "priority": case.priority}
    if step.action is domain.EscalationAction.REASSIGN_TEAM and step.team:
        case.team = step.team
        case.assignee_id = None
        _auto_assign(session, case, config, now=now)
        detail = f"{what}: reassigned to team {step.team}"
    elif step.action is domain.EscalationAction.RAISE_PRIORITY:
        case.priority = _NEXT_PRIORITY[case.priority]
        detail = f"{what}: priority raised to {case.priority}"
    elif step.action is domain.EscalationAction.NOTIFY_SUPERVISOR:
        notified = _notify(
            session,
            case,
            step,
            config,
            now=now,
            recipients=session.scalars(
                select(User.email).where(User.role == Role.SUPERVISOR, User.is_active.is_(True))
            ).all(),
            text=f"{number}: {what} (deadline {reading.deadline:%Y-%m-%d %H:%M} UTC)",
        )
        detail = f"{what}: {notified} supervisor(s) notified"
    else:
        recipients = []
        if case.assignee_id:
            email = session.scalar(select(User.email).where(User.id == case.assignee_id))
            recipients = [email] if email else []
        notified = _notify(
            session,
            case,
            step,
            config,
            now=now,
            recipients=recipients,
            text=f"{number}: {what}, {_left(reading.remaining)} left",
        )
        detail = f"{what}: assignee warned" if notified else f"{what}: no assignee to warn"
    case.updated_at = now
    audit.record(
        session,
        actor=WORKER,
        action="case.escalate",
        entity_type="case",
        entity_id=case.id,
        customer_id=case.customer_id,
        before=before,
        after={"step": step.key, "action": str(step.action), "metric": str(metric)},
        reason=detail,
    )
    _timeline(session, WORKER, case, "case.escalated", f"Escalation {step.key}: {detail}", now)
    return detail


def _left(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 0 else "none"


def _notify(
    session: Session,
    case: Case,
    step: domain.EscalationStep,
    config: CasesConfig,
    *,
    now: datetime,
    recipients: Sequence[str],
    text: str,
) -> int:
    for email in recipients:
        outbox.enqueue_email(
            session,
            key=f"case-escalation:{case.id}:{step.key}:{_iso(now)}:{email}",
            sender=config.mail_from,
            to=email,
            subject=f"[Égards] {text}"[:300],
            body=f"{text}\n\n{case.subject}\n",
            headers={LOOP_MARKER_HEADER: format_case_number(case.id)},
            now=now,
            ref_type="case",
            ref_id=case.id,
        )
    return len(recipients)


# --------------------------------------------------------------------------------------
# Webhook replay protection, reports
# --------------------------------------------------------------------------------------


def remember_webhook(session: Session, *, source: str, digest: str, now: datetime) -> None:
    """Refuse a signed request seen before (a replay inside the timestamp window)."""
    seen = session.scalar(
        select(WebhookReceipt.id).where(
            WebhookReceipt.source == source, WebhookReceipt.digest == digest
        )
    )
    if seen:
        raise PermissionDenied("this signed request was already received (replay)")
    session.add(WebhookReceipt(source=source, digest=digest, received_at=now))
    session.flush()


def report_rows(
    session: Session, *, actor: Actor, since: datetime, until: datetime, now: datetime
) -> list[dict[str, Any]]:
    """One row per case opened in ``[since, until)``: what the charts and the CSV use."""
    actor.require(Permission.CASES_READ)
    query = select(Case).where(Case.created_at >= since, Case.created_at < until)
    if (visible := _visible(actor)) is not None:
        query = query.where(visible)
    rows = []
    for case in session.scalars(query.order_by(Case.id)):
        first = (
            (case.first_response_at - case.created_at).total_seconds() / 3600
            if case.first_response_at
            else None
        )
        resolution = (
            (case.resolved_at - case.created_at).total_seconds() / 3600
            if case.resolved_at
            else None
        )
        rows.append(
            {
                "number": format_case_number(case.id),
                "created_at": case.created_at.isoformat(),
                "channel": case.channel,
                "team": case.team,
                "category": case.category or "",
                "priority": case.priority,
                "status": case.status,
                "customer_id": case.customer_id or "",
                "sla_policy": case.sla_policy,
                "first_response_due_at": _iso(case.first_response_due_at) or "",
                "first_response_at": _iso(case.first_response_at) or "",
                "first_response_hours": round(first, 2) if first is not None else "",
                "first_response_breached": _breached(case, "first", now),
                "resolution_due_at": _iso(case.resolution_due_at) or "",
                "resolved_at": _iso(case.resolved_at) or "",
                "resolution_hours": round(resolution, 2) if resolution is not None else "",
                "resolution_breached": _breached(case, "resolution", now),
                "sla_state": case.sla_state,
                "reopened": case.reopened_count,
            }
        )
    return rows


def _breached(case: Case, which: str, now: datetime) -> str:
    if which == "first":
        if case.first_response_breached is not None:
            return "yes" if case.first_response_breached else "no"
        due = case.first_response_due_at
    else:
        if case.resolution_breached is not None:
            return "yes" if case.resolution_breached else "no"
        due = case.resolution_due_at
    if due is None:
        return ""
    return "yes" if due < now else "pending"


def backlog(session: Session, *, actor: Actor, days: int, now: datetime) -> list[tuple[str, int]]:
    """Open cases at the end of each of the last ``days`` days."""
    actor.require(Permission.CASES_READ)
    start = now - timedelta(days=days)
    visible = _visible(actor)
    rows = session.execute(
        select(Case.created_at, Case.resolved_at, Case.closed_at).where(
            or_(Case.resolved_at.is_(None), Case.resolved_at >= start),
            *([visible] if visible is not None else []),
        )
    ).all()
    points = []
    for offset in range(days, -1, -1):
        moment = now - timedelta(days=offset)
        open_count = sum(
            1
            for created, resolved, closed in rows
            if created <= moment and (resolved or closed or now + timedelta(1)) > moment
        )
        points.append((moment.date().isoformat(), open_count))
    return points


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """The customer's cases and messages, for their GDPR export."""
    cases = session.scalars(select(Case).where(Case.customer_id == customer_id)).all()
    messages = session.scalars(
        select(CaseMessage)
        .where(CaseMessage.case_id.in_([c.id for c in cases] or [0]))
        .order_by(CaseMessage.id)
    ).all()
    return {
        "cases": [
            {
                "number": format_case_number(c.id),
                "channel": c.channel,
                "subject": c.subject,
                "status": c.status,
                "created_at": c.created_at.isoformat(),
            }
            for c in cases
        ],
        "messages": [
            {
                "case": format_case_number(m.case_id),
                "kind": m.kind,
                "at": m.created_at.isoformat(),
                "subject": m.subject,
                "body": m.body_text,
            }
            for m in messages
            if m.kind != "note"
        ],
    }


def case_ids_of(session: Session, customer_ids: Iterable[int]) -> list[int]:
    """The cases of these customers (for the features whose rows hang on a case)."""
    return list(session.scalars(select(Case.id).where(Case.customer_id.in_(list(customer_ids)))))


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Erasure (GDPR art. 17): what the customers wrote and were sent goes, with the raw mail
    it came in (also the machine mail from their addresses that opened no case), what was
    queued to them, and what agents wrote about them; the cases stay as anonymous facts
    (channel, team, dates, SLA outcome) for the statistics."""
    case_ids = case_ids_of(session, erasure.customer_ids)
    senders = set(
        session.scalars(
            select(Case.sender_address).where(Case.id.in_(case_ids), Case.sender_kind == "email")
        )
    )
    emails = {a for a in erasure.emails | senders if a}
    message_ids = select(CaseMessage.id).where(CaseMessage.case_id.in_(case_ids))
    raw_ids = set(
        session.scalars(
            select(RawInbound.id).where(
                or_(
                    RawInbound.case_id.in_(case_ids),
                    RawInbound.id.in_(
                        select(CaseMessage.raw_id).where(CaseMessage.case_id.in_(case_ids))
                    ),
                    and_(RawInbound.case_id.is_(None), _mentions_any(session, emails)),
                )
            )
        )
    )
    session.execute(
        update(RawInbound).where(RawInbound.id.in_(raw_ids)).values(raw=b"", error=None)
    )
    session.execute(
        update(CaseAttachment)
        .where(CaseAttachment.message_id.in_(message_ids))
        .values(content=None, filename=ERASED, refusal=None)
    )
    session.execute(
        update(CaseMessage)
        .where(CaseMessage.id.in_(message_ids))
        .values(
            subject=ERASED,
            body_text=ERASED,
            body_html=None,
            from_address=None,
            to_address=None,
            references=None,
        )
    )
    # Agents sign with their own name; anything else (the customer, an address) goes.
    session.execute(
        update(CaseMessage)
        .where(CaseMessage.id.in_(message_ids), CaseMessage.author_id.is_(None))
        .values(author_label=ERASED)
    )
    session.execute(
        update(CaseStatusChange)
        .where(CaseStatusChange.case_id.in_(case_ids), CaseStatusChange.reason.is_not(None))
        .values(reason=ERASED)
    )
    session.execute(
        update(Case)
        .where(Case.id.in_(case_ids))
        .values(subject=ERASED, sender_name=None, sender_address=None, closure_reason=None)
    )
    outbox.erase_messages(session, recipients=emails, ref_type="case", ref_ids=case_ids)
    outbox.erase_messages(session, ref_type="raw_inbound", ref_ids=raw_ids)
    audit.redact(session, entity_type="case", entity_ids=case_ids)


def _mentions_any(session: Session, addresses: Iterable[str]) -> Any:
    """Raw bytes that contain one of these e-mail addresses (in any case, or form-encoded),
    where the database can look: SQLite reads a blob as text, PostgreSQL as escaped text."""
    needles = {n for a in addresses for n in (a.casefold(), quote(a.casefold(), safe=""))}
    if not needles:
        return literal_column("1 = 0")
    if session.get_bind().dialect.name == "postgresql":
        text = func.lower(func.encode(RawInbound.raw, "escape"))
        return or_(*(func.strpos(text, _escaped(n)) > 0 for n in needles))
    text = func.lower(cast(RawInbound.raw, Text))
    return or_(*(func.instr(text, n) > 0 for n in needles))


def _escaped(text: str) -> str:
    """``text`` as PostgreSQL's ``encode(…, 'escape')`` shows its UTF-8 bytes."""
    return "".join(
        "\\\\" if b == 0x5C else chr(b) if 0 < b < 0x80 else f"\\{b:03o}" for b in text.encode()
    )
