"""Service recovery rules: gesture costs, budget routing, the recommender and the return report.

Pure functions over plain values: no database, no web, no clock. Money is integer cents and
points are integers; floats only for scores, rates and weights. The recommender is meant to be
read by the agent who uses it: every proposal carries the facts that drove it, in French and
English. Seed 001 ("Rachel's customer") is the scenario it must get right: a loyal Gold member
downgraded after a service failure gets his tier back before anything else.

A package of modules named for what they do; every name is importable from here.
"""

from __future__ import annotations

from egards.recovery.domain.budgets import (
    Budget,
    Decision,
    month_of,
    route_grant,
)
from egards.recovery.domain.catalogue import (
    GestureOption,
    grant_cash_cents,
    grant_cost_cents,
    validate_catalogue,
    validate_option,
)
from egards.recovery.domain.reasons import (
    format_money,
)
from egards.recovery.domain.recommender import (
    recommend,
)
from egards.recovery.domain.returns import (
    KindReturn,
    Outcome,
    ReturnReport,
    compare,
    stayed_after,
)
from egards.recovery.domain.signals import (
    CLV_SCALE_EUROS,
    DEFAULT_CHURN_RISK,
    FOLLOWERS_FULL,
    INFLUENCE_CAP,
    INFLUENCE_SHARE_OF_VALUE,
    MERITED_BASE_CENTS,
    MERITED_SHARE_OF_CLV,
    MERITED_SHARE_OF_SPEND,
    NON_CUSTOMER_CEILING,
    PRIORITY_NEED,
    SPEND_SCALE_EUROS,
    TENURE_FULL_YEARS,
    CaseSignals,
    CustomerSignals,
    PastGesture,
    Proposal,
    Weights,
    applies,
    merit,
)
from egards.recovery.domain.vocabulary import (
    AMOUNT_KINDS,
    KINDS,
    MAX_CENTS,
    MAX_POINTS,
    MEMBERSHIP_KINDS,
    PRIORITIES,
    REASONS,
    GestureKind,
    Route,
    gesture_kind,
)

__all__ = [
    "AMOUNT_KINDS",
    "CLV_SCALE_EUROS",
    "DEFAULT_CHURN_RISK",
    "FOLLOWERS_FULL",
    "INFLUENCE_CAP",
    "INFLUENCE_SHARE_OF_VALUE",
    "KINDS",
    "MAX_CENTS",
    "MAX_POINTS",
    "MEMBERSHIP_KINDS",
    "MERITED_BASE_CENTS",
    "MERITED_SHARE_OF_CLV",
    "MERITED_SHARE_OF_SPEND",
    "NON_CUSTOMER_CEILING",
    "PRIORITIES",
    "PRIORITY_NEED",
    "REASONS",
    "SPEND_SCALE_EUROS",
    "TENURE_FULL_YEARS",
    "Budget",
    "CaseSignals",
    "CustomerSignals",
    "Decision",
    "GestureKind",
    "GestureOption",
    "KindReturn",
    "Outcome",
    "PastGesture",
    "Proposal",
    "ReturnReport",
    "Route",
    "Weights",
    "applies",
    "compare",
    "format_money",
    "gesture_kind",
    "grant_cash_cents",
    "grant_cost_cents",
    "merit",
    "month_of",
    "recommend",
    "route_grant",
    "stayed_after",
    "validate_catalogue",
    "validate_option",
]
