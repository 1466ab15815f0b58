"""The return on gestures: cost and what followed each gesture granted at least 90 days ago,
against similar cases that received nothing, matched by case category and customer value.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.analytics import service as analytics
from egards.cases import service as cases
from egards.customers import service as customers
from egards.features import hooks
from egards.loyalty import service as loyalty
from egards.recovery import domain
from egards.recovery.models import (
    Grant,
)

from ._common import GRANTED, _settings


def returns(session: Session, *, actor: Actor, as_of: date | None = None) -> domain.ReturnReport:
    """Cost and what followed each gesture, against similar cases that received nothing.

    Treated: gestures granted at least 90 days before ``as_of`` (what followed must have had
    time to happen). Controls: cases of other customers, or earlier cases of no gesture, with a
    customer and no gesture. Both are described by the case category and the customer's value
    decile; :func:`egards.recovery.domain.compare` matches them. A subscriber (a feature's
    ``contract_ends`` hook knows them) stayed when no contract of theirs ended in the 180 days
    after; another customer when still active and buying in those days.
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
    # Subscribers stay or leave by their contracts, not by their purchases (a hook).
    contract_ends: dict[int, list[date]] = {}
    for _feature, ends in hooks("service", "contract_ends"):
        contract_ends.update(ends(session, customer_ids))
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
        category, csat = (None, None) if case_id is None else facts.get(case_id, (None, None))
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
            stayed=status.get(customer_id) == "active"
            and (
                domain.stayed_after(on, contract_ends[customer_id])
                if customer_id in contract_ends
                else count_180 > 0
            ),
            csat=csat,
        )

    treated = [
        outcome(r.customer_id, r.granted_at.date(), r.case_id, r.kind, r.cost_cents)
        for r in treated_rows
    ]
    controls = [outcome(r.customer_id, r.created_at.date(), r.id, None, 0) for r in control_rows]
    return domain.compare(treated, controls, margin_percent=_settings().margin_percent)
