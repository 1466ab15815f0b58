"""Who wrote, as the customer file sees them today: the live tier and its service level
(loyalty), value and churn risk (analytics), gathered through the ``case_standing`` hook so
that cases, below those features, never imports them. Intake chooses the promise and the
queue rank on it; the case page shows it beside the case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from sqlalchemy.orm import Session

from egards import features
from egards.cases.domain import Standing

_FIELDS = frozenset(f.name for f in fields(Standing)) - {"customer_id"}


def standings(session: Session, customer_ids: Iterable[int]) -> dict[int, Standing]:
    """The standing of each customer, from every feature providing ``service.case_standing(
    session, customer_ids)`` (a mapping of customer id to some of ``Standing``'s fields)."""
    ids = sorted({int(i) for i in customer_ids if i is not None})
    merged: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if ids:
        for _feature, hook in features.hooks("service", "case_standing"):
            for customer_id, values in hook(session, ids).items():
                if customer_id in merged:
                    merged[customer_id].update({k: v for k, v in values.items() if k in _FIELDS})
    return {i: Standing(customer_id=i, **values) for i, values in merged.items()}


def standing_of(session: Session, customer_id: int | None) -> Standing:
    """One sender's standing; an unknown sender's is empty (``is_customer`` false)."""
    if customer_id is None:
        return Standing()
    return standings(session, [customer_id])[customer_id]
