"""Use cases of service recovery: the catalogue, budgets, gestures, approvals, events, letters,
exceptions to the rules, the recommender's proposals and the return on gestures.

A gesture is one ``Grant`` whatever its kind. Within the agent's and the team's monthly budget
it is fulfilled at once (the seeds' "trust"); above either, or when the gesture needs it (a
status exception), it waits for a supervisor whose decision has its own promise. Budgets are
consumed by a conditional ``UPDATE ... WHERE spent + cost <= limit``, so concurrent grants
against the last euros of a budget succeed exactly as far as it allows, on both databases.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict
from datetime import date, datetime, timedelta
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import yaml
from sqlalchemy import case, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor, Permission
from egards.accounts.models import User
from egards.analytics import service as analytics
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import format_case_number
from egards.customers import service as customers
from egards.customers.domain import ERASED, CustomerStatus, Erasure
from egards.db import Database, utcnow
from egards.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from egards.loyalty import service as loyalty
from egards.outbox import service as outbox
from egards.recovery import domain, letters
from egards.recovery.models import (
    Approval,
    Budget,
    Event,
    GestureType,
    Grant,
    Invitation,
    Letter,
    LetterTemplateRow,
    Recommendation,
    RuleException,
    Signature,
    Voucher,
)
from egards.recovery.settings import RecoverySettings, get_recovery_settings

GRANTED, PENDING, REJECTED = "granted", "pending", "rejected"
REASON_CODES = (
    "broken_promise",
    "service_failure",
    "downgrade",
    "repeated_incidents",
    "loyalty_thanks",
    "other",
)
TIER_ACTIONS = ("keep", "restore")


def _settings() -> RecoverySettings:
    return get_recovery_settings()


def _zone() -> ZoneInfo:
    return ZoneInfo(_settings().time_zone)


def _sha(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: tuple[str, int],
    customer_id: int | None,
    summary: str,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """The audit record of a change and, when it concerns a customer, their timeline entry."""
    entity_type, entity_id = entity
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        customer_id=customer_id,
        after=after,
        reason=reason,
    )
    if customer_id is not None:
        customers.record_event(
            session,
            actor=actor,
            customer_id=customer_id,
            kind=action,
            summary=summary,
            silo="recovery",
            ref_type=entity_type,
            ref_id=str(entity_id),
            occurred_at=now,
        )


# --- catalogue ---------------------------------------------------------------------------


def _seed_catalogue(session: Session) -> None:
    if session.scalar(select(func.count()).select_from(GestureType)):
        return
    path = _settings().catalogue_file
    raw = path.read_text() if path else (files("egards.recovery") / "catalogue.yaml").read_text()
    rows = []
    for position, item in enumerate(yaml.safe_load(raw)["gestures"]):
        row = GestureType(
            code=item["code"],
            kind=item["kind"],
            name_fr=item["name"]["fr"],
            name_en=item["name"]["en"],
            text_fr=item.get("text", {}).get("fr", ""),
            text_en=item.get("text", {}).get("en", ""),
            cost_cents=item.get("cost_cents", 0),
            amount=item.get("amount"),
            min_amount=item.get("min_amount"),
            max_amount=item.get("max_amount"),
            cost_per_thousand_cents=item.get("cost_per_thousand_cents"),
            cost_percent=item.get("cost_percent", 100),
            valid_days=item.get("valid_days"),
            requires_approval=item.get("requires_approval", False),
            active=True,
            position=position,
        )
        check_gesture_type(row)
        rows.append(row)
    _insert_once(session, rows)


def _insert_once(session: Session, rows: list[Any]) -> None:
    """Seed rows unless a concurrent transaction seeded them first."""
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        pass


def option_of(row: GestureType) -> domain.GestureOption:
    return domain.GestureOption(
        code=row.code,
        kind=row.kind,
        name={"fr": row.name_fr, "en": row.name_en},
        cost_cents=row.cost_cents,
        cash_cents=row.cash_cents,
        amount=row.amount,
        min_amount=row.min_amount,
        max_amount=row.max_amount,
        cost_per_thousand_cents=row.cost_per_thousand_cents,
        cost_percent=row.cost_percent,
        requires_approval=row.requires_approval,
        active=row.active,
    )


def check_gesture_type(row: GestureType) -> None:
    """A catalogue entry must be coherent and priceable; its cost at the default amount and
    the cash part (vouchers and credits are money) are derived, never typed twice."""
    row.cash_cents = 0
    if row.kind in domain.AMOUNT_KINDS and row.amount is not None:
        row.cost_cents = domain.grant_cost_cents(option_of(row), None)
        row.cash_cents = row.cost_cents if row.kind in ("voucher", "credit") else 0
    domain.validate_option(option_of(row))
    if row.kind in ("voucher", "upgrade", "lounge_pass") and not row.valid_days:
        raise InvalidInput("a voucher or pass needs a validity in days", field="valid_days")


def catalogue(session: Session, *, active_only: bool = False) -> list[GestureType]:
    _seed_catalogue(session)
    query = select(GestureType).order_by(GestureType.position, GestureType.code)
    if active_only:
        query = query.where(GestureType.active.is_(True))
    return list(session.scalars(query))


def get_gesture_type(session: Session, code: str) -> GestureType:
    _seed_catalogue(session)
    row = session.get(GestureType, code)
    if row is None:
        raise NotFound(f"no gesture {code!r} in the catalogue", field="gesture_code")
    return row


EDITABLE = (
    "name_fr",
    "name_en",
    "text_fr",
    "text_en",
    "cost_cents",
    "amount",
    "min_amount",
    "max_amount",
    "cost_per_thousand_cents",
    "cost_percent",
    "valid_days",
    "requires_approval",
    "active",
)


def save_gesture_type(
    session: Session, *, actor: Actor, code: str, kind: str | None, changes: dict[str, Any]
) -> GestureType:
    """Create (with ``kind``) or change a catalogue entry; audited."""
    actor.require(Permission.RECOVERY_ADMIN)
    _seed_catalogue(session)
    row = session.get(GestureType, code)
    before = None
    if row is None:
        if kind is None:
            raise NotFound(f"no gesture {code!r} in the catalogue", field="code")
        position = session.scalar(select(func.max(GestureType.position))) or 0
        row = GestureType(code=code, kind=kind, position=position + 1, name_fr="", name_en="")
        session.add(row)
    else:
        before = {name: getattr(row, name) for name in EDITABLE}
    for name, value in changes.items():
        if name not in EDITABLE:
            raise InvalidInput(f"cannot change {name}", field=name)
        setattr(row, name, value)
    if not row.name_fr or not row.name_en:
        raise InvalidInput("a gesture needs a name in French and in English", field="name_en")
    check_gesture_type(row)
    row.updated_at, row.updated_by = utcnow(), actor.label
    audit.record(
        session,
        actor=actor,
        action="recovery.catalogue",
        entity_type="gesture_type",
        entity_id=code,
        before=before,
        after={name: getattr(row, name) for name in EDITABLE},
    )
    session.flush()
    return row


# --- letter templates --------------------------------------------------------------------


def letter_templates(session: Session) -> list[LetterTemplateRow]:
    if not session.scalar(select(func.count()).select_from(LetterTemplateRow)):
        _insert_once(
            session,
            [
                LetterTemplateRow(
                    code=t.code, language=t.language, name=t.name, subject=t.subject, body=t.body
                )
                for t in letters.default_templates()
            ],
        )
    return list(
        session.scalars(
            select(LetterTemplateRow).order_by(LetterTemplateRow.code, LetterTemplateRow.language)
        )
    )


def _template(session: Session, code: str, language: str) -> letters.LetterTemplate:
    for row in letter_templates(session):
        if row.code == code and row.language == language:
            return letters.LetterTemplate(row.code, row.language, row.name, row.subject, row.body)
    raise NotFound(f"no letter template {code!r} in {language!r}", field="template_code")


def save_letter_template(
    session: Session, *, actor: Actor, code: str, language: str, name: str, subject: str, body: str
) -> LetterTemplateRow:
    actor.require(Permission.RECOVERY_ADMIN)
    if language not in ("fr", "en"):
        raise InvalidInput("must be fr or en", field="language")
    letters.validate_template(subject, body)
    letter_templates(session)
    row = session.get(LetterTemplateRow, (code, language))
    before = None if row is None else {"subject": row.subject, "body": row.body}
    if row is None:
        row = LetterTemplateRow(code=code, language=language)
        session.add(row)
    row.name, row.subject, row.body = name, subject, body
    row.updated_at, row.updated_by = utcnow(), actor.label
    audit.record(
        session,
        actor=actor,
        action="recovery.letter_template",
        entity_type="letter_template",
        entity_id=f"{code}/{language}",
        before=before,
        after={"subject": subject, "body": body},
    )
    session.flush()
    return row


# --- budgets -----------------------------------------------------------------------------


def month_now(now: datetime | None = None) -> str:
    return domain.month_of(now or utcnow(), _zone())


def _default_limit(scope: str) -> int:
    settings = _settings()
    if scope == "agent":
        return settings.agent_monthly_budget_cents
    return settings.team_monthly_budget_cents


def _budget(session: Session, scope: str, owner: str, month: str) -> Budget:
    """The budget row of an agent or team for a month, created at the default limit."""
    query = select(Budget).where(
        Budget.scope == scope, Budget.owner == owner, Budget.month == month
    )
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    Budget(
                        scope=scope,
                        owner=owner,
                        month=month,
                        limit_cents=_default_limit(scope),
                        spent_cents=0,
                    )
                )
        except IntegrityError:  # created meanwhile by a concurrent grant
            pass
        row = session.scalar(query)
    return row


def _budgets(session: Session, agent_id: int | None, team: str, month: str) -> list[Budget]:
    """The agent's and the team's budget rows for a month, in that order."""
    return [_budget(session, "agent", str(agent_id), month), _budget(session, "team", team, month)]


def _team(session: Session, actor: Actor) -> str:
    return cases.team_of(session, actor.user_id) or "general"


def _consume(session: Session, budgets: list[Budget], cost: int, *, strict: bool) -> bool:
    """Add ``cost`` to each budget; when ``strict``, only if every one of them still has room
    (all or none: a savepoint undoes a partial reservation)."""
    if cost == 0:
        return True
    try:
        with session.begin_nested():
            for budget in budgets:
                query = update(Budget).where(Budget.id == budget.id)
                if strict:
                    query = query.where(Budget.spent_cents + cost <= Budget.limit_cents)
                done = session.execute(
                    query.values(spent_cents=Budget.spent_cents + cost, updated_at=utcnow())
                )
                if done.rowcount != 1:
                    raise _NoRoom
    except _NoRoom:
        return False
    for budget in budgets:
        session.refresh(budget)
    return True


class _NoRoom(Exception):
    pass


def set_budget(
    session: Session, *, actor: Actor, scope: str, owner: str, month: str, limit_cents: int
) -> Budget:
    """A supervisor sets an agent's or a team's limit for a month (never below what is spent)."""
    actor.require(Permission.RECOVERY_APPROVE)
    if scope not in ("agent", "team"):
        raise InvalidInput("must be agent or team", field="scope")
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise InvalidInput("must be a month written YYYY-MM", field="month") from None
    if not 0 <= limit_cents <= 100_000_000:
        raise InvalidInput("must be between 0 and 1,000,000 euros", field="limit_cents")
    if scope == "agent" and (not owner.isdigit() or session.get(User, int(owner)) is None):
        raise NotFound(f"no user {owner}", field="owner")
    row = _budget(session, scope, owner, month)
    if limit_cents < row.spent_cents:
        raise Conflict(
            f"{row.spent_cents / 100:.2f} € are already spent this month", field="limit_cents"
        )
    before = row.limit_cents
    row.limit_cents, row.updated_at = limit_cents, utcnow()
    audit.record(
        session,
        actor=actor,
        action="recovery.budget",
        entity_type="budget",
        entity_id=row.id,
        before={"limit_cents": before},
        after={"scope": scope, "owner": owner, "month": month, "limit_cents": limit_cents},
    )
    session.flush()
    return row


def my_budgets(session: Session, *, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """The acting agent's and their team's budget this month."""
    actor.require(Permission.RECOVERY_GRANT)
    month = month_now(now)
    team = _team(session, actor)
    agent, team_row = _budgets(session, actor.user_id, team, month)
    return {"month": month, "agent": agent, "team": team_row, "team_name": team}


def consumption(session: Session, *, actor: Actor, month: str) -> dict[str, Any]:
    """Budgets by agent and team for a month, with the gestures granted and their cost."""
    actor.require(Permission.RECOVERY_APPROVE)
    rows = session.execute(
        select(Budget, User.display_name)
        .outerjoin(
            User,
            (Budget.scope == "agent") & (func.cast(User.id, Budget.owner.type) == Budget.owner),
        )
        .where(Budget.month == month)
        .order_by(Budget.scope.desc(), Budget.spent_cents.desc())
    ).all()
    kinds = session.execute(
        select(Grant.kind, func.count(), func.sum(Grant.cost_cents))
        .where(Grant.month == month, Grant.status == GRANTED)
        .group_by(Grant.kind)
        .order_by(func.sum(Grant.cost_cents).desc())
    ).all()
    return {
        "month": month,
        "agents": [
            {"budget": b, "name": name or b.owner} for b, name in rows if b.scope == "agent"
        ],
        "teams": [{"budget": b, "name": b.owner} for b, name in rows if b.scope == "team"],
        "kinds": [
            {"kind": kind, "count": count, "cost_cents": int(cost or 0)}
            for kind, count, cost in kinds
        ],
    }


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
        raise NotFound(f"gesture {grant_id} not found", field="grant_id")
    customers.check_visible(session, actor=actor, customer_id=grant.customer_id)
    return grant


# --- signals and recommendations ---------------------------------------------------------


def _spend_since(session: Session, customer_id: int, since: date, as_of: date) -> int:
    sql = analytics.transactions_sql(session, "all")
    total = session.execute(
        text(
            f"SELECT coalesce(sum(amount_cents), 0) FROM ({sql}) t"
            " WHERE customer_id = :c AND day > :d"
        ),
        {"as_of": as_of, "c": customer_id, "d": (since - date(1970, 1, 1)).days},
    ).scalar()
    return int(total or 0)


def _main_member(session: Session, customer_id: int) -> tuple[Any, Any]:
    """The membership that counts most, with the tier it lost within twelve months if any:
    one that lost a tier (the latest loss: that is what a recovery answers), else the
    highest tier relative to its programme."""
    members = loyalty.members_of(session, customer_id=customer_id)
    today = loyalty.today()
    losses = [(loss.on, m.id, m, loss) for m in members if (loss := _last_loss(session, m, today))]
    if losses:
        _, _, member, loss = max(losses, key=lambda item: item[:2])
        return member, loss
    best, best_key = None, (-1.0, date.max)
    for member in members:
        programme = loyalty.get_programme(member.programme)
        top = max(len(programme.tiers) - 1, 1)
        key = (programme.tier_index(member.tier) / top, member.enrolled_on)
        if key[0] > best_key[0] or (key[0] == best_key[0] and key[1] < best_key[1]):
            best, best_key = member, key
    return best, None


def _last_loss(session: Session, member, today: date):
    """The member's latest downgrade within twelve months, if the tier was not regained."""
    for change in loyalty.tier_history(session, member_id=member.id):
        if change.on < today - timedelta(days=365):
            return None
        if change.kind == "downgraded":
            return change
        if change.to_tier != change.from_tier:
            return None  # regained or changed since
    return None


