"""Working a case: its status machine (ending one that awaits an answer needs a reason),
edits that choose the promise again, the customer's rating, assignment (by hand, or
automatically by team, language and skill), agents' profiles, and links to a customer file or
to other cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Permission, Role
from egards.audit import service as audit
from egards.cases import domain
from egards.cases.domain import CaseStatus, Channel, Priority, format_case_number
from egards.cases.intake import route_team
from egards.cases.labels import case_word
from egards.cases.models import AgentProfile, Case, CaseLink, CaseMessage, CaseStatusChange
from egards.cases.service._common import _announce, _record
from egards.cases.service.config import CasesConfig
from egards.cases.service.queries import _fired_keys, _is_open, _writable, get_case
from egards.cases.service.silence import _membership, _track
from egards.cases.service.sla import _facts, refresh_sla
from egards.customers import service as customers
from egards.customers.domain import IdentityKind, normalise_identity
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.i18n import N_, message


def _log_status(case: Case, status: CaseStatus, at: datetime) -> None:
    case.status_log = [*case.status_log, [at.isoformat(), str(status)]]


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
            N_("{number} still awaits an answer; say why it ends without one"),
            number=format_case_number(case.id),
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
    summary = (
        message(N_("Status {before} → {after} ({reason})"), reason=reason)
        if reason
        else message(N_("Status {before} → {after}"))
    )
    summary.setdefault("v", {}).update(before=case_word(before), after=case_word(target))
    _record(
        session,
        actor,
        case,
        "case.status",
        summary,
        now,
        kind="case.status",
        before={"status": before},
        after={"status": str(target), "left_unanswered": awaiting and target != current},
        reason=reason,
    )
    if target is CaseStatus.RESOLVED:
        session.flush()
        _announce(session, "case_resolved", actor=actor, case_id=case.id, now=now)


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
        raise InvalidInput(
            N_("cannot change {unknown}"),
            unknown=", ".join(sorted(unknown)),
            field=sorted(unknown)[0],
        )
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
    _record(
        session,
        actor,
        case,
        "case.update",
        message(
            N_("Changed: {changes}"),
            changes=", ".join(f"{k}: {v}" for k, v in changes.items()),
        ),
        now,
        kind="case.updated",
        before=before,
        after={**changes, "sla_policy": case.sla_policy},
    )
    session.flush()
    return case


def record_satisfaction(
    session: Session, *, actor: Actor, case_id: int, score: int, now: datetime | None = None
) -> Case:
    """The customer's CSAT on a resolved or closed case; once per case. Customers answer
    through the voice feature's signed survey link; a person may record one only as a
    supervisor (a rating imported from another survey tool), audited under their name."""
    actor.require(Permission.CASES_SUPERVISE)
    now = now or utcnow()
    case = _writable(session, actor=actor, case_id=case_id)
    if case.status not in ("resolved", "closed"):
        raise Conflict(N_("a case is rated once resolved or closed"), field="score")
    if case.satisfaction is not None:
        raise Conflict(
            N_("case {case_id} is already rated {satisfaction}"),
            case_id=case.id,
            satisfaction=case.satisfaction,
            field="score",
        )
    if not 1 <= score <= 5:
        raise InvalidInput(N_("must be between 1 and 5"), field="score")
    case.satisfaction, case.satisfaction_at = score, now
    _record(
        session,
        actor,
        case,
        "case.satisfaction",
        message(N_("Satisfaction {score}/5"), score=score),
        now,
        kind="case.rated",
        after={"satisfaction": score},
    )
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
        user = accounts.get_user(session, assignee_id)
        if user is None or not user.is_active:
            raise NotFound(
                N_("user {assignee_id} not found"), assignee_id=assignee_id, field="assignee_id"
            )
    before = case.assignee_id
    case.assignee_id = assignee_id
    case.updated_at = now
    _record(
        session,
        actor,
        case,
        "case.assign",
        message(N_("Assigned to user {user}"), user=str(assignee_id))
        if assignee_id
        else message(N_("Unassigned")),
        now,
        kind="case.assigned",
        before={"assignee_id": before},
        after={"assignee_id": assignee_id},
    )
    session.flush()
    return case


def _auto_assign(session: Session, case: Case, config: CasesConfig, *, now: datetime) -> None:
    """Round-robin or least-loaded among agents of the case's team who speak its language
    and, when they list skills, have the case's category among them."""
    profiles = list(
        session.scalars(
            select(AgentProfile).where(
                AgentProfile.accepting.is_(True),
                AgentProfile.user_id.in_(accounts.active_user_ids()),
            )
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
    user = accounts.get_user(session, user_id)
    if user is None:
        raise NotFound(N_("user {user_id} not found"), user_id=user_id, field="user_id")
    if user.role not in (Role.AGENT, Role.SUPERVISOR):
        raise InvalidInput(N_("only agents and supervisors take cases"), field="user_id")
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
    _record(
        session,
        actor,
        case,
        "case.link_customer",
        message(
            N_("Case {case} ({channel}) linked to this file: {subject}"),
            case=format_case_number(case.id),
            channel=case_word(case.channel),
            subject=case.subject,
        ),
        now,
        kind="case.linked",
        before={"customer_id": before},
        after={"customer_id": customer.id},
    )
    session.flush()
    return case


def suggest_customers(
    session: Session, *, actor: Actor, case_id: int, limit: int = 5
) -> list[customers.Customer]:
    """Files that may be the unknown sender: same e-mail or phone in another spelling, same
    handle on another network, then the sender's name."""
    case = get_case(session, actor=actor, case_id=case_id)
    actor.require(Permission.CUSTOMERS_READ)
    found: dict[int, customers.Customer] = {}
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
        if kind == "phone":
            try:
                value = normalise_identity(IdentityKind.PHONE, value)
            except InvalidInput:
                continue
        holders = customers.holders_of_identity(
            session,
            kind=kind,
            value=value,
            limit=limit,
            email_local_part=kind == "email_local",
        )
        for customer_id in holders:
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
        raise InvalidInput(N_("kind is related or duplicate_of"), field="kind")
    if case_id == linked_case_id:
        raise InvalidInput(N_("a case cannot be linked to itself"), field="linked_case_id")
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
    _record(
        session,
        actor,
        case,
        "case.link",
        message(N_("{kind} {case}"), kind=case_word(kind), case=format_case_number(other.id)),
        now,
        kind="case.linked_case",
        after={"linked_case_id": other.id, "kind": kind},
    )
    return link
