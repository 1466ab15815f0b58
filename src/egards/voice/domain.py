"""Rules of the voice of the customer, over plain values: when a survey goes out, when a link
may be answered, when a reminder is due, what a survey answer must hold, and the figures
(CSAT as the share of 4–5, NPS, response rate). No database, no web: tested alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from egards.errors import N_, Conflict, InvalidInput, NotFound

QUESTION_KINDS = ("rating", "nps", "choice", "text")
# Categories and tags of cases that are never surveyed: nobody to ask, or nothing to rate.
NO_SURVEY_CATEGORIES = frozenset({"spam"})
NO_SURVEY_TAGS = frozenset({"spam", "merged", "auto-resolved", "duplicate"})
LOW_SCORE = 2  # a rating at or below opens a follow-up ("close the loop")


class SurveyClosed(Conflict):
    code = "survey_closed"


class SurveyExpired(Conflict):
    code = "survey_expired"


class SurveyLinkInvalid(NotFound):
    code = "survey_link_invalid"


@dataclass(frozen=True)
class Question:
    key: str
    kind: str  # rating (1–5), nps (0–10), choice, text
    text_en: str
    text_fr: str
    choices: tuple[str, ...] = ()
    required: bool = False

    def text(self, locale: str) -> str:
        return self.text_fr if locale == "fr" else self.text_en


@dataclass(frozen=True)
class Survey:
    key: str
    name_en: str
    name_fr: str
    questions: tuple[Question, ...] = field(default_factory=tuple)
    scale: str = "csat"  # the first question: csat (1–5) or nps (0–10)

    @property
    def scores(self) -> range:
        return range(0, 11) if self.scale == "nps" else range(1, 6)


@dataclass(frozen=True)
class ResolvedCase:
    """What the survey rule needs to know about a case that was just resolved."""

    category: str | None
    tags: tuple[str, ...]
    resolved_by_system: bool
    has_customer: bool
    email: str | None


@dataclass(frozen=True)
class Decision:
    send: bool
    reason: str  # why not, in a word an operator can read; "ok" when sent


def survey_decision(
    case: ResolvedCase,
    *,
    consent: bool,
    last_survey_at: datetime | None,
    now: datetime,
    period_days: int,
) -> Decision:
    """Whether a CSAT survey goes out for a resolved case. Not for spam, merged or
    auto-resolved cases; never without the customer's consent for surveys; at most one per
    customer per period."""
    if not case.has_customer:
        return Decision(False, "no_customer")
    if (case.category or "") in NO_SURVEY_CATEGORIES or NO_SURVEY_TAGS & set(case.tags):
        return Decision(False, "excluded_case")
    if case.resolved_by_system:
        return Decision(False, "auto_resolved")
    if not case.email:
        return Decision(False, "no_email")
    if not consent:
        return Decision(False, "no_consent")
    if last_survey_at is not None and now - last_survey_at < timedelta(days=period_days):
        return Decision(False, "recently_surveyed")
    return Decision(True, "ok")


def check_answerable(
    *, status: str, expires_at: datetime, now: datetime, consent: bool = True
) -> None:
    """A link answers once, before it expires, while the customer still consents."""
    if status == "answered":
        raise SurveyClosed(N_("this survey has already been answered"), field="token")
    if now >= expires_at:
        raise SurveyExpired(N_("this survey link has expired"), field="token")
    if not consent:
        raise SurveyClosed(N_("the customer withdrew their consent to surveys"), field="token")


def reminder_due(
    *,
    status: str,
    sent_at: datetime,
    reminded_at: datetime | None,
    expires_at: datetime,
    now: datetime,
    after_days: int,
) -> bool:
    """One reminder at most, ``after_days`` after sending, and only while it can be answered."""
    return (
        status == "sent"
        and reminded_at is None
        and now >= sent_at + timedelta(days=after_days)
        and now < expires_at
    )


def validate_answers(survey: Survey, rating: int, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The rating (1–5, or 0–10 on an NPS survey) and the further answers, checked against
    the survey's questions: unknown questions refused, each answer of its kind, required
    ones present."""
    if int(rating) not in survey.scores:
        if survey.scale == "nps":
            raise InvalidInput(N_("choose a score from 0 to 10"), field="rating")
        raise InvalidInput(N_("choose a rating from 1 to 5"), field="rating")
    by_key = {q.key: q for q in survey.questions}
    unknown = set(answers) - set(by_key)
    if unknown:
        first = sorted(unknown)[0]
        raise InvalidInput(N_("unknown question {key}"), field=first, key=first)
    clean: dict[str, Any] = {}
    for question in survey.questions:
        value = answers.get(question.key)
        if value in (None, ""):
            if question.required:
                raise InvalidInput(N_("an answer is required"), field=question.key)
            continue
        clean[question.key] = _answer(question, value)
    return clean