def signals(
    session: Session, *, actor: Actor, customer_id: int, case_id: int | None, lang: str = "en"
) -> tuple[domain.CaseSignals, domain.CustomerSignals, Any]:
    """What the recommender weighs, read from the customer file, loyalty, cases and scores."""
    customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    today = loyalty.today()
    case = None
    if case_id is not None:
        case = cases.get_case(session, actor=actor, case_id=case_id)
        if case.customer_id != customer.id:
            raise InvalidInput(
                f"case {format_case_number(case.id)} is not this customer's", field="case_id"
            )
    member, loss = _main_member(session, customer.id)
    tier_lost = tier_lost_name = None
    after_failure = False
    tier = tier_name = None
    rank = top = 0
    tenure = 0.0
    currency = {"fr": "points", "en": "points"}
    if member is not None:
        programme = loyalty.get_programme(member.programme)
        tier, tier_name = member.tier, programme.tier(member.tier).name.get(lang)
        rank, top = programme.tier_index(member.tier), len(programme.tiers) - 1
        tenure = round((today - member.enrolled_on).days / 365.25, 1)
        if programme.spendable_currencies:
            name = programme.spendable_currencies[0].name
            currency = {"fr": name.get("fr"), "en": name.get("en")}
        if loss is not None:
            tier_lost, tier_lost_name = (
                loss.from_tier,
                programme.tier(loss.from_tier).name.get(lang),
            )
            after_failure = case is not None
    score = None
    if analytics.can_see_scores(actor) and not actor.is_partner:
        try:
            score = analytics.customer_score(session, actor=actor, customer_id=customer.id)
        except NotFound:
            score = None
    spend = _spend_since(session, customer.id, today - timedelta(days=365), today)
    past = []
    for grant in session.scalars(
        select(Grant).where(Grant.customer_id == customer.id, Grant.status == GRANTED)
    ):
        worked = None
        if member is not None and member.last_activity_on and grant.granted_at:
            if member.last_activity_on > grant.granted_at.date():
                worked = True
            elif (today - grant.granted_at.date()).days > 180:
                worked = False
        past.append(domain.PastGesture(kind=grant.kind, worked=worked))
    repeated = 0
    if case is not None:
        repeated = (
            cases.count_recent_cases(
                session, customer_id=customer.id, since=case.created_at - timedelta(days=365)
            )
            - 1
        )
    case_signals = domain.CaseSignals(
        category=case.category if case else None,
        priority=case.priority if case else "normal",
        broken_promises=_broken_promises(case) if case else 0,
        repeated_incidents=max(repeated, 0),
        tier_lost=tier_lost,
        tier_lost_name=tier_lost_name,
        lost_after_service_failure=after_failure,
    )
    customer_signals = domain.CustomerSignals(
        is_customer=member is not None or spend > 0 or score is not None,
        tier=tier,
        tier_name=tier_name,
        tier_rank=rank,
        top_rank=top,
        tenure_years=tenure,
        spend_12m_cents=spend,
        clv_cents=score["clv_cents"] if score else None,
        churn_risk=score["churn_risk"] if score else None,
        past_gestures=tuple(past),
        currency_name=currency,
    )
    return case_signals, customer_signals, member


