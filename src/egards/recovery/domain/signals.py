"""The customer's signals and the weights, and the merit of each gesture they give."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from egards.errors import InvalidInput
from egards.i18n import N_
from egards.recovery.domain.vocabulary import (
    MEMBERSHIP_KINDS,
    PRIORITIES,
    GestureKind,
)


@dataclass(frozen=True)
class PastGesture:
    """A gesture this customer received before, and whether it worked (``None``: not known yet)."""

    kind: GestureKind
    worked: bool | None


@dataclass(frozen=True)
class CaseSignals:
    """What the case says about the failure."""

    category: str | None
    priority: str = "normal"
    broken_promises: int = 0
    repeated_incidents: int = 0
    sentiment: float | None = None
    tier_lost: str | None = None
    tier_lost_name: str | None = None
    lost_after_service_failure: bool = False


@dataclass(frozen=True)
class CustomerSignals:
    """What we know of the person: relationship, value, risk, and past gestures."""

    is_customer: bool
    tier: str | None = None
    tier_name: str | None = None
    tier_rank: int = 0
    top_rank: int = 0
    tenure_years: float = 0.0
    spend_12m_cents: int = 0
    clv_cents: int | None = None
    churn_risk: float | None = None
    followers: int = 0
    past_gestures: tuple[PastGesture, ...] = ()
    currency_name: dict[str, str] = field(default_factory=lambda: {"fr": "points", "en": "points"})


@dataclass(frozen=True)
class Weights:
    """The recommender's weights (settings); the defaults make the named scenarios hold."""

    value: float = 1.0
    risk: float = 1.0
    need: float = 1.0
    tenure: float = 0.5
    influence: float = 0.0
    cost: float = 1.0
    history: float = 0.5

    def __post_init__(self) -> None:
        for name in ("value", "risk", "need", "tenure", "influence", "cost", "history"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise InvalidInput(
                    N_("Weight {name} must be a finite number, not negative."),
                    name=name,
                    field=f"weights.{name}",
                )


@dataclass(frozen=True)
class Proposal:
    """One recommended gesture, with its expected cost and the reason an agent can read out."""

    code: str
    kind: GestureKind
    expected_cost_cents: int
    cash_cents: int
    score: float
    reason: dict[str, str]
    requires_approval: bool


def _check_signals(case: CaseSignals, customer: CustomerSignals) -> None:
    if case.priority not in PRIORITIES:
        raise InvalidInput(
            N_("Unknown priority {priority!r}."), priority=case.priority, field="priority"
        )
    for name in ("broken_promises", "repeated_incidents"):
        if getattr(case, name) < 0:
            raise InvalidInput(N_("{name} cannot be negative."), name=name, field=name)
    if case.sentiment is not None and not -1.0 <= case.sentiment <= 1.0:
        raise InvalidInput(N_("Sentiment is between -1 and 1."), field="sentiment")
    if customer.churn_risk is not None and not 0.0 <= customer.churn_risk <= 1.0:
        raise InvalidInput(N_("Churn risk is between 0 and 1."), field="churn_risk")
    for name in ("tier_rank", "top_rank", "spend_12m_cents", "followers"):
        if getattr(customer, name) < 0:
            raise InvalidInput(N_("{name} cannot be negative."), name=name, field=name)
    if not math.isfinite(customer.tenure_years) or customer.tenure_years < 0:
        raise InvalidInput(N_("Tenure cannot be negative."), field="tenure_years")
    if customer.clv_cents is not None and customer.clv_cents < 0:
        raise InvalidInput(N_("CLV cannot be negative."), field="clv_cents")


# --- merit ----------------------------------------------------------------------------------

# Log scales for value, in euros: below the floor counts as nothing, above the top as full.
# CLV is a lifetime figure, the 12-month spend an annual one, hence two scales.
CLV_SCALE_EUROS = (50.0, 20_000.0)
SPEND_SCALE_EUROS = (20.0, 8_000.0)
TENURE_FULL_YEARS = 10.0
# Churn risk assumed for a customer without a score: low, so an unscored customer is not
# treated as leaving.
DEFAULT_CHURN_RISK = 0.25
PRIORITY_NEED = {"low": 0.0, "normal": 0.2, "high": 0.5, "urgent": 0.8}
# Followers count on a log scale up to a million; their bonus is at most this share of what
# the value weight can give, and never more than INFLUENCE_CAP in merit.
FOLLOWERS_FULL = 1_000_000
INFLUENCE_SHARE_OF_VALUE = 0.2
INFLUENCE_CAP = 0.05
# Someone who buys nothing merits an apology, not an investment (seed 001: loyalty first).
NON_CUSTOMER_CEILING = 0.3


def _log_scale(euros: float, scale: tuple[float, float]) -> float:
    low, high = scale
    if euros <= low:
        return 0.0
    return min(1.0, (math.log10(euros) - math.log10(low)) / (math.log10(high) - math.log10(low)))


def _noisy_or(*parts: float) -> float:
    """Several independent reasons, each in [0, 1], combined without exceeding 1."""
    remaining = 1.0
    for part in parts:
        remaining *= 1.0 - min(1.0, max(0.0, part))
    return 1.0 - remaining


def _money_value(customer: CustomerSignals) -> float:
    if customer.clv_cents is not None:
        return _log_scale(customer.clv_cents / 100, CLV_SCALE_EUROS)
    return _log_scale(customer.spend_12m_cents / 100, SPEND_SCALE_EUROS)


def _tier_share(customer: CustomerSignals) -> float:
    if customer.top_rank <= 0 or customer.tier is None:
        return 0.0
    return min(1.0, customer.tier_rank / customer.top_rank)


def _value(customer: CustomerSignals) -> float:
    if not customer.is_customer:
        return 0.0
    return 0.75 * _money_value(customer) + 0.25 * _tier_share(customer)


def _need(case: CaseSignals) -> float:
    """Severity of the failure: priority, broken promises, repeats, anger, and a lost tier."""
    anger = max(0.0, -case.sentiment) if case.sentiment is not None else 0.0
    tier = 0.0
    if case.tier_lost:
        tier = 0.7 if case.lost_after_service_failure else 0.3
    return _noisy_or(
        PRIORITY_NEED[case.priority],
        0.7 * min(1.0, case.broken_promises / 2),
        0.5 * min(1.0, case.repeated_incidents / 3),
        0.5 * anger,
        tier,
    )


def _material_need(case: CaseSignals) -> float:
    """The part of the need that money answers: promises broken, incidents repeated, urgency."""
    return _noisy_or(
        PRIORITY_NEED[case.priority],
        0.7 * min(1.0, case.broken_promises / 2),
        0.5 * min(1.0, case.repeated_incidents / 3),
    )


def _influence(customer: CustomerSignals) -> float:
    if customer.followers <= 0:
        return 0.0
    return min(1.0, math.log10(1 + customer.followers) / math.log10(FOLLOWERS_FULL))


def merit(case: CaseSignals, customer: CustomerSignals, weights: Weights = Weights()) -> float:
    """How much this customer and case merit a recovery effort, in [0, 1].

    A weighted mean of value (log-scaled CLV, or 12-month spend, with the tier), churn risk,
    tenure and the need of the case. Followers add at most ``INFLUENCE_CAP`` and a fifth of
    what the value weight could; a non-customer never goes above ``NON_CUSTOMER_CEILING``.
    """
    _check_signals(case, customer)
    parts = (
        (weights.value, _value(customer)),
        (weights.risk, _risk(customer)),
        (weights.need, _need(case)),
        (weights.tenure, _tenure(customer)),
    )
    total = sum(w for w, _ in parts)
    base = sum(w * x for w, x in parts) / total if total > 0 else 0.0
    if total > 0:
        share = min(weights.influence, INFLUENCE_SHARE_OF_VALUE * weights.value) / total
        base += min(INFLUENCE_CAP, share * _influence(customer))
    if not customer.is_customer:
        base = min(base, NON_CUSTOMER_CEILING)
    return min(1.0, max(0.0, base))


def _risk(customer: CustomerSignals) -> float:
    if not customer.is_customer:
        return 0.0
    return customer.churn_risk if customer.churn_risk is not None else DEFAULT_CHURN_RISK


def _tenure(customer: CustomerSignals) -> float:
    if not customer.is_customer:
        return 0.0
    return min(1.0, customer.tenure_years / TENURE_FULL_YEARS)


# --- recommender ----------------------------------------------------------------------------

# What a customer merits, in cents: merit × (a base any customer deserves + a share of value).
MERITED_BASE_CENTS = 100_00
MERITED_SHARE_OF_CLV = 0.05
MERITED_SHARE_OF_SPEND = 0.15


def _is_member(customer: CustomerSignals) -> bool:
    return customer.is_customer and customer.tier is not None


def applies(kind: str, case: CaseSignals, customer: CustomerSignals) -> bool:
    """Whether a gesture of this kind can be granted at all to this customer for this case.

    Points, upgrades, lounge passes and status exceptions live on a membership; a credit needs a
    customer account; letters, vouchers and invitations can go to anyone.
    """
    if kind in MEMBERSHIP_KINDS and not _is_member(customer):
        return False
    if kind == "status_exception" and not (case.tier_lost or customer.tier):
        return False
    return not (kind == "credit" and not customer.is_customer)


def _merited_cents(customer: CustomerSignals, score: float) -> float:
    if customer.clv_cents is not None:
        stake = MERITED_SHARE_OF_CLV * customer.clv_cents
    else:
        stake = MERITED_SHARE_OF_SPEND * customer.spend_12m_cents
    if not customer.is_customer:
        stake = 0.0
    return score * (MERITED_BASE_CENTS + stake)


def _fit(kind: str, case: CaseSignals, customer: CustomerSignals, score: float) -> float:
    """How well a kind answers the situation, in [0, 1], before cost and history."""
    value = _value(customer)
    member = _is_member(customer)
    if kind == "letter":
        return 0.25 + 0.55 * (1.0 - score)
    if kind == "status_exception":
        if case.tier_lost and case.lost_after_service_failure:
            return 0.5 + 0.5 * score
        if case.tier_lost:
            return 0.15 + 0.4 * score
        return 0.05 + 0.3 * score * _tier_share(customer)
    if kind == "points":
        return 0.4 + 0.3 * _material_need(case)
    if kind == "event_invitation":
        return 0.15 + 0.55 * value if member else 0.1
    if kind == "upgrade":
        return 0.15 + 0.5 * value
    if kind == "lounge_pass":
        return 0.15 + 0.4 * value
    if kind == "credit":
        return 0.1 + 0.5 * _material_need(case)
    # voucher
    return (0.15 if customer.is_customer else 0.05) + 0.4 * _material_need(case)


def _history(kind: str, customer: CustomerSignals) -> tuple[float, int, int]:
    """Share of past gestures of this kind that worked minus the share that did not."""
    worked = sum(1 for g in customer.past_gestures if g.kind == kind and g.worked is True)
    failed = sum(1 for g in customer.past_gestures if g.kind == kind and g.worked is False)
    return (worked - failed) / max(1, worked + failed), worked, failed
