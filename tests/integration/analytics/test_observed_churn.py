"""Churn risk from real cancellations: after a scoring run, a subscriber who gave notice or
whose contracts ended is held at the risk the contracts show, with the reason in words, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from egards.accounts.domain import SYSTEM
from egards.analytics import service
from egards.subscriptions import service as subscriptions
from egards.subscriptions.schemas import CancellationCreate, SubscriptionCreate
from tests.integration.analytics.conftest import AS_OF

NOW = datetime(2026, 6, 30, 9, tzinfo=UTC)


def _contract(session, customer_id: int, reference: str) -> int:
    return subscriptions.create_subscription(
        session,
        actor=subscriptions.WORKER,
        data=SubscriptionCreate(
            customer_id=customer_id,
            reference=reference,
            offer="Fibre",
            line_numbers=["01 44 55 66 77"],
            start_date=date(2024, 1, 1),
            notice_days=10,
            price_cents=3999,
            sold_channel="shop",
            sold_silo="shop",
        ),
        now=NOW,
    ).id


def _cancel(session, settings, name: str, reference: str, received: datetime) -> None:
    subscriptions.request_cancellation(
        session,
        actor=subscriptions.WORKER,
        data=CancellationCreate(name=name, reference=reference, channel="phone", reason="price"),
        settings=settings,
        now=received,
    )


def test_a_cancellation_holds_the_churn_risk_through_a_scoring_run(db, settings, population):
    leaving, left, staying = population[0], population[4], population[8]
    with db.unit_of_work() as session:
        for customer_id, reference in ((leaving, "OC-1"), (left, "OC-2"), (staying, "OC-3")):
            _contract(session, customer_id, reference)
        _cancel(session, settings, "Test0", "OC-1", NOW)
        _cancel(session, settings, "Test4", "OC-2", datetime(2026, 5, 1, 9, tzinfo=UTC))
        assert subscriptions.end_due(session, today=date(2026, 5, 20), now=NOW) == 1
    service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    with db.unit_of_work() as session:
        scores = {
            c: service.customer_score(session, actor=SYSTEM, customer_id=c, lang="fr")
            for c in (leaving, left, staying)
        }
        english = service.customer_score(session, actor=SYSTEM, customer_id=left)
    assert scores[leaving]["churn_risk"] >= 0.9
    assert scores[leaving]["reasons"][0] == "a demandé la résiliation (fin le 10 juillet 2026)"
    assert scores[left]["churn_risk"] == 1.0
    assert scores[left]["reasons"][0] == "contrat résilié, terminé le 11 mai 2026"
    assert english["reasons"][0] == "contract cancelled, ended on 11 May 2026"
    assert not any("résili" in r for r in scores[staying]["reasons"])
    # A second run does not stack the reason: one of each kind.
    service.score(db, actor=SYSTEM, as_of=AS_OF, source="imported")
    with db.unit_of_work() as session:
        again = service.customer_score(session, actor=SYSTEM, customer_id=left)
    assert again["churn_reasons"].count("cancelled:") == 1