def _broken_promises(case) -> int:
    return (
        int(bool(case.first_response_breached))
        + int(bool(case.resolution_breached))
        + (case.next_response_breaches or 0)
        + int(bool(case.reply_overdue))
    )


def recommend(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    case_id: int | None = None,
    lang: str = "en",
) -> Recommendation:
    """The top three gestures for this customer and case, recorded for later evaluation."""
    actor.require(Permission.RECOVERY_GRANT)
    case_signals, customer_signals, _ = signals(
        session, actor=actor, customer_id=customer_id, case_id=case_id, lang=lang
    )
    open_events = any(e.seats_taken < e.capacity for e in events(session))
    options = [
        option_of(row)
        for row in catalogue(session, active_only=True)
        if row.kind != "event_invitation" or open_events
    ]
    weights = _settings().recommender_weights()
    proposals = domain.recommend(case_signals, customer_signals, options, weights)
    row = Recommendation(
        customer_id=customer_id,
        case_id=case_id,
        agent_id=actor.user_id,
        merit=domain.merit(case_signals, customer_signals, weights),
        signals={"case": asdict(case_signals), "customer": asdict(customer_signals)},
        proposals=[
            {
                "rank": rank,
                "code": p.code,
                "kind": p.kind,
                "expected_cost_cents": p.expected_cost_cents,
                "cash_cents": p.cash_cents,
                "score": round(p.score, 4),
                "reason": p.reason,
                "requires_approval": p.requires_approval,
            }
            for rank, p in enumerate(proposals, start=1)
        ],
    )
    session.add(row)
    session.flush()
    return row


def recommendation_stats(session: Session, *, actor: Actor) -> dict[str, Any]:
    """How often agents followed the recommender: recommendations made, and the rank of the
    gesture chosen (0: a gesture it did not propose)."""
    if not (actor.can(Permission.RECOVERY_APPROVE) or actor.can(Permission.ANALYTICS_READ)):
        actor.require(Permission.RECOVERY_APPROVE)
    total = session.scalar(select(func.count()).select_from(Recommendation)) or 0
    ranks = {
        rank or 0: count
        for rank, count in session.execute(
            select(Recommendation.chosen_rank, func.count())
            .where(Recommendation.chosen_code.is_not(None))
            .group_by(Recommendation.chosen_rank)
        ).all()
    }
    return {"recommendations": total, "chosen_by_rank": ranks, "chosen": sum(ranks.values())}


