"""Exceptions to the rules ("savoir sortir du process"): an agent proposes that a case is an
exception to a rule and why, a supervisor decides, the outcome is recorded, and a report per
rule shows where the rules should change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.cases import service as cases
from egards.db import rowcount, utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.i18n import N_, message
from egards.recovery.domain.status_words import decision_status
from egards.recovery.models import (
    RuleException,
)

from ._common import _record


def propose_exception(
    session: Session, *, actor: Actor, case_id: int, rule: str, why: str, remedy: str
) -> RuleException:
    """ "Savoir sortir du process": this case is an exception to a rule, and here is why."""
    actor.require(Permission.RECOVERY_GRANT)
    case = cases.get_case(session, actor=actor, case_id=case_id)
    for field_name, value in (("rule", rule), ("why", why), ("remedy", remedy)):
        if not value.strip():
            raise InvalidInput(N_("cannot be empty"), field=field_name)
    row = RuleException(
        case_id=case.id,
        customer_id=case.customer_id,
        rule=rule.strip()[:60],
        why=why.strip(),
        remedy=remedy.strip(),
        status="proposed",
        proposed_by_id=actor.user_id,
        proposed_by=actor.label,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        actor=actor,
        action="recovery.exception",
        entity=("recovery_exception", row.id),
        customer_id=case.customer_id,
        summary=message(
            N_("Exception proposed to “{rule}”: {remedy}"), rule=row.rule, remedy=row.remedy
        ),
        after={"rule": row.rule, "remedy": row.remedy},
        reason=row.why,
    )
    cases.add_note(
        session,
        actor=actor,
        case_id=case.id,
        body=f"Exception to the rule “{row.rule}”: {row.why}\nProposed remedy: {row.remedy}",
    )
    return row


def decide_exception(
    session: Session, *, actor: Actor, exception_id: int, approve: bool, reason: str
) -> RuleException:
    actor.require(Permission.RECOVERY_APPROVE)
    if not reason.strip():
        raise InvalidInput(N_("give the reason for the decision"), field="reason")
    status = "approved" if approve else "rejected"
    done = session.execute(
        update(RuleException)
        .where(RuleException.id == exception_id, RuleException.status == "proposed")
        .values(
            status=status,
            decided_by=actor.label,
            decided_at=utcnow(),
            decision_reason=reason.strip(),
        )
    )
    row = session.get(RuleException, exception_id)
    if row is None:
        raise NotFound(
            N_("exception {exception_id} not found"),
            exception_id=exception_id,
            field="exception_id",
        )
    if rowcount(done) != 1:
        raise Conflict(
            N_("this exception was already {row_status}"),
            row_status=decision_status(row.status),
            field="exception_id",
        )
    session.refresh(row)
    audit.record(
        session,
        actor=actor,
        action=f"recovery.exception_{status}",
        entity_type="recovery_exception",
        entity_id=row.id,
        customer_id=row.customer_id,
        after={"status": status},
        reason=reason.strip(),
    )
    cases.add_note(
        session,
        actor=actor,
        case_id=row.case_id,
        body=f"Exception to “{row.rule}” {status} by {actor.label}: {reason.strip()}",
    )
    return row


def record_exception_outcome(
    session: Session, *, actor: Actor, exception_id: int, outcome: str, note: str = ""
) -> RuleException:
    """What came of it: the customer stayed, left, or it is not known yet."""
    actor.require(Permission.RECOVERY_GRANT)
    if outcome not in ("stayed", "left", "unknown"):
        raise InvalidInput(N_("stayed, left or unknown"), field="outcome")
    row = session.get(RuleException, exception_id)
    if row is None:
        raise NotFound(
            N_("exception {exception_id} not found"),
            exception_id=exception_id,
            field="exception_id",
        )
    if row.status != "approved":
        raise Conflict(N_("only an approved exception has an outcome"), field="outcome")
    row.outcome, row.outcome_note = outcome, note.strip() or None
    audit.record(
        session,
        actor=actor,
        action="recovery.exception_outcome",
        entity_type="recovery_exception",
        entity_id=row.id,
        customer_id=row.customer_id,
        after={"outcome": outcome},
    )
    return row


def exceptions(
    session: Session, *, actor: Actor, status: str | None = None, rule: str | None = None
) -> list[RuleException]:
    actor.require(Permission.RECOVERY_GRANT)
    query = select(RuleException).order_by(RuleException.id.desc()).limit(500)
    if status:
        query = query.where(RuleException.status == status)
    if rule:
        query = query.where(RuleException.rule == rule)
    return list(session.scalars(query))


def exception_report(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Per rule: how often agents had to step outside it, how it was decided and what came
    of it, so the rules can be improved from the exceptions."""
    actor.require(Permission.RECOVERY_GRANT)
    rows = session.execute(
        select(
            RuleException.rule, RuleException.status, RuleException.outcome, func.count()
        ).group_by(RuleException.rule, RuleException.status, RuleException.outcome)
    ).all()
    report: dict[str, dict[str, Any]] = {}
    for rule, status, outcome, count in rows:
        entry = report.setdefault(
            rule,
            {
                "rule": rule,
                "total": 0,
                "proposed": 0,
                "approved": 0,
                "rejected": 0,
                "stayed": 0,
                "left": 0,
            },
        )
        entry["total"] += count
        entry[status] += count
        if outcome in ("stayed", "left"):
            entry[outcome] += count
    return sorted(report.values(), key=lambda e: (-e["total"], e["rule"]))


def case_exceptions(session: Session, *, actor: Actor, case_id: int) -> list[RuleException]:
    """The exceptions to the rules proposed on one case, newest first."""
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(RuleException)
            .where(RuleException.case_id == case_id)
            .order_by(RuleException.id.desc())
        )
    )
