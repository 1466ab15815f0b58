"""Probabilistic linking of unlinked profiles with the Splink model (``linking``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor
from egards.errors import Conflict
from egards.messages import message
from egards.social import linking
from egards.social.domain import CLOSE_CANDIDATE, LinkMethod, LinkStatus
from egards.social.models import (
    SocialLink,
    SocialProfile,
)
from egards.social.service import activity
from egards.social.service.links import _link, propose_link, refused_customers
from egards.social.service.profiles import LINKER
from egards.social.service.retraining import current_m
from egards.social.settings import SocialSettings, link_thresholds


@dataclass
class LinkRun:
    profiles: int = 0
    customers: int = 0
    linked: int = 0
    to_review: int = 0
    seconds: float = 0.0


_ACTIVE_CUSTOMERS = (
    "SELECT c.id, c.first_name, c.last_name, c.city, c.preferred_language, c.birth_date,"
    " (SELECT min(i.value) FROM identities i WHERE i.customer_id = c.id AND i.kind = 'email')"
    " AS email,"
    " (SELECT min(i.value) FROM identities i WHERE i.customer_id = c.id AND i.kind = 'phone')"
    " AS phone"
    " FROM customers c WHERE c.status = 'active'"
)
_CUSTOMERS_SQL = text(_ACTIVE_CUSTOMERS)


def customer_records(session: Session, where: str = "", **params: Any) -> list[dict[str, Any]]:
    """The active customers as the linker compares them (``linking.customer_record``), all
    of them or those ``where`` (SQL over ``c``, the customers, with ``params``) selects."""
    sql = text(_ACTIVE_CUSTOMERS + (f" AND ({where})" if where else ""))
    expanding = [bindparam(name, expanding=True) for name, value in params.items()
                 if isinstance(value, list | tuple)]  # fmt: skip
    rows = session.execute(sql.bindparams(*expanding), params)
    return [linking.customer_record(dict(row._mapping)) for row in rows]


def profile_record(profile: SocialProfile) -> dict[str, Any]:
    """A profile as the linker compares it (``linking.profile_record``)."""
    return linking.profile_record(
        {
            "id": profile.id,
            "display_name": profile.display_name,
            "handle": profile.handle,
            "email": profile.email,
            "location": profile.location,
            "phone": profile.phone,
        }
    )


def link_probabilistically(
    session: Session,
    *,
    now: datetime,
    upper: float,
    lower: float,
    margin: float,
    name_only_upper: float | None = None,
    actor: Actor = LINKER,
    db_api: Any = None,
) -> LinkRun:
    """Score every unlinked profile (none waiting for review) against the active customers
    with the Splink model (``linking``): link above ``upper`` when a fact beyond the name
    agrees (or above ``name_only_upper`` when display name and handle agree and nothing
    beyond the names is known) and the best candidate stands ``margin`` above the next,
    none disagreeing, send to review above
    ``lower``, leave the rest. Each link is audited with its evidence and reversible.
    ``db_api``: the Splink backend that makes and scores the pairs (``linking.score``)."""
    thresholds = linking.Thresholds(
        upper=upper, lower=lower, margin=margin, name_only_upper=name_only_upper
    )
    return _link_unlinked(session, now=now, thresholds=thresholds, actor=actor, db_api=db_api)


def _link_unlinked(
    session: Session,
    *,
    now: datetime,
    thresholds: linking.Thresholds,
    actor: Actor,
    db_api: Any,
) -> LinkRun:
    import time

    started = time.perf_counter()
    pending = select(SocialLink.profile_id).where(SocialLink.status == LinkStatus.PROPOSED)
    profiles = list(
        session.scalars(
            select(SocialProfile).where(
                SocialProfile.customer_id.is_(None), SocialProfile.id.not_in(pending)
            )
        )
    )
    run = LinkRun(profiles=len(profiles))
    if not profiles:
        return run
    people = customer_records(session)
    run.customers = len(people)
    if not people:
        return run
    left = [profile_record(p) for p in profiles]
    pairs = linking.score(
        left,
        people,
        min_weight=thresholds.lower,
        m_probabilities=current_m(session),
        db_api=db_api,
    )
    # A person's "no" stands (``refused_customers``): those pairs are left out before the
    # ranking, so that a refused customer is neither proposed nor linked again, nor stands as
    # a close runner-up that holds the next candidate back by the margin.
    refused = refused_customers(session)
    pairs = [pair for pair in pairs if int(pair.right_id) not in refused.get(int(pair.left_id), ())]
    pairs = activity.corroborate(session, pairs, now=now)
    # In a fixed order, not the engine's: the best of two equal weights is then the same.
    pairs.sort(key=lambda pair: (pair.left_id, pair.right_id))
    decisions = thresholds.decide(pairs)
    by_id = {str(p.id): p for p in profiles}
    for profile_id, decision in decisions.items():
        outcome = apply_decision(
            session, profile=by_id[profile_id], decision=decision, actor=actor, now=now
        )
        run.linked += outcome == "link"
        run.to_review += outcome == "review"
    run.seconds = time.perf_counter() - started
    return run


def apply_decision(
    session: Session,
    *,
    profile: SocialProfile,
    decision: linking.Decision,
    now: datetime,
    actor: Actor = LINKER,
) -> str:
    """Carry out what ``linking.decide_best`` decided for a profile: link it (audited, with
    its evidence, on the customer's timeline), or put it in the review queue (also when the
    handle turns out to be another customer's), or nothing. Returns what was done: ``link``,
    ``review`` or ``nothing``."""
    best = decision.best
    if decision.outcome == "nothing" or best is None:
        return "nothing"
    evidence = best.evidence()
    customer_id = int(best.right_id)
    if decision.outcome == "link":
        try:
            with session.begin_nested():
                _link(
                    session,
                    actor=actor,
                    profile=profile,
                    customer_id=customer_id,
                    method=LinkMethod.PROBABILISTIC,
                    evidence=evidence,
                    score=round(best.match_weight, 2),
                    now=now,
                )
            return "link"
        except Conflict:
            pass  # the handle belongs to someone else: a person decides
    reason = None
    if decision.runner_up is not None:
        reason = message(CLOSE_CANDIDATE, customer=decision.runner_up.right_id)
    propose_link(
        session,
        profile=profile,
        customer_id=customer_id,
        method=LinkMethod.PROBABILISTIC,
        evidence=evidence,
        score=round(best.match_weight, 2),
        reason=reason,
        now=now,
    )
    return "review"


def link_with_settings(
    session: Session,
    *,
    now: datetime,
    options: SocialSettings | None = None,
    db_api: Any = None,
) -> LinkRun:
    """``link_probabilistically`` with the thresholds of the settings
    (``EGARDS_SOCIAL_LINK_*``, read now when ``options`` is ``None``): what `egards social
    link` and the batch's link job run."""
    return _link_unlinked(
        session, now=now, thresholds=link_thresholds(options), actor=LINKER, db_api=db_api
    )