# --- gestures ----------------------------------------------------------------------------


def _request_hash(data: dict[str, Any]) -> str:
    return _sha({k: v for k, v in data.items() if k != "key"})


def grant(
    session: Session,
    *,
    actor: Actor,
    data: dict[str, Any],
    sender: str,
    now: datetime | None = None,
) -> Grant:
    """Offer a gesture: at once within budget, else an approval request. Idempotent by key.
    ``sender``: the address the customer's notice comes from.

    ``data``: customer_id, case_id, gesture_code, amount, reason_code, reason_text, key,
    recommendation_id, and per kind: event_id (invitation), tier_action keep|restore (status
    exception), letter {template_code, subject, body, delivery email|post}.
    """
    actor.require(Permission.RECOVERY_GRANT)
    now = now or utcnow()
    key = data.get("key") or f"grant:{secrets.token_hex(12)}"
    digest = _request_hash(data)
    existing = session.scalar(select(Grant).where(Grant.key == key))
    if existing is not None:
        if existing.request_hash != digest:
            raise Conflict("this key was used for a different gesture", field="key")
        return existing
    customer = customers.get_customer(session, actor=actor, customer_id=data["customer_id"])
    if customer.status != CustomerStatus.ACTIVE:
        raise Conflict(
            f"customer {customer.id} is {customer.status}: no gesture can be granted",
            field="customer_id",
        )
    if data.get("reason_code") not in REASON_CODES:
        raise InvalidInput(f"use one of {', '.join(REASON_CODES)}", field="reason_code")
    if not (data.get("reason_text") or "").strip():
        raise InvalidInput("say why, in a few words", field="reason_text")
    case = None
    if data.get("case_id") is not None:
        case = cases.get_case(session, actor=actor, case_id=data["case_id"])
        if case.customer_id != customer.id:
            raise InvalidInput(
                f"case {format_case_number(case.id)} is not this customer's", field="case_id"
            )
    gesture = get_gesture_type(session, data["gesture_code"])
    if not gesture.active:
        raise Conflict(f"the gesture {gesture.code} is withdrawn", field="gesture_code")
    option = option_of(gesture)
    amount = data.get("amount")
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
        cash_cents=domain.grant_cash_cents(option, data.get("amount")),
        reason_code=data["reason_code"],
        reason_text=data["reason_text"].strip(),
        status=PENDING,
        details=details,
        agent_id=actor.user_id,
        agent_label=actor.label,
        team=team,
        month=month,
        language=language,
        recommendation_id=data.get("recommendation_id"),
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
    if decision.route == "grant":
        _fulfil(session, actor=actor, grant=row, gesture=gesture, now=now, sender=sender)
        audit_action, summary = "recovery.grant", f"Gesture granted: {what}"
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
    _record(
        session,
        actor=actor,
        action=audit_action,
        entity=("recovery_grant", row.id),
        customer_id=customer.id,
        summary=f"{summary} — {row.reason_text}",
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


def _money(cents: int) -> str:
    return f"€{cents / 100:,.2f}"


def _note_choice(session: Session, row: Grant) -> None:
    if row.recommendation_id is None:
        return
    recommendation = session.get(Recommendation, row.recommendation_id)
    if recommendation is None or recommendation.customer_id != row.customer_id:
        raise InvalidInput("this recommendation is not this customer's", field="recommendation_id")
    ranks = [p["rank"] for p in recommendation.proposals if p["code"] == row.gesture_code]
    row.recommended_rank = ranks[0] if ranks else None
    recommendation.chosen_code, recommendation.chosen_rank = row.gesture_code, row.recommended_rank


def _prepare(
    session: Session, *, actor: Actor, gesture: GestureType, customer, data: dict[str, Any]
) -> dict[str, Any]:
    """Check what the kind needs before anything is written; return the grant's details."""
    details: dict[str, Any] = {}
    if gesture.kind in domain.MEMBERSHIP_KINDS:
        member, loss = _main_member(session, customer.id)
        if member is None:
            raise Conflict(
                f"a {gesture.kind} gesture needs a loyalty membership", field="gesture_code"
            )
        details["member_id"] = member.id
        if gesture.kind == "status_exception":
            action = data.get("tier_action")
            if action not in TIER_ACTIONS:
                raise InvalidInput("say keep or restore", field="tier_action")
            tier = member.tier
            if action == "restore":
                if loss is None:
                    raise Conflict("no tier was lost within twelve months", field="tier_action")
                tier = loss.from_tier
            details.update(tier_action=action, tier=tier, programme=member.programme)
    if gesture.kind == "event_invitation":
        event = session.get(Event, data.get("event_id") or 0)
        if event is None:
            raise NotFound("choose an event", field="event_id")
        if event.starts_at <= utcnow():
            raise Conflict(f"{event.name} has already taken place", field="event_id")
        if event.seats_taken >= event.capacity:
            raise Conflict(f"{event.name} is full ({event.capacity} seats)", field="event_id")
        if session.scalar(
            select(Invitation).where(
                Invitation.event_id == event.id, Invitation.customer_id == customer.id
            )
        ):
            raise Conflict("this customer is already invited", field="event_id")
        details["event_id"] = event.id
    if gesture.kind == "letter":
        letter = data.get("letter") or {}
        for name in ("template_code", "subject", "body"):
            if not (letter.get(name) or "").strip():
                raise InvalidInput(
                    f"the letter needs a {name.replace('_', ' ')}", field=f"letter.{name}"
                )
        delivery = letter.get("delivery") or "email"
        if delivery not in ("email", "post"):
            raise InvalidInput("email or post", field="letter.delivery")
        if delivery == "email" and customers.primary_email(session, customer.id) is None:
            raise Conflict(
                "the customer has no e-mail address: send it by post", field="letter.delivery"
            )
        details["letter"] = {
            "template_code": letter["template_code"],
            "subject": letter["subject"].strip(),
            "body": letter["body"].strip(),
            "delivery": delivery,
        }
    return details


def _fulfil(
    session: Session,
    *,
    actor: Actor,
    grant: Grant,
    gesture: GestureType,
    now: datetime,
    sender: str,
) -> None:
    """Carry the gesture out (as ``actor``: the agent, or the approving supervisor)."""
    details = dict(grant.details)
    today = loyalty.today()
    kind = grant.kind
    if kind == "points":
        member = loyalty.find_member(session, actor=actor, member_id=details["member_id"])
        currency = loyalty.get_programme(member.programme).spendable_currencies[0].code
        entry = loyalty.grant_points(
            session,
            actor=actor,
            member_id=member.id,
            key=f"recovery:{grant.id}",
            currency=currency,
            amount=grant.amount,
            reason=grant.reason_text,
        )
        details.update(entry_id=entry.id, currency=currency)
    elif kind in ("voucher", "upgrade", "lounge_pass"):
        code = _voucher_code()
        expires = today + timedelta(days=gesture.valid_days or 365)
        session.add(
            Voucher(
                code=code,
                grant_id=grant.id,
                customer_id=grant.customer_id,
                kind=kind,
                value_cents=grant.amount or 0,
                expires_on=expires,
            )
        )
        details.update(voucher_code=code, expires_on=expires.isoformat())
    elif kind == "event_invitation":
        taken = session.execute(
            update(Event)
            .where(Event.id == details["event_id"], Event.seats_taken < Event.capacity)
            .values(seats_taken=Event.seats_taken + 1)
        )
        if taken.rowcount != 1:
            raise Conflict("the event is full", field="event_id")
        invitation = Invitation(
            event_id=details["event_id"],
            customer_id=grant.customer_id,
            grant_id=grant.id,
            status="invited",
            updated_at=now,
        )
        session.add(invitation)
        session.flush()
        details["invitation_id"] = invitation.id
    elif kind == "status_exception":
        loyalty.change_tier_by_exception(
            session,
            actor=actor,
            member_id=details["member_id"],
            tier=details["tier"],
            justification=grant.reason_text,
            new_period=True,
        )
    elif kind == "letter":
        details["letter_id"] = _write_letter(session, grant=grant, now=now)
    grant.details = details
    grant.status, grant.granted_at = GRANTED, now
    session.flush()
    _notify(session, grant=grant, gesture=gesture, sender=sender)


def _voucher_code() -> str:
    raw = secrets.token_hex(5).upper()
    return f"EG-{raw[:5]}-{raw[5:]}"


def _write_letter(session: Session, *, grant: Grant, now: datetime) -> int:
    spec = grant.details["letter"]
    signer = session.get(User, grant.agent_id) if grant.agent_id else None
    signature = session.get(Signature, grant.agent_id) if grant.agent_id else None
    facts = _facts(session, grant=grant, signer=signer, signature=signature, now=now)
    pdf = letters.render_pdf(subject=spec["subject"], body=spec["body"], facts=facts)
    letter = Letter(
        grant_id=grant.id,
        customer_id=grant.customer_id,
        case_id=grant.case_id,
        template_code=spec["template_code"],
        language=grant.language,
        subject=spec["subject"],
        body=spec["body"],
        signer_name=facts.agent_name,
        signer_title=facts.agent_title,
        pdf=pdf,
        delivery=spec["delivery"],
        status="queued",
        created_at=now,
    )
    session.add(letter)
    session.flush()
    return letter.id


def _facts(
    session: Session, *, grant: Grant, signer, signature, now: datetime
) -> letters.LetterFacts:
    customer = customers.get_customer(session, actor=SYSTEM, customer_id=grant.customer_id)
    case = cases.get_case(session, actor=SYSTEM, case_id=grant.case_id) if grant.case_id else None
    member, _ = _main_member(session, customer.id)
    tier_name = None
    if member is not None:
        tier = grant.details.get("tier") or member.tier
        tier_name = loyalty.get_programme(member.programme).tier(tier).name.get(grant.language)
    return letters.LetterFacts(
        customer_name=f"{customer.first_name} {customer.last_name}".strip(),
        language=grant.language,
        case_reference=format_case_number(case.id) if case else None,
        case_subject=case.subject if case else None,
        case_opened_on=case.created_at.date() if case else None,
        broken_promises=_broken_promises(case) if case else 0,
        tier_name=tier_name,
        agent_name=signer.display_name if signer else grant.agent_label,
        agent_title=signature.title if signature else "",
        written_on=now.astimezone(_zone()).date(),
        signature_png=signature.image if signature else None,
    )


def draft_letter(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    case_id: int | None,
    template_code: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """A template filled with the facts of the case, for the agent to edit before sending."""
    actor.require(Permission.RECOVERY_GRANT)
    customer = customers.get_customer(session, actor=actor, customer_id=customer_id)
    language = customer.preferred_language if customer.preferred_language in ("fr", "en") else "fr"
    probe = Grant(
        customer_id=customer.id,
        case_id=case_id,
        agent_id=actor.user_id,
        agent_label=actor.label,
        language=language,
        details={},
    )
    if case_id is not None:
        cases.get_case(session, actor=actor, case_id=case_id)
    signer = session.get(User, actor.user_id) if actor.user_id else None
    signature = session.get(Signature, actor.user_id) if actor.user_id else None
    facts = _facts(session, grant=probe, signer=signer, signature=signature, now=now or utcnow())
    subject, body = letters.draft(_template(session, template_code, language), facts)
    return {"template_code": template_code, "language": language, "subject": subject, "body": body}


def letter_pdf(session: Session, *, actor: Actor, letter_id: int) -> Letter:
    actor.require(Permission.RECOVERY_GRANT)
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFound(f"letter {letter_id} not found", field="letter_id")
    customers.check_visible(session, actor=actor, customer_id=letter.customer_id)
    return letter


def mark_posted(session: Session, *, actor: Actor, letter_id: int) -> Letter:
    """A letter queued for post has been printed and posted."""
    letter = letter_pdf(session, actor=actor, letter_id=letter_id)
    if letter.delivery != "post" or letter.status != "queued":
        raise Conflict("only a letter waiting for the post can be marked posted", field="letter_id")
    letter.status = "posted"
    audit.record(
        session,
        actor=actor,
        action="recovery.letter_posted",
        entity_type="recovery_letter",
        entity_id=letter.id,
        customer_id=letter.customer_id,
    )
    return letter


def letters_to_post(session: Session, *, actor: Actor) -> list[Letter]:
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(Letter)
            .where(Letter.delivery == "post", Letter.status == "queued")
            .order_by(Letter.id)
        )
    )


