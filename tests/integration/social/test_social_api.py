"""The social API: profiles with their audience, links by hand and undone, the review queue
without scores, influence beside value kept from partners."""

from __future__ import annotations

from egards.accounts.domain import Role
from tests.integration.cases.conftest import create_customer

MARCEL = {
    "network": "instagram",
    "handle": "@marcel_voyage",
    "author_name": "Marcel",
    "text": "Vol annulé, personne ne répond",
    "external_id": "2000000000001",
    "followers": 4200,
}


def test_an_agent_links_a_profile_by_hand_and_undoes_it_with_a_reason(
    client, agent, clock, post_mention
):
    customer = create_customer(client, agent)
    post_mention(**MARCEL)
    post_mention(**{**MARCEL, "external_id": "2000000000002", "followers": 4500})
    assert (
        client.get(
            f"/api/v1/social/customers/{customer['id']}/profiles", headers=agent.headers
        ).json()
        == []
    )
    found = client.get(
        "/api/v1/social/profiles",
        params={"network": "instagram", "handle": "@marcel_voyage"},
        headers=agent.headers,
    )
    assert found.status_code == 200, found.text
    profile_id = found.json()["id"]
    linked = client.post(
        f"/api/v1/social/profiles/{profile_id}/link",
        json={"customer_id": customer["id"]},
        headers=agent.headers,
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["status"] == "linked" and linked.json()["method"] == "agent"
    detail = client.get(f"/api/v1/social/profiles/{profile_id}", headers=agent.headers).json()
    assert detail["customer_id"] == customer["id"]
    assert [a["followers"] for a in detail["audience"]] == [4200, 4500]
    profiles = client.get(
        f"/api/v1/social/customers/{customer['id']}/profiles", headers=agent.headers
    ).json()
    assert [p["handle"] for p in profiles] == ["marcel_voyage"]
    refused = client.post(
        f"/api/v1/social/profiles/{profile_id}/unlink", json={"reason": ""}, headers=agent.headers
    )
    assert refused.status_code == 422
    undone = client.post(
        f"/api/v1/social/profiles/{profile_id}/unlink",
        json={"reason": "Homonym: not our customer"},
        headers=agent.headers,
    )
    assert undone.status_code == 200 and undone.json()["customer_id"] is None
    again = post_mention(**{**MARCEL, "external_id": "2000000000003"})
    assert again["customer_id"] is None  # the handle left the customer file with the link


def test_partners_do_not_see_influence_or_link_profiles(
    client, make_person, make_organisation, clock, post_mention
):
    partner = make_person(Role.PARTNER, organisation_id=make_organisation("Fibre Pose"))
    post_mention(**MARCEL)
    assert (
        client.get("/api/v1/social/influence-vs-value", headers=partner.headers).status_code == 403
    )
    assert client.get("/api/v1/social/reviews", headers=partner.headers).json() == []
    assert client.get("/api/v1/social/profiles/1", headers=partner.headers).status_code == 404


def test_a_rules_reason_is_a_stable_code_and_words_in_the_readers_language(
    client, agent, clock, post_mention
):
    create_customer(client, agent, social=[{"network": "x", "handle": "@zoem"}])
    create_customer(client, agent, loyalty_number="FB87654321")
    post_mention(text="Client FB87654321, je veux une réponse")
    french = client.get(
        "/api/v1/social/reviews", headers={**agent.headers, "Accept-Language": "fr"}
    ).json()
    assert [(r["reason_code"], r["reason"]) for r in french] == [
        ("evidence_disagrees", "les indices désignent des clients différents")
    ]
    english = client.get("/api/v1/social/reviews", headers=agent.headers).json()
    assert english[0]["reason"] == "the evidence names different customers"
    rejected = client.post(
        f"/api/v1/social/reviews/{english[0]['id']}",
        json={"accept": False, "reason": "Deux personnes"},
        headers={**agent.headers, "Accept-Language": "en"},
    )
    assert rejected.status_code == 200, rejected.text
    # A person's words are shown as written, under their own code.
    assert (rejected.json()["reason_code"], rejected.json()["reason"]) == (
        "written",
        "Deux personnes",
    )
