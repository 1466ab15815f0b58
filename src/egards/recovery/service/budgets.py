"""The agents' and teams' monthly budgets: rows created at the default limit on first use,
consumed by a conditional ``UPDATE ... WHERE spent + cost <= limit`` (all or none, in a
savepoint) so concurrent grants never overspend, set by supervisors, and the month's
consumption by agent, team and kind of gesture.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egards.accounts import service as accounts
from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.cases import service as cases
from egards.db import rowcount, utcnow
from egards.errors import Conflict, InvalidInput, NotFound
from egards.i18n import N_
from egards.recovery import domain
from egards.recovery.models import (
    Budget,
    Grant,
)

from ._common import GRANTED, _settings, _zone


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
        row = session.scalars(query).one()
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
                if rowcount(done) != 1:
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
        raise InvalidInput(N_("must be agent or team"), field="scope")
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise InvalidInput(N_("must be a month written YYYY-MM"), field="month") from None
    if not 0 <= limit_cents <= 100_000_000:
        raise InvalidInput(N_("must be between 0 and 1,000,000 euros"), field="limit_cents")
    if scope == "agent" and (not owner.isdigit() or accounts.get_user(session, int(owner)) is None):
        raise NotFound(N_("no user {owner}"), owner=owner, field="owner")
    row = _budget(session, scope, owner, month)
    if limit_cents < row.spent_cents:
        raise Conflict(
            N_("{spent} are already spent this month"),
            spent=f"{row.spent_cents / 100:.2f} €",
            field="limit_cents",
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
    budgets = session.scalars(
        select(Budget)
        .where(Budget.month == month)
        .order_by(Budget.scope.desc(), Budget.spent_cents.desc())
    ).all()
    agents = accounts.display_names(
        session, [int(b.owner) for b in budgets if b.scope == "agent" and b.owner.isdigit()]
    )
    rows = [
        (b, agents.get(int(b.owner)) if b.scope == "agent" and b.owner.isdigit() else None)
        for b in budgets
    ]
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