def save_signature(session: Session, *, actor: Actor, title: str, image: bytes | None) -> Signature:
    """The acting agent's title and signature image for their letters."""
    actor.require(Permission.RECOVERY_GRANT)
    if actor.user_id is None:
        raise PermissionDenied("only a person signs letters", field="user_id")
    if image is not None:
        letters.check_signature(image)
    row = session.get(Signature, actor.user_id) or Signature(user_id=actor.user_id)
    row.title, row.image, row.updated_at = title.strip()[:200], image, utcnow()
    session.add(row)
    session.flush()
    return row


# --- notifications -----------------------------------------------------------------------

NOTICE = {
    "fr": {
        "subject": "Un geste de notre part",
        "hello": "Bonjour {name},",
        "points": "Nous avons crédité {amount} {currency} sur votre compte fidélité.",
        "voucher": "Voici votre code : {code}, valable jusqu'au {expires}.",
        "event_invitation": "Nous serions heureux de vous accueillir : {event}, {place},"
        " le {when}.",
        "status_exception": "Votre statut {tier} est maintenu pour une nouvelle période"
        " de qualification.",
        "credit": "Un avoir de {money} a été porté à votre compte.",
        "letter": "Vous trouverez en pièce jointe une lettre de votre conseiller.",
        "sign": "Avec toute notre considération,\n{agent}",
    },
    "en": {
        "subject": "A gesture from us",
        "hello": "Dear {name},",
        "points": "We have credited {amount} {currency} to your loyalty account.",
        "voucher": "Here is your code: {code}, valid until {expires}.",
        "event_invitation": "We would be delighted to welcome you: {event}, {place}, on {when}.",
        "status_exception": "Your {tier} status is kept for a new qualification period.",
        "credit": "A credit of {money} has been added to your account.",
        "letter": "Please find attached a letter from your adviser.",
        "sign": "With our best regards,\n{agent}",
    },
}


