"""Use cases of the voice of the customer: analyse what customers write as it arrives, act on
a written churn threat, take the agents' corrections, and run CSAT surveys after a case.

Cases call :func:`inbound_message_received` and :func:`case_resolved` through
``features.hooks("service", ...)`` (cases sit below voice and do not import it); analytics
calls :func:`stated_churn_threats` after each scoring run so that a threat written last week
still holds the customer's risk up after the nightly scores are replaced.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor, Permission
from egards.analytics import service as analytics
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import Channel, Priority
from egards.cases.service import CaseDetails, InboundIn
from egards.config import get_settings
from egards.customers import service as customers
from egards.customers.domain import Erasure
from egards.db import utcnow
from egards.errors import InvalidInput, NotFound, PermissionDenied
from egards.outbox import service as outbox
from egards.voice import classifier as model
from egards.voice import domain
from egards.voice.models import Analysis, Invitation
from egards.voice.settings import VoiceSettings, get_voice_settings

_LOCK = threading.Lock()
ANALYSED_CHARACTERS = 5000
_CLASSIFIER: model.Classifier | None = None
TOPIC_LABELS = {
    "delay": ("Delay", "Retard"),
    "flight_cancellation": ("Flight cancellation", "Annulation de vol"),
    "baggage": ("Baggage", "Bagages"),
    "lounge_status": ("Lounge and status", "Salons et statut"),
    "miles": ("Miles not credited", "Miles non crédités"),
    "billing": ("Billing", "Facturation"),
    "outage": ("Outage", "Panne"),
    "installation": ("Installation appointment", "Rendez-vous d'installation"),
    "technician": ("Technician", "Technicien"),
    "customer_service": ("Customer service", "Service client"),
    "price": ("Price", "Prix"),
    "contract_cancellation": ("Contract cancellation", "Résiliation de contrat"),
    "praise": ("Praise", "Compliment"),
}
MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def topic_label(topic: str, locale: str = "en") -> str:
    pair = TOPIC_LABELS.get(topic)
    return topic if pair is None else pair[1 if locale == "fr" else 0]


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


def model_path() -> Path:
    return get_settings().data_dir / "voice" / "model.joblib"


def classifier() -> model.Classifier:
    """The saved model (``egards voice train``), else one trained now from the shipped set
    (deterministic, about a second), kept for the life of the process."""
    global _CLASSIFIER
    with _LOCK:
        if _CLASSIFIER is None:
            _CLASSIFIER = model.load(model_path()) or model.train()
        return _CLASSIFIER


def analyse_text(text: str) -> model.Analysis:
    return classifier().analyse(text)


def corrections(session: Session) -> list[model.Example]:
    """The agents' corrections as training examples (uncorrected labels kept as predicted)."""
    rows = session.scalars(select(Analysis).where(Analysis.corrected_at.is_not(None)))
    return [
        model.Example(
            text=row.excerpt,
            lang=row.corrected_language or row.language,
            sentiment=row.corrected_sentiment or row.sentiment,
            churn=row.churn_threat if row.corrected_churn is None else row.corrected_churn,
            topic=row.corrected_topic or row.topic,
            id=f"correction-{row.id}",
        )
        for row in rows
    ]


