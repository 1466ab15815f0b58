"""Rules of the voice of the customer without a database: when a survey goes out, when a
link may be answered, the one reminder, the answers' kinds, and the figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from egards.errors import InvalidInput
from egards.voice import domain

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def resolved(**overrides) -> domain.ResolvedCase:
    values = {
        "category": "complaint",
        "tags": (),
        "resolved_by_system": False,
        "has_customer": True,
        "email": "jean@example.fr",
    }
    values.update(overrides)
    return domain.ResolvedCase(**values)


def decide(case: domain.ResolvedCase, **overrides) -> domain.Decision:
    values = {"consent": True, "last_survey_at": None, "now": NOW, "period_days": 30}
    values.update(overrides)
    return domain.survey_decision(case, **values)


def test_a_resolved_case_of_a_consenting_customer_is_surveyed():
    assert decide(resolved()) == domain.Decision(True, "ok")


def test_no_survey_for_an_auto_resolved_case():
    assert decide(resolved(resolved_by_system=True)) == domain.Decision(False, "auto_resolved")
    assert decide(resolved(tags=("auto-resolved",))).send is False


def test_no_survey_for_spam_or_merged_cases():
    assert decide(resolved(category="spam")).reason == "excluded_case"
    assert decide(resolved(tags=("merged",))).reason == "excluded_case"


def test_no_survey_without_the_consent_for_surveys():
    assert decide(resolved(), consent=False) == domain.Decision(False, "no_consent")


def test_no_survey_without_a_customer_or_an_address():
    assert decide(resolved(has_customer=False)).reason == "no_customer"
    assert decide(resolved(email=None)).reason == "no_email"


def test_one_survey_per_customer_per_period():
    recent = NOW - timedelta(days=29, hours=23)
    assert decide(resolved(), last_survey_at=recent) == domain.Decision(False, "recently_surveyed")
    assert decide(resolved(), last_survey_at=NOW - timedelta(days=30)).send is True


def test_a_link_answers_once_before_it_expires_and_while_consent_holds():
    later = NOW + timedelta(days=14)
    domain.check_answerable(status="sent", expires_at=later, now=NOW)
    with pytest.raises(domain.SurveyClosed):
        domain.check_answerable(status="answered", expires_at=later, now=NOW)
    with pytest.raises(domain.SurveyExpired):
        domain.check_answerable(status="sent", expires_at=NOW, now=NOW)
    with pytest.raises(domain.SurveyClosed):
        domain.check_answerable(status="sent", expires_at=later, now=NOW, consent=False)


def test_one_reminder_at_most_and_never_after_expiry():
    sent = NOW - timedelta(days=3)
    common = {"status": "sent", "sent_at": sent, "expires_at": NOW + timedelta(days=5)}
    assert domain.reminder_due(**common, reminded_at=None, now=NOW, after_days=3)
    assert not domain.reminder_due(**common, reminded_at=NOW, now=NOW, after_days=3)
    assert not domain.reminder_due(**common, reminded_at=None, now=NOW, after_days=4)
    expired = {**common, "expires_at": NOW}
    assert not domain.reminder_due(**expired, reminded_at=None, now=NOW, after_days=3)
    answered = {**common, "status": "answered"}
    assert not domain.reminder_due(**answered, reminded_at=None, now=NOW, after_days=3)


SURVEY = domain.Survey(
    key="csat",
    name_en="How did we do?",
    name_fr="Comment avons-nous fait ?",
    questions=(
        domain.Question("effort", "choice", "Easy?", "Facile ?", choices=("yes", "no")),
        domain.Question("recommend", "nps", "Recommend?", "Recommander ?"),
        domain.Question("why", "text", "Why?", "Pourquoi ?"),
        domain.Question("staff", "rating", "Staff?", "Personnel ?", required=True),
    ),
)


def test_answers_are_checked_against_the_survey_questions():
    clean = domain.validate_answers(SURVEY, 4, {"effort": "yes", "recommend": "9", "staff": 5})
    assert clean == {"effort": "yes", "recommend": 9, "staff": 5}
    for rating, answers, field in (
        (0, {"staff": 5}, "rating"),
        (4, {"staff": 5, "effort": "maybe"}, "effort"),
        (4, {"staff": 5, "recommend": 11}, "recommend"),
        (4, {}, "staff"),
        (4, {"staff": 5, "colour": "blue"}, "colour"),
    ):
        with pytest.raises(InvalidInput) as refused:
            domain.validate_answers(SURVEY, rating, answers)
        assert refused.value.field == field


def test_csat_is_the_share_of_four_and_five_and_nps_promoters_minus_detractors():
    assert domain.csat([5, 4, 3, 1]) == 0.5
    assert domain.csat([]) is None
    assert domain.nps([10, 9, 8, 6, 0]) == 0  # 2 promoters, 2 detractors of 5
    assert domain.nps([10, 10, 7]) == 67
    assert domain.response_rate(4, 1) == 0.25
    assert domain.response_rate(0, 0) is None


def test_a_low_score_needs_a_follow_up():
    assert domain.needs_follow_up(1) and domain.needs_follow_up(2)
    assert not domain.needs_follow_up(3)


def test_an_unknown_question_kind_is_refused_in_a_survey_definition():
    with pytest.raises(InvalidInput):
        domain.parse_surveys(
            {
                "s": {
                    "en": "S",
                    "fr": "S",
                    "questions": [{"key": "k", "kind": "slider", "en": "", "fr": ""}],
                }
            }
        )


def test_nps_bands_and_score():
    assert [domain.nps_band(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    assert domain.nps([10, 9, 8, 3]) == 25  # 50 % promoters − 25 % detractors
    assert domain.nps([]) is None


def test_an_nps_wave_is_due_once_per_cadence():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert domain.nps_wave_due(None, start, 90)
    assert not domain.nps_wave_due(start, start + timedelta(days=89), 90)
    assert domain.nps_wave_due(start, start + timedelta(days=90), 90)


def test_an_nps_survey_takes_scores_from_0_to_10():
    survey = domain.Survey(key="nps", name_en="NPS", name_fr="NPS", scale="nps")
    assert domain.validate_answers(survey, 0, {}) == {}
    with pytest.raises(InvalidInput) as refused:
        domain.validate_answers(survey, 11, {})
    assert refused.value.field == "rating"
    csat = domain.Survey(key="csat", name_en="CSAT", name_fr="CSAT")
    with pytest.raises(InvalidInput):
        domain.validate_answers(csat, 0, {})
