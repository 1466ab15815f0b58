"""Offering a gesture: checked against the customer, the case, the catalogue and what its kind
needs before anything is written, then fulfilled at once within budget or sent for approval;
idempotent by key. Also the gestures listed with filters and read one by one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.cases import service as cases
from egards.cases.domain import format_case_number
from egards.customers import service as customers
from egards.customers.domain import CustomerStatus, customer_status
from egards.db import utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.i18n import N_, message, money, names
from egards.recovery import domain
from egards.recovery.models import (
    Approval,
    Event,
    GestureType,
    Grant,
    Invitation,
    Recommendation,
)
from egards.recovery.schemas import GrantCreate

from ._common import (
    PENDING,
    REASON_CODES,
    TIER_ACTIONS,
    _money,
    _record,
    _settings,
    _sha,
    _zone,
)
from .budgets import _budgets, _consume, _team
from .customer_signals import _main_member
from .fulfilment import _fulfil
from .gesture_catalogue import get_gesture_type, option_of


def list_grants(
    session: Session,
    *,
    actor: Actor,
    month: str | None = None,
    team: str | None = None,
    agent_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    customer_id: int | None = None,
    case_id: int | None = None,
    limit: int = 200,
) -> list[Grant]:
    """Gestures with filters; agents see their own, supervisors everyone's."""
    actor.require(Permission.RECOVERY_GRANT)
    query = select(Grant).order_by(Grant.id.desc()).limit(min(limit, 1000))
    if not actor.can(Permission.RECOVERY_APPROVE) and customer_id is None and case_id is None:
        agent_id = actor.user_id
    for column, value in (
        (Grant.month, month),
        (Grant.team, team),
        (Grant.agent_id, agent_id),
        (Grant.kind, kind),
        (Grant.status, status),
        (Grant.customer_id, customer_id),
        (Grant.case_id, case_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query))


def get_grant(session: Session, *, actor: Actor, grant_id: int) -> Grant:
    actor.require(Permission.RECOVERY_GRANT)
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(N_("gesture {grant_id} not found"), grant_id=grant_id, field="grant_id")
    customers.check_visible(session, actor=actor, customer_id=grant.customer_id)
    return grant


def _request_hash(data: dict[str, Any]) -> str:
    return _sha({k: v for k, v in data.items() if k != "key"})


def grant(
    session: Session,
    *,
    actor: Actor,
    data: GrantCreate,
    sender: str,
    now: datetime | None = None,
) -> Grant:
    """Offer a gesture: at once within budget, else an approval request. Idempotent by key.
    ``sender``: the address the customer's notice comes from.

    ``data``: customer_id, case_id, gesture_code, amount, reason_code, reason_text, key,
    recommendation_id, and per kind: event_id (invitation), tier_action keep|restore (status
    exception), letter {template_code, subject, body, delivery email|post}. The request hash
    that makes a key idempotent is taken over all of its fields but the key.
    """
    actor.require(Permission.RECOVERY_GRANT)
    now = now or utcnow()
    key = data.key or f"grant:{secrets.token_hex(12)}"
    digest = _request_hash(data.model_dump())
    existing = session.scalar(select(Grant).where(Grant.key == key))
    if existing is not None:
        if existing.request_hash != digest:
            raise Conflict(N_("this key was used for a different gesture"), field="key")
        return existing
    customer = customers.get_customer(session, actor=actor, customer_id=data.customer_id)
    if customer.status != CustomerStatus.ACTIVE:
        raise Conflict(
            N_("customer {customer_id} is {customer_status}: no gesture can be granted"),
            customer_id=customer.id,
            customer_status=customer_status(customer.status),
            field="customer_id",
        )
    if data.reason_code not in REASON_CODES:
        raise InvalidInput(
            N_("use one of {reason_codes}"),
            reason_codes=", ".join(REASON_CODES),
            field="reason_code",
        )
    if not data.reason_text.strip():
        raise InvalidInput(N_("say why, in a few words"), field="reason_text")
    case = None
    if data.case_id is not None:
        case = cases.get_case(session, actor=actor, case_id=data.case_id)
        if case.customer_id != customer.id:
            raise InvalidInput(
                N_("case {number} is not this customer's"),
                number=format_case_number(case.id),
                field="case_id",
            )
    gesture = get_gesture_type(session, data.gesture_code)
    if not gesture.active:
        raise Conflict(
            N_("the gesture {gesture_code} is withdrawn"),
            gesture_code=gesture.code,
            field="gesture_code",
        )
    option = option_of(gesture)
    amount = data.amount
    cost = domain.grant_cost_cents(option, amount)
    amount = amount if amount is not None else gesture.amount
    language = customer.preferred_language if customer.preferred_language in ("fr", "en") else "fr"
    details = _prepare(session, actor=actor, gesture=gesture, customer=customer, data=data)
    month = domain.month_of(now, _zone())
    team = _team(session, actor)
    row = Grant(
        key=key,
        request_hash=digest,
        customer_id=customer.id,
        case_id=case.id if case else None,
        gesture_code=gesture.code,
        kind=gesture.kind,
        amount=amount,
        cost_cents=cost,
        cash_cents=domain.grant_cash_cents(option, data.amount),
        reason_code=data.reason_code,
        reason_text=data.reason_text.strip(),
        status=PENDING,
        details=details,
        agent_id=actor.user_id,
        agent_label=actor.label,
        team=team,
        month=month,
        language=language,
        recommendation_id=data.recommendation_id,
        created_at=now,
    )
    _note_choice(session, row)
    session.add(row)
    session.flush()
    budgets = _budgets(session, actor.user_id, team, month)

    def route() -> domain.Decision:
        agent, team_budget = (domain.Budget(b.limit_cents, b.spent_cents) for b in budgets)
        return domain.route_grant(option, cost, agent=agent, team=team_budget)

    decision = route()
    if decision.route == "grant" and not _consume(session, budgets, cost, strict=True):
        for budget in budgets:  # another grant took the last euros meanwhile
            session.refresh(budget)
        decision = route()
        if decision.route == "grant":
            decision = domain.Decision("approval", ("over_team_budget",))
    what = f"{gesture.name_en} ({_money(cost)})"
    said = message(
        N_("{gesture} ({cost})"),
        gesture=names({"en": gesture.name_en, "fr": gesture.name_fr}),
        cost=money(cost),
    )
    if decision.route == "grant":
        _fulfil(session, actor=actor, grant=row, gesture=gesture, now=now, sender=sender)
        audit_action, summary = "recovery.grant", f"Gesture granted: {what}"
        said = message(N_("Gesture granted: {what} — {reason}"), what=said)
    else:
        session.add(
            Approval(
                grant_id=row.id,
                reasons=list(decision.reasons),
                status=PENDING,
                requested_at=now,
                due_at=now + timedelta(hours=_settings().approval_hours),
            )
        )
        audit_action, summary = "recovery.request", f"Gesture awaiting approval: {what}"
        said = message(N_("Gesture awaiting approval: {what} — {reason}"), what=said)
    _record(
        session,
        actor=actor,
        action=audit_action,
        entity=("recovery_grant", row.id),
        customer_id=customer.id,
        summary={**said, "v": {**said["v"], "reason": row.reason_text}},
        after={
            "gesture": gesture.code,
            "amount": amount,
            "cost_cents": cost,
            "case_id": row.case_id,
            "route": decision.route,
            "reasons": list(decision.reasons),
        },
        reason=row.reason_text,
        now=now,
    )
    if case is not None:
        cases.add_note(session, actor=actor, case_id=case.id, body=summary, now=now)
    session.flush()
    return row


