"""Analysing what customers write: the model, each message as it arrives, a churn
threat acted on at once, and the agents' corrections."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egards.accounts.domain import SYSTEM, Actor, Permission
from egards.analytics import service as analytics
from egards.audit import service as audit
from egards.cases import service as cases
from egards.cases.domain import Priority
from egards.config import get_settings
from egards.customers import service as customers
from egards.db import utcnow
from egards.errors import N_, InvalidInput, NotFound, PermissionDenied
from egards.formats import format_day
from egards.i18n import C_, day, listed, message, message_in, translate, translate_context
from egards.voice import classifier as model
from egards.voice.models import Analysis
from egards.voice.settings import VoiceSettings, get_voice_settings

_LOCK = threading.Lock()
ANALYSED_CHARACTERS = 5000
_CLASSIFIER: model.Classifier | None = None
# The classifier's topics (lexicon.TOPICS) in words: product text, French in the voice
# catalogue ("topic" context: "Price" or "Delay" may mean something else elsewhere).
TOPIC_LABELS = {
    "delay": C_("topic", "Delay"),
    "flight_cancellation": C_("topic", "Flight cancellation"),
    "baggage": C_("topic", "Baggage"),
    "lounge_status": C_("topic", "Lounge and status"),
    "miles": C_("topic", "Miles not credited"),
    "billing": C_("topic", "Billing"),
    "outage": C_("topic", "Outage"),
    "installation": C_("topic", "Installation appointment"),
    "technician": C_("topic", "Technician"),
    "customer_service": C_("topic", "Customer service"),
    "price": C_("topic", "Price"),
    "contract_cancellation": C_("topic", "Contract cancellation"),
    "praise": C_("topic", "Praise"),
}


def topic_label(topic: str, locale: str = "en") -> str:
    label = TOPIC_LABELS.get(topic)
    return topic if label is None else translate_context(locale, "topic", label)


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
    """'wrote on 3 December 2026: «…»' in the reader's language."""
    return translate(
        locale, "wrote on {day}: «{quote}»", day=format_day(received_at, locale), quote=quote
    )


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
    customers.record_event(
        session,
        actor=actor,
        customer_id=row.customer_id,
        kind="voice.churn_threat",
        summary=message(
            N_("Churn threat: wrote on {day}: «{quote}»"),
            day=day(row.received_at),
            quote=_quote(row),
        ),
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
        raise InvalidInput(N_("name a case or a customer"), field="case_id")
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
        raise NotFound(
            N_("analysis {analysis_id} not found"), field="analysis_id", analysis_id=analysis_id
        )
    if row.case_id is not None:
        cases.get_case(session, actor=actor, case_id=row.case_id)
    elif actor.is_partner:
        raise PermissionDenied(
            N_("partners correct only their cases' messages"), field="analysis_id"
        )
    for name, value, allowed in (
        ("language", language, model.LANGUAGES),
        ("sentiment", sentiment, model.SENTIMENTS),
        ("topic", topic, model.TOPICS),
    ):
        if value is not None and value not in allowed:
            raise InvalidInput(N_("one of {choices}"), field=name, choices=", ".join(allowed))
    if language is None and sentiment is None and churn_threat is None and topic is None:
        raise InvalidInput(N_("correct at least one label"), field="sentiment")
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
            summary=message(
                N_("Message analysis corrected: {changes}"),
                changes=listed(
                    [
                        _label_said(name, value)
                        for name, value in _labels(row).items()
                        if before.get(name) != value
                    ]
                ),
            ),
            ref_type="voice_analysis",
            ref_id=str(row.id),
            occurred_at=now,
        )
    session.flush()
    return row


_LABEL_WORDS = {
    "language": N_("language"),
    "sentiment": N_("sentiment"),
    "churn_threat": N_("churn threat"),
    "topic": N_("topic"),
}


def _label_said(name: str, value: Any) -> dict[str, Any]:
    """A corrected label in words: "sentiment negative", "topic Baggage"."""
    if name == "topic" and value in TOPIC_LABELS:
        said: dict[str, Any] = message_in("topic", TOPIC_LABELS[value])
    elif name == "churn_threat":
        said = message(N_("yes") if value else N_("no"))
    else:
        said = message(str(value))
    return message(N_("{label} {value}"), label=message(_LABEL_WORDS[name]), value=said)


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
