"""CSAT surveys after a case: the rules, the e-mail and its reminder, the signed link,
the answer and the follow-up case of a low score."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import Channel, Priority
from egards.cases.service import CaseDetails, InboundIn
from egards.config import LOCALES, get_settings
from egards.customers import service as customers
from egards.errors import N_, InvalidInput, PermissionDenied
from egards.formats import format_day
from egards.i18n import message, translate
from egards.outbox import service as outbox
from egards.voice import domain
from egards.voice.models import Invitation
from egards.voice.service.analysis import _readable, record_analysis
from egards.voice.settings import VoiceSettings, get_voice_settings

# --------------------------------------------------------------------------------------
# Surveys
# --------------------------------------------------------------------------------------


@lru_cache
def surveys() -> dict[str, domain.Survey]:
    text = (resources.files("egards.voice") / "surveys.yaml").read_text(encoding="utf-8")
    return domain.parse_surveys(yaml.safe_load(text))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _consents_to_surveys(session: Session, customer_id: int) -> bool:
    events = customers.consent_history(session, actor=SYSTEM, customer_id=customer_id)
    return any(
        e.purpose == "surveys" and e.granted and e.channel in ("email", "any")
        for e in customers.current_consents(events)
    )


def _email(session: Session, case: Any) -> str | None:
    if case.sender_kind == "email" and case.sender_address:
        return case.sender_address
    return customers.primary_email(session, case.customer_id) if case.customer_id else None


def survey_link(
    token: str, rating: int | None = None, settings: VoiceSettings | None = None
) -> str:
    base = (settings or get_voice_settings()).public_url.rstrip("/")
    return f"{base}/survey/{token}" + (f"?rating={rating}" if rating else "")


def case_resolved(session: Session, *, actor: Actor, case_id: int, now: datetime) -> None:
    """Cases' hook: a case was resolved. A CSAT survey goes out if the rules allow it."""
    send_case_survey(session, actor=actor, case_id=case_id, now=now)


class Sent(NamedTuple):
    invitation: Invitation | None
    reason: str  # "ok", or why no survey went out (domain.survey_decision)
    token: str | None  # the link's secret, known only now (the e-mail carries it)


def send_case_survey(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    now: datetime,
    settings: VoiceSettings | None = None,
) -> Sent:
    """Send the CSAT survey of a resolved case, or say why not (domain.survey_decision)."""
    settings = settings or get_voice_settings()
    case = cases.get_case(session, actor=SYSTEM, case_id=case_id)
    if session.scalar(select(Invitation.id).where(Invitation.case_id == case_id)) is not None:
        return Sent(None, "already_surveyed", None)
    email = _email(session, case)
    facts = domain.ResolvedCase(
        category=case.category,
        tags=tuple(case.tags or ()),
        resolved_by_system=actor.user_id is None,
        has_customer=case.customer_id is not None,
        email=email,
    )
    consent = case.customer_id is not None and _consents_to_surveys(session, case.customer_id)
    last = (
        session.scalar(
            select(func.max(Invitation.sent_at)).where(Invitation.customer_id == case.customer_id)
        )
        if case.customer_id is not None
        else None
    )
    decision = domain.survey_decision(
        facts,
        consent=consent,
        last_survey_at=last,
        now=now,
        period_days=settings.survey_period_days,
    )
    if not decision.send:
        return Sent(None, decision.reason, None)
    assert case.customer_id is not None, "a survey is only sent to a customer"
    token = secrets.token_urlsafe(24)
    language = case.language if case.language in ("fr", "en") else "en"
    invitation = Invitation(
        survey="csat",
        token_hash=_hash(token),
        customer_id=case.customer_id,
        case_id=case.id,
        language=language,
        email=email,
        channel=case.channel,
        team=case.team,
        category=case.category,
        agent_id=case.assignee_id,
        agent_label=_agent_label(session, case.assignee_id),
        tier=case.loyalty_tier,
        status="sent",
        sent_at=now,
        expires_at=now + timedelta(days=settings.survey_expiry_days),
    )
    session.add(invitation)
    session.flush()
    _mail(session, invitation, token, now=now, settings=settings, reminder=False)
    customers.record_event(
        session,
        actor=actor,
        customer_id=case.customer_id,
        kind="voice.survey_sent",
        summary=message(
            N_("{case} · {text}"),
            case=f"C-{case.id:06d}",
            text=message(N_("Satisfaction survey sent")),
        ),
        channel="email",
        ref_type="case",
        ref_id=str(case.id),
        occurred_at=now,
    )
    audit.record(
        session,
        actor=actor,
        action="voice.survey_sent",
        entity_type="voice_invitation",
        entity_id=invitation.id,
        customer_id=case.customer_id,
        after={
            "case_id": case.id,
            "survey": "csat",
            "expires_at": invitation.expires_at.isoformat(),
        },
    )
    return Sent(invitation, "ok", token)