def _note_choice(session: Session, row: Grant) -> None:
    if row.recommendation_id is None:
        return
    recommendation = session.get(Recommendation, row.recommendation_id)
    if recommendation is None or recommendation.customer_id != row.customer_id:
        raise InvalidInput(
            N_("this recommendation is not this customer's"), field="recommendation_id"
        )
    ranks = [p["rank"] for p in recommendation.proposals if p["code"] == row.gesture_code]
    row.recommended_rank = ranks[0] if ranks else None
    recommendation.chosen_code, recommendation.chosen_rank = row.gesture_code, row.recommended_rank


def _prepare(
    session: Session, *, actor: Actor, gesture: GestureType, customer, data: GrantCreate
) -> dict[str, Any]:
    """Check what the kind needs before anything is written; return the grant's details."""
    details: dict[str, Any] = {}
    if gesture.kind in domain.MEMBERSHIP_KINDS:
        member, loss = _main_member(session, customer.id)
        if member is None:
            raise Conflict(
                N_("a {gesture_kind} gesture needs a loyalty membership"),
                gesture_kind=gesture.kind,
                field="gesture_code",
            )
        details["member_id"] = member.id
        if gesture.kind == "status_exception":
            action = data.tier_action
            if action not in TIER_ACTIONS:
                raise InvalidInput(N_("say keep or restore"), field="tier_action")
            tier = member.tier
            if action == "restore":
                if loss is None:
                    raise Conflict(N_("no tier was lost within twelve months"), field="tier_action")
                tier = loss.from_tier
            details.update(tier_action=action, tier=tier, programme=member.programme)
    if gesture.kind == "event_invitation":
        event = session.get(Event, data.event_id or 0)
        if event is None:
            raise NotFound(N_("choose an event"), field="event_id")
        if event.starts_at <= utcnow():
            raise Conflict(
                N_("{event_name} has already taken place"), event_name=event.name, field="event_id"
            )
        if event.seats_taken >= event.capacity:
            raise Conflict(
                N_("{event_name} is full ({capacity} seats)"),
                event_name=event.name,
                capacity=event.capacity,
                field="event_id",
            )
        if session.scalar(
            select(Invitation).where(
                Invitation.event_id == event.id, Invitation.customer_id == customer.id
            )
        ):
            raise Conflict(N_("this customer is already invited"), field="event_id")
        details["event_id"] = event.id
    if gesture.kind == "letter":
        letter = data.letter.model_dump() if data.letter else {}
        for name in ("template_code", "subject", "body"):
            if not (letter.get(name) or "").strip():
                raise InvalidInput(
                    N_("the letter needs a {part}"),
                    part=name.replace("_", " "),
                    field=f"letter.{name}",
                )
        delivery = letter.get("delivery") or "email"
        if delivery not in ("email", "post"):
            raise InvalidInput(N_("email or post"), field="letter.delivery")
        if delivery == "email" and customers.primary_email(session, customer.id) is None:
            raise Conflict(
                N_("the customer has no e-mail address: send it by post"), field="letter.delivery"
            )
        details["letter"] = {
            "template_code": letter["template_code"],
            "subject": letter["subject"].strip(),
            "body": letter["body"].strip(),
            "delivery": delivery,
        }
    return details