def _answer(question: Question, value: Any) -> Any:
    if question.kind in ("rating", "nps"):
        low, high = (1, 5) if question.kind == "rating" else (0, 10)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                N_("a number from {low} to {high}"), field=question.key, low=low, high=high
            ) from None
        if not low <= number <= high:
            raise InvalidInput(
                N_("a number from {low} to {high}"), field=question.key, low=low, high=high
            )
        return number
    if question.kind == "choice":
        if str(value) not in question.choices:
            raise InvalidInput(N_("not one of the choices"), field=question.key)
        return str(value)
    text = str(value).strip()
    if len(text) > 4000:
        raise InvalidInput(N_("at most 4,000 characters"), field=question.key)
    return text


def csat(ratings: Iterable[int]) -> float | None:
    """CSAT: the share of 4 and 5 among the ratings, None without any."""
    values = list(ratings)
    return None if not values else sum(r >= 4 for r in values) / len(values)


def nps(scores: Iterable[int]) -> int | None:
    """NPS: % promoters (9–10) − % detractors (0–6), rounded; None without any."""
    values = list(scores)
    if not values:
        return None
    promoters = sum(s >= 9 for s in values)
    detractors = sum(s <= 6 for s in values)
    return round(100 * (promoters - detractors) / len(values))


def nps_band(score: int) -> str:
    """promoter (9–10), passive (7–8) or detractor (0–6)."""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def nps_wave_due(last_wave_at: datetime | None, now: datetime, cadence_days: int) -> bool:
    """A relationship NPS wave goes out every ``cadence_days``."""
    return last_wave_at is None or now >= last_wave_at + timedelta(days=cadence_days)


def response_rate(sent: int, answered: int) -> float | None:
    return None if sent == 0 else answered / sent


def needs_follow_up(rating: int) -> bool:
    return rating <= LOW_SCORE


def parse_surveys(data: Mapping[str, Any]) -> dict[str, Survey]:
    """Survey definitions from their YAML form, refusing unknown question kinds."""
    out = {}
    for key, spec in data.items():
        questions = []
        for q in spec.get("questions", ()):
            if q["kind"] not in QUESTION_KINDS:
                raise InvalidInput(
                    N_("unknown question kind {kind}"), field=q["key"], kind=q["kind"]
                )
            choices: Sequence[str] = q.get("choices", ())
            questions.append(
                Question(
                    key=q["key"],
                    kind=q["kind"],
                    text_en=q["en"],
                    text_fr=q["fr"],
                    choices=tuple(choices),
                    required=bool(q.get("required", False)),
                )
            )
        scale = str(spec.get("scale", "csat"))
        if scale not in ("csat", "nps"):
            raise InvalidInput(N_("unknown scale {scale}"), field=key, scale=scale)
        out[key] = Survey(
            key=key,
            name_en=spec["en"],
            name_fr=spec["fr"],
            questions=tuple(questions),
            scale=scale,
        )
    return out