def _agent_label(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return cases.display_names(session, [_Assignee(user_id)])["users"].get(user_id)


class _Assignee:
    """The one attribute ``cases.display_names`` reads of a case, for one agent's name."""

    def __init__(self, user_id: int) -> None:
        self.assignee_id = user_id
        self.customer_id = None


# The survey e-mails (subject, body): {number}, {links} and {expires} are filled when sent, in
# the invitation's language.
MAIL = (
    N_("How did we do? Your request {number}"),
    N_(
        "Hello,\n\nYour request {number} has been resolved. How satisfied are you with how we"
        " handled it? One click is enough:\n\n{links}\n\nYou can add a comment on the page"
        " that opens. This link works until {expires}.\n\nThank you.\n"
    ),
)
MAIL_NPS = (
    N_("Would you recommend us?"),
    N_(
        "Hello,\n\nHow likely are you to recommend us to a friend or colleague, from 0 (not at"
        " all) to 10 (certainly)? One click is enough:\n\n{links}\n\nYou can tell us why on"
        " the page that opens. This link works until {expires}.\n\nThank you.\n"
    ),
)
RATING_WORDS = (
    N_("Very dissatisfied"),
    N_("Dissatisfied"),
    N_("Neutral"),
    N_("Satisfied"),
    N_("Very satisfied"),
)


def _mail(
    session: Session,
    invitation: Invitation,
    token: str,
    *,
    now: datetime,
    settings: VoiceSettings,
    reminder: bool,
) -> None:
    language = invitation.language if invitation.language in LOCALES else "en"
    subject, body = (
        translate(language, text) for text in (MAIL_NPS if invitation.survey == "nps" else MAIL)
    )
    number = f"C-{invitation.case_id:06d}" if invitation.case_id else ""
    if invitation.survey == "nps":
        links = "\n".join(f"{r}: {survey_link(token, r, settings)}" for r in range(10, -1, -1))
    else:
        links = "\n".join(
            f"{r} – {translate(language, RATING_WORDS[r - 1])}: {survey_link(token, r, settings)}"
            for r in range(5, 0, -1)
        )
    if reminder:
        subject = translate(language, "Reminder: {subject}", subject=subject)
    outbox.enqueue_email(
        session,
        key=f"voice.survey.{invitation.id}.{'reminder' if reminder else 'sent'}",
        sender=get_settings().mail_from,
        to=invitation.email or "",
        subject=subject.format(number=number),
        body=body.format(
            number=number, links=links, expires=format_day(invitation.expires_at, language)
        ),
        now=now,
        ref_type="voice_invitation",
        ref_id=invitation.id,
    )


def send_reminders(session: Session, *, now: datetime, limit: int = 500) -> int:
    """One reminder per unanswered survey, ``reminder_days`` after it went out. The link of a
    reminder is new (the first one's secret is not kept), the old one keeps working."""
    settings = get_voice_settings()
    due = list(
        session.scalars(
            select(Invitation)
            .where(
                Invitation.status == "sent",
                Invitation.reminded_at.is_(None),
                Invitation.sent_at <= now - timedelta(days=settings.reminder_days),
                Invitation.expires_at > now,
            )
            .limit(limit)
        )
    )
    sent = 0
    for invitation in due:
        if not domain.reminder_due(
            status=invitation.status,
            sent_at=invitation.sent_at,
            reminded_at=invitation.reminded_at,
            expires_at=invitation.expires_at,
            now=now,
            after_days=settings.reminder_days,
        ) or not _consents_to_surveys(session, invitation.customer_id):
            continue
        token = secrets.token_urlsafe(24)
        invitation.token_hash, invitation.reminded_at = _hash(token), now
        session.flush()
        _mail(session, invitation, token, now=now, settings=settings, reminder=True)
        sent += 1
    return sent


def invitation_by_token(session: Session, *, token: str) -> Invitation:
    """The invitation a link names; a forged or mistyped link is refused."""
    if not token or len(token) > 100:
        raise domain.SurveyLinkInvalid(N_("this survey link is not valid"), field="token")
    found = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if found is None:
        raise domain.SurveyLinkInvalid(N_("this survey link is not valid"), field="token")
    return found


def open_survey(session: Session, *, token: str, now: datetime) -> tuple[Invitation, domain.Survey]:
    invitation = invitation_by_token(session, token=token)
    domain.check_answerable(
        status=invitation.status,
        expires_at=invitation.expires_at,
        now=now,
        consent=_consents_to_surveys(session, invitation.customer_id),
    )
    return invitation, surveys()[invitation.survey]


def answer_survey(
    session: Session,
    *,
    token: str,
    rating: int,
    answers: dict[str, Any] | None = None,
    comment: str | None = None,
    now: datetime,
) -> Invitation:
    """The customer answers through their link: once, before it expires. The rating lands
    on the case, the timeline and the reports; a comment is analysed; a low score opens a
    follow-up case for the team ("close the loop")."""
    invitation, _survey = open_survey(session, token=token, now=now)
    return _answer(session, invitation, rating=rating, answers=answers, comment=comment, now=now)


def answer_for_customer(
    session: Session,
    *,
    customer_id: int,
    invitation_id: int,
    rating: int,
    answers: dict[str, Any] | None = None,
    comment: str | None = None,
    now: datetime,
) -> Invitation:
    """The same answer from the customer's own space (the portal, signed in): only their
    own survey, under the same rules."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.customer_id != customer_id:
        raise domain.SurveyLinkInvalid(N_("no such survey of yours"), field="invitation_id")
    domain.check_answerable(
        status=invitation.status,
        expires_at=invitation.expires_at,
        now=now,
        consent=_consents_to_surveys(session, customer_id),
    )
    return _answer(session, invitation, rating=rating, answers=answers, comment=comment, now=now)


def survey_for_customer(
    session: Session, *, customer_id: int, invitation_id: int, now: datetime
) -> tuple[Invitation, domain.Survey]:
    """One of the customer's own surveys, still open to an answer (the portal's page)."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.customer_id != customer_id:
        raise domain.SurveyLinkInvalid(N_("no such survey of yours"), field="invitation_id")
    domain.check_answerable(
        status=invitation.status,
        expires_at=invitation.expires_at,
        now=now,
        consent=_consents_to_surveys(session, customer_id),
    )
    return invitation, surveys()[invitation.survey]