def _notify(session: Session, *, grant: Grant, gesture: GestureType, sender: str) -> None:
    """Tell the customer, in their language, through the outbox (sent after commit)."""
    to = customers.primary_email(session, grant.customer_id)
    letter = session.get(Letter, grant.details["letter_id"]) if grant.kind == "letter" else None
    if to is None or (letter is not None and letter.delivery == "post"):
        return
    words = NOTICE[grant.language]
    customer = customers.get_customer(session, actor=SYSTEM, customer_id=grant.customer_id)
    d = grant.details
    lines = [words["hello"].format(name=f"{customer.first_name} {customer.last_name}".strip())]
    lines.append(gesture.text_fr if grant.language == "fr" else gesture.text_en)
    if grant.kind == "points":
        lines.append(words["points"].format(amount=f"{grant.amount:,}", currency=d["currency"]))
    elif grant.kind in ("voucher", "upgrade", "lounge_pass"):
        lines.append(words["voucher"].format(code=d["voucher_code"], expires=d["expires_on"]))
    elif grant.kind == "event_invitation":
        event = session.get(Event, d["event_id"])
        lines.append(
            words["event_invitation"].format(
                event=event.name,
                place=event.place,
                when=event.starts_at.astimezone(_zone()).strftime("%Y-%m-%d %H:%M"),
            )
        )
    elif grant.kind == "status_exception":
        tier = loyalty.get_programme(d["programme"]).tier(d["tier"]).name.get(grant.language)
        lines.append(words["status_exception"].format(tier=tier))
    elif grant.kind == "credit":
        lines.append(words["credit"].format(money=_money(grant.amount or 0)))
    elif grant.kind == "letter":
        lines.append(words["letter"])
    lines.append(words["sign"].format(agent=grant.agent_label))
    attachments = ()
    if letter is not None:
        attachments = ((f"letter-{letter.id}.pdf", "application/pdf", letter.pdf),)
    outbox.enqueue_email(
        session,
        key=f"recovery-grant-{grant.id}",
        sender=sender,
        to=to,
        subject=letter.subject if letter is not None else words["subject"],
        body="\n\n".join(line for line in lines if line),
        ref_type="recovery_grant",
        ref_id=grant.id,
        attachments=attachments,
    )


# --- approvals ---------------------------------------------------------------------------


def approvals(
    session: Session, *, actor: Actor, status: str = PENDING
) -> list[tuple[Approval, Grant]]:
    """The supervisors' queue, soonest promise first."""
    actor.require(Permission.RECOVERY_APPROVE)
    return list(
        session.execute(
            select(Approval, Grant)
            .join(Grant, Grant.id == Approval.grant_id)
            .where(Approval.status == status)
            .order_by(Approval.due_at if status == PENDING else Approval.decided_at.desc())
            .limit(200)
        ).all()
    )


def decide(
    session: Session,
    *,
    actor: Actor,
    approval_id: int,
    approve: bool,
    reason: str,
    sender: str,
    now: datetime | None = None,
) -> Approval:
    """A supervisor approves or refuses a request, once, with a reason; never their own.
    ``sender``: the address the customer's notice comes from."""
    actor.require(Permission.RECOVERY_APPROVE)
    now = now or utcnow()
    if not reason.strip():
        raise InvalidInput("give the reason for the decision", field="reason")
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise NotFound(f"approval request {approval_id} not found", field="approval_id")
    grant = session.get(Grant, approval.grant_id)
    if grant.agent_id is not None and grant.agent_id == actor.user_id:
        raise PermissionDenied("a request is decided by someone else", field="approval_id")
    status = "approved" if approve else "rejected"
    done = session.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.status == PENDING)
        .values(
            status=status,
            decided_by_id=actor.user_id,
            decided_by=actor.label,
            decided_at=now,
            decision_reason=reason.strip(),
        )
    )
    if done.rowcount != 1:
        session.refresh(approval)
        raise Conflict(
            f"this request was already {approval.status} by {approval.decided_by}",
            field="approval_id",
        )
    session.refresh(approval)
    gesture = get_gesture_type(session, grant.gesture_code)
    if approve:
        budgets = _budgets(session, grant.agent_id, grant.team, grant.month)
        _consume(session, budgets, grant.cost_cents, strict=False)
        _fulfil(session, actor=actor, grant=grant, gesture=gesture, now=now, sender=sender)
    else:
        grant.status = REJECTED
    words = "approved" if approve else "refused"
    summary = f"Gesture {words} by {actor.label}: {gesture.name_en} — {reason.strip()}"
    _record(
        session,
        actor=actor,
        action=f"recovery.{status}",
        entity=("recovery_grant", grant.id),
        customer_id=grant.customer_id,
        summary=summary,
        after={"status": grant.status},
        reason=reason.strip(),
        now=now,
    )
    if grant.case_id is not None:
        cases.add_note(session, actor=actor, case_id=grant.case_id, body=summary, now=now)
    session.flush()
    return approval


def remind_overdue(db: Database, *, sender: str, now: datetime | None = None) -> str:
    """Tell every supervisor, once per request, that a decision is past its promise."""
    now = now or utcnow()
    with db.unit_of_work() as session:
        overdue = session.execute(
            select(Approval, Grant)
            .join(Grant, Grant.id == Approval.grant_id)
            .where(Approval.status == PENDING, Approval.due_at < now)
            .order_by(Approval.due_at)
        ).all()
        supervisors = session.execute(
            select(User.id, User.email).where(User.role == "supervisor", User.is_active.is_(True))
        ).all()
        for approval, grant in overdue:
            late = now - approval.due_at
            for user_id, address in supervisors:
                outbox.enqueue_email(
                    session,
                    key=f"recovery-overdue-{approval.id}-{user_id}",
                    sender=sender,
                    to=address,
                    subject="Gesture awaiting your decision for"
                    f" {late.days * 24 + late.seconds // 3600} h",
                    body=(
                        f"{grant.agent_label} asked for {grant.gesture_code}"
                        f" ({_money(grant.cost_cents)}) for customer {grant.customer_id}:"
                        f" {grant.reason_text}\n\nThe decision was promised by"
                        f" {approval.due_at:%Y-%m-%d %H:%M} UTC: /recovery/approvals"
                    ),
                    now=now,
                    ref_type="recovery_approval",
                    ref_id=approval.id,
                )
    return f"{len(overdue)} overdue requests, {len(supervisors)} supervisors told"


def approval_of(session: Session, grant_id: int) -> Approval | None:
    return session.scalar(select(Approval).where(Approval.grant_id == grant_id))


