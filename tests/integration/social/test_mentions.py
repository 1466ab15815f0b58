"""Deterministic links read from what people write (a contract reference quoted in a post, an
answer by e-mail from a known address), and mentions analysed by the voice of the customer."""

from __future__ import annotations

import json
from email.message import EmailMessage

from sqlalchemy import select

from egards.cases import service as cases
from egards.social import service
from egards.social.models import SocialMention, SocialProfile
from egards.voice.models import Analysis
from tests.integration.cases.conftest import create_customer


def _profile(db, handle: str) -> SocialProfile:
    with db.unit_of_work() as session:
        found = session.scalar(select(SocialProfile).where(SocialProfile.handle == handle))
        assert found is not None
        session.expunge(found)
        return found


def test_a_contract_reference_quoted_in_a_post_links_the_author(client, agent, post_mention):
    customer = create_customer(client, agent)
    contract = client.post(
        "/api/v1/subscriptions",
        json={
            "customer_id": customer["id"],
            "reference": "FX-100200",
            "offer": "Freebox Pop",
            "start_date": "2025-06-01",
            "price_cents": 3999,
        },
        headers=agent.headers,
    )
    assert contract.status_code == 201, contract.text
    case = post_mention(handle="@abonne_fx", text="Contrat fx 100200 : coupure depuis 3 jours")
    assert case["customer_id"] == customer["id"]


def test_an_unknown_contract_reference_links_nobody(client, agent, db, post_mention):
    case = post_mention(handle="@abonne_fx", text="Contrat FX-999999 : coupure depuis 3 jours")
    assert case["customer_id"] is None
    assert _profile(db, "abonne_fx").customer_id is None


def test_an_answer_in_the_posts_thread_from_a_known_address_links_the_author(
    client, agent, db, post_mention
):
    customer = create_customer(client, agent, emails=["paul.riviere@example.fr"])
    case = post_mention(handle="@paulo_r", author_name="Paulo", text="Box en panne depuis lundi")
    assert case["customer_id"] is None
    assert _profile(db, "paulo_r").customer_id is None
    message = EmailMessage()
    message["From"] = "paul.riviere@example.fr"
    message["To"] = "service@egards.test"
    # The answer continues the post's thread (its message id), from the customer's address.
    message["Subject"] = "Re: ma box"
    message["Message-ID"] = "<paulo-answer@example.fr>"
    message["In-Reply-To"] = "<x.1900000000001@social>"
    message.set_content("Comme demandé en message privé, voici mon adresse e-mail.")
    answered = client.post(
        "/api/v1/cases/inbound-email",
        content=message.as_bytes(),
        headers={**agent.headers, "Content-Type": "message/rfc822"},
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["case_id"] == case["id"]
    profile = _profile(db, "paulo_r")
    assert profile.customer_id == customer["id"]
    assert profile.link_method == "reply_from_known_address"


def test_a_linked_authors_mention_without_a_case_is_analysed(client, agent, db, clock, settings):
    customer = create_customer(client, agent, social=[{"network": "x", "handle": "@claire_b"}])
    rows = [
        {
            "network": "x",
            "handle": "claire_b",
            "text": "Je vais résilier mon abonnement, trop de coupures",
            "id": "m-1",
        },
        {"network": "x", "handle": "inconnu", "text": "Encore une panne ce soir", "id": "m-2"},
    ]
    text = "\n".join(json.dumps(row) for row in rows)
    config = cases.config_from_settings(settings)
    for _ in range(2):  # a second import of the same export analyses nothing twice
        report = service.import_export(
            db, text=text, filename="export.jsonl", config=config, now=clock.now
        )
        assert report.rejects == []
    with db.unit_of_work() as session:
        mentions = {m.external_id: m.id for m in session.scalars(select(SocialMention))}
        analysed = list(
            session.scalars(select(Analysis).where(Analysis.source_type == "social_mention"))
        )
        assert [(a.source_id, a.customer_id) for a in analysed] == [
            (mentions["m-1"], customer["id"])
        ]
        assert analysed[0].churn_threat


def test_a_bad_export_line_is_reported_by_number_and_leaves_nothing(db, clock, settings):
    lines = [
        json.dumps({"network": "x", "handle": "bonne_ligne", "text": "Merci !", "id": "g-1"}),
        json.dumps(
            {
                "network": "x",
                "handle": "audience_absurde",
                "text": "Bof",
                "id": "b-2",
                "followers": -5,
            }
        ),
        '{"network": "x", "handle": ',
        json.dumps({"network": "x", "text": "Sans auteur", "id": "b-4"}),
    ]
    report = service.import_export(
        db,
        text="\n".join(lines),
        filename="export.jsonl",
        config=cases.config_from_settings(settings),
        now=clock.now,
    )
    assert (report.read, report.imported) == (4, 1)
    assert [number for number, _ in report.rejects] == [2, 3, 4]
    assert "followers" in report.rejects[0][1]
    assert "JSON" in report.rejects[1][1]
    assert "handle" in report.rejects[2][1]
    with db.unit_of_work() as session:
        handles = set(session.scalars(select(SocialProfile.handle)))
        assert handles == {"bonne_ligne"}


def test_a_contract_reference_of_an_erased_customer_links_nobody(
    client, agent, admin, db, post_mention
):
    """The contract outlives the erasure (the bill is kept), its holder does not: a post
    quoting its reference is a stranger's, never linked to the erased file."""
    customer = create_customer(client, agent)
    contract = client.post(
        "/api/v1/subscriptions",
        json={
            "customer_id": customer["id"],
            "reference": "FX-100300",
            "offer": "Freebox Pop",
            "start_date": "2025-06-01",
            "price_cents": 3999,
        },
        headers=agent.headers,
    )
    assert contract.status_code == 201, contract.text
    erased = client.post(
        f"/api/v1/customers/{customer['id']}/erase",
        json={"reason": "art. 17"},
        headers=admin.headers,
    )
    assert erased.status_code == 200, erased.text

    case = post_mention(handle="@ancien_fx", text="Contrat FX-100300 : toujours facturé")
    assert case["customer_id"] is None
    assert _profile(db, "ancien_fx").customer_id is None


def test_a_contract_reference_of_a_merged_customer_links_the_author_to_the_survivor(
    client, agent, admin, db, post_mention
):
    survivor = create_customer(client, agent, first_name="Paul", last_name="Rivière")
    duplicate = create_customer(client, agent, first_name="Paul", last_name="Riviere")
    contract = client.post(
        "/api/v1/subscriptions",
        json={
            "customer_id": duplicate["id"],
            "reference": "FX-100400",
            "offer": "Freebox Pop",
            "start_date": "2025-06-01",
            "price_cents": 3999,
        },
        headers=agent.headers,
    )
    assert contract.status_code == 201, contract.text
    merged = client.post(
        "/api/v1/customer-merges",
        json={"survivor_id": survivor["id"], "merged_id": duplicate["id"]},
        headers=admin.headers,
    )
    assert merged.status_code == 201, merged.text

    case = post_mention(handle="@paul_fx", text="Contrat FX-100400 : coupure")
    assert case["customer_id"] == survivor["id"]
    assert _profile(db, "paul_fx").customer_id == survivor["id"]
