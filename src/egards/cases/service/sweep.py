"""The worker's sweep: flip stored SLA states in bulk, then fire the escalation steps that
fell due (reassign, raise the priority, warn the assignee or the supervisors), each only once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Role
from egards.cases import domain
from egards.cases.domain import LOOP_MARKER_HEADER, SlaMetric, SlaState, format_case_number
from egards.cases.labels import case_word
from egards.cases.models import Case, CaseEscalation
from egards.cases.service._common import _iso, _record
from egards.cases.service.config import CasesConfig
from egards.cases.service.queries import _fired_keys, _reply_pending, _sql
from egards.cases.service.silence import COUNTER_SHARDS, OVERDUE, _bump
from egards.cases.service.sla import case_clocks, refresh_sla
from egards.cases.service.workflow import _auto_assign
from egards.db import rowcount, utcnow
from egards.i18n import (
    N_,
    format_datetime,
    message,
    pick_locale,
    plural_message,
    render_message,
)
from egards.outbox import service as outbox

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
    breached = rowcount(
        session.execute(
            update(Case)
            .where(Case.sla_state.in_((_sql("on_track"), _sql("at_risk"))), Case.due_at <= now)
            .values(sla_state="breached")
            .execution_options(synchronize_session=False)
        )
    )
    at_risk = rowcount(
        session.execute(
            update(Case)
            .where(Case.sla_state == _sql("on_track"), Case.at_risk_at <= now)
            .values(sla_state="at_risk")
            .execution_options(synchronize_session=False)
        )
    )
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
            detail, said = _apply_step(session, case, step, metric, reading, config, now=now)
            session.add(
                CaseEscalation(
                    case_id=case.id,
                    metric=str(metric),
                    clock_started_at=clock.started_at,
                    step_key=step.key,
                    action=str(step.action),
                    fired_at=now,
                    detail=detail,
                    message=said,
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
) -> tuple[str, dict[str, Any]]:
    number = format_case_number(case.id)
    late = reading.state is SlaState.BREACHED
    what = f"{metric.value.replace('_', ' ')} {'breached' if late else 'at risk'}"
    state = message(
        N_("{metric} breached") if late else N_("{metric} at risk"), metric=case_word(metric.value)
    )
    before = {"team": case.team, "assignee_id": case.assignee_id, "priority": case.priority}
    if step.action is domain.EscalationAction.REASSIGN_TEAM and step.team:
        case.team = step.team
        case.assignee_id = None
        _auto_assign(session, case, config, now=now)
        detail = f"{what}: reassigned to team {step.team}"
        said = message(N_("{state}: reassigned to team {team}"), team=case_word(step.team))
    elif step.action is domain.EscalationAction.RAISE_PRIORITY:
        case.priority = _NEXT_PRIORITY[case.priority]
        detail = f"{what}: priority raised to {case.priority}"
        said = message(
            N_("{state}: priority raised to {priority}"), priority=case_word(case.priority)
        )
    elif step.action is domain.EscalationAction.NOTIFY_SUPERVISOR:
        notified = _notify(
            session,
            case,
            step,
            config,
            now=now,
            recipients=[email for _, email in accounts.active_supervisors(session)],
            notice=message(
                N_("{number}: {state} (deadline {deadline})"), number=number, state=state
            ),
            deadline=reading.deadline,
        )
        detail = f"{what}: {notified} supervisor(s) notified"
        said = plural_message(
            "{state}: {count} supervisor notified",
            "{state}: {count} supervisors notified",
            notified,
        )
    else:
        recipients = []
        if case.assignee_id:
            email = accounts.email_of(session, case.assignee_id)
            recipients = [email] if email else []
        notified = _notify(
            session,
            case,
            step,
            config,
            now=now,
            recipients=recipients,
            notice=_left(number, state, reading.remaining),
        )
        detail = f"{what}: assignee warned" if notified else f"{what}: no assignee to warn"
        said = message(
            N_("{state}: assignee warned") if notified else N_("{state}: no assignee to warn")
        )
    said.setdefault("v", {})["state"] = state
    case.updated_at = now
    _record(
        session,
        WORKER,
        case,
        "case.escalate",
        message(N_("Escalation: {detail}"), detail=said),
        now,
        kind="case.escalated",
        before=before,
        after={"step": step.key, "action": str(step.action), "metric": str(metric)},
        reason=detail,
    )
    return detail, said


def _left(number: str, state: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """The warning's sentence: how long is left before the deadline, hours and minutes."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 0:
        return message(N_("{number}: {state}, no time left"), number=number, state=state)
    return message(
        N_("{number}: {state}, {hours} h {minutes} left"),
        number=number,
        state=state,
        hours=str(minutes // 60),
        minutes=f"{minutes % 60:02d}",
    )


def _notify(
    session: Session,
    case: Case,
    step: domain.EscalationStep,
    config: CasesConfig,
    *,
    now: datetime,
    recipients: Sequence[str],
    notice: dict[str, Any],
    deadline: datetime | None = None,
) -> int:
    """One e-mail per recipient, written in the language each chose for the console."""
    locales = accounts.locales_by_email(session, recipients)
    for email in recipients:
        locale = pick_locale(locales.get(email))
        values = dict(notice.get("v") or {})
        if deadline is not None:
            values["deadline"] = format_datetime(deadline, locale, with_zone=True)
        text = render_message(locale, {**notice, "v": values})
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