# --- vouchers and events -----------------------------------------------------------------


def redeem_voucher(
    session: Session, *, actor: Actor, code: str, reference: str, now: datetime | None = None
) -> Voucher:
    """Use a voucher or pass once (a till, a booking); a second use is refused."""
    actor.require(Permission.LOYALTY_WRITE)
    now = now or utcnow()
    voucher = session.scalar(select(Voucher).where(Voucher.code == code.strip().upper()))
    if voucher is None:
        raise NotFound(f"no voucher {code}", field="code")
    if voucher.expires_on < now.astimezone(_zone()).date():
        raise Conflict(f"voucher {voucher.code} expired on {voucher.expires_on}", field="code")
    done = session.execute(
        update(Voucher)
        .where(Voucher.id == voucher.id, Voucher.redeemed_at.is_(None))
        .values(redeemed_at=now, redeemed_ref=reference.strip()[:200])
    )
    if done.rowcount != 1:
        session.refresh(voucher)
        raise Conflict(
            f"voucher {voucher.code} was already used ({voucher.redeemed_ref})", field="code"
        )
    session.refresh(voucher)
    _record(
        session,
        actor=actor,
        action="recovery.voucher_redeemed",
        entity=("recovery_voucher", voucher.id),
        customer_id=voucher.customer_id,
        summary=f"Voucher {voucher.code} used: {voucher.redeemed_ref}",
        after={"reference": voucher.redeemed_ref},
        now=now,
    )
    return voucher


def create_event(
    session: Session,
    *,
    actor: Actor,
    name: str,
    place: str,
    starts_at: datetime,
    capacity: int,
    description: str = "",
) -> Event:
    actor.require(Permission.RECOVERY_APPROVE)
    if starts_at <= utcnow():
        raise InvalidInput("must be in the future", field="starts_at")
    if not 1 <= capacity <= 100_000:
        raise InvalidInput("must be between 1 and 100,000", field="capacity")
    event = Event(
        name=name.strip(),
        place=place.strip(),
        starts_at=starts_at,
        capacity=capacity,
        seats_taken=0,
        description=description,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="recovery.event",
        entity_type="recovery_event",
        entity_id=event.id,
        after={"name": event.name, "capacity": capacity, "starts_at": starts_at.isoformat()},
    )
    return event


def events(session: Session, *, upcoming_only: bool = True) -> list[Event]:
    query = select(Event).order_by(Event.starts_at)
    if upcoming_only:
        query = query.where(Event.starts_at > utcnow())
    return list(session.scalars(query))


def invitations(session: Session, *, actor: Actor, event_id: int) -> list[Invitation]:
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(Invitation).where(Invitation.event_id == event_id).order_by(Invitation.id)
        )
    )


INVITATION_MOVES = {
    "invited": {"accepted", "declined"},
    "accepted": {"declined", "attended", "absent"},
    "declined": {"accepted"},
    "attended": set(),
    "absent": set(),
}


def update_invitation(
    session: Session, *, actor: Actor, invitation_id: int, status: str
) -> Invitation:
    """Record the customer's reply or attendance; a declined seat frees up for someone else."""
    actor.require(Permission.RECOVERY_GRANT)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(f"invitation {invitation_id} not found", field="invitation_id")
    if status not in INVITATION_MOVES.get(invitation.status, set()):
        raise Conflict(f"an invitation {invitation.status} cannot become {status}", field="status")
    if status == "declined":
        session.execute(
            update(Event)
            .where(Event.id == invitation.event_id)
            .values(seats_taken=Event.seats_taken - 1)
        )
    elif invitation.status == "declined":
        taken = session.execute(
            update(Event)
            .where(Event.id == invitation.event_id, Event.seats_taken < Event.capacity)
            .values(seats_taken=Event.seats_taken + 1)
        )
        if taken.rowcount != 1:
            raise Conflict("the event is full", field="status")
    before = invitation.status
    invitation.status, invitation.updated_at = status, utcnow()
    audit.record(
        session,
        actor=actor,
        action="recovery.invitation",
        entity_type="recovery_invitation",
        entity_id=invitation.id,
        customer_id=invitation.customer_id,
        before={"status": before},
        after={"status": status},
    )
    session.flush()
    return invitation


# --- exceptions to the rules -------------------------------------------------------------


def propose_exception(
    session: Session, *, actor: Actor, case_id: int, rule: str, why: str, remedy: str
) -> RuleException:
    """ "Savoir sortir du process": this case is an exception to a rule, and here is why."""
    actor.require(Permission.RECOVERY_GRANT)
    case = cases.get_case(session, actor=actor, case_id=case_id)
    for field_name, value in (("rule", rule), ("why", why), ("remedy", remedy)):
        if not value.strip():
            raise InvalidInput("cannot be empty", field=field_name)
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
        summary=f"Exception proposed to “{row.rule}”: {row.remedy}",
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
        raise InvalidInput("give the reason for the decision", field="reason")
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
        raise NotFound(f"exception {exception_id} not found", field="exception_id")
    if done.rowcount != 1:
        raise Conflict(f"this exception was already {row.status}", field="exception_id")
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
        raise InvalidInput("stayed, left or unknown", field="outcome")
    row = session.get(RuleException, exception_id)
    if row is None:
        raise NotFound(f"exception {exception_id} not found", field="exception_id")
    if row.status != "approved":
        raise Conflict("only an approved exception has an outcome", field="outcome")
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


# --- return on gestures ------------------------------------------------------------------