def _answer(
    session: Session,
    invitation: Invitation,
    *,
    rating: int,
    answers: dict[str, Any] | None,
    comment: str | None,
    now: datetime,
) -> Invitation:
    survey = surveys()[invitation.survey]
    clean = domain.validate_answers(survey, rating, answers or {})
    comment = (comment or "").strip() or None
    if comment and len(comment) > 4000:
        raise InvalidInput(N_("at most 4,000 characters"), field="comment")
    invitation.status, invitation.answered_at = "answered", now
    invitation.rating, invitation.answers, invitation.comment = int(rating), clean, comment
    session.flush()
    scored = (
        message(N_("Recommendation {score}/10"), score=str(rating))
        if survey.scale == "nps"
        else message(N_("Satisfaction {score}/5"), score=str(rating))
    )
    if comment:
        scored = message(N_("{rating}: {comment}"), rating=scored, comment=comment[:200])
    if invitation.case_id:
        scored = message(N_("{case} · {text}"), case=f"C-{invitation.case_id:06d}", text=scored)
    if invitation.case_id is not None and survey.scale == "csat":
        case = cases.get_case(session, actor=SYSTEM, case_id=invitation.case_id)
        if case.status in ("resolved", "closed") and case.satisfaction is None:
            cases.record_satisfaction(
                session, actor=SYSTEM, case_id=case.id, score=int(rating), now=now
            )
    if comment:
        record_analysis(
            session,
            actor=SYSTEM,
            source_type="survey",
            source_id=invitation.id,
            text=comment,
            customer_id=invitation.customer_id,
            case_id=invitation.case_id,
            received_at=now,
            now=now,
        )
    customers.record_event(
        session,
        actor=SYSTEM,
        customer_id=invitation.customer_id,
        kind="voice.survey_answered",
        summary=scored,
        channel="web",
        ref_type="case" if invitation.case_id else "voice_invitation",
        ref_id=str(invitation.case_id or invitation.id),
        occurred_at=now,
    )
    audit.record(
        session,
        actor=SYSTEM,
        action="voice.survey_answered",
        entity_type="voice_invitation",
        entity_id=invitation.id,
        customer_id=invitation.customer_id,
        after={"rating": int(rating), "answers": clean, "commented": comment is not None},
    )
    if survey.scale == "csat" and domain.needs_follow_up(int(rating)):
        invitation.follow_up_case_id = _follow_up(session, invitation, comment, now=now)
    session.flush()
    return invitation


