"""Probabilistic linking (Splink on DuckDB) through the service, on both databases: a
corroborated match links with its evidence, a display name alone goes to review."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from egards.accounts.domain import SYSTEM, Actor, Role
from egards.customers import service as customers
from egards.customers.schemas import CustomerCreate
from egards.i18n import render_message
from egards.social import service, synthetic
from egards.social.models import SocialLink, SocialProfile
from tests.integration.social import add_drawn_customers

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


@pytest.fixture
def file_of_customers(db):
    with db.unit_of_work() as session:
        add_drawn_customers(
            session, synthetic.customers(120, seed=3), "email", "city", "birth_date"
        )
        helene = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Hélène", last_name="Quenouille", city="Lyon", emails=["hq@x.fr"]
            ),
        )
        bastien = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Bastien",
                last_name="Marcellin",
                city="Rennes",
                birth_date=date(1984, 5, 2),
                emails=["bastien.marcellin@example.fr"],
            ),
        )
        return helene.id, bastien.id


def _profile(session, handle, display_name, location=None):
    return service.upsert_profile(
        session,
        network="instagram",
        handle=handle,
        display_name=display_name,
        location=location,
        followers=300,
        now=NOW,
    )


def _run(session):
    return service.link_probabilistically(session, now=NOW, upper=6.0, lower=0.0, margin=2.0)


def test_display_name_alone_goes_to_review(db, file_of_customers):
    helene, _ = file_of_customers
    with db.unit_of_work() as session:
        _profile(session, "hq_voyages", "Hélène Quenouille")
        run = _run(session)
        profile = session.scalar(select(SocialProfile).where(SocialProfile.handle == "hq_voyages"))
        proposal = session.scalar(select(SocialLink).where(SocialLink.profile_id == profile.id))
        assert run.to_review >= 1
        assert profile.customer_id is None
        assert proposal.status == "proposed" and proposal.customer_id == helene
        assert any("last name: same" in e["detail"] for e in proposal.evidence)
        assert "nom : identique" in [render_message("fr", e["message"]) for e in proposal.evidence]


def test_a_name_with_city_and_birth_year_links_with_its_evidence(db, file_of_customers):
    _, bastien = file_of_customers
    with db.unit_of_work() as session:
        _profile(session, "bmarcellin1984", "Bastien Marcellin", location="Rennes")
        run = _run(session)
        profile = session.scalar(
            select(SocialProfile).where(SocialProfile.handle == "bmarcellin1984")
        )
        assert run.linked >= 1
        assert profile.customer_id == bastien and profile.link_method == "probabilistic"
        link = session.scalar(select(SocialLink).where(SocialLink.profile_id == profile.id))
        assert link.status == "linked" and link.score >= 6.0
        assert {e["method"] for e in link.evidence} >= {"city", "birth_year"}


def test_a_reviewer_decides_and_the_outcome_is_kept(db, file_of_customers):
    helene, _ = file_of_customers
    reviewer = Actor(label="Reviewer", role=Role.SUPERVISOR, user_id=None)
    with db.unit_of_work() as session:
        _profile(session, "hq_voyages", "Hélène Quenouille")
        _run(session)
        [pending] = [
            link
            for link in service.review_queue(session, actor=reviewer)
            if link.customer_id == helene
        ]
        decided = service.decide_review(
            session, actor=reviewer, link_id=pending.id, accept=True, now=NOW
        )
        assert decided.status == "linked" and decided.decided_by
        assert service.customer_audience(session, helene) == 300


def test_a_namesake_close_behind_is_named_in_the_reason_in_the_readers_language(
    db, file_of_customers
):
    helene, _ = file_of_customers
    with db.unit_of_work() as session:
        twin = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Hélène", last_name="Quenouille", city="Lyon", emails=["hq2@x.fr"]
            ),
        )
        _profile(session, "hq_voyages", "Hélène Quenouille", location="Lyon")
        _run(session)
        proposal = session.scalar(select(SocialLink).where(SocialLink.status == "proposed"))
        other = twin.id if proposal.customer_id == helene else helene
        assert proposal.reason == f"another customer ({other}) is close"
        assert render_message("fr", proposal.reason_message) == (
            f"un autre client ({other}) est proche"
        )


def _links(session, handle):
    profile = session.scalar(select(SocialProfile).where(SocialProfile.handle == handle))
    found = session.scalars(
        select(SocialLink).where(SocialLink.profile_id == profile.id).order_by(SocialLink.id)
    )
    return profile, [(link.status, link.customer_id) for link in found]


def test_the_batch_never_proposes_again_a_pair_a_reviewer_rejected(db, file_of_customers):
    helene, _ = file_of_customers
    reviewer = Actor(label="Reviewer", role=Role.SUPERVISOR, user_id=None)
    with db.unit_of_work() as session:
        _profile(session, "hq_voyages", "Hélène Quenouille")
        _run(session)
        [pending] = service.review_queue(session, actor=reviewer)
        assert pending.customer_id == helene
        service.decide_review(session, actor=reviewer, link_id=pending.id, accept=False, now=NOW)

        again = _run(session)
        profile, links = _links(session, "hq_voyages")
        assert (again.linked, again.to_review) == (0, 0)
        assert profile.customer_id is None and links == [("rejected", helene)]


def test_the_batch_never_links_again_a_profile_an_agent_unlinked(db, file_of_customers):
    _, bastien = file_of_customers
    agent = Actor(label="Agent", role=Role.SUPERVISOR, user_id=None)
    with db.unit_of_work() as session:
        profile = _profile(session, "bmarcellin1984", "Bastien Marcellin", location="Rennes")
        assert _run(session).linked == 1 and profile.customer_id == bastien
        service.unlink_profile(
            session, actor=agent, profile_id=profile.id, reason="Pas lui", now=NOW
        )

        again = _run(session)
        profile, links = _links(session, "bmarcellin1984")
        assert (again.linked, again.to_review) == (0, 0)
        assert profile.customer_id is None and links == [("unlinked", bastien)]


def test_a_refused_best_candidate_neither_comes_back_nor_holds_the_next_one_back_by_the_margin(
    db, file_of_customers
):
    """Two namesakes in the same city: the first run proposes one with the other named as
    close. Once a reviewer says it is not the one proposed, the other is decided on its own
    merit, as if the refused one were not in the file: its weight and corroboration alone
    (here a link), the refused one standing neither as the best nor as the runner-up."""
    helene, _ = file_of_customers
    reviewer = Actor(label="Reviewer", role=Role.SUPERVISOR, user_id=None)
    with db.unit_of_work() as session:
        twin = customers.create_customer(
            session,
            actor=SYSTEM,
            data=CustomerCreate(
                first_name="Hélène", last_name="Quenouille", city="Lyon", emails=["hq2@x.fr"]
            ),
        )
        _profile(session, "hq_voyages", "Hélène Quenouille", location="Lyon")
        _run(session)
        [pending] = service.review_queue(session, actor=reviewer)
        assert pending.reason is not None  # held back by the margin: a namesake is close
        other = twin.id if pending.customer_id == helene else helene
        service.decide_review(session, actor=reviewer, link_id=pending.id, accept=False, now=NOW)

        again = _run(session)
        profile, links = _links(session, "hq_voyages")
        assert again.linked == 1
        assert profile.customer_id == other
        assert links == [("rejected", pending.customer_id), ("linked", other)]


def _merge_into_a_new_file(session, merged_id):
    """A second file of the same person, which the first is merged into: its id."""
    survivor = customers.create_customer(
        session,
        actor=SYSTEM,
        data=CustomerCreate(first_name="Hélène", last_name="Quenouille", city="Lyon"),
    )
    customers.merge_customers(
        session, actor=SYSTEM, survivor_id=survivor.id, merged_id=merged_id, reason="doublon"
    )
    return survivor.id


def test_a_proposal_confirmed_after_its_customer_was_merged_links_the_survivor(
    db, file_of_customers
):
    helene, _ = file_of_customers
    reviewer = Actor(label="Reviewer", role=Role.SUPERVISOR, user_id=None)
    with db.unit_of_work() as session:
        _profile(session, "hq_voyages", "Hélène Quenouille")
        _run(session)
        [pending] = service.review_queue(session, actor=reviewer)
        survivor = _merge_into_a_new_file(session, helene)
        service.decide_review(session, actor=reviewer, link_id=pending.id, accept=True, now=NOW)
        profile, links = _links(session, "hq_voyages")
        assert profile.customer_id == survivor and links == [("linked", survivor)]


def test_a_refused_customer_merged_since_is_still_refused_as_the_survivor(db, file_of_customers):
    """The person said the profile is not Hélène; her file merged into another of hers, the
    survivor is the same person: not proposed again under the survivor's id."""
    helene, _ = file_of_customers
    reviewer = Actor(label="Reviewer", role=Role.SUPERVISOR, user_id=None)
    with db.unit_of_work() as session:
        _profile(session, "hq_voyages", "Hélène Quenouille")
        _run(session)
        [pending] = service.review_queue(session, actor=reviewer)
        service.decide_review(session, actor=reviewer, link_id=pending.id, accept=False, now=NOW)
        _merge_into_a_new_file(session, helene)

        again = _run(session)
        profile, links = _links(session, "hq_voyages")
        assert (again.linked, again.to_review) == (0, 0)
        assert profile.customer_id is None and links == [("rejected", helene)]