def train_model(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Train on the shipped training split plus the agents' corrections, save the model in
    the data directory and use it from now on."""
    global _CLASSIFIER
    actor.require(Permission.CASES_SUPERVISE)
    extra = corrections(session)
    trained = model.train(extra)
    path = model_path()
    model.save(trained, path)
    with _LOCK:
        _CLASSIFIER = trained
    audit.record(
        session,
        actor=actor,
        action="voice.model_trained",
        entity_type="voice_model",
        entity_id=model.MODEL_VERSION,
        after={"examples": trained.trained_on, "corrections": len(extra), "path": str(path)},
    )
    return {"examples": trained.trained_on, "corrections": len(extra), "path": str(path)}


# --------------------------------------------------------------------------------------
# Analysing what arrives
# --------------------------------------------------------------------------------------


def record_analysis(
    session: Session,
    *,
    actor: Actor,
    source_type: str,
    source_id: int,
    text: str,
    customer_id: int | None,
    case_id: int | None,
    received_at: datetime,
    now: datetime,
    settings: VoiceSettings | None = None,
) -> Analysis | None:
    """Analyse one message and store the result; a churn threat acts at once."""
    if not text.strip():
        return None
    # The opening of a long message says what it is about; a 10 MB mail must not stall intake.
    result = analyse_text(text[:ANALYSED_CHARACTERS])
    row = Analysis(
        source_type=source_type,
        source_id=source_id,
        customer_id=customer_id,
        case_id=case_id,
        received_at=received_at,
        excerpt=text[:4000],
        language=result.language,
        sentiment=result.sentiment,
        sentiment_score=result.sentiment_score,
        churn_threat=result.churn_threat,
        churn_probability=result.churn_probability,
        churn_phrase=result.churn_phrase,
        topic=result.topic,
        topic_confidence=result.topic_confidence,
        model_version=result.model_version,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if row.churn_threat and customer_id is not None:
        _act_on_threat(session, actor, row, settings or get_voice_settings(), now)
    return row


def _quote(row: Analysis) -> str:
    words = " ".join((row.churn_phrase or row.excerpt).split())
    return words if len(words) <= 160 else words[:159] + "…"


def describe_threat(received_at: datetime, quote: str, locale: str = "en") -> str:
    """'wrote on 3 December: «…»' in the reader's language."""
    day = received_at.date()
    if locale == "fr":
        return f"a écrit le {day.day} {MONTHS_FR[day.month - 1]} : « {quote} »"
    return f"wrote on {day.day} {day.strftime('%B')}: «{quote}»"


def _reason_code(row: Analysis) -> str:
    return f"stated:{row.received_at.date().isoformat()}:{_quote(row).replace(';', ',')}"


def _act_on_threat(
    session: Session, actor: Actor, row: Analysis, settings: VoiceSettings, now: datetime
) -> None:
    assert row.customer_id is not None
    raised = analytics.raise_churn_risk(
        session,
        customer_id=row.customer_id,
        floor=settings.churn_risk_floor,
        reason=_reason_code(row),
    )
    summary = "Churn threat: " + describe_threat(row.received_at, _quote(row))
    customers.record_event(
        session,
        actor=actor,
        customer_id=row.customer_id,
        kind="voice.churn_threat",
        summary=summary[:1000],
        silo="support",
        ref_type="case" if row.case_id else "voice_analysis",
        ref_id=str(row.case_id or row.id),
        occurred_at=row.received_at,
    )
    audit.record(
        session,
        actor=actor,
        action="voice.churn_threat",
        entity_type="voice_analysis",
        entity_id=row.id,
        customer_id=row.customer_id,
        after={
            "case_id": row.case_id,
            "phrase": row.churn_phrase,
            "probability": row.churn_probability,
            "churn_risk": raised,
        },
    )


def inbound_message_received(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    message_id: int,
    customer_id: int | None,
    text: str,
    received_at: datetime,
    now: datetime,
) -> None:
    """Cases' hook: a customer wrote on a case. Analysed and stored; a churn threat from a
    valuable customer raises the case's priority."""
    settings = get_voice_settings()
    row = record_analysis(
        session,
        actor=actor,
        source_type="case_message",
        source_id=message_id,
        text=text,
        customer_id=customer_id,
        case_id=case_id,
        received_at=received_at,
        now=now,
        settings=settings,
    )
    if row is None or not row.churn_threat or customer_id is None:
        return
    decile = analytics.value_deciles(session, [customer_id]).get(customer_id, 0)
    if decile < settings.valuable_decile:
        return
    case = cases.get_case(session, actor=SYSTEM, case_id=case_id)
    if case.priority in (Priority.LOW, Priority.NORMAL):
        cases.update_case(
            session,
            actor=SYSTEM,
            case_id=case_id,
            config=cases.config_from_settings(get_settings()),
            changes={"priority": str(Priority.HIGH)},
            now=now,
        )


def stated_churn_threats(session: Session, *, as_of: date) -> list[tuple[int, float, str]]:
    """Analytics' hook after scoring: (customer, risk floor, reason) for each customer who
    wrote a churn threat in the last ``churn_threat_days`` that no agent corrected away."""
    settings = get_voice_settings()
    since = datetime.combine(
        as_of - timedelta(days=settings.churn_threat_days), datetime.min.time()
    )
    since = since.replace(tzinfo=utcnow().tzinfo)
    rows = session.scalars(
        select(Analysis)
        .where(
            Analysis.customer_id.is_not(None),
            Analysis.received_at >= since,
            Analysis.churn_threat.is_(True) | Analysis.corrected_churn.is_(True),
        )
        .order_by(Analysis.received_at.desc())
    )
    latest: dict[int, Analysis] = {}
    for row in rows:
        effective = row.churn_threat if row.corrected_churn is None else row.corrected_churn
        if effective and row.customer_id is not None:
            latest.setdefault(row.customer_id, row)
    return [(cid, settings.churn_risk_floor, _reason_code(row)) for cid, row in latest.items()]


# --------------------------------------------------------------------------------------
# Reading and correcting
# --------------------------------------------------------------------------------------


def _readable(actor: Actor) -> None:
    actor.require(Permission.CASES_READ)


def analyses(
    session: Session,
    *,
    actor: Actor,
    case_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 50,
) -> list[Analysis]:
    """The analyses of a case's messages or of a customer's, newest first (a partner: only
    those of cases it can see)."""
    _readable(actor)
    if case_id is None and customer_id is None:
        raise InvalidInput("name a case or a customer", field="case_id")
    query = select(Analysis)
    if case_id is not None:
        cases.get_case(session, actor=actor, case_id=case_id)  # visible to this actor
        query = query.where(Analysis.case_id == case_id)
    if customer_id is not None:
        customers.get_customer(session, actor=actor, customer_id=customer_id)
        if actor.is_partner:
            visible = [
                c.id
                for c in cases.list_cases(
                    session, actor=actor, customer_id=customer_id, include_closed=True, limit=500
                )[0]
            ]
            query = query.where(Analysis.case_id.in_(visible or [0]))
        query = query.where(Analysis.customer_id == customer_id)
    return list(session.scalars(query.order_by(Analysis.received_at.desc()).limit(limit)))


def correct(
    session: Session,
    *,
    actor: Actor,
    analysis_id: int,
    language: str | None = None,
    sentiment: str | None = None,
    churn_threat: bool | None = None,
    topic: str | None = None,
    now: datetime | None = None,
) -> Analysis:
    """An agent corrects the labels of one analysis; kept beside the prediction and used by
    the next ``egards voice train``."""
    actor.require(Permission.CASES_WRITE)
    now = now or utcnow()
    row = session.get(Analysis, analysis_id)
    if row is None:
        raise NotFound(f"analysis {analysis_id} not found", field="analysis_id")
    if row.case_id is not None:
        cases.get_case(session, actor=actor, case_id=row.case_id)
    elif actor.is_partner:
        raise PermissionDenied("partners correct only their cases' messages", field="analysis_id")
    for name, value, allowed in (
        ("language", language, model.LANGUAGES),
        ("sentiment", sentiment, model.SENTIMENTS),
        ("topic", topic, model.TOPICS),
    ):
        if value is not None and value not in allowed:
            raise InvalidInput(f"one of {', '.join(allowed)}", field=name)
    if language is None and sentiment is None and churn_threat is None and topic is None:
        raise InvalidInput("correct at least one label", field="sentiment")
    before = _labels(row)
    if language is not None:
        row.corrected_language = language
    if sentiment is not None:
        row.corrected_sentiment = sentiment
    if churn_threat is not None:
        row.corrected_churn = churn_threat
    if topic is not None:
        row.corrected_topic = topic
    row.corrected_by, row.corrected_at = actor.label, now
    audit.record(
        session,
        actor=actor,
        action="voice.corrected",
        entity_type="voice_analysis",
        entity_id=row.id,
        customer_id=row.customer_id,
        before=before,
        after=_labels(row),
    )
    if row.customer_id is not None:
        customers.record_event(
            session,
            actor=actor,
            customer_id=row.customer_id,
            kind="voice.corrected",
            summary="Message analysis corrected: "
            + ", ".join(f"{k} {v}" for k, v in _labels(row).items() if before.get(k) != v),
            ref_type="voice_analysis",
            ref_id=str(row.id),
            occurred_at=now,
        )
    session.flush()
    return row


def _labels(row: Analysis) -> dict[str, Any]:
    return {
        "language": row.corrected_language or row.language,
        "sentiment": row.corrected_sentiment or row.sentiment,
        "churn_threat": row.churn_threat if row.corrected_churn is None else row.corrected_churn,
        "topic": row.corrected_topic or row.topic,
    }


def labels(row: Analysis) -> dict[str, Any]:
    """The labels in force: the agent's correction where there is one, else the model's."""
    return _labels(row)


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
    number = f"C-{case.id:06d}"
    customers.record_event(
        session,
        actor=actor,
        customer_id=case.customer_id,
        kind="voice.survey_sent",
        summary=f"{number} · Satisfaction survey sent",
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


MAIL = {
    "en": (
        "How did we do? Your request {number}",
        "Hello,\n\nYour request {number} has been resolved. How satisfied are you with how we"
        " handled it? One click is enough:\n\n{links}\n\nYou can add a comment on the page"
        " that opens. This link works until {expires}.\n\nThank you.\n",
    ),
    "fr": (
        "Votre avis sur votre demande {number}",
        "Bonjour,\n\nVotre demande {number} est résolue. Êtes-vous satisfait de la façon dont"
        " nous l'avons traitée ? Un clic suffit :\n\n{links}\n\nVous pourrez ajouter un"
        " commentaire sur la page qui s'ouvre. Ce lien est valable jusqu'au {expires}.\n\nMerci.\n",
    ),
}
RATING_WORDS = {
    "en": ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"),
    "fr": ("Très insatisfait", "Insatisfait", "Neutre", "Satisfait", "Très satisfait"),
}


def _mail(
    session: Session,
    invitation: Invitation,
    token: str,
    *,
    now: datetime,
    settings: VoiceSettings,
    reminder: bool,
) -> None:
    language = invitation.language if invitation.language in MAIL else "en"
    subject, body = MAIL[language]
    number = f"C-{invitation.case_id:06d}" if invitation.case_id else ""
    links = "\n".join(
        f"{r} – {RATING_WORDS[language][r - 1]}: {survey_link(token, r, settings)}"
        for r in range(5, 0, -1)
    )
    if reminder:
        subject = ("Rappel : " if language == "fr" else "Reminder: ") + subject
    outbox.enqueue_email(
        session,
        key=f"voice.survey.{invitation.id}.{'reminder' if reminder else 'sent'}",
        sender=get_settings().mail_from,
        to=invitation.email or "",
        subject=subject.format(number=number),
        body=body.format(
            number=number, links=links, expires=invitation.expires_at.date().isoformat()
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
        raise domain.SurveyLinkInvalid("this survey link is not valid", field="token")
    found = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if found is None:
        raise domain.SurveyLinkInvalid("this survey link is not valid", field="token")
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
        raise domain.SurveyLinkInvalid("no such survey of yours", field="invitation_id")
    domain.check_answerable(
        status=invitation.status,
        expires_at=invitation.expires_at,
        now=now,
        consent=_consents_to_surveys(session, customer_id),
    )
    return _answer(session, invitation, rating=rating, answers=answers, comment=comment, now=now)


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
        raise InvalidInput("at most 4,000 characters", field="comment")
    invitation.status, invitation.answered_at = "answered", now
    invitation.rating, invitation.answers, invitation.comment = int(rating), clean, comment
    session.flush()
    number = f"C-{invitation.case_id:06d}" if invitation.case_id else ""
    if invitation.case_id is not None:
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
        summary=f"{number} · Satisfaction {rating}/5" + (f": {comment[:200]}" if comment else ""),
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
    if domain.needs_follow_up(int(rating)):
        invitation.follow_up_case_id = _follow_up(session, invitation, comment, now=now)
    session.flush()
    return invitation


def _follow_up(
    session: Session, invitation: Invitation, comment: str | None, *, now: datetime
) -> int:
    number = f"C-{invitation.case_id:06d}" if invitation.case_id else "survey"
    french = invitation.language == "fr"
    subject = (
        f"Boucler la boucle : satisfaction {invitation.rating}/5 sur {number}"
        if french
        else f"Close the loop: satisfaction {invitation.rating}/5 on {number}"
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
            body_text=comment or ("(pas de commentaire)" if french else "(no comment)"),
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
        raise PermissionDenied("survey results are internal", field="case_id")
    cases.get_case(session, actor=actor, case_id=case_id)
    return session.scalar(select(Invitation).where(Invitation.case_id == case_id))


def customer_surveys(
    session: Session, *, actor: Actor, customer_id: int, limit: int = 20
) -> list[Invitation]:
    _readable(actor)
    if actor.is_partner:
        raise PermissionDenied("survey results are internal", field="customer_id")
    customers.get_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.scalars(
            select(Invitation)
            .where(Invitation.customer_id == customer_id)
            .order_by(Invitation.sent_at.desc())
            .limit(limit)
        )
    )


def pending_surveys(session: Session, *, customer_id: int, now: datetime) -> list[Invitation]:
    """Surveys the customer may still answer (the portal's panel)."""
    return list(
        session.scalars(
            select(Invitation).where(
                Invitation.customer_id == customer_id,
                Invitation.status == "sent",
                Invitation.expires_at > now,
            )
        )
    )


GROUPS = ("agent", "team", "channel", "category", "tier")


def csat_report(
    session: Session, *, actor: Actor, days: int = 365, now: datetime | None = None
) -> dict[str, Any]:
    """CSAT (share of 4–5), response rate and NPS overall and by agent, team, channel,
    category and tier, over the surveys sent in the last ``days``."""
    _readable(actor)
    if actor.is_partner:
        raise PermissionDenied("satisfaction reports are internal", field="days")
    if not 1 <= days <= 3660:
        raise InvalidInput("between 1 and 3660 days", field="days")
    now = now or utcnow()
    rows = session.execute(
        select(
            Invitation.agent_label,
            Invitation.team,
            Invitation.channel,
            Invitation.category,
            Invitation.tier,
            Invitation.status,
            Invitation.rating,
            Invitation.answers,
        ).where(Invitation.sent_at >= now - timedelta(days=days))
    ).all()

    def figures(items: list[Any]) -> dict[str, Any]:
        ratings = [r.rating for r in items if r.rating is not None]
        recommend = [
            r.answers["recommend"] for r in items if r.answers and "recommend" in r.answers
        ]
        share = domain.csat(ratings)
        rate = domain.response_rate(len(items), len(ratings))
        return {
            "sent": len(items),
            "answered": len(ratings),
            "csat": None if share is None else round(100 * share, 1),
            "response_rate": None if rate is None else round(100 * rate, 1),
            "nps": domain.nps(recommend),
            "mean": round(sum(ratings) / len(ratings), 2) if ratings else None,
        }

    groups: dict[str, list[dict[str, Any]]] = {}
    for name, index in zip(GROUPS, range(5), strict=True):
        buckets: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            buckets[str(row[index] or "—")].append(row)
        groups[name] = sorted(
            ({"key": key, **figures(items)} for key, items in buckets.items()),
            key=lambda g: (-g["sent"], g["key"]),
        )
    return {"days": days, "overall": figures(list(rows)), "by": groups}


# --------------------------------------------------------------------------------------
# GDPR
# --------------------------------------------------------------------------------------


def export_section(session: Session, customer_id: int) -> dict[str, Any]:
    """What customers wrote as analysed, and their survey answers."""
    found = session.scalars(select(Analysis).where(Analysis.customer_id == customer_id))
    invitations = session.scalars(select(Invitation).where(Invitation.customer_id == customer_id))
    return {
        "analyses": [
            {
                "received_at": a.received_at.isoformat(),
                "text": a.excerpt,
                **_labels(a),
                "churn_phrase": a.churn_phrase,
            }
            for a in found
        ],
        "surveys": [
            {
                "case_id": i.case_id,
                "sent_at": i.sent_at.isoformat(),
                "answered_at": i.answered_at.isoformat() if i.answered_at else None,
                "rating": i.rating,
                "answers": i.answers,
                "comment": i.comment,
            }
            for i in invitations
        ],
    }


def erase_customer_data(session: Session, erasure: Erasure) -> None:
    """Analyses and survey answers go with the person."""
    ids: Iterable[int] = erasure.customer_ids
    case_ids = cases.case_ids_of(session, ids)
    session.execute(delete(Analysis).where(Analysis.customer_id.in_(ids)))
    if case_ids:  # messages from an address only later linked to the customer
        session.execute(delete(Analysis).where(Analysis.case_id.in_(case_ids)))
    session.execute(delete(Invitation).where(Invitation.customer_id.in_(ids)))


# --------------------------------------------------------------------------------------
# Root causes
# --------------------------------------------------------------------------------------


def _can_see_root_causes(actor: Actor) -> None:
    if actor.is_partner:
        raise PermissionDenied("root causes are internal", field="days")
    if not (actor.can(Permission.CASES_SUPERVISE) or actor.can(Permission.ANALYTICS_READ)):
        actor.require(Permission.CASES_SUPERVISE)


def root_causes(
    session: Session, *, actor: Actor, days: int = 365, now: datetime | None = None
) -> dict[str, Any]:
    """Per topic (the labels in force, corrections included) over the last ``days``: volume,
    negative share, churn threats, CSAT of the cases it was the first topic of, and the
    volume by month."""
    _can_see_root_causes(actor)
    if not 1 <= days <= 3660:
        raise InvalidInput("between 1 and 3660 days", field="days")
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(Analysis)
            .where(Analysis.received_at >= now - timedelta(days=days))
            .order_by(Analysis.received_at, Analysis.id)
        )
    )
    first_topic: dict[int, str] = {}
    topics: dict[str, dict[str, Any]] = {
        t: {"topic": t, "messages": 0, "negative": 0, "churn_threats": 0, "months": {}}
        for t in model.TOPICS
    }
    for row in rows:
        found = _labels(row)
        entry = topics.setdefault(
            found["topic"],
            {
                "topic": found["topic"],
                "messages": 0,
                "negative": 0,
                "churn_threats": 0,
                "months": {},
            },
        )
        entry["messages"] += 1
        entry["negative"] += found["sentiment"] == "negative"
        entry["churn_threats"] += bool(found["churn_threat"])
        month = row.received_at.strftime("%Y-%m")
        entry["months"][month] = entry["months"].get(month, 0) + 1
        if row.case_id is not None and row.source_type == "case_message":
            first_topic.setdefault(row.case_id, found["topic"])
    ratings: dict[str, list[int]] = defaultdict(list)
    if first_topic:
        for case_id, rating in session.execute(
            select(Invitation.case_id, Invitation.rating).where(
                Invitation.rating.is_not(None), Invitation.case_id.in_(list(first_topic))
            )
        ):
            assert case_id is not None and rating is not None, "the query keeps only these"
            ratings[first_topic[case_id]].append(rating)
    months = sorted({m for t in topics.values() for m in t["months"]})
    out = []
    for entry in topics.values():
        share = domain.csat(ratings[entry["topic"]])
        out.append(
            {
                **entry,
                "negative_share": round(100 * entry["negative"] / entry["messages"], 1)
                if entry["messages"]
                else None,
                "csat": None if share is None else round(100 * share, 1),
                "ratings": len(ratings[entry["topic"]]),
                "months": [entry["months"].get(m, 0) for m in months],
            }
        )
    out.sort(key=lambda t: (-t["messages"], t["topic"]))
    return {"days": days, "months": months, "topics": out}


def topic_messages(
    session: Session,
    *,
    actor: Actor,
    topic: str,
    days: int = 365,
    limit: int = 200,
    now: datetime | None = None,
) -> list[Analysis]:
    """The messages of one topic (labels in force), newest first: the drill-down."""
    _can_see_root_causes(actor)
    if topic not in model.TOPICS:
        raise InvalidInput(f"one of {', '.join(model.TOPICS)}", field="topic")
    now = now or utcnow()
    in_force = func.coalesce(Analysis.corrected_topic, Analysis.topic)
    return list(
        session.scalars(
            select(Analysis)
            .where(in_force == topic, Analysis.received_at >= now - timedelta(days=days))
            .order_by(Analysis.received_at.desc(), Analysis.id.desc())
            .limit(limit)
        )
    )