def _follow_up(
    session: Session, invitation: Invitation, comment: str | None, *, now: datetime
) -> int:
    number = f"C-{invitation.case_id:06d}" if invitation.case_id else "survey"
    subject = translate(
        invitation.language,
        "Close the loop: satisfaction {rating}/5 on {number}",
        rating=str(invitation.rating),
        number=number,
    )
    opened = cases.open_case(
        session,
        actor=SYSTEM,
        details=CaseDetails(
            channel=Channel.WEB_FORM,
            subject=subject,
            category="follow_up",
            priority=Priority.HIGH,
            team=invitation.team,
            language=invitation.language,
            customer_id=invitation.customer_id,
            tags=("csat-follow-up",),
        ),
        message=InboundIn(
            body_text=comment or translate(invitation.language, "(no comment)"),
            subject=subject,
            received_at=now,
        ),
        config=cases.config_from_settings(get_settings()),
        now=now,
        acknowledge=False,
    )
    return opened.case.id


def case_survey(session: Session, *, actor: Actor, case_id: int) -> Invitation | None:
    _readable(actor)
    if actor.is_partner:
        raise PermissionDenied(N_("survey results are internal"), field="case_id")
    cases.get_case(session, actor=actor, case_id=case_id)
    return session.scalar(select(Invitation).where(Invitation.case_id == case_id))


def customer_surveys(
    session: Session, *, actor: Actor, customer_id: int, limit: int = 20
) -> list[Invitation]:
    _readable(actor)
    if actor.is_partner:
        raise PermissionDenied(N_("survey results are internal"), field="customer_id")
    customers.get_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.scalars(
            select(Invitation)
            .where(Invitation.customer_id == customer_id)
            .order_by(Invitation.sent_at.desc())
            .limit(limit)
        )
    )


def pending_surveys(
    session: Session, *, customer_id: int | None, now: datetime, survey: str | None = None
) -> list[Invitation]:
    """Surveys the customer (or, ``None``, anyone: the demo) may still answer (the portal's
    panel), of one kind if ``survey`` names it."""
    query = select(Invitation).where(Invitation.status == "sent", Invitation.expires_at > now)
    if customer_id is not None:
        query = query.where(Invitation.customer_id == customer_id)
    if survey is not None:
        query = query.where(Invitation.survey == survey)
    return list(session.scalars(query.order_by(Invitation.id)))
