"""SLA clocks: a case's clocks rebuilt from its stored facts and status history, and
``refresh_sla``, which stores deadlines, state, the at-risk instant and the next escalation check
on the case after every change."""

from __future__ import annotations

from datetime import datetime

from egards.cases import domain
from egards.cases.domain import CaseFacts, CaseStatus, SlaMetric, SlaState
from egards.cases.models import Case
from egards.cases.service._common import PAUSED
from egards.cases.service.config import CasesConfig


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
        service_level=case.service_level,
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
