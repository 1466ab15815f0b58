"""The recommender: the proposals for a case and a customer, each with its reason."""

from __future__ import annotations

from collections.abc import Sequence

from egards.errors import InvalidInput
from egards.i18n import N_
from egards.recovery.domain.catalogue import (
    GestureOption,
    _is_int,
    grant_cash_cents,
    grant_cost_cents,
)
from egards.recovery.domain.reasons import (
    _facts,
    _reason,
)
from egards.recovery.domain.signals import (
    CaseSignals,
    CustomerSignals,
    Proposal,
    Weights,
    _fit,
    _history,
    _merited_cents,
    applies,
    merit,
)


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
        raise InvalidInput(N_("top must be at least 1."), field="top")
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
