"""Service recovery rules: gesture costs, budget routing, the recommender and the return report.

Pure functions over plain values: no database, no web, no clock. Money is integer cents and
points are integers; floats only for scores, rates and weights. The recommender is meant to be
read by the agent who uses it: every proposal carries the facts that drove it, in French and
English. Seed 001 ("Rachel's customer") is the scenario it must get right: a loyal Gold member
downgraded after a service failure gets his tier back before anything else.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np

from egards.errors import InvalidInput
from egards.formats import format_money as _format_money
from egards.formats import format_number as _format_number

# --- vocabulary -----------------------------------------------------------------------------

GestureKind = Literal[
    "points",
    "voucher",
    "upgrade",
    "lounge_pass",
    "event_invitation",
    "letter",
    "credit",
    "status_exception",
]
KINDS: tuple[str, ...] = get_args(GestureKind)

# Kinds granted by amount (points, or face value in cents); the others cost a fixed price.
AMOUNT_KINDS = frozenset({"points", "voucher", "credit"})
# Kinds that live on a loyalty membership: no tier, nothing to post or to keep.
MEMBERSHIP_KINDS = frozenset({"points", "status_exception", "upgrade", "lounge_pass"})

# Beyond these an amount is a typing or unit error (euros typed as cents, an extra zero).
MAX_POINTS = 10_000_000
MAX_CENTS = 1_000_000_00

Route = Literal["grant", "approval"]
REASONS = (
    "within_budget",
    "over_agent_budget",
    "over_team_budget",
    "status_exception",
    "approval_required",
)

PRIORITIES = ("low", "normal", "high", "urgent")


# --- catalogue and cost ---------------------------------------------------------------------


@dataclass(frozen=True)
class GestureOption:
    """One entry of the gesture catalogue, with its cost model and its name in both languages."""

    code: str
    kind: GestureKind
    name: dict[str, str]
    cost_cents: int
    cash_cents: int = 0
    amount: int | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    cost_per_thousand_cents: int | None = None
    cost_percent: int = 100
    requires_approval: bool = False
    active: bool = True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def validate_option(option: GestureOption) -> GestureOption:
    """The option itself if its catalogue entry is coherent; otherwise ``InvalidInput``.

    A status exception always needs a supervisor (issue 6, "Budgets and approvals"), so an entry
    that says otherwise is refused rather than silently corrected.
    """
    if not option.code or option.code != option.code.strip() or len(option.code) > 64:
        raise InvalidInput("A gesture code is 1 to 64 characters, no spaces.", field="code")
    if option.kind not in KINDS:
        raise InvalidInput(f"Unknown gesture kind {option.kind!r}.", field="kind")
    for lang in ("fr", "en"):
        text = option.name.get(lang) if isinstance(option.name, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"The gesture needs a name in {lang!r}.", field="name")
    for name in ("cost_cents", "cash_cents"):
        value = getattr(option, name)
        if not _is_int(value) or value < 0 or value > MAX_CENTS:
            raise InvalidInput(f"{name} must be whole cents between 0 and {MAX_CENTS}.", field=name)
    if option.cash_cents > option.cost_cents:
        raise InvalidInput("The cash part cannot exceed the cost.", field="cash_cents")
    if option.kind == "status_exception" and not option.requires_approval:
        raise InvalidInput(
            "A status exception always requires a supervisor's approval.",
            field="requires_approval",
        )
    if option.kind not in AMOUNT_KINDS:
        for name in ("amount", "min_amount", "max_amount"):
            if getattr(option, name) is not None:
                raise InvalidInput(f"A {option.kind} takes no amount.", field=name)
        return option
    if option.amount is None:
        raise InvalidInput(f"A {option.kind} needs a default amount.", field="amount")
    if option.kind == "points":
        per_thousand = option.cost_per_thousand_cents
        if per_thousand is None or not _is_int(per_thousand) or per_thousand < 0:
            raise InvalidInput(
                "Points need the cost of 1000 points in cents.", field="cost_per_thousand_cents"
            )
    elif not _is_int(option.cost_percent) or not 0 <= option.cost_percent <= 100:
        raise InvalidInput("cost_percent is between 0 and 100.", field="cost_percent")
    low, high = option.min_amount, option.max_amount
    if low is not None and high is not None and low > high:
        raise InvalidInput("min_amount is above max_amount.", field="min_amount")
    _check_amount(option, option.amount)
    return option


def validate_catalogue(options: Sequence[GestureOption]) -> list[GestureOption]:
    """Every option validated, and codes unique across the catalogue."""
    seen: set[str] = set()
    for option in options:
        validate_option(option)
        if option.code in seen:
            raise InvalidInput(f"Gesture code {option.code!r} appears twice.", field="code")
        seen.add(option.code)
    return list(options)


def _check_amount(option: GestureOption, amount: object) -> int:
    """``amount`` as a valid integer for this option, or ``InvalidInput`` on field ``amount``."""
    unit = "points" if option.kind == "points" else "cents"
    if not _is_int(amount):
        raise InvalidInput(f"The amount must be a whole number of {unit}.", field="amount")
    assert isinstance(amount, int)
    if amount < 1:
        raise InvalidInput("The amount must be at least 1.", field="amount", amount=amount)
    ceiling = MAX_POINTS if option.kind == "points" else MAX_CENTS
    if amount > ceiling:
        raise InvalidInput(
            f"{amount} {unit} is not a plausible gesture (at most {ceiling}).",
            field="amount",
            amount=amount,
        )
    if option.min_amount is not None and amount < option.min_amount:
        raise InvalidInput(
            f"This gesture starts at {option.min_amount} {unit}.", field="amount", amount=amount
        )
    if option.max_amount is not None and amount > option.max_amount:
        raise InvalidInput(
            f"This gesture goes up to {option.max_amount} {unit}.", field="amount", amount=amount
        )
    return amount


def _amount_or_default(option: GestureOption, amount: int | None) -> int | None:
    if option.kind not in AMOUNT_KINDS:
        if amount is not None:
            raise InvalidInput(f"A {option.kind} takes no amount.", field="amount")
        return None
    if amount is None:
        amount = option.amount
    if amount is None:
        raise InvalidInput(f"This {option.kind} needs an amount.", field="amount")
    return _check_amount(option, amount)


def grant_cost_cents(option: GestureOption, amount: int | None) -> int:
    """Exact cost in cents of granting ``amount`` (``None``: the option's default).

    Points cost ``amount × cost_per_thousand / 1000``, vouchers and credits ``amount ×
    cost_percent / 100``, both rounded half up to the cent; other kinds cost ``cost_cents``.
    """
    value = _amount_or_default(option, amount)
    if value is None:
        return option.cost_cents
    if option.kind == "points":
        per_thousand = option.cost_per_thousand_cents
        if per_thousand is None:
            raise InvalidInput(
                "Points need the cost of 1000 points in cents.", field="cost_per_thousand_cents"
            )
        return (value * per_thousand + 500) // 1000
    return (value * option.cost_percent + 50) // 100


def grant_cash_cents(option: GestureOption, amount: int | None) -> int:
    """Cash paid out for ``amount``: the catalogue's cash share, scaled from the default amount."""
    cost = grant_cost_cents(option, amount)
    value = _amount_or_default(option, amount)
    if value is None or option.amount is None:
        return min(cost, option.cash_cents)
    return min(cost, _half_up(value * option.cash_cents, option.amount))


# --- budgets and routing --------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """A monthly discretionary budget and what was spent from it, in cents of cost."""

    limit_cents: int
    spent_cents: int

    def __post_init__(self) -> None:
        for name in ("limit_cents", "spent_cents"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise InvalidInput(f"{name} must be whole cents, not negative.", field=name)

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
        raise InvalidInput("The cost must be whole cents, not negative.", field="cost_cents")
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
        raise InvalidInput("The moment must carry a time zone.", field="moment")
    local = moment.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"


# --- signals and weights --------------------------------------------------------------------


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
                    f"Weight {name} must be a finite number, not negative.",
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
        raise InvalidInput(f"Unknown priority {case.priority!r}.", field="priority")
    for name in ("broken_promises", "repeated_incidents"):
        if getattr(case, name) < 0:
            raise InvalidInput(f"{name} cannot be negative.", field=name)
    if case.sentiment is not None and not -1.0 <= case.sentiment <= 1.0:
        raise InvalidInput("Sentiment is between -1 and 1.", field="sentiment")
    if customer.churn_risk is not None and not 0.0 <= customer.churn_risk <= 1.0:
        raise InvalidInput("Churn risk is between 0 and 1.", field="churn_risk")
    for name in ("tier_rank", "top_rank", "spend_12m_cents", "followers"):
        if getattr(customer, name) < 0:
            raise InvalidInput(f"{name} cannot be negative.", field=name)
    if not math.isfinite(customer.tenure_years) or customer.tenure_years < 0:
        raise InvalidInput("Tenure cannot be negative.", field="tenure_years")
    if customer.clv_cents is not None and customer.clv_cents < 0:
        raise InvalidInput("CLV cannot be negative.", field="clv_cents")


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


def recommend(
    case: CaseSignals,
    customer: CustomerSignals,
    catalogue: Sequence[GestureOption],
    weights: Weights = Weights(),
    *,
    top: int = 3,
) -> list[Proposal]:
    """The ``top`` gestures for this case, best first, at most one per kind.

    Score = fit of the kind to the situation − ``weights.cost`` × c / (c + what the customer
    merits) + ``weights.history`` × (share of past gestures of the kind that worked − share
    that did not), where c counts the cash in full and the rest of the cost at half, since
    seed 001's remedies (a tier kept, miles, an invitation) cost little in cash.
    Only active options whose kind applies are considered; equal scores are ordered by code,
    so the result depends on nothing but the inputs.
    """
    if not _is_int(top) or top < 1:
        raise InvalidInput("top must be at least 1.", field="top")
    score = merit(case, customer, weights)
    merited = _merited_cents(customer, score)
    facts = _facts(case, customer)
    best: dict[str, Proposal] = {}
    for option in catalogue:
        if not option.active or not applies(option.kind, case, customer):
            continue
        cost = grant_cost_cents(option, None)
        cash = grant_cash_cents(option, None)
        spent = cash + (cost - cash) / 2
        penalty = spent / (spent + merited) if spent > 0 else 0.0
        history, worked, failed = _history(option.kind, customer)
        value = (
            _fit(option.kind, case, customer, score)
            - weights.cost * penalty
            + weights.history * history
        )
        proposal = Proposal(
            code=option.code,
            kind=option.kind,
            expected_cost_cents=cost,
            cash_cents=cash,
            score=round(value, 6),
            reason=_reason(option, case, customer, facts, cost, cash, worked, failed),
            requires_approval=option.requires_approval or option.kind == "status_exception",
        )
        current = best.get(option.kind)
        if current is None or _rank_key(proposal) < _rank_key(current):
            best[option.kind] = proposal
    return sorted(best.values(), key=_rank_key)[:top]


def _rank_key(proposal: Proposal) -> tuple[float, str]:
    return (-proposal.score, proposal.code)


# --- reasons --------------------------------------------------------------------------------


def format_money(cents: int, lang: str) -> str:
    """``€8,400`` / ``8 400 €`` (Babel), with cents only when there are any."""
    return _format_money(cents, lang)


def _format_count(value: int, lang: str) -> str:
    return _format_number(value, lang)


def _years(years: float, lang: str) -> str:
    whole = int(years)
    if whole < 1:
        return "moins d'un an" if lang == "fr" else "less than a year"
    if lang == "fr":
        return f"{whole} an" if whole == 1 else f"{whole} ans"
    return f"{whole} year" if whole == 1 else f"{whole} years"


def _facts(case: CaseSignals, customer: CustomerSignals) -> dict[str, list[str]]:
    """The facts an agent would cite, in each language, most telling first."""
    facts: dict[str, list[str]] = {"fr": [], "en": []}
    if not customer.is_customer:
        facts["fr"].append("pas client")
        facts["en"].append("not a customer")
    else:
        held = case.tier_lost_name if case.tier_lost else None
        label = held or customer.tier_name or customer.tier
        if label:
            facts["fr"].append(f"{label} depuis {_years(customer.tenure_years, 'fr')}")
            facts["en"].append(f"{label} for {_years(customer.tenure_years, 'en')}")
        else:
            facts["fr"].append(f"client depuis {_years(customer.tenure_years, 'fr')}")
            facts["en"].append(f"customer for {_years(customer.tenure_years, 'en')}")
        if customer.clv_cents is not None:
            facts["fr"].append(f"valeur client {format_money(_whole(customer.clv_cents), 'fr')}")
            facts["en"].append(f"CLV {format_money(_whole(customer.clv_cents), 'en')}")
        elif customer.spend_12m_cents > 0:
            spend = _whole(customer.spend_12m_cents)
            facts["fr"].append(f"{format_money(spend, 'fr')} d'achats sur 12 mois")
            facts["en"].append(f"{format_money(spend, 'en')} spent in 12 months")
    if case.broken_promises:
        n = case.broken_promises
        facts["fr"].append(f"{n} promesse{'s' if n > 1 else ''} non tenue{'s' if n > 1 else ''}")
        facts["en"].append(f"{n} broken promise{'s' if n > 1 else ''}")
    if case.repeated_incidents:
        n = case.repeated_incidents
        facts["fr"].append(
            f"{n} autre{'s' if n > 1 else ''} dossier{'s' if n > 1 else ''} en 12 mois"
        )
        facts["en"].append(f"{n} other case{'s' if n > 1 else ''} in 12 months")
    if case.tier_lost and case.lost_after_service_failure:
        facts["fr"].append("déclassé après un incident de service")
        facts["en"].append("downgraded after a service failure")
    elif case.tier_lost:
        facts["fr"].append("déclassé ces 12 derniers mois")
        facts["en"].append("downgraded in the last 12 months")
    if case.sentiment is not None and case.sentiment <= -0.5:
        facts["fr"].append("très mécontent")
        facts["en"].append("very unhappy")
    return facts


def _whole(cents: int) -> int:
    """Cents rounded half up to whole euros, still in cents: value figures need no cents."""
    return (cents + 50) // 100 * 100


def _action(option: GestureOption, case: CaseSignals, customer: CustomerSignals, lang: str) -> str:
    if option.kind == "status_exception":
        if case.tier_lost and case.tier_lost_name:
            return (
                f"rétablir {case.tier_lost_name}"
                if lang == "fr"
                else f"restore {case.tier_lost_name}"
            )
        if customer.tier_name:
            if lang == "fr":
                return f"maintenir {customer.tier_name} une période de plus"
            return f"keep {customer.tier_name} for one more period"
    if option.kind == "points" and option.amount is not None:
        currency = customer.currency_name.get(lang) or customer.currency_name.get("en", "points")
        count = _format_count(option.amount, lang)
        return f"{count} {currency} offerts" if lang == "fr" else f"{count} bonus {currency}"
    return option.name.get(lang) or option.name.get("en") or option.code


def _reason(
    option: GestureOption,
    case: CaseSignals,
    customer: CustomerSignals,
    facts: dict[str, list[str]],
    cost: int,
    cash: int,
    worked: int,
    failed: int,
) -> dict[str, str]:
    """``Gold for 6 years, CLV €8,400, …: restore Gold, cost €0 in cash (€120 in all)``."""
    reason = {}
    for lang in ("fr", "en"):
        if lang == "fr":
            price = f"coût {format_money(cash, 'fr')} en numéraire"
            if cost != cash:
                price += f" ({format_money(cost, 'fr')} au total)"
            past = ""
            if failed and not worked:
                past = ", n'a pas fonctionné la dernière fois"
            elif worked and not failed:
                past = ", a déjà fonctionné"
        else:
            price = f"cost {format_money(cash, 'en')} in cash"
            if cost != cash:
                price += f" ({format_money(cost, 'en')} in all)"
            past = ""
            if failed and not worked:
                past = ", did not work last time"
            elif worked and not failed:
                past = ", worked before"
        head = ", ".join(facts[lang])
        action = _action(option, case, customer, lang)
        colon = "\u00a0: " if lang == "fr" else ": "
        line = f"{head}{colon}{action}, {price}{past}" if head else f"{action}, {price}{past}"
        reason[lang] = line[0].upper() + line[1:]
    return reason


# --- return on gestures ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What followed a gesture (treated) or a similar case that received none (control)."""

    customer_id: int
    on: date
    category: str | None
    value_band: int
    kind: GestureKind | None
    cost_cents: int = 0
    spend_90_cents: int = 0
    spend_180_cents: int = 0
    active_180: bool = False
    stayed: bool = True
    csat: int | None = None


@dataclass(frozen=True)
class KindReturn:
    """The matched comparison for one gesture kind (or ``all``)."""

    kind: str
    gestures: int
    matched: int
    cost_cents: int
    spend_180_treated_cents: float
    spend_180_control_cents: float
    spend_90_treated_cents: float
    spend_90_control_cents: float
    stayed_treated: float
    stayed_control: float
    csat_treated: float | None
    csat_control: float | None
    uplift_cents: int
    return_per_euro: float | None


@dataclass(frozen=True)
class ReturnReport:
    """Returns by kind in catalogue order, their total, and how they were computed."""

    kinds: list[KindReturn]
    total: KindReturn
    method: str
    method_fr: str = ""


@dataclass(frozen=True)
class _Pair:
    """One treated outcome and the means of its matched controls (``None`` when unmatched)."""

    treated: Outcome
    spend_180: Fraction | None
    spend_90: Fraction | None
    stayed: Fraction | None
    csat: Fraction | None


def _check_outcome(outcome: Outcome, *, treated: bool) -> None:
    where = "treated" if treated else "controls"
    if treated and outcome.kind not in KINDS:
        raise InvalidInput(
            f"A treated outcome needs a gesture kind, got {outcome.kind!r}.", field=where
        )
    if not treated and outcome.kind is not None:
        raise InvalidInput("A control received no gesture: its kind is None.", field=where)
    for name in ("cost_cents", "spend_90_cents", "spend_180_cents", "value_band"):
        if getattr(outcome, name) < 0:
            raise InvalidInput(f"{name} cannot be negative.", field=where)
    if outcome.csat is not None and not 1 <= outcome.csat <= 5:
        raise InvalidInput("CSAT is between 1 and 5.", field=where)


def _match(
    treated: Sequence[Outcome], controls: Sequence[Outcome], *, window_days: int, k: int
) -> list[_Pair]:
    """For each treated outcome, the means over its k nearest controls of the same stratum."""
    strata: dict[tuple[str | None, int], list[Outcome]] = defaultdict(list)
    for control in controls:
        strata[(control.category, control.value_band)].append(control)
    arrays = {}
    for key, group in strata.items():
        days = np.array([c.on.toordinal() for c in group], dtype=np.int64)
        order = np.argsort(days, kind="stable")
        arrays[key] = (
            days[order],
            np.array([c.customer_id for c in group], dtype=np.int64)[order],
            [group[i] for i in order],
        )
    pairs: list[_Pair] = []
    for outcome in treated:
        found = arrays.get((outcome.category, outcome.value_band))
        chosen: list[Outcome] = []
        if found is not None:
            days, ids, group = found
            day = outcome.on.toordinal()
            lo = int(np.searchsorted(days, day - window_days, side="left"))
            hi = int(np.searchsorted(days, day + window_days, side="right"))
            window = np.arange(lo, hi)
            window = window[ids[lo:hi] != outcome.customer_id]
            distance = np.abs(days[window] - day)
            nearest = window[np.lexsort((ids[window], distance))][:k]
            chosen = [group[i] for i in nearest]
        if not chosen:
            pairs.append(_Pair(outcome, None, None, None, None))
            continue
        n = len(chosen)
        rated = [c.csat for c in chosen if c.csat is not None]
        pairs.append(
            _Pair(
                outcome,
                Fraction(sum(c.spend_180_cents for c in chosen), n),
                Fraction(sum(c.spend_90_cents for c in chosen), n),
                Fraction(sum(1 for c in chosen if c.stayed), n),
                Fraction(sum(rated), len(rated)) if rated else None,
            )
        )
    return pairs


def _mean(values: list[Fraction]) -> float:
    return float(sum(values, Fraction(0)) / len(values)) if values else 0.0


def _summarise(kind: str, pairs: list[_Pair], margin_percent: int) -> KindReturn:
    matched = [p for p in pairs if p.spend_180 is not None]
    uplift = sum(
        (Fraction(p.treated.spend_180_cents) - (p.spend_180 or 0) for p in matched), Fraction(0)
    )
    matched_cost = sum(p.treated.cost_cents for p in matched)
    own_csat = [Fraction(p.treated.csat) for p in matched if p.treated.csat is not None]
    other_csat = [p.csat for p in matched if p.csat is not None]
    return KindReturn(
        kind=kind,
        gestures=len(pairs),
        matched=len(matched),
        cost_cents=sum(p.treated.cost_cents for p in pairs),
        spend_180_treated_cents=_mean([Fraction(p.treated.spend_180_cents) for p in matched]),
        spend_180_control_cents=_mean([p.spend_180 for p in matched if p.spend_180 is not None]),
        spend_90_treated_cents=_mean([Fraction(p.treated.spend_90_cents) for p in matched]),
        spend_90_control_cents=_mean([p.spend_90 for p in matched if p.spend_90 is not None]),
        stayed_treated=_mean([Fraction(int(p.treated.stayed)) for p in matched]),
        stayed_control=_mean([p.stayed for p in matched if p.stayed is not None]),
        csat_treated=_mean(own_csat) if own_csat else None,
        csat_control=_mean(other_csat) if other_csat else None,
        uplift_cents=math.floor(uplift + Fraction(1, 2)),
        return_per_euro=(
            float(uplift * margin_percent / 100 / matched_cost) if matched_cost > 0 else None
        ),
    )


def compare(
    treated: Sequence[Outcome],
    controls: Sequence[Outcome],
    *,
    margin_percent: int = 30,
    window_days: int = 60,
    k: int = 5,
) -> ReturnReport:
    """Return on gestures by kind, from a matched comparison with cases that received nothing.

    Each gesture is matched with up to ``k`` controls of the same case category and value band,
    dated within ``window_days`` of it, from other customers, nearest in time first (ties by
    customer id). Gestures without a match count in ``gestures`` only. Uplift is summed over
    matched gestures; the return per euro divides uplift × margin by the matched gestures' cost.
    """
    if not _is_int(margin_percent) or not 0 <= margin_percent <= 100:
        raise InvalidInput("The margin is a percent between 0 and 100.", field="margin_percent")
    if not _is_int(window_days) or window_days < 0:
        raise InvalidInput("The window is a number of days, not negative.", field="window_days")
    if not _is_int(k) or k < 1:
        raise InvalidInput("At least one control per gesture.", field="k")
    for outcome in treated:
        _check_outcome(outcome, treated=True)
    for outcome in controls:
        _check_outcome(outcome, treated=False)
    pairs = _match(treated, controls, window_days=window_days, k=k)
    by_kind: dict[str, list[_Pair]] = defaultdict(list)
    for pair in pairs:
        by_kind[str(pair.treated.kind)].append(pair)
    kinds = [_summarise(kind, by_kind[kind], margin_percent) for kind in KINDS if kind in by_kind]
    return ReturnReport(
        kinds=kinds,
        total=_summarise("all", pairs, margin_percent),
        method=_method(margin_percent=margin_percent, window_days=window_days, k=k),
        method_fr=_method_fr(margin_percent=margin_percent, window_days=window_days, k=k),
    )


def _method(*, margin_percent: int, window_days: int, k: int) -> str:
    return (
        f"Each gesture is compared with up to {k} cases that received no gesture: same case "
        f"category, same customer value band, opened within {window_days} days of the gesture, "
        "from other customers, the nearest in time first (ties by customer id). For each "
        "gesture the control figures are the means over its matches; the report shows the "
        "means over matched gestures of spend in the 90 and 180 days after, the share of "
        "customers who stayed, and CSAT on the case. Uplift is the sum, over matched gestures, "
        "of the customer's 180-day spend minus the mean of its matches'; the return per euro "
        f"is that uplift at a {margin_percent}% margin divided by the cost of the matched "
        "gestures. Gestures without any match are counted and costed but left out of the "
        "comparison. This is a matched comparison, not a randomised trial: agents chose who "
        "received a gesture, so read the figures as an indication, not as proof."
    )


def _method_fr(*, margin_percent: int, window_days: int, k: int) -> str:
    return (
        f"Chaque geste est comparé à {k} demandes au plus qui n'en ont reçu aucun : même "
        f"catégorie, même tranche de valeur client, ouvertes à {window_days} jours au plus du "
        "geste, d'autres clients, les plus proches dans le temps d'abord (à égalité, par numéro "
        "de client). Pour chaque geste, les chiffres témoins sont les moyennes de ses "
        "appariements ; le rapport montre les moyennes, sur les gestes appariés, des dépenses "
        "dans les 90 et 180 jours suivants, de la part de clients restés et de la satisfaction "
        "sur la demande. Le gain est la somme, sur les gestes appariés, des dépenses à 180 jours "
        "du client moins la moyenne de celles de ses témoins ; le retour par euro est ce gain, "
        f"à {margin_percent} % de marge, divisé par le coût des gestes appariés. Les gestes sans "
        "témoin sont comptés et leur coût aussi, mais ils sortent de la comparaison. C'est une "
        "comparaison appariée, pas un essai randomisé : les conseillers ont choisi à qui faire "
        "un geste, ces chiffres indiquent une tendance, ils ne prouvent rien."
    )
