"""SLA policies: the facts of a case, the conditions a policy states, and which policy applies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from egards.cases.domain.statuses import SlaMetric
from egards.cases.errors import (
    NoMatchingPolicy,
)
from egards.errors import N_

# --------------------------------------------------------------------------------------
# SLA policies
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    """What a policy can be chosen on. Values are compared case-insensitively."""

    channel: str | None = None
    category: str | None = None
    priority: str | None = None
    team: str | None = None
    loyalty_tier: str | None = None
    service_level: str | None = None
    """The service level the customer's live tier gives (``standard``, ``priority``,
    ``dedicated``: a benefit of the loyalty programme file); ``None`` for an unknown sender."""


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(value).casefold() for value in values)


_CONDITION_FIELDS = (
    "channels",
    "categories",
    "priorities",
    "teams",
    "loyalty_tiers",
    "service_levels",
)


@dataclass(frozen=True)
class PolicyConditions:
    """Each non-empty set restricts one fact; an empty set accepts anything."""

    channels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    loyalty_tiers: frozenset[str] = frozenset()
    service_levels: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in _CONDITION_FIELDS:
            object.__setattr__(self, name, _folded(getattr(self, name)))

    def _pairs(self, facts: CaseFacts) -> tuple[tuple[frozenset[str], str | None], ...]:
        return (
            (self.channels, facts.channel),
            (self.categories, facts.category),
            (self.priorities, facts.priority),
            (self.teams, facts.team),
            (self.loyalty_tiers, facts.loyalty_tier),
            (self.service_levels, facts.service_level),
        )

    def matches(self, facts: CaseFacts) -> bool:
        return all(
            not accepted or (value is not None and str(value).casefold() in accepted)
            for accepted, value in self._pairs(facts)
        )

    @property
    def specificity(self) -> int:
        """How many facts this policy constrains."""
        return sum(1 for name in _CONDITION_FIELDS if getattr(self, name))


@dataclass(frozen=True)
class AtRiskRule:
    """A running clock is at risk once ``percent`` of its target has elapsed, or once no
    more than ``time_left`` remains, whichever comes first (both in business time)."""

    percent: int | None = 75
    time_left: timedelta | None = None

    def threshold(self, target: timedelta) -> timedelta:
        """Elapsed business time from which the clock is at risk."""
        candidates = [target]
        if self.percent is not None:
            candidates.append(target * self.percent // 100)
        if self.time_left is not None:
            candidates.append(target - self.time_left)
        return max(timedelta(0), min(candidates))


@dataclass(frozen=True)
class SlaTarget:
    """A promise: ``duration`` of business time on the calendar named ``calendar``."""

    duration: timedelta
    calendar: str


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    conditions: PolicyConditions = PolicyConditions()
    first_response: SlaTarget | None = None
    next_response: SlaTarget | None = None
    resolution: SlaTarget | None = None
    at_risk: AtRiskRule = AtRiskRule()

    def target(self, metric: SlaMetric) -> SlaTarget | None:
        return getattr(self, metric.value)

    @property
    def is_catch_all(self) -> bool:
        return self.conditions.specificity == 0


def choose_policy(policies: Sequence[SlaPolicy], facts: CaseFacts) -> SlaPolicy:
    """The matching policy that constrains the most facts; on a tie, the first one listed.

    A policy without conditions matches every case and serves as the default.
    """
    best: SlaPolicy | None = None
    for policy in policies:
        if policy.conditions.matches(facts) and (
            best is None or policy.conditions.specificity > best.conditions.specificity
        ):
            best = policy
    if best is None:
        raise NoMatchingPolicy(
            N_("no SLA policy matches this case and no default policy is configured"),
            channel=facts.channel,
            priority=facts.priority,
        )
    return best
