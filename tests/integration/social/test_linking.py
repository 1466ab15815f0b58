"""Deterministic linking of social profiles, the review queue, and erasure."""

from __future__ import annotations

from sqlalchemy import func, select

from egards.i18n import render_message
from egards.social.models import SocialAudience, SocialLink, SocialMention, SocialProfile
from tests.integration.cases.conftest import create_customer


def _count(db, model, *where):
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_declared_handle_links_without_review(client, agent, clock, db, post_mention):
    customer = create_customer(client, agent, social=[{"network": "x", "handle": "@ZoeM"}])
    case = post_mention()
    assert case["customer_id"] == customer["id"]
    with db.unit_of_work() as session:
        profile = session.scalar(select(SocialProfile).where(SocialProfile.handle == "zoem"))
        assert profile.customer_id == customer["id"]
        assert profile.link_method == "declared_handle"
    assert _count(db, SocialLink, SocialLink.status == "proposed") == 0
    assert _count(db, SocialMention, SocialMention.case_id == case["id"]) == 1


def test_a_loyalty_number_quoted_in_a_post_links_the_author(client, agent, clock, db, post_mention):
    customer = create_customer(client, agent, loyalty_number="FB12345678")
    case = post_mention(handle="@traveller", text="Mon numéro FB12345678, bagage perdu !")
    assert case["customer_id"] == customer["id"]


def test_a_verified_email_links_but_an_unverified_one_does_not(
    client, agent, clock, db, post_mention
):
    customer = create_customer(client, agent, emails=["ines@example.fr"])
    unverified = post_mention(handle="@ines_a", email="ines@example.fr", external_id="u1")
    assert unverified["customer_id"] is None
    verified = post_mention(
        handle="@ines_b",
        email="ines@example.fr",
        verified=True,
        external_id="v1",
    )
    assert verified["customer_id"] == customer["id"]


def test_a_handle_declared_by_another_customer_goes_to_review_never_a_silent_move(
    client, agent, clock, db, post_mention
):
    declared = create_customer(client, agent, social=[{"network": "x", "handle": "@zoem"}])
    other = create_customer(client, agent, loyalty_number="FB87654321")
    case = post_mention(text="Client FB87654321, je veux une réponse")
    assert case["customer_id"] == declared["id"]  # the evidence disagrees: nothing moves
    with db.unit_of_work() as session:
        proposal = session.scalar(select(SocialLink).where(SocialLink.status == "proposed"))
        assert proposal is not None and proposal.customer_id in (declared["id"], other["id"])
        # Stored as a message, read in the reader's language; its English text beside it.
        assert proposal.reason == "the evidence names different customers"
        assert render_message("fr", proposal.reason_message) == (
            "les indices désignent des clients différents"
        )
        # Each fact too: read in the reviewer's language, its English kept beside.
        facts = {e["method"]: e for e in proposal.evidence}
        assert facts["declared_handle"]["detail"] == "@zoem declared by the customer"
        assert render_message("fr", facts["declared_handle"]["message"]) == (
            "@zoem déclaré par le client"
        )
        assert render_message("fr", facts["loyalty_number"]["message"]) == (
            "numéro de fidélité FB87654321 cité dans le message"
        )


def test_the_audience_history_keeps_each_new_figure(client, clock, db, post_mention):
    post_mention(followers=100, external_id="a1")
    post_mention(followers=100, external_id="a2")
    post_mention(followers=250, external_id="a3")
    with db.unit_of_work() as session:
        history = session.scalars(select(SocialAudience.followers).order_by(SocialAudience.id))
        assert list(history) == [100, 250]


def test_erasure_takes_the_profiles_mentions_and_links(
    client, agent, admin, clock, db, post_mention
):
    customer = create_customer(client, agent, social=[{"network": "x", "handle": "@zoem"}])
    post_mention()
    assert _count(db, SocialProfile, SocialProfile.customer_id == customer["id"]) == 1
    erased = client.post(
        f"/api/v1/customers/{customer['id']}/erase",
        json={"reason": "art. 17 request"},
        headers=admin.headers,
    )
    assert erased.status_code == 200, erased.text
    assert _count(db, SocialProfile) == 0
    assert _count(db, SocialMention) == 0
    assert _count(db, SocialAudience) == 0
    assert _count(db, SocialLink) == 0


