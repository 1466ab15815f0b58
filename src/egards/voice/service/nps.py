"""The relationship NPS: every ``nps_cadence_days`` a wave goes to a sample of active
customers (with consent to surveys, not surveyed in the last ``nps_quiet_days``), answered
from the e-mailed link or the portal; NPS = % promoters (9–10) − % detractors (0–6)."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor
from egards.audit import service as audit
from egards.customers import service as customers
from egards.db import utcnow
from egards.errors import N_, DomainError, InvalidInput, PermissionDenied
from egards.i18n import message
from egards.loyalty import service as loyalty
from egards.voice import domain
from egards.voice.models import Invitation
from egards.voice.service.analysis import _readable
from egards.voice.service.surveys import _consents_to_surveys, _hash, _mail
from egards.voice.settings import VoiceSettings, get_voice_settings


def last_wave_at(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Invitation.sent_at)).where(Invitation.survey == "nps"))


def send_nps_wave(
    session: Session,
    *,
    now: datetime,
    settings: VoiceSettings | None = None,
    force: bool = False,
    seed: str | None = None,
) -> int:
    """One wave if it is due (or ``force``): a sample of ``nps_sample`` active customers,
    drawn afresh each wave, less those without consent or e-mail and those surveyed lately.
    The draw is seeded by the wave's time unless ``seed`` is given (the demo's, to be the
    same at every run). Returns how many were asked."""
    settings = settings or get_voice_settings()
    if not force and not domain.nps_wave_due(last_wave_at(session), now, settings.nps_cadence_days):
        return 0
    drawn = customers.sample_active(
        session, size=settings.nps_sample, seed=seed or f"nps:{now.isoformat()}"
    )
    quiet_since = now - timedelta(days=settings.nps_quiet_days)
    surveyed = set(
        session.scalars(
            select(Invitation.customer_id).where(
                Invitation.customer_id.in_(drawn or [0]), Invitation.sent_at >= quiet_since
            )
        )
    )
    asked = 0
    for customer_id in drawn:
        if customer_id in surveyed or not _consents_to_surveys(session, customer_id):
            continue
        email = customers.primary_email(session, customer_id)
        if not email:
            continue
        customer = customers.get_customer(session, actor=SYSTEM, customer_id=customer_id)
        token = secrets.token_urlsafe(24)
        invitation = Invitation(
            survey="nps",
            token_hash=_hash(token),
            customer_id=customer_id,
            case_id=None,
            language=customer.preferred_language
            if customer.preferred_language in ("fr", "en")
            else "en",
            email=email,
            status="sent",
            sent_at=now,
            expires_at=now + timedelta(days=settings.survey_expiry_days),
        )
        session.add(invitation)
        session.flush()
        _mail(session, invitation, token, now=now, settings=settings, reminder=False)
        customers.record_event(
            session,
            actor=SYSTEM,
            customer_id=customer_id,
            kind="voice.survey_sent",
            summary=message(N_("Recommendation survey (NPS) sent")),
            channel="email",
            ref_type="voice_invitation",
            ref_id=str(invitation.id),
            occurred_at=now,
        )
        asked += 1
    audit.record(
        session,
        actor=SYSTEM,
        action="voice.nps_wave",
        entity_type="voice_nps_wave",
        entity_id=now.date().isoformat(),
        after={"drawn": len(drawn), "asked": asked},
    )
    return asked


def nps_report(
    session: Session,
    *,
    actor: Actor,
    days: int = 365,
    now: datetime | None = None,
    locale: str = "en",
) -> dict[str, Any]:
    """The relationship NPS over the waves of the last ``days``: overall, by month, by
    language and by loyalty programme (a customer in several programmes counts in each; one
    in none under ``none``), with promoters, passives and detractors."""
    _readable(actor)
    if actor.is_partner:
        raise PermissionDenied(N_("satisfaction reports are internal"), field="days")
    if not 1 <= days <= 3660:
        raise InvalidInput(N_("between 1 and 3660 days"), field="days")
    now = now or utcnow()
    rows = session.execute(
        select(
            Invitation.sent_at, Invitation.language, Invitation.rating, Invitation.customer_id
        ).where(Invitation.survey == "nps", Invitation.sent_at >= now - timedelta(days=days))
    ).all()

    def figures(items: list[Any]) -> dict[str, Any]:
        scores = [r.rating for r in items if r.rating is not None]
        bands = {"promoter": 0, "passive": 0, "detractor": 0}
        for score in scores:
            bands[domain.nps_band(score)] += 1
        rate = domain.response_rate(len(items), len(scores))
        return {
            "sent": len(items),
            "answered": len(scores),
            "response_rate": None if rate is None else round(100 * rate, 1),
            "nps": domain.nps(scores),
            "promoters": bands["promoter"],
            "passives": bands["passive"],
            "detractors": bands["detractor"],
        }

    months: dict[str, list[Any]] = defaultdict(list)
    languages: dict[str, list[Any]] = defaultdict(list)
    programmes: dict[str, list[Any]] = defaultdict(list)
    member_of = loyalty.programmes_of(
        session, (r.customer_id for r in rows if r.customer_id is not None)
    )
    for row in rows:
        months[row.sent_at.strftime("%Y-%m")].append(row)
        languages[row.language].append(row)
        for code in member_of.get(row.customer_id, ["none"]) if row.customer_id else ["none"]:
            programmes[code].append(row)
    return {
        "days": days,
        "overall": figures(list(rows)),
        "by_month": [{"key": k, **figures(v)} for k, v in sorted(months.items())],
        "by_language": [{"key": k, **figures(v)} for k, v in sorted(languages.items())],
        "by_programme": [
            {"key": k, "name": _programme_name(k, locale), **figures(v)}
            for k, v in sorted(programmes.items())
        ],
    }


def _programme_name(code: str, locale: str) -> str:
    if code == "none":
        return "—"
    try:
        return loyalty.get_programme(code).name.get(locale)
    except DomainError:  # a programme no longer in the files
        return code
