"""Retraining the linking model from the review outcomes, through the API and the console."""

from __future__ import annotations

from datetime import UTC, datetime

from egards.accounts.domain import Role
from egards.social import service
from tests.conftest import login
from tests.integration.cases.conftest import create_customer

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
LEVELS = {"first_name": 4, "last_name": 4, "city": 0, "alias": 3}


def _proposal(db, customer_id: int, handle: str) -> int:
    with db.unit_of_work() as session:
        profile = service.upsert_profile(session, network="x", handle=handle, now=NOW)
        link = service.propose_link(
            session,
            profile=profile,
            customer_id=customer_id,
            method="probabilistic",
            evidence=[
                {"method": column, "detail": f"{column}", "level": level}
                for column, level in LEVELS.items()
            ],
            score=3.5,
            now=NOW,
        )
        return link.id


def test_retraining_learns_from_confirmed_links_and_is_used_next(client, db, agent, supervisor):
    refused = client.post("/api/v1/social/model/retrain", headers=supervisor.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "model"
    french = client.post(
        "/api/v1/social/model/retrain",
        headers={**supervisor.headers, "Accept-Language": "fr"},
    )
    assert french.json()["detail"] == (
        "aucun lien vérifié dont apprendre pour l'instant : "
        "confirmez ou rejetez d'abord des liens proposés"
    )
    first = create_customer(client, agent, first_name="Hélène", last_name="Quenouille")
    second = create_customer(client, agent, first_name="Bastien", last_name="Marcellin")
    confirmed = _proposal(db, first["id"], "helene_q")
    rejected = _proposal(db, second["id"], "bastien_m")
    for link_id, accept in ((confirmed, True), (rejected, False)):
        decided = client.post(
            f"/api/v1/social/reviews/{link_id}", json={"accept": accept}, headers=agent.headers
        )
        assert decided.status_code == 200, decided.text
    assert client.post("/api/v1/social/model/retrain", headers=agent.headers).status_code == 403
    trained = client.post("/api/v1/social/model/retrain", headers=supervisor.headers)
    assert trained.status_code == 201, trained.text
    body = trained.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    # A confirmed link in another city: a different city now costs a little less.
    assert body["m_probabilities"]["city"][1] > 0.15
    with db.unit_of_work() as session:
        assert service.current_m(session) == body["m_probabilities"]


def test_the_console_retrains_from_the_review_page(client, db, agent, make_person):
    customer = create_customer(client, agent, first_name="Inès", last_name="Aubrac")
    link_id = _proposal(db, customer["id"], "ines_a")
    supervisor = make_person(Role.SUPERVISOR)
    token = login(client, supervisor.email)
    page = client.get("/social/reviews")
    assert any(
        words in page.text
        for words in ("The shipped model is in force", "Le modèle livré est en vigueur")
    )
    assert 'action="/social/reviews/retrain"' in page.text
    client.post(
        f"/social/reviews/{link_id}", data={"decision": "accept", "csrf_token": token}
    ).raise_for_status()
    done = client.post(
        "/social/reviews/retrain", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    page = client.get("/social/reviews")
    assert any(
        words in page.text
        for words in ("from 1 confirmed and 0 rejected links", "1 liens confirmés et 0 rejetés")
    )