def _profile_id(db, handle):
    with db.unit_of_work() as session:
        return session.scalar(select(SocialProfile.id).where(SocialProfile.handle == handle))


def _links(db, handle):
    with db.unit_of_work() as session:
        found = session.scalars(
            select(SocialLink)
            .where(SocialLink.profile_id == _profile_id(db, handle))
            .order_by(SocialLink.id)
        )
        return [(link.status, link.customer_id) for link in found]


def test_an_unlinked_profile_is_not_linked_again_by_its_verified_email_at_the_next_mention(
    client, agent, clock, db, post_mention
):
    """An agent's unlink is a person's judgement on that very evidence (the verified e-mail
    was shown with the link): the next post must not undo it. A person may link it again."""
    customer = create_customer(client, agent, emails=["ines@example.fr"])
    mention = {"handle": "@ines_b", "email": "ines@example.fr", "verified": True}
    assert post_mention(**mention, external_id="v1")["customer_id"] == customer["id"]
    profile_id = _profile_id(db, "ines_b")
    undone = client.post(
        f"/api/v1/social/profiles/{profile_id}/unlink",
        json={"reason": "Adresse partagée par la famille"},
        headers=agent.headers,
    )
    assert undone.status_code == 200, undone.text

    assert post_mention(**mention, external_id="v2")["customer_id"] is None
    assert _links(db, "ines_b") == [("unlinked", customer["id"])]
    assert _count(db, SocialLink, SocialLink.status == "proposed") == 0
    relinked = client.post(
        f"/api/v1/social/profiles/{profile_id}/link",
        json={"customer_id": customer["id"]},
        headers=agent.headers,
    )
    assert relinked.status_code == 200 and relinked.json()["status"] == "linked"


def test_a_rejected_customer_is_set_aside_and_the_other_evidence_decides_alone(
    client, agent, clock, db, post_mention
):
    """Two customers named by the evidence: a reviewer says it is not the one proposed; at
    the next post that one is neither proposed again nor holds the other back."""
    by_number = create_customer(client, agent, loyalty_number="FB87654321")
    by_mail = create_customer(client, agent, emails=["lea@example.fr"])
    mention = {
        "handle": "@lea_r",
        "email": "lea@example.fr",
        "verified": True,
        "text": "Client FB87654321, toujours rien",
    }
    post_mention(**mention, external_id="r1")
    [pending] = client.get("/api/v1/social/reviews", headers=agent.headers).json()
    proposed = pending["customer_id"]
    other = by_mail["id"] if proposed == by_number["id"] else by_number["id"]
    rejected = client.post(
        f"/api/v1/social/reviews/{pending['id']}",
        json={"accept": False, "reason": "Numéro prêté par un ami"},
        headers=agent.headers,
    )
    assert rejected.status_code == 200, rejected.text

    assert post_mention(**mention, external_id="r2")["customer_id"] == other
    assert _links(db, "lea_r") == [("rejected", proposed), ("linked", other)]


def test_a_profile_linked_to_a_merged_file_follows_it_to_the_survivor_without_a_review(
    client, agent, admin, clock, db, post_mention
):
    """The merge moves the duplicate's identities (the declared handle among them) to the
    survivor, not its profiles: the next post is the survivor's case, the survivor's 360 and
    influence beside value show the profile as theirs, and nobody is asked to review a
    "handle of another customer"."""
    survivor = create_customer(client, agent, first_name="Zoé", last_name="Martin")
    duplicate = create_customer(
        client,
        agent,
        first_name="Zoe",
        last_name="Martin",
        social=[{"network": "x", "handle": "@zoem"}],
    )
    assert post_mention()["customer_id"] == duplicate["id"]
    merged = client.post(
        "/api/v1/customer-merges",
        json={"survivor_id": survivor["id"], "merged_id": duplicate["id"]},
        headers=admin.headers,
    )
    assert merged.status_code == 201, merged.text

    assert post_mention(external_id="1900000000002")["customer_id"] == survivor["id"]
    assert _count(db, SocialLink, SocialLink.status == "proposed") == 0
    profiles = client.get(
        f"/api/v1/social/customers/{survivor['id']}/profiles", headers=agent.headers
    ).json()
    assert [p["handle"] for p in profiles] == ["zoem"]
    rows = client.get("/api/v1/social/influence-vs-value", headers=admin.headers).json()
    assert [row["customer_id"] for row in rows if row["handle"] == "zoem"] == [survivor["id"]]