def returns(session: Session, *, actor: Actor, as_of: date | None = None) -> domain.ReturnReport:
    """Cost and what followed each gesture, against similar cases that received nothing.

    Treated: gestures granted at least 90 days before ``as_of`` (what followed must have had
    time to happen). Controls: cases of other customers, or earlier cases of no gesture, with a
    customer and no gesture. Both are described by the case category and the customer's value
    decile; :func:`egards.recovery.domain.compare` matches them.
    """
    if not (actor.can(Permission.RECOVERY_APPROVE) or actor.can(Permission.ANALYTICS_READ)):
        actor.require(Permission.RECOVERY_APPROVE)
    as_of = as_of or loyalty.today()
    horizon = as_of - timedelta(days=90)
    treated_rows = session.execute(
        select(
            Grant.customer_id, Grant.granted_at, Grant.kind, Grant.cost_cents, Grant.case_id
        ).where(Grant.status == GRANTED, Grant.granted_at.is_not(None))
    ).all()
    treated_rows = [r for r in treated_rows if r.granted_at.date() <= horizon]
    control_rows = cases.cases_without(
        session,
        excluded_case_ids=select(Grant.case_id).where(Grant.case_id.is_not(None)),
        before=horizon,
    )
    case_ids = {r.case_id for r in treated_rows if r.case_id} | {r.id for r in control_rows}
    facts = cases.case_facts(session, case_ids)
    customer_ids = {r.customer_id for r in treated_rows} | {r.customer_id for r in control_rows}
    deciles = analytics.value_deciles(session, customer_ids)
    status = customers.statuses(session, customer_ids)
    ids, days, amounts = analytics.read_transactions(session, as_of=as_of)
    order = np.lexsort((days, ids))
    ids, days, amounts = ids[order], days[order], amounts[order]
    cum = np.concatenate([[0], np.cumsum(amounts)])

    def window(customer_id: int, on: date, length: int) -> tuple[int, int]:
        start = (on - date(1970, 1, 1)).days
        lo = np.searchsorted(ids, customer_id, "left")
        hi = np.searchsorted(ids, customer_id, "right")
        a = lo + np.searchsorted(days[lo:hi], start, "right")
        b = lo + np.searchsorted(days[lo:hi], start + length, "right")
        return int(cum[b] - cum[a]), int(b - a)

    def outcome(customer_id: int, on: date, case_id: int | None, kind, cost: int):
        spend_90, _ = window(customer_id, on, 90)
        spend_180, count_180 = window(customer_id, on, 180)
        category, csat = facts.get(case_id, (None, None))
        return domain.Outcome(
            customer_id=customer_id,
            on=on,
            category=category,
            value_band=deciles.get(customer_id, 0),
            kind=kind,
            cost_cents=cost,
            spend_90_cents=spend_90,
            spend_180_cents=spend_180,
            active_180=count_180 > 0,
            stayed=status.get(customer_id) == "active" and count_180 > 0,
            csat=csat,
        )

    treated = [
        outcome(r.customer_id, r.granted_at.date(), r.case_id, r.kind, r.cost_cents)
        for r in treated_rows
    ]
    controls = [outcome(r.customer_id, r.created_at.date(), r.id, None, 0) for r in control_rows]
    return domain.compare(treated, controls, margin_percent=_settings().margin_percent)


# --- the customer file: 360, GDPR --------------------------------------------------------


def customer_gestures(session: Session, *, actor: Actor, customer_id: int) -> list[Grant]:
    actor.require(Permission.RECOVERY_GRANT)
    return list(
        session.scalars(
            select(Grant).where(Grant.customer_id == customer_id).order_by(Grant.id.desc())
        )
    )


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    grants = session.scalars(select(Grant).where(Grant.customer_id == customer_id)).all()
    return {
        "gestures": [
            {
                "id": g.id,
                "gesture": g.gesture_code,
                "kind": g.kind,
                "amount": g.amount,
                "status": g.status,
                "reason": g.reason_text,
                "granted_at": g.granted_at.isoformat() if g.granted_at else None,
            }
            for g in grants
        ],
        "letters": [
            {
                "id": x.id,
                "subject": x.subject,
                "body": x.body,
                "created_at": x.created_at.isoformat(),
            }
            for x in session.scalars(select(Letter).where(Letter.customer_id == customer_id))
        ],
        "vouchers": [
            {
                "code": v.code,
                "kind": v.kind,
                "expires_on": v.expires_on.isoformat(),
                "redeemed_at": v.redeemed_at.isoformat() if v.redeemed_at else None,
            }
            for v in session.scalars(select(Voucher).where(Voucher.customer_id == customer_id))
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Gestures keep their kind, amount and cost (budgets stay exact) but lose every free
    text, which may quote the customer: reasons, decisions, the letter's text, its PDF and
    the copy in the grant's details; so do the exceptions to the rules on their cases, and
    the notices sent about them."""
    ids = erasure.customer_ids
    grants = session.scalars(select(Grant).where(Grant.customer_id.in_(ids))).all()
    for grant in grants:
        grant.reason_text = ERASED
        if "letter" in grant.details:
            letter = grant.details["letter"]
            kept = {k: letter[k] for k in ("template_code", "delivery") if k in letter}
            grant.details = {**grant.details, "letter": kept}
    grant_ids = [g.id for g in grants]
    approvals = list(session.scalars(select(Approval.id).where(Approval.grant_id.in_(grant_ids))))
    session.execute(
        update(Approval)
        .where(Approval.id.in_(approvals), Approval.decision_reason.is_not(None))
        .values(decision_reason=ERASED)
    )
    letter_ids = list(session.scalars(select(Letter.id).where(Letter.customer_id.in_(ids))))
    session.execute(
        update(Letter).where(Letter.id.in_(letter_ids)).values(subject=ERASED, body=ERASED, pdf=b"")
    )
    case_ids = cases.case_ids_of(session, ids)
    exceptions = list(
        session.scalars(
            select(RuleException.id).where(
                or_(RuleException.customer_id.in_(ids), RuleException.case_id.in_(case_ids))
            )
        )
    )
    session.execute(
        update(RuleException)
        .where(RuleException.id.in_(exceptions))
        .values(
            why=ERASED,
            remedy=ERASED,
            outcome_note=None,
            decision_reason=case((RuleException.decision_reason.is_(None), None), else_=ERASED),
        )
    )
    vouchers = session.scalars(select(Voucher.id).where(Voucher.customer_id.in_(ids))).all()
    invitations = session.scalars(
        select(Invitation.id).where(Invitation.customer_id.in_(ids))
    ).all()
    outbox.erase_messages(session, ref_type="recovery_grant", ref_ids=grant_ids)
    outbox.erase_messages(session, ref_type="recovery_approval", ref_ids=approvals)
    for entity_type, entity_ids in (
        ("recovery_grant", grant_ids),
        ("recovery_letter", letter_ids),
        ("recovery_exception", exceptions),
        ("recovery_voucher", vouchers),
        ("recovery_invitation", invitations),
    ):
        audit.redact(session, entity_type=entity_type, entity_ids=entity_ids)


# --- read helpers of the console pages ---------------------------------------------------


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


def customer_fulfilment(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any]:
    """What the customer's gestures produced: vouchers, invitations (with their event), letters."""
    actor.require(Permission.RECOVERY_GRANT)
    customers.check_visible(session, actor=actor, customer_id=customer_id)
    return {
        "vouchers": list(
            session.scalars(
                select(Voucher).where(Voucher.customer_id == customer_id).order_by(Voucher.id)
            )
        ),
        "invitations": list(
            session.execute(
                select(Invitation, Event)
                .join(Event, Event.id == Invitation.event_id)
                .where(Invitation.customer_id == customer_id)
                .order_by(Event.starts_at.desc())
            ).all()
        ),
        "letters": list(
            session.scalars(
                select(Letter).where(Letter.customer_id == customer_id).order_by(Letter.id.desc())
            )
        ),
    }


def get_recommendation(session: Session, *, actor: Actor, recommendation_id: int) -> Recommendation:
    """A recorded recommendation (to show its proposals again without recording a new one)."""
    actor.require(Permission.RECOVERY_GRANT)
    row = session.get(Recommendation, recommendation_id)
    if row is None:
        raise NotFound(f"recommendation {recommendation_id} not found", field="recommendation_id")
    customers.check_visible(session, actor=actor, customer_id=row.customer_id)
    return row


def signature_of(session: Session, *, actor: Actor) -> Signature | None:
    """The acting agent's saved title and signature, if any."""
    actor.require(Permission.RECOVERY_GRANT)
    return session.get(Signature, actor.user_id) if actor.user_id else None
