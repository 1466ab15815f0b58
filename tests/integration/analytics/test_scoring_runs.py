"""Scoring runs end to end through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from egards.accounts.domain import SYSTEM
from egards.analytics import service
from egards.analytics.errors import ModelDidNotConverge, NoTransactions
from egards.analytics.models import CustomerScore, ScoreHistory, ScoreRun
from egards.analytics.settings import AnalyticsSettings
from egards.i18n import render_message
from tests.integration.analytics.conftest import AS_OF, add_customers, write_transactions


def _scores(db) -> dict[int, tuple]:
    with db.unit_of_work() as session:
        return {
            r.customer_id: (r.clv_cents, r.run_id, r.segment)
            for r in session.scalars(select(CustomerScore))
        }


def test_a_run_scores_every_customer_who_bought_and_keeps_history(db, population):
    outcome = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    assert outcome.status == "succeeded"
    assert outcome.counts["customers_scored"] == len(population)
    with db.unit_of_work() as session:
        rows = session.scalars(select(CustomerScore)).all()
        assert {r.customer_id for r in rows} == set(population)
        assert all(0.0 <= r.probability_alive <= 1.0 for r in rows)
        assert all(0.0 <= r.churn_risk <= 1.0 for r in rows)
        assert all(r.clv_cents >= 0 for r in rows)
        history = session.scalar(
            select(func.count())
            .select_from(ScoreHistory)
            .where(ScoreHistory.run_id == outcome.run_id)
        )
        assert history == len(population)
        run = session.get_one(ScoreRun, outcome.run_id)
        assert run.status == "succeeded" and run.model_version.endswith(str(run.id))
        assert run.report["churn"]["method"] == "gradient_boosting"
        assert 0.5 < run.report["churn"]["auc"] <= 1.0
        assert run.report["churn"]["calibration"]
    frequent = [r for r in rows if (population.index(r.customer_id) % 4) == 0]
    tourists = [r for r in rows if (population.index(r.customer_id) % 4) == 3]
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    assert mean([r.clv_cents for r in frequent]) > 5 * mean([r.clv_cents for r in tourists])
    assert {r.segment for r in tourists} <= {"new", "tourist"}


def test_a_second_run_reuses_the_fitted_parameters_and_adds_to_history(db, population):
    first = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    second = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    assert second.model_version == first.model_version
    assert second.report["value_models"] == {"reused": True}
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(ScoreHistory)) == 2 * len(population)
        trend = service.customer_score(session, actor=SYSTEM, customer_id=population[0])["trend"]
        assert [t["run_id"] for t in trend] == [first.run_id, second.run_id]


def test_a_failed_run_leaves_the_previous_scores_in_place(db, population, monkeypatch):
    good = service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    before = _scores(db)

    original = service.copy_rows

    def broken(session, table_name, table):
        original(session, table_name, table)
        if table_name == "score_history":
            raise RuntimeError("disk full")

    monkeypatch.setattr(service, "copy_rows", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", refit=True)
    assert _scores(db) == before
    with db.unit_of_work() as session:
        failed = session.scalar(select(ScoreRun).order_by(ScoreRun.id.desc()))
        assert failed.status == "failed" and failed.error_code == "score_run_failed"
        # An unexpected failure has no words of ours: its text is the cause, in both languages.
        assert render_message("en", failed.error_message) == "failed: RuntimeError: disk full"
        assert render_message("fr", failed.error_message) == "échec : RuntimeError: disk full"
        assert service.latest_run(session).id == good.run_id


def test_an_empty_population_says_there_is_nothing_to_score(db):
    with pytest.raises(NoTransactions, match="no transactions to score"):
        service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    with db.unit_of_work() as session:
        run = session.scalar(select(ScoreRun).order_by(ScoreRun.id.desc()))
        assert run.status == "failed" and run.error_code == "no_transactions"
        assert render_message("en", run.error_message).startswith("no transactions to score")


def test_a_model_that_cannot_be_fitted_names_the_cause_and_keeps_scores(db, population):
    service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    before = _scores(db)
    with db.unit_of_work() as session:
        session.execute(CustomerScore.__table__.delete().where(False))
    # Only one-off buyers: repeat buying cannot be estimated.
    ids = add_customers(db, 50, prefix="ONE")
    from egards.analytics.models import Transaction

    with db.unit_of_work() as session:
        session.execute(Transaction.__table__.delete())
    write_transactions(db, ids, [20_000 + i for i in range(50)], [1000] * 50)
    with pytest.raises(ModelDidNotConverge, match="none of the 50 customers bought twice"):
        service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", refit=True)
    assert _scores(db) == before


def test_a_second_run_is_refused_while_one_is_under_way(db, population):
    from egards.analytics.errors import RunInProgress

    with db.unit_of_work() as session:
        service.queue_run(session, actor=SYSTEM, as_of=AS_OF)
    with pytest.raises(RunInProgress), db.unit_of_work() as session:
        service.queue_run(session, actor=SYSTEM, as_of=AS_OF)


def test_a_run_left_running_by_a_dead_process_is_failed_as_abandoned(db):
    with db.unit_of_work() as session:
        dead = service.queue_run(session, actor=SYSTEM, as_of=AS_OF)
        dead.status, dead.created_at = "running", datetime.now(UTC) - service.STALE_RUN
    with db.unit_of_work() as session:
        service.queue_run(session, actor=SYSTEM, as_of=AS_OF)  # no longer refused
        dead = session.get_one(ScoreRun, dead.id)
        assert (dead.status, dead.error_code) == ("failed", "score_run_abandoned")
        assert render_message("fr", dead.error_message) == "abandonné (processus arrêté)"


def _add_case(db, customer_id: int, *, opened: datetime, category: str = "complaint", **clock):
    from sqlalchemy import insert

    from egards.cases.models import Case

    with db.unit_of_work() as session:
        session.execute(
            insert(Case.__table__),
            {
                "customer_id": customer_id,
                "channel": "email",
                "team": "customer_care",
                "subject": "Where are my miles?",
                "category": category,
                "priority": "high",
                "status": "open",
                "language": "fr",
                "opened_by": "tests",
                "created_at": opened,
                "updated_at": opened,
                "sla_policy": "standard",
                "sla_state": "on_track",
                "first_response_due_at": opened + timedelta(days=1),
                **clock,
            },
        )


def test_complaints_not_answered_in_time_show_among_the_reasons_in_words(db, population):
    late_one, steady_one = population[0], population[4]
    opened = datetime.combine(AS_OF, time(9), tzinfo=UTC) - timedelta(days=30)
    # Still waiting, past the promised reply: the sweep has flagged it.
    _add_case(
        db,
        late_one,
        opened=opened,
        awaiting_since=opened,
        reply_due_at=opened + timedelta(days=1),
        reply_overdue=True,
        sla_state="breached",
    )
    # Answered two days late, then resolved.
    _add_case(
        db,
        late_one,
        opened=opened - timedelta(days=20),
        first_response_at=opened - timedelta(days=17),
        first_response_breached=True,
        status="resolved",
        resolved_at=opened - timedelta(days=15),
        sla_state="breached",
    )
    # Answered in time: a case, but no broken promise.
    _add_case(
        db,
        steady_one,
        opened=opened,
        first_response_at=opened + timedelta(hours=2),
        first_response_breached=False,
        status="resolved",
        resolved_at=opened + timedelta(days=1),
        sla_state="met",
    )
    service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    with db.unit_of_work() as session:
        late = service.customer_score(session, actor=SYSTEM, customer_id=late_one)
        late_fr = service.customer_score(session, actor=SYSTEM, customer_id=late_one, lang="fr")
        steady = service.customer_score(session, actor=SYSTEM, customer_id=steady_one)
    assert "2 complaints not answered within the promised time" in late["reasons"]
    assert "2 réclamations sans réponse dans le délai promis" in late_fr["reasons"]
    assert not any("promised" in reason for reason in steady["reasons"])
    assert "unanswered" not in steady["churn_reasons"]


def test_a_failed_nightly_run_is_not_retried_at_every_pass_of_the_worker(db, settings):
    from egards.worker import run_once

    first = run_once(db, settings, only={"nightly-score"})["nightly-score"]
    again = run_once(db, settings, only={"nightly-score"})["nightly-score"]
    assert first.startswith("not scored: no transactions to score")
    assert again.startswith("not scored: run") and again.endswith("next attempt tomorrow")
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(ScoreRun)) == 1


def test_history_keeps_the_latest_runs_set_and_drops_older_ones(db, population):
    keep_two = AnalyticsSettings(history_runs=2)
    runs = [
        service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported", settings=keep_two)
        for _ in range(3)
    ]
    with db.unit_of_work() as session:
        kept = session.execute(
            select(ScoreHistory.run_id, func.count()).group_by(ScoreHistory.run_id)
        ).all()
    assert sorted(kept) == [(runs[1].run_id, len(population)), (runs[2].run_id, len(population))]
