"""Budgets and routing: whose budget a gesture draws on, and when it needs an approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from egards.errors import InvalidInput
from egards.i18n import N_
from egards.recovery.domain.catalogue import (
    GestureOption,
    _is_int,
)
from egards.recovery.domain.vocabulary import (
    Route,
)


@dataclass(frozen=True)
class Budget:
    """A monthly discretionary budget and what was spent from it, in cents of cost."""

    limit_cents: int
    spent_cents: int

    def __post_init__(self) -> None:
        for name in ("limit_cents", "spent_cents"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise InvalidInput(
                    N_("{name} must be whole cents, not negative."), name=name, field=name
                )

    @property
    def remaining_cents(self) -> int:
        return max(0, self.limit_cents - self.spent_cents)


@dataclass(frozen=True)
class Decision:
    """Grant at once, or ask a supervisor; ``reasons`` are stable codes from ``REASONS``."""

    route: Route
    reasons: tuple[str, ...]


def route_grant(option: GestureOption, cost_cents: int, *, agent: Budget, team: Budget) -> Decision:
    """Grant when the cost fits both the agent's and the team's remaining budget and the option
    needs no approval; otherwise approval, with every reason that applies.

    A status exception goes to approval whatever its cost (reason ``status_exception``); other
    options flagged ``requires_approval`` give ``approval_required``.
    """
    if not _is_int(cost_cents) or cost_cents < 0:
        raise InvalidInput(N_("The cost must be whole cents, not negative."), field="cost_cents")
    reasons: list[str] = []
    if option.kind == "status_exception":
        reasons.append("status_exception")
    elif option.requires_approval:
        reasons.append("approval_required")
    if cost_cents > agent.remaining_cents:
        reasons.append("over_agent_budget")
    if cost_cents > team.remaining_cents:
        reasons.append("over_team_budget")
    if reasons:
        return Decision(route="approval", reasons=tuple(reasons))
    return Decision(route="grant", reasons=("within_budget",))


def month_of(moment: datetime, zone: ZoneInfo) -> str:
    """The budget month (``YYYY-MM``) of an aware moment, in the business zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(N_("The moment must carry a time zone."), field="moment")
    local = moment.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"
