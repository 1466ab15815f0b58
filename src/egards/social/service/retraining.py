"""The linking model retrained from the review outcomes: what reviewers confirmed teaches the
model how true matches look (its m probabilities); each retraining is kept and audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import Actor, Permission
from egards.audit import service as audit
from egards.errors import N_, Conflict, PermissionDenied
from egards.social import corroboration, linking
from egards.social.domain import LinkMethod, LinkStatus
from egards.social.models import SocialLink, SocialLinkModel
from egards.social.service.profiles import LINKER
from egards.social.settings import SocialSettings


def current_model(session: Session) -> SocialLinkModel | None:
    """The newest retrained model (``None``: the shipped figures are in force)."""
    return session.scalar(select(SocialLinkModel).order_by(SocialLinkModel.id.desc()).limit(1))


def current_m(session: Session) -> dict[str, list[float]] | None:
    model = current_model(session)
    return dict(model.m_probabilities) if model is not None else None


def _levels(evidence: list[dict[str, Any]]) -> dict[str, int]:
    return {
        str(piece["method"]): int(piece["level"])
        for piece in evidence
        if isinstance(piece, dict)
        and "level" in piece
        and piece.get("method") in (*linking.COLUMNS, corroboration.COLUMN)
    }


def review_outcomes(session: Session) -> tuple[list[dict[str, int]], int]:
    """The comparison levels of the probabilistic links a person confirmed, and how many a
    person rejected or undid. Automatic links nobody looked at teach nothing."""
    confirmed: list[dict[str, int]] = []
    rejected = 0
    decided = session.scalars(
        select(SocialLink).where(
            SocialLink.method == str(LinkMethod.PROBABILISTIC),
            SocialLink.status.in_(
                [str(LinkStatus.LINKED), str(LinkStatus.REJECTED), str(LinkStatus.UNLINKED)]
            ),
        )
    )
    for link in decided:
        if link.status == LinkStatus.LINKED:
            if link.decided_by not in (None, LINKER.label) and (levels := _levels(link.evidence)):
                confirmed.append(levels)
        else:
            rejected += 1
    return confirmed, rejected


def retrain(session: Session, *, actor: Actor, now: datetime) -> SocialLinkModel:
    """Refit the model's m probabilities on the links reviewers confirmed (blended with the
    shipped figures, ``linking.refit_m``) and keep it: the next linking runs use it."""
    actor.require(Permission.CASES_SUPERVISE)  # as for the voice model: supervisors decide
    if actor.is_partner:
        raise PermissionDenied(N_("partners do not train the linking model"), field="model")
    confirmed, rejected = review_outcomes(session)
    if not confirmed:
        raise Conflict(
            N_("no reviewed link to learn from yet: confirm or reject proposed links first"),
            field="model",
        )
    m = linking.refit_m(confirmed)
    # The activity term's m, from the same confirmed links (``corroboration.refit_m``).
    activity = corroboration.refit_m(
        (levels.get(corroboration.COLUMN, -1) for levels in confirmed),
        prior=SocialSettings().activity_m,
    )
    model = SocialLinkModel(
        m_probabilities={**m, corroboration.COLUMN: [activity, round(1 - activity, 6)]},
        accepted=len(confirmed),
        rejected=rejected,
        trained_at=now,
        trained_by=actor.label,
    )
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="social.model_retrained",
        entity_type="social_link_model",
        entity_id=model.id,
        after={"accepted": model.accepted, "rejected": model.rejected},
    )
    return model
